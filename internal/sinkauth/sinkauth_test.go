package sinkauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/barrage-live/barrage/internal/problem"
)

const (
	testIssuer   = "https://kubernetes.default.svc"
	testAudience = "serving.knative.dev/service/barrage/barrage-processor"
	saToken      = "processor-service-account-token"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// issuer is a JWKS endpoint over TLS that, like the API server, serves the keys only to a
// caller with the right bearer token.
type issuer struct {
	key     *rsa.PrivateKey
	srv     *httptest.Server
	caFile  string
	tokFile string
	fetches atomic.Int32
	failing atomic.Bool
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{key: key}
	is.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		if r.URL.Path != "/openid/v1/jwks" || r.Header.Get("Authorization") != "Bearer "+saToken {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if is.failing.Load() {
			http.Error(w, "etcd is away", http.StatusInternalServerError)
			return
		}
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(is.srv.Close)
	dir := t.TempDir()
	is.caFile = filepath.Join(dir, "ca.crt")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.srv.Certificate().Raw})
	is.tokFile = filepath.Join(dir, "token")
	for path, data := range map[string][]byte{is.caFile: ca, is.tokFile: []byte(saToken + "\n")} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return is
}

// claims are the shape of a kube-apiserver service-account token.
type claims struct {
	jwt.Claims
	Kubernetes map[string]any `json:"kubernetes.io,omitempty"`
}

func goodClaims() claims {
	return claims{
		Claims: jwt.Claims{
			Issuer: testIssuer, Subject: "system:serviceaccount:barrage:kafkasource-oidc",
			Audience: jwt.Audience{testAudience},
			IssuedAt: jwt.NewNumericDate(t0), NotBefore: jwt.NewNumericDate(t0),
			Expiry: jwt.NewNumericDate(t0.Add(time.Hour)),
		},
		Kubernetes: map[string]any{"namespace": "barrage", "serviceaccount": map[string]string{"name": "kafkasource-oidc"}},
	}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c claims) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned is a token with alg none, which no signer will make.
func unsigned(t *testing.T, c claims) string {
	t.Helper()
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(body) + "."
}

type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time    { return time.Unix(0, c.now.Load()) }
func (c *clock) set(tm time.Time)  { c.now.Store(tm.UnixNano()) }
func newClock(tm time.Time) *clock { c := &clock{}; c.set(tm); return c }
func discard() *slog.Logger        { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func (is *issuer) jwksURL() string { return is.srv.URL + "/openid/v1/jwks" }
func (is *issuer) opts(c *clock) Options {
	return Options{Audience: testAudience, Issuer: testIssuer, JWKSURL: is.jwksURL(),
		CAFile: is.caFile, TokenFile: is.tokFile, Now: c.Now, MinRefresh: time.Hour}
}

// sink is a handler that records whether it was reached.
type sink struct{ calls atomic.Int32 }

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	w.WriteHeader(http.StatusOK)
}

