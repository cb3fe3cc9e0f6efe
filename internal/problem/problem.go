// Package problem writes RFC 9457 problem details: the one error format of every HTTP API
// here, so a client reads a failure the same way wherever it comes from.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/barrage-live/barrage/internal/i18n"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// FieldError names a field of the request and what is wrong with it. Key and Args, when
// set, name the reason in the catalogue ("reason."+Key), so it can be said in the
// reader's language.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
	Key    string `json:"-"`
	Args   []any  `json:"-"`
}

// Details is a problem document. Detail is written for the person who sent the request;
// causes that are ours to fix are logged, never put here. Key names the message in the
// catalogue ("problem."+Key+".title" and ".detail"), with Args for the detail's {0}…
type Details struct {
	Type     string       `json:"type,omitempty"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
	// Until and SecondsLeft say when a refusal that lasts ends: a mute, or slow mode.
	Until       time.Time     `json:"until,omitzero"`
	SecondsLeft int64         `json:"secondsLeft,omitempty"`
	RetryAfter  time.Duration `json:"-"`
	Key         string        `json:"-"`
	Args        []any         `json:"-"`
}

// New is the problem of the catalogue's key, in English until Write meets a reader's
// language.
func New(status int, key string, args ...any) Details {
	return localize(Details{Status: status, Key: key, Args: args}, i18n.English)
}

// Invalid is the problem of the catalogue's key for a request with wrong fields; its
// detail says what is wrong with each.
func Invalid(status int, key string, errs ...FieldError) Details {
	return localize(Details{Status: status, Key: key, Errors: errs}, i18n.English)
}

func detailOf(lang i18n.Lang, key string, args []any) string {
	if !i18n.Has(lang, "problem."+key+".detail") {
		return ""
	}
	return i18n.T(lang, "problem."+key+".detail", args...)
}

// Write sends d with its status, and Retry-After when set, in the language w was given
// by WithLang.
func Write(w http.ResponseWriter, d Details) {
	lang := langOf(w)
	d = localize(d, lang)
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	if d.RetryAfter > 0 {
		secs := int((d.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Language", string(lang))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}
