package live

import (
	"context"
	"net"

	"github.com/barrage-live/barrage/internal/live/stream"
)

// WithConn records the connection a request arrived on; give it to http.Server.ConnContext
// so streams can size their socket. Without it streams keep the kernel's defaults.
func WithConn(ctx context.Context, c net.Conn) context.Context { return stream.WithConn(ctx, c) }
