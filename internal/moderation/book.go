package moderation

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// Source is the store as the Book reads it.
type Source interface {
	Moderation(ctx context.Context, now time.Time) (store.Moderation, error)
	Actions(ctx context.Context, since time.Time, limit int) ([]store.Action, error)
}

// Book is this instance's copy of the running mutes and room rules. The store is the
// source of truth: the Book reads it again when woken (an action's notice) and on every
// poll, the safety net for a notice lost.
type Book struct {
	src     Source
	log     *slog.Logger
	poll    time.Duration
	deleted func(room, id string) // a barrage deleted, on any instance
	now     func() time.Time

	mu    sync.RWMutex
	mutes map[roomSender]store.Mute
	rules map[string]store.Rules

	wake chan struct{}
	seen map[string]time.Time // action ids read, until they age out of the overlap
	last time.Time            // the newest action read
}

type roomSender struct{ room, sender string }

// overlap is how far back each read of the log starts before the newest entry it had: an
// entry written with an earlier time by a slower instance is still found.
const overlap = 10 * time.Second

// NewBook returns an empty Book; Run fills it.
func NewBook(src Source, poll time.Duration, log *slog.Logger, deleted func(room, id string)) *Book {
	if deleted == nil {
		deleted = func(string, string) {}
	}
	return &Book{src: src, log: log, poll: poll, deleted: deleted, now: time.Now,
		mutes: map[roomSender]store.Mute{}, rules: map[string]store.Rules{},
		wake: make(chan struct{}, 1), seen: map[string]time.Time{}}
}

// Wake has the Book read the store now.
func (b *Book) Wake() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Load reads the store once: the state, and the log since the last read.
func (b *Book) Load(ctx context.Context) error {
	now := b.now()
	m, err := b.src.Moderation(ctx, now)
	if err != nil {
		return err
	}
	mutes := make(map[roomSender]store.Mute, len(m.Mutes))
	for _, mu := range m.Mutes {
		mutes[roomSender{mu.Room, mu.Sender}] = mu
	}
	rules := make(map[string]store.Rules, len(m.Rules))
	for _, r := range m.Rules {
		if len(rules) < MaxRoomsRules {
			rules[r.Room] = r
		}
	}
	b.mu.Lock()
	b.mutes, b.rules = mutes, rules
	b.mu.Unlock()

	if b.last.IsZero() {
		b.last = now // deletions before this instance started need no viewer told
		return nil
	}
	acts, err := b.src.Actions(ctx, b.last.Add(-overlap), 10000)
	if err != nil {
		return err
	}
	for _, a := range acts {
		if _, ok := b.seen[a.ID]; ok {
			continue
		}
		b.seen[a.ID] = a.At
		if a.At.After(b.last) {
			b.last = a.At
		}
		if a.Kind == store.ActDelete {
			b.deleted(a.Room, a.Target)
		}
	}
	for id, at := range b.seen {
		if at.Before(b.last.Add(-2 * overlap)) {
			delete(b.seen, id)
		}
	}
	return nil
}

// Run reads the store at start, when woken and every poll, until ctx ends.
func (b *Book) Run(ctx context.Context) {
	t := time.NewTicker(b.poll)
	defer t.Stop()
	for {
		if err := b.Load(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("reading moderation from the store failed; the last copy holds", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
	}
}

// Muted returns the mute of sender in room running at now.
func (b *Book) Muted(room, sender string, now time.Time) (store.Mute, bool) {
	if sender == "" {
		return store.Mute{}, false
	}
	b.mu.RLock()
	m, ok := b.mutes[roomSender{room, sender}]
	b.mu.RUnlock()
	if !ok || !m.Until.After(now) {
		return store.Mute{}, false
	}
	return m, true
}

// Mutes returns the room's running mutes.
func (b *Book) Mutes(room string, now time.Time) []store.Mute {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []store.Mute
	for k, m := range b.mutes {
		if k.room == room && m.Until.After(now) {
			out = append(out, m)
		}
	}
	return out
}

// Rules returns the room's rules, zero when it has none.
func (b *Book) Rules(room string) store.Rules {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.rules[room]
}

// Apply puts a change this instance just wrote into the Book at once, before the store
// is read again.
func (b *Book) Apply(a store.Action, mute *store.Mute, rules *store.Rules) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case mute != nil:
		b.mutes[roomSender{mute.Room, mute.Sender}] = *mute
	case a.Kind == store.ActUnmute:
		delete(b.mutes, roomSender{a.Room, a.Target})
	case rules != nil && rules.Zero():
		delete(b.rules, rules.Room)
	case rules != nil:
		b.rules[rules.Room] = *rules
	}
}
