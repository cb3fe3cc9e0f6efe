package ots_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
	"github.com/barrage-live/barrage/internal/store/storetest"
)

var tables atomic.Int64

// configFor points a store at srv, on a table no other test uses.
func configFor(srv *otstest.Server) ots.Config {
	return ots.Config{
		Endpoint: srv.URL,
		Instance: srv.Instance(),
		Table:    fmt.Sprintf("barrage_%d", tables.Add(1)),
		KeyID:    srv.KeyID(),
		Secret:   srv.Secret(),
	}
}

func openStore(t testing.TB, cfg ots.Config, opts store.Options, options ...ots.Option) *ots.Store {
	t.Helper()
	options = append([]ots.Option{ots.WithLogger(slog.New(slog.DiscardHandler))}, options...)
	s, err := ots.Open(context.Background(), cfg, opts, options...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	storetest.Run(t, func(t *testing.T, opts store.Options) store.Store {
		return openStore(t, configFor(srv), opts)
	})
}

// Moderation against the Tablestore SDK and otstest; a restart is a new Store on the same
// table.
func TestModeration(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	cfgs := map[store.Store]ots.Config{}
	storetest.RunModeration(t, func(t *testing.T, opts store.Options) store.Store {
		cfg := configFor(srv)
		s := openStore(t, cfg, opts)
		cfgs[s] = cfg
		return s
	}, func(t *testing.T, old store.Store) store.Store {
		_ = old.Close()
		return openStore(t, cfgs[old], store.Options{})
	})
}
