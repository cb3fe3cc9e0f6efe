// Package operator guards the routes only the service's operator may use (load runs and
// room moderation) with one bearer token, so every such route checks it the same way.
package operator

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/barrage-live/barrage/internal/problem"
)

// Options configure a Guard.
type Options struct {
	// Token is the operator's bearer token. Empty means no operator is configured: every
	// guarded route answers 404, unless Open.
	Token string
	// Open lets everyone through when no token is set; only the dev role on a laptop.
	Open bool
	// ClientKey names the client behind a request, as the send limits do; wrong tokens are
	// counted per client. Nil keys on the peer's address.
	ClientKey func(*http.Request) string
}

// Wrong tokens a client may present at once, and how fast it earns another try: enough
// for a person mistyping, far too few to guess a token as long as config requires.
const (
	failureBurst = 5
	failureEvery = 12 * time.Second
)

// Guard checks the operator token on the routes it wraps.
type Guard struct {
	opts Options
	sum  [sha256.Size]byte

	mu       sync.Mutex
	failures map[string]*failures
	swept    time.Time
	now      func() time.Time
}

type failures struct {
	limiter *rate.Limiter
	seen    time.Time
}

// New returns a Guard for opts.
func New(opts Options) *Guard {
	return &Guard{opts: opts, sum: sha256.Sum256([]byte(opts.Token)), failures: map[string]*failures{}, now: time.Now}
}

// Required reports whether callers must present the token; the page asks for it then.
func (g *Guard) Required() bool { return g.opts.Token != "" }

// Wrap lets a request through to next only with the right token.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.opts.Token == "" {
			if g.opts.Open {
				next.ServeHTTP(w, r)
				return
			}
			problem.Write(w, problem.Details{Status: http.StatusNotFound, Title: "Operator routes switched off",
				Detail: "this server has no operator token, so it offers no operator routes"})
			return
		}
		client := g.client(r)
		// A client out of tries is refused before its token is looked at, so a guess made
		// now cannot tell right from wrong.
		if wait, blocked := g.blocked(client); blocked {
			problem.Write(w, problem.Details{Status: http.StatusTooManyRequests, Title: "Too many wrong operator tokens",
				Detail: "this client sent too many wrong operator tokens; wait before trying again", RetryAfter: wait})
			return
		}
		presented, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			unauthorized(w, `Bearer realm="barrage"`, "Operator token required",
				"send the operator token as Authorization: Bearer <token>")
			return
		}
		sum := sha256.Sum256([]byte(presented))
		// Comparing digests takes the same time whatever the length of the guess.
		if subtle.ConstantTimeCompare(sum[:], g.sum[:]) != 1 {
			g.fail(client)
			unauthorized(w, `Bearer realm="barrage", error="invalid_token"`, "Wrong operator token",
				"the operator token was not accepted")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter, challenge, title, detail string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	problem.Write(w, problem.Details{Status: http.StatusUnauthorized, Title: title, Detail: detail})
}

// bearer takes the token out of an Authorization header; the scheme is case-insensitive.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
