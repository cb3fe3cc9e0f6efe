package ots_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

const secret = "Sup3r-Secret-Value-0123456789"

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestOpenErrorsNameTheVariable(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{Secret: secret})
	good := configFor(srv)
	for _, tc := range []struct {
		name   string
		change func(*ots.Config)
		want   string
	}{
		{"UnreachableEndpoint", func(c *ots.Config) { c.Endpoint = "http://" + closedPort(t) }, "OTS_ENDPOINT"},
		{"NotAURL", func(c *ots.Config) { c.Endpoint = "ots.example" }, "OTS_ENDPOINT"},
		{"UnknownKey", func(c *ots.Config) { c.KeyID = "no-such-key" }, "OTS_KEYID"},
		{"WrongSecret", func(c *ots.Config) { c.Secret = secret + "-wrong" }, "OTS_KEYID"},
		{"UnknownInstance", func(c *ots.Config) { c.Instance = "no-such-instance" }, "OTS_INSTANCENAME"},
		{"EmptyTable", func(c *ots.Config) { c.Table = "" }, "TABLE_NAME"},
		{"EmptySecret", func(c *ots.Config) { c.Secret = "" }, "OTS_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			var logs bytes.Buffer
			began := time.Now()
			s, err := ots.Open(t.Context(), cfg, store.Options{}, ots.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			took := time.Since(began)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not name %s", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("error is more than one line: %q", msg)
			}
			if strings.Contains(msg, secret) || strings.Contains(logs.String(), secret) {
				t.Fatalf("the secret leaked: error %q, logs %q", msg, logs.String())
			}
			// Failing fast is the point: the SDK's retries would take seconds.
			if took > 3*time.Second {
				t.Fatalf("Open took %v to fail", took)
			}
		})
	}
}

func TestSecretNeverLogged(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{Secret: secret})
	var logs bytes.Buffer
	cfg := configFor(srv)
	s, err := ots.Open(t.Context(), cfg, store.Options{}, ots.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "ots", cfg)
	printed := cfg.String()
	if !strings.Contains(logs.String(), "created table") {
		t.Fatalf("no table creation was logged: %s", logs.String())
	}
	srv.SetFault(&otstest.Fault{Status: 403, Code: "OTSAuthFailed", Message: "Signature mismatch."})
	_, putErr := s.Put(t.Context(), []barrage.Barrage{mustAccept(t, "room", "hi")})
	pingErr := s.Ping(t.Context())
	srv.ClearFault()
	for _, text := range []string{logs.String(), printed, errText(putErr), errText(pingErr)} {
		if strings.Contains(text, secret) {
			t.Fatalf("the secret appears in %q", text)
		}
	}
	if putErr == nil || !strings.Contains(putErr.Error(), "OTS_SECRET") {
		t.Fatalf("a rejected signature gave %v, want an error naming OTS_SECRET", putErr)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestOpenRefusesAnotherSchema(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	cfg := configFor(srv)
	c := tablestore.NewClient(srv.URL, srv.Instance(), srv.KeyID(), srv.Secret())
	meta := &tablestore.TableMeta{TableName: cfg.Table}
	meta.AddPrimaryKeyColumn("room", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	if _, err := c.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := ots.Open(t.Context(), cfg, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") || !strings.Contains(err.Error(), "room STRING, id STRING") {
		t.Fatalf("Open on a table keyed (room, id) gave %v; want one error naming TABLE_NAME and the key found", err)
	}
}

func TestOpenSetsAndUpdatesTTL(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	cfg := configFor(srv)
	for _, retention := range []time.Duration{72 * time.Hour, 30 * time.Hour} {
		s := openStore(t, cfg, store.Options{Retention: retention})
		got, err := s.EnforcedRetention(t.Context())
		if err != nil || got != retention {
			t.Fatalf("table TTL %v, %v; want %v", got, err, retention)
		}
	}
	if _, err := ots.Open(t.Context(), cfg, store.Options{Retention: time.Hour}); err == nil || !strings.Contains(err.Error(), "BARRAGE_RETENTION") {
		t.Fatalf("a one-hour retention gave %v; want an error naming BARRAGE_RETENTION", err)
	}
}

func TestUnavailableErrors(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	s := openStore(t, configFor(srv), store.Options{})
	for _, f := range []otstest.Fault{otstest.Busy, otstest.InternalError, otstest.Unavailable} {
		srv.SetFault(&f)
		before := srv.Faulted()
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		_, err := s.After(ctx, "room", "", 10)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: After gave %v, want ErrUnavailable", f.Code, err)
		}
		// The SDK retried on its own before giving up.
		if n := srv.Faulted() - before; n < 2 {
			t.Errorf("%s: the server answered %d faults; want the SDK to retry", f.Code, n)
		}
	}
	srv.SetFault(&otstest.Fault{Status: 400, Code: "OTSParameterInvalid", Message: "bad"})
	if _, err := s.After(t.Context(), "room", "", 10); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a bad request gave %v; want an error that is not ErrUnavailable", err)
	}
	srv.ClearFault()
}

func mustAccept(t testing.TB, room, text string) barrage.Barrage {
	t.Helper()
	b, err := barrage.Accept(room, barrage.Draft{Text: text}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
