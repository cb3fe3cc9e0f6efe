package app

import (
	"context"
	"errors"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/store"
)

func (a *App) openTablestore(ctx context.Context, cfg config.Config, opts store.Options) (store.Store, error) {
	return nil, errors.New("app: Tablestore (OTS_ENDPOINT) is not wired yet")
}
