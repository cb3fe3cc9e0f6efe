package app

import (
	"fmt"
	"io"
	"sync"
)

// syncWriter lets concurrent loggers share one buffer in tests.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String is what was written so far, when the writer underneath can say.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if str, ok := s.w.(fmt.Stringer); ok {
		return str.String()
	}
	return ""
}
