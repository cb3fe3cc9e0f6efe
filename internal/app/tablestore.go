package app

import (
	"context"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
)

// openTablestore opens the production store; its errors already name the variable to fix.
func (a *App) openTablestore(ctx context.Context, cfg config.Config, opts store.Options) (store.Store, error) {
	st, err := ots.Open(ctx, ots.Config{
		Endpoint: cfg.OTS.Endpoint,
		Instance: cfg.OTS.Instance,
		Table:    cfg.OTS.Table,
		KeyID:    cfg.OTS.KeyID,
		Secret:   cfg.OTS.Secret,
	}, opts)
	if err != nil {
		return nil, err
	}
	a.onStop(phaseCloseStore, "store", func(context.Context) error { return st.Close() })
	a.log.Info("Tablestore", "endpoint", cfg.OTS.Endpoint, "instance", cfg.OTS.Instance, "table", cfg.OTS.Table)
	return st, nil
}
