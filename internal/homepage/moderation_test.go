package homepage

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/operator"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
)

const testToken = "a-long-enough-operator-token-for-tests"

// modServer is a HomePage with moderation on a real SQLite store in dir, as one instance
// of the service: the store is what survives a restart.
type modServer struct {
	srv  *httptest.Server
	st   *sqlite.Store
	prod *captureProducer
	book *moderation.Book
}

func newModServer(t *testing.T, dir string) *modServer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(t.Context(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hub := live.New(st, live.Options{}, log, live.Hooks{})
	prod := &captureProducer{}
	addr := ClientAddr{Header: "X-Forwarded-For", TrustedProxies: loopback}
	s := New(prod, st, hub, Options{Limits: Limits{Addr: addr}}, log, Hooks{})
	book := moderation.NewBook(st, time.Hour, log, func(room, id string) { hub.Remove(room, id) })
	if err := book.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	guard := operator.New(operator.Options{Token: testToken, ClientKey: addr.ClientKey})
	s.Moderate(Moderation{Store: st, Book: book, Hasher: moderation.NewHasher(testToken), Guard: guard.Wrap})
	srv := httptest.NewServer(s.Handler(http.NotFoundHandler()))
	t.Cleanup(func() { hub.Close(); srv.Close(); _ = st.Close() })
	return &modServer{srv: srv, st: st, prod: prod, book: book}
}

// do sends a request; token "" sends none. It returns the status and the body.
func (m *modServer) do(t *testing.T, method, path, token, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, m.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// sendAndStore sends text as the client at addr and stores what was produced, as the
// processor would.
func (m *modServer) sendAndStore(t *testing.T, room, addr, text string) barrage.Barrage {
	t.Helper()
	code, _, body := m.do(t, "POST", "/api/rooms/"+room+"/barrages", "", `{"text":"`+text+`"}`, "X-Forwarded-For", addr)
	if code != http.StatusAccepted {
		t.Fatalf("send %q from %s: %d %s", text, addr, code, body)
	}
	m.prod.mu.Lock()
	b := m.prod.got[len(m.prod.got)-1]
	m.prod.mu.Unlock()
	if b.Sender == "" {
		t.Fatal("a sent barrage carries no sender hash")
	}
	if strings.Contains(b.Sender, addr) {
		t.Fatalf("the sender %q shows the address", b.Sender)
	}
	if _, err := m.st.Put(t.Context(), []barrage.Barrage{b}); err != nil {
		t.Fatal(err)
	}
	return b
}

// Every moderation route answers 401 without the token and with a wrong one, and changes
// nothing.
func TestModerationNeedsTheToken(t *testing.T) {
	m := newModServer(t, t.TempDir())
	b := m.sendAndStore(t, "r", "203.0.113.7", "hello")
	routes := []struct{ method, path, body string }{
		{"DELETE", "/api/rooms/r/barrages/" + b.ID, ""},
		{"GET", "/api/rooms/r/moderation", ""},
		{"POST", "/api/rooms/r/mutes", `{"barrage":"` + b.ID + `","seconds":60}`},
		{"DELETE", "/api/rooms/r/mutes/" + b.Sender, ""},
		{"PUT", "/api/rooms/r/rules", `{"slowModeSeconds":30,"words":["x"]}`},
	}
	for _, rt := range routes {
		for _, token := range []string{"", "wrong"} {
			code, h, body := m.do(t, rt.method, rt.path, token, rt.body, "X-Forwarded-For", "198.51.100.1")
			if code != http.StatusUnauthorized || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s with token %q: %d %s, want a 401 problem", rt.method, rt.path, token, code, body)
			}
		}
	}
	if _, found, _ := m.st.Find(t.Context(), "r", b.ID); !found {
		t.Fatal("a request without the token deleted the barrage")
	}
	if acts, _ := m.st.Actions(t.Context(), time.Time{}, 10); len(acts) != 0 {
		t.Fatalf("requests without the token were logged as actions: %+v", acts)
	}
}

// A deleted barrage is gone from history and from a Last-Event-ID replay, a viewer
// connected is told to remove it, and the action is logged with who did it.
func TestDeleteLeavesHistoryAndReplay(t *testing.T) {
	m := newModServer(t, t.TempDir())
	var bs []barrage.Barrage
	for i := range 4 {
		bs = append(bs, m.sendAndStore(t, "r", "203.0.113.7", "line"+string(rune('a'+i))))
	}
	recs, _ := m.st.After(t.Context(), "r", "", 10)
	if len(recs) != 4 {
		t.Fatalf("stored %d, want 4", len(recs))
	}
	stream := openSSE(t, m.srv.URL+"/api/rooms/r/stream?lastEventId="+string(recs[3].Cursor))
	var stats map[string]any
	waitEvent(t, stream, "stats", &stats) // a room's stats go to the viewers it has joined
	code, _, body := m.do(t, "DELETE", "/api/rooms/r/barrages/"+bs[1].ID, testToken, "", "X-Operator-Name", "mod anna")
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	var ids struct{ IDs []string }
	waitEvent(t, stream, "removed", &ids)
	if !slices.Equal(ids.IDs, []string{bs[1].ID}) {
		t.Fatalf("the removed event names %v, want %s", ids.IDs, bs[1].ID)
	}
	if code, _, _ := m.do(t, "DELETE", "/api/rooms/r/barrages/"+bs[1].ID, testToken, ""); code != http.StatusNotFound {
		t.Fatalf("second delete: %d, want 404", code)
	}
	_, _, hist := m.do(t, "GET", "/api/rooms/r/barrages", "", "")
	if strings.Contains(string(hist), bs[1].ID) || !strings.Contains(string(hist), bs[2].ID) {
		t.Fatalf("history after the delete: %s", hist)
	}
	if strings.Contains(string(hist), bs[0].Sender) || strings.Contains(string(hist), `"sender"`) {
		t.Fatalf("history shows sender hashes: %s", hist)
	}
	replay := openSSE(t, m.srv.URL+"/api/rooms/r/stream?lastEventId="+string(recs[0].Cursor))
	var got []store.Record
	waitEvent(t, replay, "barrage", &got)
	var gotIDs []string
	for _, r := range got {
		gotIDs = append(gotIDs, r.ID)
		if r.Sender != "" {
			t.Fatal("the stream shows a sender hash")
		}
	}
	if !slices.Equal(gotIDs, []string{bs[2].ID, bs[3].ID}) {
		t.Fatalf("replay after %s gives %v, want %s and %s, without the deleted one", recs[0].Cursor, gotIDs, bs[2].ID, bs[3].ID)
	}
	acts, _ := m.st.Actions(t.Context(), time.Time{}, 10)
	if len(acts) != 1 || acts[0].Kind != store.ActDelete || acts[0].Target != bs[1].ID || acts[0].By.Name != "mod anna" || acts[0].By.Client == "" {
		t.Fatalf("the log holds %+v, want one delete by mod anna with a client hash", acts)
	}
}

// A muted client gets 403 saying until when; others behind other addresses still send; the
// mute and the room's slow mode survive a restart, and unmuting lets them send again.
func TestMuteAndSlowMode(t *testing.T) {
	dir := t.TempDir()
	m := newModServer(t, dir)
	b := m.sendAndStore(t, "r", "203.0.113.7", "rude")
	code, _, body := m.do(t, "POST", "/api/rooms/r/mutes", testToken, `{"barrage":"`+b.ID+`","seconds":600}`)
	if code != http.StatusCreated {
		t.Fatalf("mute: %d %s", code, body)
	}
	checkMuted := func(m *modServer) {
		t.Helper()
		code, _, body := m.do(t, "POST", "/api/rooms/r/barrages", "", `{"text":"again"}`, "X-Forwarded-For", "203.0.113.7")
		var p struct {
			Title, Detail, Until string
			SecondsLeft          int64
		}
		_ = json.Unmarshal(body, &p)
		if code != http.StatusForbidden || p.Title != "Muted" || p.SecondsLeft < 590 || p.SecondsLeft > 601 || p.Until == "" || !strings.Contains(p.Detail, p.Until) {
			t.Fatalf("a muted client's send: %d %s, want 403 saying until when and ~600 s left", code, body)
		}
		if code, _, body := m.do(t, "POST", "/api/rooms/other/barrages", "", `{"text":"elsewhere"}`, "X-Forwarded-For", "203.0.113.7"); code != http.StatusAccepted {
			t.Fatalf("the muted client in another room: %d %s", code, body)
		}
	}
	checkMuted(m)
	if code, _, body := m.do(t, "POST", "/api/rooms/r/barrages", "", `{"text":"fine"}`, "X-Forwarded-For", "198.51.100.9"); code != http.StatusAccepted {
		t.Fatalf("another client: %d %s", code, body)
	}
	if code, _, body := m.do(t, "PUT", "/api/rooms/r/rules", testToken, `{"slowModeSeconds":30,"words":["spoiler"]}`); code != http.StatusOK {
		t.Fatalf("rules: %d %s", code, body)
	}
	checkSlow := func(m *modServer, addr string) {
		t.Helper()
		if code, _, body := m.do(t, "POST", "/api/rooms/r/barrages", "", `{"text":"one"}`, "X-Forwarded-For", addr); code != http.StatusAccepted {
			t.Fatalf("first send under slow mode: %d %s", code, body)
		}
		code, h, body := m.do(t, "POST", "/api/rooms/r/barrages", "", `{"text":"two"}`, "X-Forwarded-For", addr)
		if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(body), "30 s") {
			t.Fatalf("second send under slow mode: %d %q %s, want 429 with Retry-After naming 30 s", code, h.Get("Retry-After"), body)
		}
	}
	checkSlow(m, "192.0.2.1")

	// A restart: a new instance on the same store.
	m.srv.Close()
	_ = m.st.Close()
	m2 := newModServer(t, dir)
	checkMuted(m2)
	checkSlow(m2, "192.0.2.2")
	code, _, body = m2.do(t, "GET", "/api/rooms/r/moderation", testToken, "")
	if code != http.StatusOK || !strings.Contains(string(body), `"slowModeSeconds":30`) || !strings.Contains(string(body), b.Sender) {
		t.Fatalf("the moderation view after a restart: %d %s", code, body)
	}
	if code, _, body := m2.do(t, "DELETE", "/api/rooms/r/mutes/"+b.Sender, testToken, ""); code != http.StatusNoContent {
		t.Fatalf("unmute: %d %s", code, body)
	}
	if code, _, body := m2.do(t, "POST", "/api/rooms/r/barrages", "", `{"text":"back"}`, "X-Forwarded-For", "203.0.113.7"); code != http.StatusAccepted {
		t.Fatalf("after the unmute: %d %s", code, body)
	}
}

