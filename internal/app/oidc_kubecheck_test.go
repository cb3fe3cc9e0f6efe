//go:build kubecheck

package app

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestProcessorAgainstKubeAPIServer runs the processor role against a real kube-apiserver's
// JWKS, reached with a service-account token the way a pod reaches it. ci/kube-check starts
// the server, issues the tokens and sets:
//
//	KUBECHECK_JWKS_URL      https://127.0.0.1:<port>/openid/v1/jwks
//	KUBECHECK_CA_FILE       the API server's CA
//	KUBECHECK_CALLER_TOKEN  file: the processor's own service-account token
//	KUBECHECK_AUDIENCE      the processor's audience
//	KUBECHECK_TOKEN         file: `kubectl create token --audience $KUBECHECK_AUDIENCE`
//	KUBECHECK_OTHER_TOKEN   file: the same for another audience
//	KUBECHECK_SA_KEY        the API server's --service-account-signing-key-file
func TestProcessorAgainstKubeAPIServer(t *testing.T) {
	env := map[string]string{}
	for _, k := range []string{"KUBECHECK_JWKS_URL", "KUBECHECK_CA_FILE", "KUBECHECK_CALLER_TOKEN", "KUBECHECK_AUDIENCE",
		"KUBECHECK_TOKEN", "KUBECHECK_OTHER_TOKEN", "KUBECHECK_SA_KEY"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			t.Fatalf("%s is not set; ci/kube-check runs this test against its API server", k)
		}
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	dir := t.TempDir()
	a, logs := startProcessorRole(t, dir, map[string]string{
		"BARRAGE_OIDC_AUDIENCE": env["KUBECHECK_AUDIENCE"], "BARRAGE_OIDC_JWKS_URL": env["KUBECHECK_JWKS_URL"],
		"BARRAGE_OIDC_CA_FILE": env["KUBECHECK_CA_FILE"], "BARRAGE_OIDC_TOKEN_FILE": env["KUBECHECK_CALLER_TOKEN"],
	})
	base := "http://" + a.Processor
	good := read(env["KUBECHECK_TOKEN"])

	header, claims := unverifiedParts(t, good)
	if !slices.Contains(audiences(claims["aud"]), env["KUBECHECK_AUDIENCE"]) || claims["iss"] != "https://kubernetes.default.svc" {
		t.Fatalf("the API server issued aud %v iss %v", claims["aud"], claims["iss"])
	}
	key := signingKey(t, env["KUBECHECK_SA_KEY"])
	// Re-signed with the API server's own key and key id: valid now it is accepted, which
	// shows the expired copy below is refused for its times alone.
	now := time.Now()
	resigned := resign(t, key, header["kid"], claims, now.Add(-time.Minute), now.Add(10*time.Minute))
	expired := resign(t, key, header["kid"], claims, now.Add(-2*time.Hour), now.Add(-time.Hour))

	wantStatus(t, "token issued for the processor's audience", postEvent(t, base, "/", good, "kube", "issued"), 200)
	wantStatus(t, "re-signed with the cluster key, still valid", postEvent(t, base, "/", resigned, "kube", "resigned"), 200)
	wantStatus(t, "token issued for another audience", postEvent(t, base, "/", read(env["KUBECHECK_OTHER_TOKEN"]), "kube", "other"), 401)
	wantStatus(t, "expired token signed with the cluster key", postEvent(t, base, "/", expired, "kube", "expired"), 401)
	wantStatus(t, "no token", postEvent(t, base, "/", "", "kube", "anonymous"), 401)
	wantStatus(t, "dead letter without a token", postEvent(t, base, "/dead-letter", "", "kube", "flood"), 401)
	if got := storedTexts(t, dir, "kube"); !slices.Equal(got, []string{"issued", "resigned"}) {
		t.Errorf("stored %q, want only the two valid events", got)
	}
	waitLog(t, logs, "sink requests need a token")
	t.Logf("kid %s, subject %v, audience %v: issued and re-signed accepted; other audience, expired and none refused",
		header["kid"], claims["sub"], claims["aud"])

	// Naming the senders: the same issued token, from the service account it names, is
	// accepted, and refused where only another service account may send.
	sub, _ := claims["sub"].(string)
	for _, tc := range []struct {
		subjects string
		want     int
	}{{sub, 200}, {"system:serviceaccount:default:another-source", 401}} {
		dir := t.TempDir()
		a, _ := startProcessorRole(t, dir, map[string]string{
			"BARRAGE_OIDC_AUDIENCE": env["KUBECHECK_AUDIENCE"], "BARRAGE_OIDC_JWKS_URL": env["KUBECHECK_JWKS_URL"],
			"BARRAGE_OIDC_CA_FILE": env["KUBECHECK_CA_FILE"], "BARRAGE_OIDC_TOKEN_FILE": env["KUBECHECK_CALLER_TOKEN"],
			"BARRAGE_OIDC_SUBJECTS": tc.subjects,
		})
		wantStatus(t, "issued token with BARRAGE_OIDC_SUBJECTS="+tc.subjects, postEvent(t, "http://"+a.Processor, "/", good, "kube", "named"), tc.want)
	}
}

func unverifiedParts(t *testing.T, raw string) (map[string]string, map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header map[string]string
	var claims map[string]any
	for i, into := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func audiences(v any) []string {
	var out []string
	switch a := v.(type) {
	case string:
		out = append(out, a)
	case []any:
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

func signingKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s is not PEM", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s is not an RSA key", path)
	}
	return rk
}

// resign copies the API server's claims with new times and signs them with its key.
func resign(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any, issued, expiry time.Time) string {
	t.Helper()
	c := map[string]any{}
	for k, v := range claims {
		c[k] = v
	}
	c["iat"], c["nbf"], c["exp"] = issued.Unix(), issued.Unix(), expiry.Unix()
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
