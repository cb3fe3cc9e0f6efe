package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/barrage-live/barrage/internal/problem"
)

// lossyFront stands between the page and the HomePage and loses the answer to the first
// send: the barrage reaches Kafka, the page hears 503. It records what each send carried.
type lossyFront struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	keys  []string
	ids   []string
}

func (f *lossyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/barrages") {
		f.proxy.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.proxy.ServeHTTP(rec, r)
	var out struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	f.mu.Lock()
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	f.ids = append(f.ids, out.ID)
	first := len(f.keys) == 1
	f.mu.Unlock()
	if first && rec.Code == http.StatusAccepted {
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Detail: "lost on the way back", RetryAfter: time.Second})
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (f *lossyFront) sends() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...), append([]string(nil), f.ids...)
}

// The page sends an Idempotency-Key with every barrage and reuses it when it sends again
// after a 503, so a barrage whose answer was lost shows once.
func TestRetryAfterLostAnswerShowsOnce(t *testing.T) {
	base := startProgram(t, nil)
	target, _ := url.Parse(base)
	front := &lossyFront{proxy: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	const room = "e2e-retry"
	browser := newBrowser(t)
	openRoom(t, browser, srv.URL+"/rooms/"+room)
	within(t, browser, 20*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "only once"),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`!document.querySelector('[data-testid=send-error]').hidden`),
	))
	if msg := eval[string](t, browser, `document.querySelector('[data-testid=send-error]').textContent`); !strings.Contains(msg, "will not show it twice") {
		t.Errorf("503 message = %q, want one that says sending again is safe", msg)
	}
	within(t, browser, 20*time.Second, chromedp.Steps(
		waitFor(`!document.querySelector('[data-testid=send-button]').disabled`),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`document.querySelector('[data-testid=send-text]').value === ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "a new one"),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`document.querySelector('[data-testid=send-text]').value === ''`),
	))
	keys, ids := front.sends()
	if len(keys) != 3 {
		t.Fatalf("%d sends reached the front, want 3", len(keys))
	}
	if keys[0] == "" || keys[0] != keys[1] || keys[2] == keys[0] {
		t.Fatalf("Idempotency-Keys %q: want the retry to reuse the first and a new barrage to get its own", keys)
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[2] == ids[0] {
		t.Fatalf("ids %q: the retry must be the same barrage", ids)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		counts := map[string]int{}
		for _, r := range roomHistory(t, base, room) {
			counts[r.Text]++
		}
		if counts["a new one"] == 1 && counts["only once"] >= 1 {
			if counts["only once"] != 1 {
				t.Fatalf("the retried barrage is stored %d times", counts["only once"])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("history never held both barrages: %v", counts)
		}
		time.Sleep(50 * time.Millisecond) // poll interval of a condition with a deadline
	}
}
