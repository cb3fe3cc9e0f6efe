package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/barrage-live/barrage/internal/config"
)

// twoHomePages runs the roles as the chart does, in this process: the embedded broker, a
// processor with its dispatcher, and two HomePages sharing Kafka and the store. Their
// safety poll is slow (20 s), so what reaches the second within seconds came by notice.
func twoHomePages(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	broker := startApp(t, config.RoleBroker, map[string]string{"BARRAGE_DATA_DIR": dir})
	env := func(extra ...string) map[string]string {
		e := map[string]string{"BARRAGE_DATA_DIR": dir, "KAFKA_SERVER": broker.Broker, "BARRAGE_POLL_INTERVAL": "20s"}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	// The processor reads room word lists on its poll alone.
	p := startApp(t, config.RoleProcessor, env("BARRAGE_POLL_INTERVAL", "200ms"))
	startApp(t, config.RoleDispatcher, env("K_SINK", "http://"+p.Processor+"/"))
	one, two := startRole(t, config.RoleHomePage, env()), startRole(t, config.RoleHomePage, env())
	// A follower reads from the newest offset: a notice sent before it reads is not its.
	for _, base := range []string{one, two} {
		deadline := time.Now().Add(20 * time.Second)
		for !following(t, base) {
			if time.Now().After(deadline) {
				t.Fatalf("%s does not follow the notice topic", base)
			}
			time.Sleep(20 * time.Millisecond) // polls a condition with a deadline
		}
	}
	return one, two
}

func following(t *testing.T, base string) bool {
	res, err := api.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strings.Contains(string(b), "\nbarrage_notices_following 1\n")
}

// operatorCall sends an operator request with the token.
func operatorCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := api.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// An operator on one HomePage deletes a barrage from the panel, and it vanishes from a
// second tab connected to the other HomePage: from the Recent list and from the screen.
// The operator then mutes its sender from the next barrage; a tab behind the same address
// is refused with the mute message.
func TestOperatorDeletesAndMutesAcrossHomePages(t *testing.T) {
	one, two := twoHomePages(t)
	const room = "e2e-moderation"
	operator := newBrowser(t)
	viewer := newTab(t, operator)
	openRoom(t, operator, one+"/rooms/"+room)
	openRoom(t, viewer, two+"/rooms/"+room)

	within(t, operator, 15*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=mod-token]`), operatorToken),
		chromedp.Click(chromedp.CSS(`[data-testid=mod-open]`)),
		waitFor(`!document.querySelector('[data-testid=mod-body]').hidden`),
	))
	doomed := send(t, one, room, "this one goes")
	kept := send(t, one, room, "this one stays")
	inRecent := func(id string) string {
		return `!!document.querySelector('[data-testid=history-item][data-id=` + quote(id) + `]')`
	}
	within(t, viewer, 20*time.Second, waitFor(inRecent(doomed)+` && `+inRecent(kept)+
		` && !!document.querySelector('[data-testid=danmaku][data-id=`+quote(doomed)+`]')`))
	within(t, operator, 20*time.Second, waitFor(`!!document.querySelector('[data-testid=history-item][data-id=`+quote(doomed)+`] [data-testid=mod-delete]')`))

	clicked := time.Now()
	within(t, operator, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=history-item][data-id=`+quote(doomed)+`] [data-testid=mod-delete]`)))
	within(t, viewer, 10*time.Second, waitFor(`!`+inRecent(doomed)+
		` && !document.querySelector('[data-testid=danmaku][data-id=`+quote(doomed)+`]')`))
	t.Logf("deleted on one HomePage, gone from a tab on the other after %v (its safety poll is 20 s)", time.Since(clicked).Round(time.Millisecond))
	if !eval[bool](t, viewer, inRecent(kept)) {
		t.Fatal("the barrage that was not deleted left the list too")
	}
	for _, r := range roomHistory(t, two, room) {
		if r.ID == doomed {
			t.Fatal("the deleted barrage is still in history")
		}
	}

	// Mute the sender of the kept barrage: the test's own address, which the tabs share.
	within(t, operator, 15*time.Second, chromedp.Steps(
		chromedp.Click(chromedp.CSS(`[data-testid=history-item][data-id=`+quote(kept)+`] [data-testid=mod-mute]`)),
		waitFor(`!!document.querySelector('[data-testid=mod-mute-item]')`),
	))
	within(t, viewer, 20*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "am I muted"),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`!document.querySelector('[data-testid=send-error]').hidden`),
	))
	msg := eval[string](t, viewer, `document.querySelector('[data-testid=send-error]').textContent`)
	if !strings.Contains(msg, "muted") || !strings.Contains(msg, "s left") {
		t.Fatalf("a muted client's send box says %q, want the mute message with the time left", msg)
	}

	// Unmute from the panel: the list empties and sends go through again.
	within(t, operator, 15*time.Second, chromedp.Steps(
		chromedp.Click(chromedp.CSS(`[data-testid=mod-unmute]`)),
		waitFor(`!document.querySelector('[data-testid=mod-mute-item]')`),
	))
	if code, body := operatorCall(t, "GET", one+"/api/rooms/"+room+"/moderation", ""); code != 200 || !strings.Contains(body, `"mutes":[]`) {
		t.Fatalf("after the unmute: %d %s", code, body)
	}
}

// Slow mode set through the API on one HomePage shows in the send box of a page served
// by the other, and a second barrage too soon is refused with the time to wait.
func TestSlowModeShowsInTheSendBox(t *testing.T) {
	one, two := twoHomePages(t)
	const room = "e2e-slow"
	if code, body := operatorCall(t, "PUT", one+"/api/rooms/"+room+"/rules", `{"slowModeSeconds":30,"words":["secret"]}`); code != 200 {
		t.Fatalf("set slow mode: %d %s", code, body)
	}
	tab := newBrowser(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		openRoom(t, tab, two+"/rooms/"+room)
		if eval[bool](t, tab, `!!document.querySelector('[data-testid=send-slow]')`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other HomePage's page never showed slow mode")
		}
	}
	note := eval[string](t, tab, `document.querySelector('[data-testid=send-slow]').textContent`)
	if !strings.Contains(note, "30") {
		t.Fatalf("the send box says %q, want the 30 s of slow mode", note)
	}
	within(t, tab, 20*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "a secret first"),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`document.querySelector('[data-testid=send-text]').value === ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), "second"),
		chromedp.Click(chromedp.CSS(`[data-testid=send-button]`)),
		waitFor(`!document.querySelector('[data-testid=send-error]').hidden`),
	))
	msg := eval[string](t, tab, `document.querySelector('[data-testid=send-error]').textContent`)
	if !strings.Contains(msg, "Slow mode") || !strings.Contains(msg, "again in") {
		t.Fatalf("a send too soon says %q, want the slow mode wait", msg)
	}
	// The room's word list is masked by the processor.
	within(t, tab, 20*time.Second, waitFor(`[...document.querySelectorAll('[data-testid=history-item]')].some((li) => li.textContent.includes('a ****** first'))`))
}