func post(t *testing.T, h http.Handler, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"text":"hi"}`))
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func withBearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestWrap(t *testing.T) {
	is := newIssuer(t)
	clk := newClock(t0.Add(time.Minute))
	v, err := New(is.opts(clk), discard())
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(*claims)) claims { c := goodClaims(); edit(&c); return c }
	good := sign(t, jose.RS256, is.key, "k1", goodClaims())
	parts := strings.Split(good, ".")
	tests := []struct {
		name   string
		header http.Header
		now    time.Time // zero: a minute after the token was issued
		want   int
	}{
		{name: "accepted", header: withBearer(good), want: http.StatusOK},
		{name: "accepted, scheme in lower case", header: http.Header{"Authorization": {"bearer " + good}}, want: http.StatusOK},
		{name: "accepted, no key id", header: withBearer(sign(t, jose.RS256, is.key, "", goodClaims())), want: http.StatusOK},
		{name: "accepted among other audiences", header: withBearer(sign(t, jose.RS256, is.key, "k1",
			with(func(c *claims) { c.Audience = jwt.Audience{"other", testAudience} }))), want: http.StatusOK},
		{name: "wrong audience", header: withBearer(sign(t, jose.RS256, is.key, "k1",
			with(func(c *claims) { c.Audience = jwt.Audience{"serving.knative.dev/service/barrage/barrage-homepage"} }))), want: 401},
		{name: "no audience", header: withBearer(sign(t, jose.RS256, is.key, "k1",
			with(func(c *claims) { c.Audience = nil }))), want: 401},
		{name: "wrong issuer", header: withBearer(sign(t, jose.RS256, is.key, "k1",
			with(func(c *claims) { c.Issuer = "https://evil.example" }))), want: 401},
		{name: "expired", header: withBearer(good), now: t0.Add(time.Hour + time.Second), want: 401},
		{name: "not yet valid", header: withBearer(sign(t, jose.RS256, is.key, "k1", with(func(c *claims) {
			c.NotBefore = jwt.NewNumericDate(t0.Add(30 * time.Minute))
		}))), want: 401},
		{name: "bad signature", header: withBearer(sign(t, jose.RS256, other, "k1", goodClaims())), want: 401},
		{name: "unknown key id", header: withBearer(sign(t, jose.RS256, other, "k2", goodClaims())), want: 401},
		{name: "claims swapped under a good signature", header: withBearer(parts[0] + "." +
			strings.Split(sign(t, jose.RS256, other, "k1", with(func(c *claims) { c.Subject = "admin" })), ".")[1] + "." + parts[2]), want: 401},
		{name: "alg none", header: withBearer(unsigned(t, goodClaims())), want: 401},
		{name: "HS256 keyed with the public key", header: withBearer(sign(t, jose.HS256,
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustMarshalPub(t, is)}), "k1", goodClaims())), want: 401},
		{name: "no header", header: nil, want: 401},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}, want: 401},
		{name: "basic auth", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, want: 401},
		{name: "token without a scheme", header: http.Header{"Authorization": {good}}, want: 401},
		{name: "two headers", header: http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, want: 401},
		{name: "not a JWT", header: withBearer("not.a.jwt"), want: 401},
		{name: "garbage", header: withBearer("%%%"), want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = t0.Add(time.Minute)
			}
			clk.set(now)
			s := &sink{}
			rec := post(t, v.Wrap(s), tt.header)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusOK {
				if s.calls.Load() != 1 {
					t.Fatalf("the handler ran %d times, want once", s.calls.Load())
				}
				return
			}
			wantRefused(t, rec)
			if s.calls.Load() != 0 {
				t.Fatal("a refused request reached the handler")
			}
		})
	}
	// Every refusal above was answered from the keys of one fetch: garbage does not make the
	// verifier ask the API server again within MinRefresh.
	if n := is.fetches.Load(); n != 1 {
		t.Errorf("%d key fetches, want 1", n)
	}
}

func mustMarshalPub(t *testing.T, is *issuer) []byte {
	t.Helper()
	der, err := jose.JSONWebKey{Key: &is.key.PublicKey}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func wantRefused(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate %q, want Bearer", got)
	}
	if got := rec.Header().Get("Content-Type"); got != problem.ContentType {
		t.Errorf("Content-Type %q", got)
	}
	var d problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Status != http.StatusUnauthorized || d.Detail == "" {
		t.Errorf("body %q is not a 401 problem document: %v", rec.Body, err)
	}
}

// TestKeysUnavailable: while the keys cannot be fetched every request gets 503 with
// Retry-After, so a source retries instead of dead-lettering, and it recovers once they can.
func TestKeysUnavailable(t *testing.T) {
	is := newIssuer(t)
	is.failing.Store(true)
	opts := is.opts(newClock(t0.Add(time.Minute)))
	opts.MinRefresh = 20 * time.Millisecond
	var logs syncBuffer
	v, err := New(opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, jose.RS256, is.key, "k1", goodClaims())
	s := &sink{}
	rec := post(t, v.Wrap(s), withBearer(good))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(logs.String(), "cannot fetch the issuer's keys") || !strings.Contains(logs.String(), "500") {
		t.Errorf("the failed fetch is not logged with its cause: %s", logs.String())
	}
	if strings.Contains(logs.String(), saToken) {
		t.Error("the service-account token reached the log")
	}
	is.failing.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for post(t, v.Wrap(s), withBearer(good)).Code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("still refused after the keys came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.calls.Load() != 1 {
		t.Errorf("the handler ran %d times, want once (after recovery)", s.calls.Load())
	}
}

func TestJWKSAccess(t *testing.T) {
	is := newIssuer(t)
	wrongToken := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(wrongToken, []byte("someone-else"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{name: "token and CA", edit: func(*Options) {}},
		{name: "no token", edit: func(o *Options) { o.TokenFile = "" }, wantErr: "403"},
		{name: "another caller's token", edit: func(o *Options) { o.TokenFile = wrongToken }, wantErr: "403"},
		{name: "missing token file", edit: func(o *Options) { o.TokenFile = "/nonexistent/token" }, wantErr: "token file"},
		{name: "system roots do not trust the test CA", edit: func(o *Options) { o.CAFile = "" }, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := is.opts(newClock(t0))
			tt.edit(&o)
			v, err := New(o, discard())
			if err != nil {
				t.Fatal(err)
			}
			n, err := v.Check(context.Background())
			switch {
			case tt.wantErr == "" && (err != nil || n != 1):
				t.Fatalf("Check: %d keys, %v; want 1", n, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Check: %v; want an error with %q", err, tt.wantErr)
			case tt.wantErr != "" && strings.Contains(err.Error(), saToken):
				t.Fatalf("the error shows the token: %v", err)
			}
			if tt.wantErr == "" {
				return
			}
			_, err = v.Verify(context.Background(), sign(t, jose.RS256, is.key, "k1", goodClaims()))
			if !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("Verify: %v; want ErrKeysUnavailable", err)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	is := newIssuer(t)
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{name: "no audience", edit: func(o *Options) { o.Audience = "" }, want: "required"},
		{name: "missing CA file", edit: func(o *Options) { o.CAFile = "/nonexistent/ca.crt" }, want: "CA file"},
		{name: "CA file without a certificate", edit: func(o *Options) { o.CAFile = notPEM }, want: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := is.opts(newClock(t0))
			tt.edit(&o)
			if _, err := New(o, discard()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v; want an error with %q", err, tt.want)
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSubjectsNameTheSenders: with Subjects given, a valid token for the audience is
// accepted only from those service accounts; any pod can get one for any audience.
func TestSubjectsNameTheSenders(t *testing.T) {
	is := newIssuer(t)
	clk := newClock(t0.Add(time.Minute))
	opts := is.opts(clk)
	opts.Subjects = []string{"system:serviceaccount:barrage:kafkasource-oidc", "system:serviceaccount:barrage:other"}
	v, err := New(opts, discard())
	if err != nil {
		t.Fatal(err)
	}
	from := func(sub string) string {
		c := goodClaims()
		c.Subject = sub
		return sign(t, jose.RS256, is.key, "k1", c)
	}
	for _, tc := range []struct {
		sub  string
		want int
	}{
		{"system:serviceaccount:barrage:kafkasource-oidc", http.StatusOK},
		{"system:serviceaccount:barrage:other", http.StatusOK},
		{"system:serviceaccount:barrage:homepage", http.StatusUnauthorized},
		{"system:serviceaccount:elsewhere:kafkasource-oidc", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		s := &sink{}
		rec := post(t, v.Wrap(s), withBearer(from(tc.sub)))
		if rec.Code != tc.want {
			t.Errorf("sub %q: status %d, want %d: %s", tc.sub, rec.Code, tc.want, rec.Body)
		}
		if tc.want != http.StatusOK {
			wantRefused(t, rec)
			if s.calls.Load() != 0 {
				t.Errorf("sub %q reached the handler", tc.sub)
			}
		}
	}
}
