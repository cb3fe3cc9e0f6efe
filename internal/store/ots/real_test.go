package ots_test

import (
	"cmp"
	"os"
	"testing"

	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/storetest"
)

// TestContractRealTablestore runs the contract suite against a real instance when the
// OTS_* variables are set. It writes to TABLE_NAME (default barrage_contract_test),
// creating it if needed; every subtest uses rooms of its own.
func TestContractRealTablestore(t *testing.T) {
	cfg := ots.Config{
		Endpoint: os.Getenv("OTS_ENDPOINT"),
		Instance: os.Getenv("OTS_INSTANCENAME"),
		Table:    cmp.Or(os.Getenv("TABLE_NAME"), "barrage_contract_test"),
		KeyID:    os.Getenv("OTS_KEYID"),
		Secret:   os.Getenv("OTS_SECRET"),
	}
	if cfg.Endpoint == "" {
		t.Skip("set OTS_ENDPOINT, OTS_INSTANCENAME, OTS_KEYID and OTS_SECRET to run the contract suite against a real Tablestore instance")
	}
	storetest.Run(t, func(t *testing.T, opts store.Options) store.Store {
		return openStore(t, cfg, opts)
	})
}
