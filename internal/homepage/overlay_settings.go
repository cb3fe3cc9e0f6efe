package homepage

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/views"
)

// maxOverlayQuery bounds the query string: every setting together fits in well under this.
const maxOverlayQuery = 512

// defaultOverlay is the overlay without parameters: large enough text for a streamed video.
var defaultOverlay = views.OverlaySettings{Lanes: 12, FontSize: 32, Speed: 1, Opacity: 1, Area: 0.75,
	Modes: []string{"scroll", "top", "bottom"}}

// overlaySettings names every parameter the overlay takes.
var overlaySettings = []string{"lanes", "size", "speed", "opacity", "area", "modes"}

// parseOverlay reads the overlay's settings from its query, or says what is wrong with
// each parameter. Unknown parameters are refused, so a typo is not silently ignored.
func parseOverlay(rawQuery string) (views.OverlaySettings, *problem.Details) {
	s := defaultOverlay
	s.Modes = append([]string(nil), s.Modes...)
	if len(rawQuery) > maxOverlayQuery {
		d := problem.New(http.StatusBadRequest, "overlayQueryLong", maxOverlayQuery)
		return s, &d
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		d := problem.New(http.StatusBadRequest, "overlayQuery")
		return s, &d
	}
	var errs []problem.FieldError
	// The English reason comes from the catalogue with the rest.
	bad := func(field, key string, args ...any) {
		errs = append(errs, problem.FieldError{Field: field, Key: key, Args: args})
	}
	// Each numeric setting with its bounds; the page's own controls stay within them.
	wholes := map[string]struct {
		dst    *int
		lo, hi int
	}{"lanes": {&s.Lanes, 1, 40}, "size": {&s.FontSize, 12, 96}}
	reals := map[string]struct {
		dst    *float64
		lo, hi float64
	}{"speed": {&s.Speed, 0.25, 4}, "opacity": {&s.Opacity, 0.1, 1}, "area": {&s.Area, 0.1, 1}}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	// One order, so the same query always gets the same answer.
	slices.Sort(names)
	for _, name := range names {
		vs := q[name]
		if len(vs) != 1 && slices.Contains(overlaySettings, name) {
			bad(name, "repeated")
			continue
		}
		v := vs[0]
		whole, isWhole := wholes[name]
		real, isReal := reals[name]
		switch {
		case isWhole:
			if n, ok := wholeNumber(v, whole.lo, whole.hi); ok {
				*whole.dst = n
			} else {
				bad(name, "wholeNumber", whole.lo, whole.hi)
			}
		case isReal:
			if f, ok := number(v, real.lo, real.hi); ok {
				*real.dst = f
			} else {
				bad(name, "number", real.lo, real.hi)
			}
		case name == "modes":
			if m, ok := modes(v); ok {
				s.Modes = m
			} else {
				bad(name, "modes")
			}
		default:
			field := name
			if len(field) > 32 {
				field = field[:32] // the name is echoed; a long one is not
			}
			bad(field, "unknown")
		}
	}
	if len(errs) > 0 {
		d := problem.Invalid(http.StatusBadRequest, "invalidOverlay", errs...)
		return s, &d
	}
	return s, nil
}

// wholeNumber parses a short decimal integer within [lo, hi]; "1e9" and "+3" are not one.
func wholeNumber(v string, lo, hi int) (int, bool) {
	if len(v) == 0 || len(v) > 4 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= lo && n <= hi
}

// number parses a short finite decimal within [lo, hi]; NaN and infinities fail the bounds.
func number(v string, lo, hi float64) (float64, bool) {
	if len(v) == 0 || len(v) > 8 || strings.TrimLeft(v, "0123456789.") != "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil && !math.IsNaN(f) && f >= lo && f <= hi
}

// modes parses a comma-separated subset of the drawing modes, each once, in their own order.
func modes(v string) ([]string, bool) {
	if len(v) == 0 || len(v) > len("scroll,top,bottom") {
		return nil, false
	}
	want := map[string]bool{}
	for _, m := range strings.Split(v, ",") {
		switch m {
		case "scroll", "top", "bottom":
			want[m] = true
		default:
			return nil, false
		}
	}
	var out []string
	for _, m := range defaultOverlay.Modes {
		if want[m] {
			out = append(out, m)
		}
	}
	return out, true
}
