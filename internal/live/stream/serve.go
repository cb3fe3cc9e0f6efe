package stream

import (
	"context"
	"log/slog"
	"net/http"
)

// Request is one viewer's stream.
type Request struct {
	Room    string
	After   Position // their Last-Event-ID; empty for a new viewer, who starts live
	Group   *Group   // the shard they watch
	Source  Source   // where the replay reads
	Log     *slog.Logger
	OnEvict func() // called when they are evicted: queue full or a write timed out
	Done    func() // called once the stream has ended and they have left the group
}

// Serve streams to the viewer behind w: the replay of what they missed, then the group's
// frames. On HTTP/1.1 it takes the connection over and returns at once, so the stream
// holds neither the server's buffers nor its goroutine; otherwise it returns when the
// stream ends. It returns an error, without calling Done, only when the stream cannot start.
func Serve(w http.ResponseWriter, r *http.Request, opts *Options, req Request) error {
	s, head, err := takeOver(w, r, opts.SendBuffer)
	if err != nil {
		return err
	}
	v := newViewer(opts, s, req.OnEvict)
	j := req.Group.join(v)
	run := func(ctx context.Context) {
		defer req.Done()
		defer s.Close()
		defer req.Group.leave(v)
		if v.write(head) != nil {
			return
		}
		if v.replay(ctx, req.Source, req.Log, req.Room, req.After, j) == nil {
			v.drain()
		}
		v.farewell()
	}
	if _, raw := s.(rawSink); raw {
		// The request's context ends when the handler returns; the stream outlives it.
		go run(context.WithoutCancel(r.Context()))
		return nil
	}
	stop := context.AfterFunc(r.Context(), func() { v.end(endGone) })
	defer stop()
	run(r.Context())
	return nil
}
