package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// dialogs counts JavaScript dialogs a tab opens: an injected alert() would open one.
type dialogs struct {
	mu sync.Mutex
	n  []string
}

func (d *dialogs) listen(ev any) {
	if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
		d.mu.Lock()
		d.n = append(d.n, e.Message)
		d.mu.Unlock()
	}
}

func (d *dialogs) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.n...)
}

// shownWith is a page expression for the on-screen barrage with the given text.
func shownWith(text string) string {
	return `[...document.querySelectorAll('[data-testid=danmaku]')].find(e => e.textContent === ` + quote(text) + `)`
}

func TestSendShowsOwnBarrageHighlightedAndInASecondTab(t *testing.T) {
	base := startProgram(t, nil)
	browser := newBrowser(t)
	room := base + "/rooms/e2e-send"
	openRoom(t, browser, room)
	other := newTab(t, browser)
	openRoom(t, other, room)

	text := "hello from the page " + time.Now().Format("150405.000")
	within(t, browser, 10*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), text+kb.Enter),
		waitFor(shownWith(text)),
	))
	own := eval[bool](t, browser, shownWith(text)+`.classList.contains('own')`)
	if !own {
		t.Errorf("the sender's own barrage is not highlighted")
	}
	if box := eval[string](t, browser, `document.querySelector('[data-testid=send-text]').value`); box != "" {
		t.Errorf("send box still holds %q after a successful send", box)
	}

	within(t, other, 10*time.Second, waitFor(shownWith(text)))
	if eval[bool](t, other, shownWith(text)+`.classList.contains('own')`) {
		t.Errorf("the second tab highlights someone else's barrage as its own")
	}
}

func TestSendErrorIsShownAndTextKept(t *testing.T) {
	base := startProgram(t, map[string]string{"BARRAGE_RATE_LIMIT": "1", "BARRAGE_RATE_BURST": "1"})
	browser := newBrowser(t)
	openRoom(t, browser, base+"/rooms/e2e-errors")
	within(t, browser, 10*time.Second, chromedp.Steps(
		// The first by the Send button, the next by Enter.
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "first"),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`document.querySelector('[data-testid=send-text]').value === ''`),
	))
	// The bucket refills once a second, so a slow machine may get one more through; each
	// accepted send empties it again, and the next one within the second is refused.
	for try := 0; ; try++ {
		if try == 20 {
			t.Fatal("no send was refused at one per second")
		}
		within(t, browser, 10*time.Second, chromedp.Steps(
			chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "second too soon"+kb.Enter),
			waitFor(`!document.querySelector('[data-testid=send-error]').hidden || document.querySelector('[data-testid=send-text]').value === ''`),
		))
		if eval[bool](t, browser, `!document.querySelector('[data-testid=send-error]').hidden`) {
			break
		}
	}
	msg := eval[string](t, browser, `document.querySelector('[data-testid=send-error]').textContent`)
	if !strings.Contains(msg, "Try again in") {
		t.Errorf("rate-limit message = %q, want one that says when to try again", msg)
	}
	if box := eval[string](t, browser, `document.querySelector('[data-testid=send-text]').value`); box != "second too soon" {
		t.Errorf("send box = %q after an error, want the text kept", box)
	}
}

var xssPayloads = []string{
	`<script>window.__xss=1;alert('xss')</script>`,
	`<img src=x onerror="window.__xss=1;alert('img')">`,
	`<svg onload="window.__xss=1;alert('svg')"></svg>`,
	`"><iframe srcdoc="<script>parent.__xss=1</script>"></iframe>`,
	`javascript:alert(document.domain)`,
	`</span><b data-x=1>bold?</b><style>*{display:none}</style>`,
	`&lt;script&gt; &amp; &#60;b&#62;`,
	`{{constructor.constructor('window.__xss=1')()}}`,
}

func TestXSSPayloadsShowAsText(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-xss"
	half := len(xssPayloads) / 2
	// Half are in the history the page is rendered with, half arrive live.
	for _, p := range xssPayloads[:half] {
		send(t, base, room, p)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(roomHistory(t, base, room)) < half {
		if time.Now().After(deadline) {
			t.Fatal("the first payloads never reached the room's history")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := &dialogs{}
	browser := newBrowser(t, chromedp.WithListener(d.listen))
	openRoom(t, browser, base+"/rooms/"+room)
	for _, p := range xssPayloads[half:] {
		send(t, base, room, p)
	}
	for _, p := range xssPayloads[half:] {
		within(t, browser, 15*time.Second, waitFor(shownWith(p)))
	}
	history := eval[[]string](t, browser, `[...document.querySelectorAll('[data-testid=history-item]')].map(e => e.textContent.trim())`)
	for _, p := range xssPayloads[:half] {
		found := false
		for _, h := range history {
			found = found || h == p
		}
		if !found {
			t.Errorf("history does not show %q as literal text; it shows %q", p, history)
		}
	}
	injected := eval[int](t, browser, `document.querySelectorAll('main img, main svg, main iframe, main b, main style, main script:not([src])').length`)
	if injected != 0 {
		t.Errorf("%d elements from payloads made it into the page", injected)
	}
	if fired := eval[bool](t, browser, `window.__xss !== undefined`); fired {
		t.Error("a payload's script ran")
	}
	if got := d.seen(); len(got) > 0 {
		t.Errorf("payloads opened dialogs: %q", got)
	}
}
