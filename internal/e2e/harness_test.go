package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/barrage-live/barrage/internal/app"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/telemetry"
)

var updateDocs = flag.Bool("update-docs", false, "write screenshots and measured figures into docs/")

// lockedBuffer collects the program's log lines, shown when a test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// operatorToken is the operator token the tests' programs run with, as production does.
const operatorToken = "e2e-operator-token-0123456789abcdef"

// startProgram starts the whole program (dev role) in this process on free ports and
// returns the HomePage's base URL. An empty value in extra unsets that variable.
func startProgram(t *testing.T, extra map[string]string) string {
	t.Helper()
	return startRole(t, config.RoleDev, extra)
}

// startRole starts one role of the program in this process, as startProgram does.
func startRole(t *testing.T, role config.Role, extra map[string]string) string {
	t.Helper()
	return "http://" + startApp(t, role, extra).HomePage
}

// startApp starts one role and returns it, for the addresses of its parts.
func startApp(t *testing.T, role config.Role, extra map[string]string) *app.App {
	t.Helper()
	env := map[string]string{
		"PORT": "0", "BARRAGE_PROCESSOR_PORT": "0", "BARRAGE_DISPATCHER_PORT": "0",
		"BARRAGE_BROKER_ADDR": "127.0.0.1:0", "BARRAGE_DATA_DIR": t.TempDir(),
		"BARRAGE_LOAD_MAX_CONCURRENCY": "8", "BARRAGE_LOAD_MAX_DURATION": "10s",
		"BARRAGE_POLL_INTERVAL": "50ms", "BARRAGE_ADMIN_TOKEN": operatorToken,
	}
	for k, v := range extra {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	cfg, err := config.Parse(role, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedBuffer{}
	a, err := app.Start(context.Background(), cfg, telemetry.NewLogger(logs, "info", false, cfg.Secrets()))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if strings.Contains(logs.String(), operatorToken) {
			t.Errorf("the operator token reached the program's log")
		}
		if t.Failed() {
			t.Logf("program log:\n%s", tail(logs.String(), 60))
		}
	})
	return a
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// chromiumPath finds a Chromium to drive, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BARRAGE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("needs Chromium for browser tests: apt-get install -y chromium (or set BARRAGE_CHROMIUM)")
	return ""
}

// newBrowser starts a headless Chromium for the test and returns its first tab. Timeouts
// go on contexts derived from it, never on it: its first Run owns the browser.
func newBrowser(t *testing.T, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, opts...)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab in the browser of ctx.
func newTab(t *testing.T, ctx context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// within runs a on ctx with a deadline.
func within[T any](t *testing.T, ctx context.Context, d time.Duration, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// openRoom loads a room's page and waits until its live stream is connected.
func openRoom(t *testing.T, tab context.Context, url string) {
	t.Helper()
	within(t, tab, 20*time.Second, chromedp.Steps(
		chromedp.Navigate(url),
		waitFor(`document.querySelector('[data-testid=connection]').dataset.state === 'live'`),
	))
}

// waitFor polls a page expression until it is truthy, on an interval so the page's own
// frames are not disturbed.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[any](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))(ctx, t)
		return chromedp.Void{}, err
	}
}

// eval evaluates a page expression and decodes its value.
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	return within(t, tab, 10*time.Second, chromedp.Evaluate[T](expr))
}

// api is the tests' own HTTP client: every call has a deadline.
var api = &http.Client{Timeout: 10 * time.Second}

// send posts a barrage through the API, as a script would.
func send(t *testing.T, base, room, text string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"text": text})
	res, err := api.Post(base+"/api/rooms/"+room+"/barrages", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ ID string }
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("send %q: %s", text, res.Status)
	}
	return out.ID
}

// roomHistory reads every barrage the room holds, page by page, once per id.
func roomHistory(t *testing.T, base, room string) []store.Record {
	t.Helper()
	var all []store.Record
	seen := map[string]bool{}
	after := ""
	for {
		res, err := api.Get(base + "/api/rooms/" + room + "/barrages?limit=1000&after=" + url.QueryEscape(after))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Barrages []store.Record
			Cursor   string
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("history: %s %v", res.Status, err)
		}
		for _, r := range page.Barrages {
			if !seen[r.ID] {
				seen[r.ID] = true
				all = append(all, r)
			}
		}
		if len(page.Barrages) == 0 || page.Cursor == after {
			return all
		}
		after = page.Cursor
	}
}

// docsPath is a path under the repository's docs/ folder.
func docsPath(t *testing.T, elem ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(append([]string{filepath.Dir(file), "..", "..", "docs"}, elem...)...)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
