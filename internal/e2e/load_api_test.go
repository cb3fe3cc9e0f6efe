package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
)

// loadAnswer is one answer of the load API, its body decoded.
type loadAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

// loadCall calls the load API through c; token "" sends no Authorization header.
func loadCall(t *testing.T, c *http.Client, method, url, token, body string) loadAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := loadAnswer{status: res.StatusCode, header: res.Header}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a loadAnswer) str(key string) string { s, _ := a.body[key].(string); return s }

func (a loadAnswer) num(key string) float64 { n, _ := a.body[key].(float64); return n }

// waitRunDone follows a run's progress until it is done.
func waitRunDone(t *testing.T, c *http.Client, base, room, id, token string) loadAnswer {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a := loadCall(t, c, http.MethodGet, base+"/api/rooms/"+room+"/load/"+id, token, "")
		if a.status != http.StatusOK {
			t.Fatalf("progress: %d %v", a.status, a.body)
		}
		if a.body["done"] == true {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s not done in time", id)
	return loadAnswer{}
}

// waitHeld waits until the room holds want barrages, or the deadline, and returns how many it holds.
func waitHeld(t *testing.T, base, room string, want int) int {
	t.Helper()
	held := len(roomHistory(t, base, room))
	for deadline := time.Now().Add(30 * time.Second); held < want && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		held = len(roomHistory(t, base, room))
	}
	return held
}

const startBody = `{"message":"paced","concurrency":8,"durationSeconds":2}`

func TestLoadAPIRefusesWithoutTheRightToken(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-load-auth"
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/api/rooms/" + room + "/load", ""},
		{http.MethodPost, "/api/rooms/" + room + "/load", startBody},
		{http.MethodGet, "/api/rooms/" + room + "/load/0123456789abcdef", ""},
		{http.MethodDelete, "/api/rooms/" + room + "/load/0123456789abcdef", ""},
	}
	refused := func(t *testing.T, a loadAnswer) {
		t.Helper()
		if a.status != http.StatusUnauthorized || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") ||
			a.header.Get("Content-Type") != "application/problem+json" || a.str("title") == "" {
			t.Fatalf("%d, WWW-Authenticate %q, %s, %v", a.status, a.header.Get("WWW-Authenticate"), a.header.Get("Content-Type"), a.body)
		}
	}
	// Every route, reads too. Asking without a token is no guess, so it can be repeated.
	for round := range 3 {
		for _, rt := range routes {
			t.Run(fmt.Sprintf("no token %s %s #%d", rt.method, rt.path, round), func(t *testing.T) {
				refused(t, loadCall(t, api, rt.method, base+rt.path, "", rt.body))
			})
		}
	}
	// Wrong tokens: a few are told so, then the client must wait, and even the right
	// token is not looked at from it meanwhile.
	wrong := []string{strings.Repeat("x", len(operatorToken)), operatorToken[:len(operatorToken)/2], operatorToken + "x"}
	tries := 0
	for ; ; tries++ {
		rt := routes[tries%len(routes)]
		a := loadCall(t, api, rt.method, base+rt.path, wrong[tries%len(wrong)], rt.body)
		if a.status == http.StatusTooManyRequests {
			break
		}
		refused(t, a)
		if tries > 20 {
			t.Fatal("wrong tokens are never limited")
		}
	}
	t.Logf("wrong tokens told 401 before the client must wait: %d", tries)
	if a := loadCall(t, api, http.MethodGet, base+"/api/rooms/"+room+"/load", operatorToken, ""); a.status != http.StatusTooManyRequests ||
		a.header.Get("Retry-After") == "" {
		t.Fatalf("right token from a client out of tries: %d, Retry-After %q", a.status, a.header.Get("Retry-After"))
	}

	// Nothing was started: the room is empty, and another client may start a run in it.
	if held := roomHistory(t, base, room); len(held) != 0 {
		t.Fatalf("refused requests left %d barrages in the room", len(held))
	}
	other := fromAddr(t, "127.0.0.2")
	limits := loadCall(t, other, http.MethodGet, base+"/api/rooms/"+room+"/load", operatorToken, "")
	if limits.status != http.StatusOK || limits.num("maxRate") != 1000 {
		t.Fatalf("limits with the token from another client: %d %v", limits.status, limits.body)
	}
	a := loadCall(t, other, http.MethodPost, base+"/api/rooms/"+room+"/load", operatorToken, `{"message":"m","concurrency":1,"durationSeconds":0.2}`)
	if a.status != http.StatusAccepted {
		t.Fatalf("start with the token: %d %v", a.status, a.body)
	}
	waitRunDone(t, other, base, room, a.str("id"), operatorToken)
}