// Input outside the limits gets a 400 problem that names the field.
func TestModerationValidates(t *testing.T) {
	m := newModServer(t, t.TempDir())
	b := m.sendAndStore(t, "r", "203.0.113.7", "hi")
	long := strings.Repeat("字", moderation.MaxWordRunes+1)
	many := `"` + strings.Repeat(`w","`, moderation.MaxWords) + `w"`
	tests := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"mute of 0 s", "POST", "/api/rooms/r/mutes", `{"barrage":"` + b.ID + `","seconds":0}`, 400, "seconds"},
		{"mute too long", "POST", "/api/rooms/r/mutes", `{"barrage":"` + b.ID + `","seconds":99999999}`, 400, "seconds"},
		{"mute of nobody", "POST", "/api/rooms/r/mutes", `{"seconds":60}`, 400, ""},
		{"mute from an unknown barrage", "POST", "/api/rooms/r/mutes", `{"barrage":"nope","seconds":60}`, 404, ""},
		{"mute from an overlong id", "POST", "/api/rooms/r/mutes", `{"barrage":"` + strings.Repeat("i", 65) + `","seconds":60}`, 404, ""},
		{"mute of a sender that is no hash", "POST", "/api/rooms/r/mutes", `{"sender":"203.0.113.7","seconds":60}`, 400, ""},
		{"slow mode negative", "PUT", "/api/rooms/r/rules", `{"slowModeSeconds":-1,"words":[]}`, 400, "slowModeSeconds"},
		{"slow mode over an hour", "PUT", "/api/rooms/r/rules", `{"slowModeSeconds":3601,"words":[]}`, 400, "slowModeSeconds"},
		{"a word too long", "PUT", "/api/rooms/r/rules", `{"slowModeSeconds":0,"words":["` + long + `"]}`, 400, "words"},
		{"too many words", "PUT", "/api/rooms/r/rules", `{"slowModeSeconds":0,"words":[` + many + `]}`, 400, "words"},
		{"unknown field", "PUT", "/api/rooms/r/rules", `{"slow":1}`, 400, ""},
		{"not JSON", "PUT", "/api/rooms/r/rules", `slow`, 400, ""},
		{"body too large", "PUT", "/api/rooms/r/rules", `{"words":["` + strings.Repeat("a", 20000) + `"]}`, 413, ""},
		{"bad room", "PUT", "/api/rooms/bad%20room/rules", `{}`, 400, "room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := m.do(t, tt.method, tt.path, testToken, tt.body)
			if code != tt.status || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s, want %d problem", code, body, tt.status)
			}
			if tt.field != "" && !strings.Contains(string(body), `"field":"`+tt.field+`"`) {
				t.Fatalf("%s does not name the field %s", body, tt.field)
			}
		})
	}
	if code, _, _ := m.do(t, "DELETE", "/api/rooms/r/barrages/"+b.ID, testToken, "", "X-Operator-Name", strings.Repeat("n", 65)); code != 400 {
		t.Fatalf("an operator name too long: %d, want 400", code)
	}
}

type sseReader struct {
	sc   *bufio.Scanner
	body io.Closer
}

func openSSE(t *testing.T, url string) *sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("stream %s: %d", url, resp.StatusCode)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseReader{sc: bufio.NewScanner(resp.Body), body: resp.Body}
}

// waitEvent reads until an event named name, decoding its data into v, within 10 s.
func waitEvent(t *testing.T, r *sseReader, name string, v any) {
	t.Helper()
	timer := time.AfterFunc(10*time.Second, func() { r.body.Close() })
	defer timer.Stop()
	event, data := "", ""
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && event == name:
			if err := json.Unmarshal([]byte(data), v); err != nil {
				t.Fatalf("event %s: %v", name, err)
			}
			return
		case line == "":
			event, data = "", ""
		}
	}
	t.Fatalf("no %q event within 10 s", name)
}
