package live

import (
	"context"
	"net"
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
