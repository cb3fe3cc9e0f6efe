// Package loadsender is the seed's load sender: a person picks a message, a concurrency
// and a duration, and the server sends that message through the same path as a person's
// barrage until the time is up or the run is cancelled. Runs are paced: all of them
// together send at most Limits.MaxRate barrages a second, one run per room at a time.
package loadsender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/barrage-live/barrage/internal/barrage"
)

// SendFunc accepts one barrage for room and hands it on, as the send API does.
type SendFunc func(ctx context.Context, room string, d barrage.Draft) (id string, err error)

// Limits bound what runs may ask for. MaxConcurrency bounds the workers of all runs
// together, so several runs at once cannot exceed it; MaxRate bounds their sends per
// second together, however many workers they have.
type Limits struct {
	Enabled        bool
	MaxConcurrency int
	MaxDuration    time.Duration
	MaxRate        int
}

// Request is what a person asks the load sender to do.
type Request struct {
	Message     string        `json:"message"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"-"`
}

// keepFinished is how many finished runs stay readable, so a page can show the result.
const keepFinished = 32

// Sender starts, tracks and cancels load runs.
type Sender struct {
	send   SendFunc
	limits Limits
	log    *slog.Logger
	now    func() time.Time
	pace   *rate.Limiter // shared by every run

	mu       sync.Mutex
	runs     map[string]*run
	byRoom   map[string]*run // the run going in each room
	finished []string        // ids of finished runs, oldest first
	busy     int             // workers of the runs still going
	closed   bool
	wg       sync.WaitGroup
}

// New returns a Sender that sends through send within limits.
func New(send SendFunc, limits Limits) *Sender {
	if limits.MaxConcurrency < 1 {
		limits.MaxConcurrency = 1
	}
	if limits.MaxDuration <= 0 {
		limits.MaxDuration = time.Minute
	}
	if limits.MaxRate < 1 {
		limits.MaxRate = 1
	}
	// A burst of one: over any span a run sends at most one more than the rate allows.
	pace := rate.NewLimiter(rate.Limit(limits.MaxRate), 1)
	return &Sender{send: send, limits: limits, log: slog.Default().With("part", "loadsender"), now: time.Now,
		pace: pace, runs: map[string]*run{}, byRoom: map[string]*run{}}
}

// Errors Start returns; the HTTP layer turns them into problem details.
var (
	ErrDisabled = errors.New("loadsender: switched off")
	ErrBusy     = errors.New("loadsender: concurrency in use by other runs")
	ErrClosed   = errors.New("loadsender: shutting down")
)

// RoomBusyError is Start's answer while another run goes in the same room.
type RoomBusyError struct {
	Room, Run string
}

func (e *RoomBusyError) Error() string {
	return fmt.Sprintf("loadsender: run %s is still going in room %s", e.Run, e.Room)
}

// Start checks req against the limits and starts a run in the background. The run does
// not end with the request that started it; it ends when its time is up or it is cancelled.
func (s *Sender) Start(room string, req Request) (Progress, error) {
	if !s.limits.Enabled {
		return Progress{}, ErrDisabled
	}
	if err := s.check(room, &req); err != nil {
		return Progress{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Progress{}, ErrClosed
	}
	if going, ok := s.byRoom[room]; ok {
		return Progress{}, &RoomBusyError{Room: room, Run: going.id}
	}
	if s.busy+req.Concurrency > s.limits.MaxConcurrency {
		return Progress{}, ErrBusy
	}
	ctx, cancel := context.WithTimeout(context.Background(), req.Duration)
	r := &run{id: newRunID(), room: room, req: req, started: s.now(), cancel: cancel, now: s.now}
	s.runs[r.id] = r
	s.byRoom[room] = r
	s.busy += req.Concurrency
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.work(ctx, s.send, s.pace, s.log)
		cancel()
		s.finish(r)
	}()
	return r.progress(), nil
}

// check validates req in place: the message as a barrage's text, and the bounds.
func (s *Sender) check(room string, req *Request) error {
	if err := barrage.ValidRoom(room); err != nil {
		return err
	}
	if _, err := barrage.Accept(room, barrage.Draft{Text: req.Message}, s.now()); err != nil {
		var fe *barrage.FieldError
		if errors.As(err, &fe) {
			return &barrage.FieldError{Field: "message", Reason: fe.Reason}
		}
		return err
	}
	if req.Concurrency < 1 || req.Concurrency > s.limits.MaxConcurrency {
		return &barrage.FieldError{Field: "concurrency", Reason: "must be from 1 to " + itoa(s.limits.MaxConcurrency)}
	}
	if req.Duration <= 0 || req.Duration > s.limits.MaxDuration {
		return &barrage.FieldError{Field: "duration", Reason: "must be more than 0 and at most " + s.limits.MaxDuration.String()}
	}
	return nil
}

func (s *Sender) finish(r *run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy -= r.req.Concurrency
	if s.byRoom[r.room] == r {
		delete(s.byRoom, r.room)
	}
	s.finished = append(s.finished, r.id)
	for len(s.finished) > keepFinished {
		delete(s.runs, s.finished[0])
		s.finished = s.finished[1:]
	}
}

// Progress returns the state of run id in room.
func (s *Sender) Progress(room, id string) (Progress, bool) {
	s.mu.Lock()
	r, ok := s.runs[id]
	s.mu.Unlock()
	if !ok || r.room != room {
		return Progress{}, false
	}
	return r.progress(), true
}

// Cancel stops run id in room; its workers finish the sends they are in.
func (s *Sender) Cancel(room, id string) (Progress, bool) {
	s.mu.Lock()
	r, ok := s.runs[id]
	s.mu.Unlock()
	if !ok || r.room != room {
		return Progress{}, false
	}
	r.stop()
	return r.progress(), true
}

// Close cancels every run and waits for their workers, or for ctx.
func (s *Sender) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, r := range s.runs {
		r.stop()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("loadsender: close: %w", ctx.Err())
	}
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
