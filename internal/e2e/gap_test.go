package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
)

// TestPageFillsAGapFromHistory: a page whose stream opens further behind than the server
// replays gets a gap event, pages the rest from the history API, lists each record once,
// and keeps streaming.
func TestPageFillsAGapFromHistory(t *testing.T) {
	dir := t.TempDir()
	base := startProgram(t, map[string]string{"BARRAGE_DATA_DIR": dir})
	const room, backlog = "e2e-gap", 6000 // the replay stops at 5,000
	send(t, base, room, "before the page")
	waitUntil(t, "the first barrage stored", func() bool { return len(roomHistory(t, base, room)) == 1 })

	// Hold the page's stream while the backlog lands, so it opens that far behind.
	paused := make(chan fetch.RequestID, 8)
	browser := newBrowser(t, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case paused <- e.RequestID:
			default:
			}
		}
	}))
	within(t, browser, 10*time.Second, chromedp.Steps(reduceMotion(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/api/rooms/" + room + "/stream*"}}})
		return err
	})))
	within(t, browser, 20*time.Second, chromedp.Navigate(base+"/rooms/"+room))
	var held fetch.RequestID
	select {
	case held = <-paused:
	case <-time.After(20 * time.Second):
		t.Fatal("the page never opened its stream")
	}

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "store"), store.Options{Retention: store.DefaultRetention})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for n := 0; n < backlog; {
		batch := make([]barrage.Barrage, min(backlog-n, store.MaxBatch))
		for i := range batch {
			n++
			batch[i], _ = barrage.Accept(room, barrage.Draft{Text: "backlog " + strconv.Itoa(n)}, time.Now())
		}
		if _, err := st.Put(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	last := "backlog " + strconv.Itoa(backlog)
	waitUntil(t, "the backlog stored", func() bool {
		recs, err := st.Latest(t.Context(), room, 1)
		return err == nil && len(recs) == 1 && recs[0].Text == last
	})

	within(t, browser, 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: held}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
		return err
	}))
	// The replay ends at backlog 5000; only the gap's fill from history lists the last one.
	within(t, browser, 30*time.Second, waitFor(listedWith(last)))
	live := "after the gap"
	send(t, base, room, live)
	within(t, browser, 15*time.Second, waitFor(listedWith(live)))
	texts := eval[[]string](t, browser, `[...document.querySelectorAll('[data-testid=live-item]')].map(e => e.textContent)`)
	counts := map[string]int{}
	for _, s := range texts {
		counts[s]++
		if counts[s] > 1 {
			t.Errorf("%q listed %d times", s, counts[s])
		}
	}
	// The list keeps the newest 200: the live one, then the gap's last 199, newest first.
	if len(texts) != 200 || texts[0] != live || texts[1] != last || texts[199] != "backlog "+strconv.Itoa(backlog-198) {
		t.Errorf("listed %d items, from %q, %q to %q", len(texts), texts[0], texts[min(1, len(texts)-1)], texts[len(texts)-1])
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
