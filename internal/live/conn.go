package live

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
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
	buf    []byte
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
	s.buf = fmt.Appendf(s.buf, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	var b bytes.Buffer
	_ = s.header.Write(&b)
	s.buf = append(append(s.buf, b.Bytes()...), "\r\n"...)
}

func (s *rawStream) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// flush sends what is buffered in one write, and lets a large buffer go so an idle stream
// holds almost nothing.
func (s *rawStream) flush() error {
	_, err := s.conn.Write(s.buf)
	if cap(s.buf) > 4096 {
		s.buf = nil
	} else {
		s.buf = s.buf[:0]
	}
	return err
}
