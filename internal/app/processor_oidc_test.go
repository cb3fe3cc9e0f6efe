package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
	"github.com/barrage-live/barrage/internal/telemetry"
)

// startProcessorRole starts the processor role alone, as a Knative revision runs it.
func startProcessorRole(t *testing.T, dir string, extra map[string]string) (*App, *syncWriter) {
	t.Helper()
	env := map[string]string{"PORT": "0", "BARRAGE_DATA_DIR": dir}
	for k, v := range extra {
		env[k] = v
	}
	return startRole(t, config.RoleProcessor, env)
}

// postEvent sends one barrage as a KafkaSource would, with token as bearer when set.
func postEvent(t *testing.T, base, path, token, room, text string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(fmt.Sprintf(`{"text":%q}`, text)))
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", "partition:0/offset:"+text)
	req.Header.Set("Ce-Source", "/apis/v1/namespaces/barrage/kafkasources/barrage#barrage-info")
	req.Header.Set("Ce-Type", "dev.knative.kafka.event")
	req.Header.Set("Ce-Key", room)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// storedTexts reads room from the role's embedded store, as a second process would.
func storedTexts(t *testing.T, dir, room string) []string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Latest(context.Background(), room, 100)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range recs {
		texts = append(texts, r.Text)
	}
	return texts
}

// wantStatus checks a sink answer, and for a refusal the challenge and problem document.
func wantStatus(t *testing.T, what string, resp *http.Response, want int) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, want, body)
	}
	if want != http.StatusUnauthorized {
		return
	}
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("%s: WWW-Authenticate %q", what, got)
	}
	var d struct{ Status int }
	if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &d) != nil || d.Status != 401 {
		t.Errorf("%s: not a problem document: %s %s", what, resp.Header.Get("Content-Type"), body)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestProcessorRequiresTokens runs the processor role with BARRAGE_OIDC_* pointed at a JWKS
// over TLS: events need a token for the audience, and the probes stay open.
func TestProcessorRequiresTokens(t *testing.T) {
	dir := t.TempDir()
	const aud = "serving.knative.dev/service/barrage/barrage-processor"
	issuer := newTestIssuer(t, dir)
	a, logs := startProcessorRole(t, dir, issuer.env(aud))
	base := "http://" + a.Processor
	wantStatus(t, "no token", postEvent(t, base, "/", "", "r", "stranger"), 401)
	wantStatus(t, "dead letter without a token", postEvent(t, base, "/dead-letter", "", "r", "flood"), 401)
	wantStatus(t, "another audience", postEvent(t, base, "/", issuer.mint(t, "serving.knative.dev/service/barrage/other"), "r", "other"), 401)
	wantStatus(t, "the processor's audience", postEvent(t, base, "/", issuer.mint(t, aud), "r", "source"), 200)
	// Past the token check, the old dead-letter route says where dead letters go now.
	wantStatus(t, "dead letter with a token", postEvent(t, base, "/dead-letter", issuer.mint(t, aud), "r", "dead"), 410)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := get(t, base+path); code != 200 {
			t.Errorf("GET %s: %d without a token; the kubelet cannot probe it", path, code)
		}
	}
	if got := storedTexts(t, dir, "r"); !slices.Equal(got, []string{"source"}) {
		t.Errorf("stored %q, want only the event with a valid token", got)
	}
	waitLog(t, logs, "sink requests need a token")
}

// testIssuer is a cluster's service-account issuer in small: its keys served over TLS to
// callers with the pod's token, and tokens minted with its key.
type testIssuer struct {
	key       *rsa.PrivateKey
	url       string
	ca, token string
}

func newTestIssuer(t *testing.T, dir string) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer pod-token" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	ti := &testIssuer{key: key, url: jwks.URL + "/openid/v1/jwks", ca: filepath.Join(dir, "ca.crt"), token: filepath.Join(dir, "token")}
	_ = os.WriteFile(ti.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: jwks.Certificate().Raw}), 0o600)
	_ = os.WriteFile(ti.token, []byte("pod-token"), 0o600)
	return ti
}

// env is what a role needs to take only tokens for audience.
func (ti *testIssuer) env(audience string) map[string]string {
	return map[string]string{
		"BARRAGE_OIDC_AUDIENCE": audience, "BARRAGE_OIDC_JWKS_URL": ti.url,
		"BARRAGE_OIDC_CA_FILE": ti.ca, "BARRAGE_OIDC_TOKEN_FILE": ti.token,
	}
}

func (ti *testIssuer) mint(t *testing.T, audience string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: ti.key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "https://kubernetes.default.svc", Subject: "system:serviceaccount:barrage:source",
		Audience: jwt.Audience{audience}, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestDeadLetterSinkRequiresTokens: with BARRAGE_OIDC_AUDIENCE the dead-letter sink takes
// only the source's token for its own audience, as the processor does, and its probes stay open.
func TestDeadLetterSinkRequiresTokens(t *testing.T) {
	dir := t.TempDir()
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"barrage-info-dead-letter"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	const aud = "http://barrage-deadletter.barrage.svc.cluster.local"
	issuer := newTestIssuer(t, dir)
	env := issuer.env(aud)
	env["PORT"], env["KAFKA_SERVER"] = "0", broker.Addr()
	a, _ := startRole(t, config.RoleDeadLetter, env)
	base := "http://" + a.DeadLetter
	wantStatus(t, "no token", postEvent(t, base, "/", "", "r", "flood"), 401)
	wantStatus(t, "the processor's audience", postEvent(t, base, "/", issuer.mint(t, "serving.knative.dev/service/barrage/barrage-processor"), "r", "other"), 401)
	if resp := postEvent(t, base, "/", issuer.mint(t, aud), "r", "kept"); resp.StatusCode/100 != 2 {
		t.Fatalf("the sink's audience: %d", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := get(t, base+path); code != 200 {
			t.Errorf("GET %s: %d without a token", path, code)
		}
	}
}

// TestProcessorOpenWithoutAudience: without BARRAGE_OIDC_AUDIENCE nothing changes.
func TestProcessorOpenWithoutAudience(t *testing.T) {
	dir := t.TempDir()
	a, _ := startProcessorRole(t, dir, nil)
	wantStatus(t, "no token", postEvent(t, "http://"+a.Processor, "/", "", "r", "open"), 200)
}

// TestProcessorOIDCBadFiles: a CA file that cannot be read stops start-up with one line
// that names the settings.
func TestProcessorOIDCBadFiles(t *testing.T) {
	cfg, err := config.Parse(config.RoleProcessor, func(k string) string {
		return map[string]string{"PORT": "0", "BARRAGE_DATA_DIR": t.TempDir(), "BARRAGE_OIDC_AUDIENCE": "a",
			"BARRAGE_OIDC_CA_FILE": "/nonexistent/ca.crt"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), cfg, telemetry.NewLogger(io.Discard, "info", false, nil))
	if err == nil || !strings.Contains(err.Error(), "BARRAGE_OIDC_") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Start: %v; want one line naming BARRAGE_OIDC_*", err)
	}
}

// logText is what the role logged so far; startProcessorRole logs into a bytes.Buffer.
func (s *syncWriter) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

// waitLog waits for the role to log want.
func waitLog(t *testing.T, logs *syncWriter, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.logText(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("never logged %q:\n%s", want, logs.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
