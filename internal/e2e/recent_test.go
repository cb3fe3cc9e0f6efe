package e2e

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
)

type recentView struct {
	AtBottom, HintShown, LastVisible bool
	Last                             string
	Items                            int
}

// readRecent says where the Recent list is scrolled, whether its newest item is in view
// and whether the hint shows.
const readRecent = `(() => {
  const ol = document.querySelector('[data-testid=history]');
  const items = ol.querySelectorAll('[data-testid=history-item]');
  const last = items[items.length - 1];
  const r = last.getBoundingClientRect(), box = ol.getBoundingClientRect();
  return {
    atBottom: ol.scrollHeight - ol.scrollTop - ol.clientHeight <= 4,
    hintShown: !document.querySelector('[data-testid=history-newer]').hidden,
    lastVisible: r.top >= box.top - 1 && r.bottom <= box.bottom + 1,
    last: last.textContent.trim(),
    items: items.length,
  };
})()`

// TestRecentListKeepsTheNewestInView: a room with more history than the box holds opens
// scrolled to its newest, at the bottom; live barrages keep it there; a reader who has
// scrolled up stays put and gets a hint that jumps down.
func TestRecentListKeepsTheNewestInView(t *testing.T) {
	dir := t.TempDir()
	base := startProgram(t, map[string]string{"BARRAGE_DATA_DIR": dir})
	const room, n = "e2e-recent", 40
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "store"), store.Options{Retention: store.DefaultRetention})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batch := make([]barrage.Barrage, n)
	at := time.Now()
	for i := range batch {
		batch[i], _ = barrage.Accept(room, barrage.Draft{Text: "history " + strconv.Itoa(i+1)}, at.Add(time.Duration(i)*time.Millisecond))
	}
	if _, err := st.Put(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the history stored", func() bool { return len(roomHistory(t, base, room)) == n })

	browser := newBrowser(t)
	within(t, browser, 10*time.Second, reduceMotion())
	openRoom(t, browser, base+"/rooms/"+room)
	got := eval[recentView](t, browser, readRecent)
	if !got.AtBottom || !got.LastVisible || got.Last != "history 40" || got.HintShown {
		t.Fatalf("on opening: %+v", got)
	}
	if eval[bool](t, browser, `(() => { const ol = document.querySelector('[data-testid=history]'); return ol.scrollHeight <= ol.clientHeight; })()`) {
		t.Fatal("the history fits the box; the test needs more than it holds")
	}

	send(t, base, room, "live one")
	within(t, browser, 15*time.Second, waitFor(`[...document.querySelectorAll('[data-testid=history-item]')].at(-1).textContent.trim() === 'live one'`))
	got = eval[recentView](t, browser, readRecent)
	if !got.AtBottom || !got.LastVisible || got.HintShown {
		t.Errorf("after a live barrage at the bottom: %+v", got)
	}

	// The reader scrolls up to read; a new barrage must not pull them down.
	within(t, browser, 10*time.Second, chromedp.Evaluate[any](`document.querySelector('[data-testid=history]').scrollTop = 0`))
	send(t, base, room, "live two")
	within(t, browser, 15*time.Second, waitFor(`!document.querySelector('[data-testid=history-newer]').hidden`))
	got = eval[recentView](t, browser, readRecent)
	if got.AtBottom || got.LastVisible || got.Last != "live two" {
		t.Errorf("scrolled up: %+v", got)
	}
	if top := eval[float64](t, browser, `document.querySelector('[data-testid=history]').scrollTop`); top != 0 {
		t.Errorf("a new barrage moved the reader to %v", top)
	}

	within(t, browser, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=history-newer]`)))
	got = eval[recentView](t, browser, readRecent)
	if !got.AtBottom || !got.LastVisible || got.HintShown {
		t.Errorf("after the hint: %+v", got)
	}
}
