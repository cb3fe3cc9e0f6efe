package processor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/barrage-live/barrage/internal/problem"
)

// TestDeadLetterEndpointRefuses: the processor keeps no dead letters; a source still
// pointed here hears 410 with a problem naming the deadletter role, and nothing is stored.
func TestDeadLetterEndpointRefuses(t *testing.T) {
	p, st := newTestProcessor(t)
	r := httptest.NewRequest(http.MethodPost, "/dead-letter", strings.NewReader(`{"text":"hi"}`))
	r.Header.Set("Ce-Specversion", "1.0")
	r.Header.Set("Ce-Id", "e1")
	r.Header.Set("Ce-Source", "/s")
	r.Header.Set("Ce-Type", "dev.knative.kafka.event")
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusGone || w.Header().Get("Content-Type") != problem.ContentType || !strings.Contains(w.Body.String(), "deadletter") {
		t.Fatalf("%d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if n := st.puts; n != 0 {
		t.Fatalf("%d store writes for a dead letter", n)
	}
}
