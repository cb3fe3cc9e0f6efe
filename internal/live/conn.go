package live

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
)

type connKey struct{}

// WithConn records the connection a request arrived on; give it to http.Server.ConnContext
// so streams can size their socket. Without it streams keep the kernel's defaults.
func WithConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// capSendBuffer fixes the stream socket's send buffer. Left to autotuning it grows to
// megabytes, so a viewer that stopped reading would hold that much kernel memory and take
// that long to be noticed and evicted.
func capSendBuffer(ctx context.Context, bytes int) {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(bytes)
	}
}

// rawStream is a stream's HTTP/1.1 response written straight to the hijacked connection.
// Taking the connection from net/http frees its read and write buffers and its background
// reader for the stream's whole life; a stream only ever writes, and a viewer that has gone
// is noticed on the next write (stats arrive every second).
type rawStream struct {
	conn   net.Conn
	header http.Header
	buf    *[]byte // from writeBuffers between a first write and the flush
}

// writeBuffers are lent to streams for one event at a time: a room's batch is copied into
// every viewer's buffer, and a buffer of their own each would be garbage at every event
// (or memory held by every idle viewer).
var writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (s *rawStream) buffer() *[]byte {
	if s.buf == nil {
		s.buf = writeBuffers.Get().(*[]byte)
	}
	return s.buf
}

// hijack takes over w's connection when the server allows it (HTTP/1.1); the headers set
// on w so far go out with the response.
func hijack(w http.ResponseWriter) (*rawStream, bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false
	}
	return &rawStream{conn: conn, header: w.Header().Clone()}, true
}

func (s *rawStream) Header() http.Header { return s.header }

// WriteHeader writes the status line and headers. The body runs until the connection
// closes, so neither a length nor chunking is needed.
func (s *rawStream) WriteHeader(code int) {
	s.header.Del("Content-Length")
	s.header.Set("Connection", "close")
	buf := s.buffer()
	*buf = fmt.Appendf(*buf, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	var b bytes.Buffer
	_ = s.header.Write(&b)
	*buf = append(append(*buf, b.Bytes()...), "\r\n"...)
}

func (s *rawStream) Write(p []byte) (int, error) {
	buf := s.buffer()
	*buf = append(*buf, p...)
	return len(p), nil
}

// flush sends what is buffered in one write and gives the buffer back, so an idle stream
// holds none.
func (s *rawStream) flush() error {
	if s.buf == nil {
		return nil
	}
	_, err := s.conn.Write(*s.buf)
	if cap(*s.buf) <= 1<<20 { // an outsized one goes to the collector
		*s.buf = (*s.buf)[:0]
		writeBuffers.Put(s.buf)
	}
	s.buf = nil
	return err
}
