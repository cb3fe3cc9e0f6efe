package stream

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

type connKey struct{}

// WithConn records the connection a request arrived on; give it to http.Server.ConnContext
// so streams can size their socket. Without it streams keep the kernel's defaults.
func WithConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// capSendBuffer fixes the stream socket's send buffer. Left to autotuning it grows to
// megabytes, so a viewer that stopped reading would hold that much kernel memory.
func capSendBuffer(c net.Conn, bytes int) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(bytes)
	}
}

// sink is where a viewer's bytes go. Each Write goes out at once; SetWriteDeadline may be
// called from another goroutine to cut a blocked write short.
type sink interface {
	Write(p []byte) (int, error)
	SetWriteDeadline(time.Time) error
	Close() error
}

// rawSink is a stream's HTTP/1.1 response written straight to the hijacked connection.
// Taking the connection from net/http frees its read and write buffers and its background
// reader for the stream's whole life; a stream only ever writes, and a viewer that has
// gone is noticed on the next write (stats arrive every second).
type rawSink struct{ net.Conn }

// httpSink is a response net/http keeps (HTTP/2, or a writer that cannot be hijacked).
type httpSink struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s httpSink) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, s.rc.Flush()
}

func (s httpSink) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }
func (s httpSink) Close() error                       { return nil }

// setHeaders are the stream's response headers, over any the handler set already.
func setHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no") // proxies such as nginx would hold events back
	h.Del("Content-Length")
}

// takeOver hijacks w's connection when the server allows it (HTTP/1.1) and returns the
// response head to write first; otherwise it starts the response on w.
func takeOver(w http.ResponseWriter, r *http.Request, sendBuffer int) (sink, []byte, error) {
	setHeaders(w.Header())
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			capSendBuffer(c, sendBuffer)
		}
		w.WriteHeader(http.StatusOK)
		if err := rc.Flush(); err != nil {
			return nil, nil, fmt.Errorf("stream: start response: %w", err)
		}
		return httpSink{w, rc}, nil, nil
	}
	capSendBuffer(conn, sendBuffer)
	// The body runs until the connection closes, so neither a length nor chunking is needed.
	h := w.Header().Clone()
	h.Set("Connection", "close")
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	return rawSink{conn}, b.Bytes(), nil
}

// writeBuffers are lent to writers for one write at a time: a room's frame is copied into
// every viewer's buffer, and a buffer of their own each would be memory held by every idle
// viewer.
var writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getBuffer() *[]byte { return writeBuffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= 1<<20 { // an outsized one goes to the collector
		*b = (*b)[:0]
		writeBuffers.Put(b)
	}
}
