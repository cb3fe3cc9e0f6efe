package sinkauth

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/barrage-live/barrage/internal/problem"
)

// Wrap lets a request through to h only with a valid token in Authorization: Bearer.
// Otherwise it answers 401 with WWW-Authenticate: Bearer, or 503 while the keys cannot be
// fetched (a source retries a 503 and dead-letters a 401), and h never sees the request.
func (v *Verifier) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := bearer(r.Header)
		if err != nil {
			v.refuse(w, r, err.Error(), `Bearer`, err)
			return
		}
		if _, err := v.Verify(r.Context(), raw); err != nil {
			if errors.Is(err, ErrKeysUnavailable) {
				problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable,
					Detail: "tokens cannot be checked yet; retry", RetryAfter: v.opts.MinRefresh})
				return
			}
			v.refuse(w, r, "the token is not valid for this service", `Bearer error="invalid_token"`, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the one bearer token of a request.
func bearer(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", errors.New("a bearer token is required")
	case len(values) > 1:
		return "", errors.New("more than one Authorization header")
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", errors.New("the Authorization header is not \"Bearer <token>\"")
	}
	return tok, nil
}

// refuse answers 401. The cause goes to the log, sampled: a stranger can send garbage as
// fast as the network allows, and the log must not grow as fast.
func (v *Verifier) refuse(w http.ResponseWriter, r *http.Request, detail, challenge string, cause error) {
	if n, ok := v.rejects.take(); ok {
		v.log.Warn("sink request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", cause, "refusedSinceLast", n)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	problem.Write(w, problem.Details{Status: http.StatusUnauthorized, Detail: detail})
}

// sampler lets one event in per interval and counts the rest.
type sampler struct {
	every time.Duration

	mu      sync.Mutex
	last    time.Time
	skipped int
}

// take reports whether to log now, and how many were skipped since the last log.
func (s *sampler) take() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && time.Since(s.last) < s.every {
		s.skipped++
		return 0, false
	}
	n := s.skipped
	s.last, s.skipped = time.Now(), 0
	return n, true
}
