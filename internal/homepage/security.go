package homepage

import (
	"net/http"

	"github.com/barrage-live/barrage/internal/i18n"
	"github.com/barrage-live/barrage/internal/problem"
)

// contentSecurityPolicy allows only our own scripts and styles: no inline script, no
// third-party origin, so a comment that smuggles markup can never run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// secure adds the security headers and refuses cross-origin state changes.
func (s *Server) secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.opts.AllowedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			s.log.Warn("ignoring allowed origin", "origin", o, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.New(http.StatusForbidden, "crossOrigin"))
	}))
	guarded := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, sh := range securityHeaders {
			h[sh.key] = sh.value
		}
		// Problems from every route below, the operator's too, are said in the reader's language.
		guarded.ServeHTTP(problem.WithLang(w, i18n.FromRequest(r)), r)
	})
}

// securityHeaders go on every answer. Keys are already canonical and each value slice is
// full, so assigning the shared slice is safe (a later Add copies) and costs no allocation
// per request.
var securityHeaders = []struct {
	key   string
	value []string
}{
	{"Content-Security-Policy", []string{contentSecurityPolicy}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Referrer-Policy", []string{"same-origin"}},
	{"X-Frame-Options", []string{"DENY"}},
}
