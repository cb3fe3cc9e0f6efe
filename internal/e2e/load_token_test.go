package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestLoadFormWithAWrongTokenShows401AndStartsNothing(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-load-wrong-token"
	browser := newBrowser(t)
	openRoom(t, browser, base+"/rooms/"+room)

	within(t, browser, 15*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=load-token]`), "not-the-operator-token-at-all-000"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=load-duration]`), "2"),
		chromedp.Click(chromedp.CSS(`[data-testid=load-start]`)),
		waitFor(`!document.querySelector('[data-testid=load-error]').hidden`),
	))
	msg := eval[string](t, browser, `document.querySelector('[data-testid=load-error]').textContent`)
	if !strings.Contains(msg, "401") || !strings.Contains(msg, "token") {
		t.Fatalf("error shown: %q, want the 401 message about the token", msg)
	}
	state := eval[map[string]any](t, browser, `({status: document.querySelector('[data-testid=load-status]').textContent,
		start: document.querySelector('[data-testid=load-start]').disabled,
		kept: sessionStorage.getItem('barrage.operatorToken')})`)
	if state["status"] != "idle" || state["start"] != false || state["kept"] != nil {
		t.Fatalf("after a refused token: %v, want idle, Send enabled and no token kept", state)
	}
	// Nothing runs: the room is empty and takes a run with the right token at once.
	if held := roomHistory(t, base, room); len(held) != 0 {
		t.Fatalf("a refused start left %d barrages in the room", len(held))
	}
	a := loadCall(t, api, http.MethodPost, base+"/api/rooms/"+room+"/load", operatorToken, `{"message":"m","concurrency":1,"durationSeconds":0.1}`)
	if a.status != http.StatusAccepted {
		t.Fatalf("start with the right token after the refused one: %d %v", a.status, a.body)
	}
	waitRunDone(t, api, base, room, a.str("id"), operatorToken)
}
