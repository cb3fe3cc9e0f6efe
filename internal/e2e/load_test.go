package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestLoadSenderRunReachesDoneAndRoomHoldsWhatWasAccepted(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-load"
	browser := newBrowser(t)
	openRoom(t, browser, base+"/rooms/"+room)
	observeLongTasks(t, browser)

	shots := t.TempDir()
	if *updateDocs {
		shots = filepath.Dir(docsPath(t, "screenshots", "x"))
	}
	within(t, browser, 10*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=load-token]`), operatorToken),
		chromedp.SetValue(chromedp.CSS(`[data-testid=load-message]`), "load test: hello from the load sender"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=load-concurrency]`), "4"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=load-duration]`), "3"),
		chromedp.Click(chromedp.CSS(`[data-testid=load-start]`)),
		waitFor(`document.querySelector('[data-testid=load-status]').textContent === 'running'`),
	))
	// Mid-run, with barrages on screen and the plot filling: the picture the README shows.
	within(t, browser, 10*time.Second, waitFor(`Number(document.querySelector('[data-testid=load-left]').textContent) <= 1.2 &&
		document.querySelectorAll('[data-testid=danmaku]').length > 5`))
	mid := screenshot(t, browser)
	within(t, browser, 30*time.Second, waitFor(`document.querySelector('[data-testid=load-status]').textContent === 'done'`))

	num := func(id string) int {
		n, err := strconv.Atoi(eval[string](t, browser, `document.querySelector('[data-testid=`+id+`]').textContent`))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return n
	}
	sent, accepted, failed := num("load-sent"), num("load-accepted"), num("load-failed")
	t.Logf("load run: sent %d, accepted %d, failed %d", sent, accepted, failed)
	if accepted == 0 || sent != accepted+failed {
		t.Fatalf("progress: sent %d, accepted %d, failed %d", sent, accepted, failed)
	}
	if v := eval[float64](t, browser, `document.querySelector('[data-testid=load-progress]').value`); v != 1 {
		t.Errorf("progress bar at %v when done, want 1", v)
	}
	// The token is kept for this tab only: never in localStorage, a cookie or the URL.
	kept := eval[map[string]any](t, browser, `({session: sessionStorage.getItem('barrage.operatorToken'),
		local: JSON.stringify({...localStorage}), cookie: document.cookie, url: location.href})`)
	if kept["session"] != operatorToken {
		t.Errorf("sessionStorage holds %v, want the token", kept["session"])
	}
	for _, where := range []string{"local", "cookie", "url"} {
		if v, _ := kept[where].(string); strings.Contains(v, operatorToken) {
			t.Errorf("the token is in %s: %q", where, v)
		}
	}

	// Everything accepted is processed and stored; nothing more and nothing less.
	var held int
	deadline := time.Now().Add(30 * time.Second)
	for held = len(roomHistory(t, base, room)); held < accepted && time.Now().Before(deadline); held = len(roomHistory(t, base, room)) {
		time.Sleep(100 * time.Millisecond)
	}
	if held != accepted {
		t.Fatalf("room holds %d barrages; the load sender says %d were accepted", held, accepted)
	}

	// The stats panel has caught up with the run before the second picture.
	within(t, browser, 10*time.Second, waitFor(`document.querySelector('[data-testid=stat-p99]').textContent !== '–'`))
	done := screenshot(t, browser)
	lt := readLongTasks(t, browser)
	t.Logf("long tasks during the load run: %d, longest %.0f ms", lt.Count, lt.Max)
	for name, png := range map[string][]byte{"load-run.png": mid, "load-done.png": done} {
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// screenshot captures the whole page from its top.
func screenshot(t *testing.T, tab context.Context) []byte {
	t.Helper()
	eval[bool](t, tab, `(window.scrollTo(0, 0), true)`)
	return within(t, tab, 10*time.Second, chromedp.FullScreenshot(100))
}
