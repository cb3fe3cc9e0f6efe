package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

func benchOTS(b *testing.B) (*ots.Store, *otstest.Server) {
	srv := otstest.Start(b, otstest.Options{})
	srv.SetLatency(5 * time.Millisecond)
	st, err := ots.Open(context.Background(), ots.Config{Endpoint: srv.URL, Instance: srv.Instance(), Table: "barrage",
		KeyID: srv.KeyID(), Secret: srv.Secret()}, store.Options{}, ots.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st, srv
}

func benchHub(b *testing.B, src Source, opts Options) (*Hub, *httptest.Server) {
	hub := New(src, opts, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = hub.Subscribe(w, r, strings.TrimPrefix(r.URL.Path, "/"), func() {})
	}))
	b.Cleanup(func() { hub.Close(); srv.Close() })
	return hub, srv
}

type arrival struct {
	id string
	at time.Time
}

// BenchmarkDisplayOnTablestore: from the write of a barrage to its arrival on a viewer's
// stream, on the Tablestore test server (5 ms a request, the 2 s settle window), with the
// old blind poll (250 ms, no notices) and with notices (safety poll 5 s). Each iteration
// writes 30 barrages to one room at 10 a second, within what a room shows early
// (stream.MaxAhead a settle window); the figures are p50 and p99 over all of them.
func BenchmarkDisplayOnTablestore(b *testing.B) {
	for _, tc := range []struct {
		name    string
		poll    time.Duration
		notices bool
	}{{"poll-250ms", 250 * time.Millisecond, false}, {"notices", 5 * time.Second, true}} {
		b.Run(tc.name, func(b *testing.B) {
			st, _ := benchOTS(b)
			hub, srv := benchHub(b, st, Options{PollInterval: tc.poll, SettleDelay: st.Settle()})
			arrived := make(chan arrival, 1024)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/room", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				defer resp.Body.Close()
				_ = livetest.ReadBarrages(resp.Body, func(_ string, recs []store.Record) {
					for _, r := range recs {
						arrived <- arrival{r.ID, time.Now()}
					}
				})
			}()
			for hub.Rooms() == 0 {
				time.Sleep(time.Millisecond)
			}
			var lags []time.Duration
			for b.Loop() {
				sent := map[string]time.Time{}
				tick := time.NewTicker(100 * time.Millisecond)
				for i := range 30 {
					<-tick.C
					bg, _ := barrage.Accept("room", barrage.Draft{Text: fmt.Sprint(i)}, time.Now())
					sent[bg.ID] = time.Now()
					recs, err := st.Put(context.Background(), []barrage.Barrage{bg})
					if err != nil {
						b.Fatal(err)
					}
					if tc.notices {
						hub.Notice("room", recs)
					}
				}
				tick.Stop()
				for range sent {
					a := <-arrived
					lags = append(lags, a.at.Sub(sent[a.id]))
				}
			}
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lags[len(lags)*99/100].Milliseconds()), "p99-ms")
		})
	}
}

// BenchmarkIdleRoomReads: the store reads of 1,000 watched rooms on 3 HomePage instances,
// with 10 barrages a second written in all, each announced to every instance, on the
// Tablestore test server. Before: the blind poll every 250 ms. After: notices followed,
// and the safety poll from 5 s, backing off in quiet rooms. The figure is GetRange calls a
// second over a window that starts once the polls have reached their steady pace.
func BenchmarkIdleRoomReads(b *testing.B) {
	const rooms, instances = 1000, 3
	for _, tc := range []struct {
		name           string
		poll           time.Duration
		notices        bool
		steady, window time.Duration
	}{
		{"poll-250ms", 250 * time.Millisecond, false, time.Second, 10 * time.Second},
		// 5, 10 and then 20 s between the polls of a quiet room: steady from 35 s on.
		{"notices", 5 * time.Second, true, 40 * time.Second, 40 * time.Second},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st, srv := benchOTS(b)
			setup := time.Now()
			var hubs []*Hub
			for range instances {
				hub, _ := benchHub(b, st, Options{PollInterval: tc.poll, SettleDelay: st.Settle(), MaxRooms: rooms})
				hub.Following(tc.notices)
				hubs = append(hubs, hub)
			}
			joinAll(b, hubs, rooms)
			setupTook := time.Since(setup)
			var perSecond float64
			failed := 0
			for b.Loop() {
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						room := fmt.Sprintf("idle-%d", i*37%rooms)
						bg, _ := barrage.Accept(room, barrage.Draft{Text: "quiet"}, time.Now())
						recs, err := st.Put(context.Background(), []barrage.Barrage{bg})
						if err != nil {
							// The poll can load the store until a claim misses its write window.
							failed++
							continue
						}
						for _, h := range hubs {
							if tc.notices {
								h.Notice(room, recs)
							}
						}
					}
				}()
				time.Sleep(tc.steady)
				before, start := srv.Requests("GetRange"), time.Now()
				time.Sleep(tc.window)
				perSecond = float64(srv.Requests("GetRange")-before) / time.Since(start).Seconds()
				close(stop)
				<-done
			}
			b.ReportMetric(perSecond, "GetRange/s")
			b.ReportMetric(float64(failed), "failed-puts")
			b.ReportMetric(setupTook.Seconds(), "setup-s")
		})
	}
}

// joinAll starts a feed of every room on every hub, many at once: one after another, each
// join's store read queues behind the polls of the feeds already started, and on a busy
// machine the setup alone outlasts the test timeout.
func joinAll(b *testing.B, hubs []*Hub, rooms int) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, 64)
	errs := make(chan error, 1)
	for _, hub := range hubs {
		for r := range rooms {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				if _, _, err := hub.join(context.Background(), fmt.Sprintf("idle-%d", r)); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			})
		}
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
