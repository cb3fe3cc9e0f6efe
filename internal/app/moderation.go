package app

import (
	"context"
	"time"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/store"
)

// startBook keeps a copy of the store's mutes and rules, read at start and then on every
// operator's notice and every poll, until shutdown. deleted hears of every barrage an
// operator deletes, on any instance. A store without moderation gives no book.
func (a *App) startBook(ctx context.Context, cfg config.Config, st store.Store, part string, deleted func(room, id string)) *moderation.Book {
	src, ok := st.(store.Moderator)
	if !ok {
		return nil
	}
	book := moderation.NewBook(src, cfg.HomePage.PollInterval, a.log.With("part", "moderation"), deleted)
	loadCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := book.Load(loadCtx); err != nil {
		a.log.Warn("moderation not read at start; sends are checked against it once it is", "err", err)
	}
	cancel()
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		book.Run(runCtx)
	}()
	a.onStop(phaseStopAccepting, part+" moderation book", func(context.Context) error {
		stop()
		<-done
		return nil
	})
	return book
}