// fromAddr is an HTTP client whose connections come from ip, another loopback address:
// another client as far as the server can tell.
func fromAddr(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

func TestLoadRunIsPacedAndAloneInItsRoom(t *testing.T) {
	const maxRate, seconds = 50, 2
	base := startProgram(t, map[string]string{"BARRAGE_LOAD_MAX_RATE": "50"})
	const room = "e2e-load-paced"
	first := loadCall(t, api, http.MethodPost, base+"/api/rooms/"+room+"/load", operatorToken, startBody)
	if first.status != http.StatusAccepted {
		t.Fatalf("start: %d %v", first.status, first.body)
	}
	id := first.str("id")
	second := loadCall(t, api, http.MethodPost, base+"/api/rooms/"+room+"/load", operatorToken, startBody)
	if second.status != http.StatusConflict || second.header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(second.str("detail"), id) {
		t.Fatalf("second run in the room: %d %v, want 409 naming run %s", second.status, second.body, id)
	}
	done := waitRunDone(t, api, base, room, id, operatorToken)
	accepted := int(done.num("accepted"))
	// What the room holds is counted apart from what the run says it sent.
	held := waitHeld(t, base, room, accepted)
	// The bucket starts with one barrage in it, and no send starts after the run's end.
	bound := maxRate*seconds + 1
	t.Logf("paced run: %d accepted, %d held in the room over %.2f s at a cap of %d/s (bound %d)",
		accepted, held, done.num("elapsedSeconds"), maxRate, bound)
	if held != accepted {
		t.Fatalf("room holds %d barrages; the run says %d were accepted", held, accepted)
	}
	if held == 0 || held > bound {
		t.Fatalf("room holds %d barrages from a %d s run capped at %d/s; want 1 to %d", held, seconds, maxRate, bound)
	}
	// Once it is over the room takes a new run.
	again := loadCall(t, api, http.MethodPost, base+"/api/rooms/"+room+"/load", operatorToken, `{"message":"m","concurrency":1,"durationSeconds":0.1}`)
	if again.status != http.StatusAccepted {
		t.Fatalf("start after the run ended: %d %v", again.status, again.body)
	}
	waitRunDone(t, api, base, room, again.str("id"), operatorToken)
}

func TestDevWithoutTokenKeepsTheLoadSenderOpen(t *testing.T) {
	base := startProgram(t, map[string]string{"BARRAGE_ADMIN_TOKEN": ""})
	const room = "e2e-load-dev"
	a := loadCall(t, api, http.MethodPost, base+"/api/rooms/"+room+"/load", "", `{"message":"m","concurrency":1,"durationSeconds":0.2}`)
	if a.status != http.StatusAccepted {
		t.Fatalf("start without a token in dev: %d %v", a.status, a.body)
	}
	waitRunDone(t, api, base, room, a.str("id"), "")
	page := pageHTML(t, base+"/rooms/"+room)
	if !strings.Contains(page, `data-testid="load-form"`) || strings.Contains(page, `data-testid="load-token"`) {
		t.Fatal("dev without a token: want the load form without a token field")
	}
}

func TestHomePageRoleGatesTheLoadSender(t *testing.T) {
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"barrage-info"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	const room = "e2e-load-homepage"

	t.Run("no token: off", func(t *testing.T) {
		base := startRole(t, config.RoleHomePage, map[string]string{"KAFKA_SERVER": broker.Addr(), "BARRAGE_ADMIN_TOKEN": ""})
		for _, token := range []string{"", operatorToken} {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				a := loadCall(t, api, method, base+"/api/rooms/"+room+"/load", token, startBody)
				if a.status != http.StatusNotFound || a.header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%s with token %q: %d %v", method, token, a.status, a.body)
				}
			}
		}
		if strings.Contains(pageHTML(t, base+"/rooms/"+room), `data-testid="load-form"`) {
			t.Fatal("the page offers the load form with the load sender off")
		}
	})
	t.Run("switched on without token: start-up error", func(t *testing.T) {
		env := map[string]string{"KAFKA_SERVER": broker.Addr(), "BARRAGE_LOAD_SENDER": "true"}
		_, err := config.Parse(config.RoleHomePage, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "BARRAGE_LOAD_SENDER") || !strings.Contains(err.Error(), "BARRAGE_ADMIN_TOKEN") {
			t.Fatalf("err = %v, want one naming BARRAGE_LOAD_SENDER and BARRAGE_ADMIN_TOKEN", err)
		}
	})
	t.Run("token: required", func(t *testing.T) {
		base := startRole(t, config.RoleHomePage, map[string]string{"KAFKA_SERVER": broker.Addr()})
		if a := loadCall(t, api, http.MethodPost, base+"/api/rooms/"+room+"/load", "", startBody); a.status != http.StatusUnauthorized {
			t.Fatalf("without the token: %d %v", a.status, a.body)
		}
		if a := loadCall(t, api, http.MethodGet, base+"/api/rooms/"+room+"/load", operatorToken, ""); a.status != http.StatusOK {
			t.Fatalf("limits with the token: %d %v", a.status, a.body)
		}
		if !strings.Contains(pageHTML(t, base+"/rooms/"+room), `data-testid="load-token"`) {
			t.Fatal("the page does not ask for the token")
		}
	})
}

func pageHTML(t *testing.T, url string) string {
	t.Helper()
	res, err := api.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("page: %d %v", res.StatusCode, err)
	}
	return string(b)
}
