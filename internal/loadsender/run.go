package loadsender

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/barrage-live/barrage/internal/barrage"
)

// palette colors load barrages so a run is easy to tell apart on screen.
var palette = []string{"#ffffff", "#fe0302", "#ffaa02", "#ffd302", "#00cd00", "#4266be", "#89d5ff", "#cc0273"}

// run is one load run.
type run struct {
	id      string
	room    string
	req     Request
	started time.Time
	cancel  context.CancelFunc
	now     func() time.Time

	sent, accepted, failed atomic.Int64
	cancelled              atomic.Bool

	mu       sync.Mutex
	ended    time.Time
	lastFail string
}

func (r *run) stop() {
	r.cancelled.Store(true)
	r.cancel()
}

// work runs the workers until ctx ends, each send waiting its turn on pace.
func (r *run) work(ctx context.Context, send SendFunc, pace *rate.Limiter, log *slog.Logger) {
	sendCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for w := range r.req.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += r.req.Concurrency {
				// Wait gives up at once when the turn would come after the run's end.
				if pace.Wait(ctx) != nil {
					break
				}
				r.sent.Add(1)
				d := barrage.Draft{Text: r.req.Message, Color: palette[i%len(palette)], Mode: barrage.ModeScroll}
				// The send in flight when the run ends is finished, not abandoned: cut short,
				// Kafka could still take it and the room would hold more than was counted.
				if _, err := send(sendCtx, r.room, d); err != nil {
					r.failed.Add(1)
					r.noteFailure(err, log)
					continue
				}
				r.accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	r.mu.Lock()
	r.ended = r.now()
	r.mu.Unlock()
	log.Info("load run finished", "run", r.id, "room", r.room, "sent", r.sent.Load(),
		"accepted", r.accepted.Load(), "failed", r.failed.Load(), "cancelled", r.cancelled.Load())
}

func (r *run) noteFailure(err error, log *slog.Logger) {
	reason := "the pipeline did not take the barrage"
	var fe *barrage.FieldError
	if errors.As(err, &fe) {
		reason = fe.Field + " " + fe.Reason
	}
	r.mu.Lock()
	first := r.lastFail == ""
	r.lastFail = reason
	r.mu.Unlock()
	if first {
		log.Warn("load send failed", "run", r.id, "room", r.room, "err", err)
	}
}

// Progress is what the page shows while a run goes, and after.
type Progress struct {
	ID          string    `json:"id"`
	Room        string    `json:"room"`
	Message     string    `json:"message"`
	Concurrency int       `json:"concurrency"`
	Duration    float64   `json:"durationSeconds"`
	StartedAt   time.Time `json:"startedAt"`
	Sent        int64     `json:"sent"`
	Accepted    int64     `json:"accepted"`
	Failed      int64     `json:"failed"`
	Rate        float64   `json:"rate"` // accepted per second since the start
	Elapsed     float64   `json:"elapsedSeconds"`
	Remaining   float64   `json:"remainingSeconds"`
	Done        bool      `json:"done"`
	Cancelled   bool      `json:"cancelled"`
	LastFailure string    `json:"lastFailure,omitempty"`
}

func (r *run) progress() Progress {
	r.mu.Lock()
	ended, lastFail := r.ended, r.lastFail
	r.mu.Unlock()
	// Counts are read after ended, so a done run's counts are final.
	p := Progress{
		ID: r.id, Room: r.room, Message: r.req.Message, Concurrency: r.req.Concurrency,
		Duration: r.req.Duration.Seconds(), StartedAt: r.started,
		Sent: r.sent.Load(), Accepted: r.accepted.Load(), Failed: r.failed.Load(),
		Done: !ended.IsZero(), Cancelled: r.cancelled.Load(), LastFailure: lastFail,
	}
	end := r.now()
	if p.Done {
		end = ended
	}
	elapsed := end.Sub(r.started)
	p.Elapsed = elapsed.Seconds()
	if !p.Done {
		p.Remaining = max(0, (r.req.Duration - elapsed).Seconds())
	}
	if elapsed > 0 {
		p.Rate = float64(p.Accepted) / elapsed.Seconds()
	}
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
