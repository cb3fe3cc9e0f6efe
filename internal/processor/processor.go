// Package processor is the seed's barrage-manager: a CloudEvents receiver that validates
// each barrage, masks sensitive words and stores it idempotently. It answers 2xx only
// once the write is durable, 4xx for an event that can never be valid (the event driver
// then dead-letters it), and 5xx for a failure worth retrying.
package processor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/telemetry"
)

// Hooks let callers observe outcomes; any may be nil. With several writers they are called
// from each, so they must be safe for concurrent use.
type Hooks struct {
	// Stored is called once a batch is durable, with every barrage in it, new or not.
	Stored     func(bs []barrage.Barrage)
	New        func(n int) // how many of a durable batch were new
	Duplicates func(n int)
	Rejected   func(reason string)
	Failed     func(err error)
}

// Options configure the processor.
type Options struct {
	SensitiveWords []string
	Tracing        *telemetry.Tracing
	MaxBatch       int // most barrages one store write carries (store.MaxBatch); 1 turns group commit off
	// Writers is how many store writes may run at once (default 1). A store with one
	// writer, such as SQLite, gains nothing from more; a remote one, such as Tablestore,
	// waits on the network, and more writers keep several requests' writes in flight.
	Writers int
	// Notices, when set, is told what each durable write stored, one call per room.
	Notices Notifier
	// RoomWords, when set, gives a room's own word list, masked after the server's.
	RoomWords func(room string) []string
}

// Notifier passes on what a write stored, so the live feeds can show it without waiting
// for a poll. It must not block or fail the write: a notice that is lost only costs its
// barrages their early display, since the feeds' safety poll finds them in the store.
type Notifier interface {
	Notice(room string, recs []store.Record)
}

// Processor receives events and writes barrages through group-committing writers, so
// concurrent requests share store writes.
type Processor struct {
	store     store.Store
	masker    *Masker
	tracing   *telemetry.Tracing
	maxBatch  int
	log       *slog.Logger
	hooks     Hooks
	notices   Notifier
	roomWords func(room string) []string

	pending chan write
	wg      sync.WaitGroup
	stop    chan struct{}
}

type write struct {
	b    barrage.Barrage
	done chan error
}

// New starts the writers; Close stops them.
func New(s store.Store, opts Options, log *slog.Logger, hooks Hooks) *Processor {
	if opts.Tracing == nil {
		opts.Tracing, _ = telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Names: telemetry.NamesFrom(nil)})
	}
	if opts.MaxBatch <= 0 || opts.MaxBatch > store.MaxBatch {
		opts.MaxBatch = store.MaxBatch
	}
	opts.Writers = max(opts.Writers, 1)
	p := &Processor{
		store:     s,
		masker:    NewMasker(opts.SensitiveWords),
		tracing:   opts.Tracing,
		maxBatch:  opts.MaxBatch,
		log:       log,
		hooks:     hooks,
		notices:   opts.Notices,
		roomWords: opts.RoomWords,
		pending:   make(chan write, store.MaxBatch),
		stop:      make(chan struct{}),
	}
	p.wg.Add(opts.Writers)
	for range opts.Writers {
		go p.writeLoop()
	}
	return p
}

// Close waits for the writers to finish what they hold.
func (p *Processor) Close() {
	close(p.stop)
	p.wg.Wait()
}

// Process moderates b and stores it, returning once it is durable.
func (p *Processor) Process(ctx context.Context, b barrage.Barrage) error {
	ctx, span := p.tracing.Provider.Tracer(p.tracing.Names.ProcessTracer).Start(ctx, "store")
	defer span.End()
	b.Text = p.masker.Mask(b.Text)
	if p.roomWords != nil {
		if words := p.roomWords(b.Room); len(words) > 0 {
			b.Text = NewMasker(words).Mask(b.Text)
		}
	}
	w := write{b: b, done: make(chan error, 1)}
	select {
	case p.pending <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stop:
		return errors.New("processor: shutting down")
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		// The write may still land; a retry is deduplicated by id.
		return ctx.Err()
	}
}

// writeLoop takes whatever is waiting, up to a batch, and stores it in one Put. Each
// writer runs one; a request waits only while every writer is busy.
func (p *Processor) writeLoop() {
	defer p.wg.Done()
	batch := make([]write, 0, store.MaxBatch)
	for {
		select {
		case w := <-p.pending:
			batch = append(batch[:0], w)
		case <-p.stop:
			return
		}
	drain:
		for len(batch) < p.maxBatch {
			select {
			case w := <-p.pending:
				batch = append(batch, w)
			default:
				break drain
			}
		}
		p.flush(batch)
	}
}

func (p *Processor) flush(batch []write) {
	bs := make([]barrage.Barrage, len(batch))
	for i, w := range batch {
		bs[i] = w.b
	}
	// Detached from any one request: a batch serves several, and a half-done write helps no one.
	stored, err := p.store.Put(context.Background(), bs)
	for _, w := range batch {
		w.done <- err
	}
	if err != nil {
		p.log.Warn("store write failed", "barrages", len(bs), "err", err)
		if p.hooks.Failed != nil {
			p.hooks.Failed(err)
		}
		return
	}
	if p.hooks.New != nil && len(stored) > 0 {
		p.hooks.New(len(stored))
	}
	if p.hooks.Duplicates != nil && len(stored) < len(bs) {
		p.hooks.Duplicates(len(bs) - len(stored))
	}
	if p.notices != nil {
		for _, recs := range byRoom(stored) {
			p.notices.Notice(recs[0].Room, recs)
		}
	}
	if p.hooks.Stored != nil {
		p.hooks.Stored(bs)
	}
}

// Handler serves the CloudEvents endpoint and the dead letter endpoint.
func (p *Processor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", p.receive)
	mux.HandleFunc("POST /dead-letter", p.receiveDeadLetter)
	return mux
}

// byRoom splits recs by room, each room's in the order given.
func byRoom(recs []store.Record) [][]store.Record {
	var rooms [][]store.Record
	at := map[string]int{}
	for _, r := range recs {
		i, ok := at[r.Room]
		if !ok {
			i = len(rooms)
			at[r.Room] = i
			rooms = append(rooms, nil)
		}
		rooms[i] = append(rooms[i], r)
	}
	return rooms
}
