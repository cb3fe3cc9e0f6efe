// Package problem writes RFC 9457 problem details: the one error format of every HTTP API
// here, so a client reads a failure the same way wherever it comes from.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// FieldError names a field of the request and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Details is a problem document. Detail is written for the person who sent the request;
// causes that are ours to fix are logged, never put here.
type Details struct {
	Type       string        `json:"type,omitempty"`
	Title      string        `json:"title"`
	Status     int           `json:"status"`
	Detail     string        `json:"detail,omitempty"`
	Instance   string        `json:"instance,omitempty"`
	Errors     []FieldError  `json:"errors,omitempty"`
	RetryAfter time.Duration `json:"-"`
}

// Write sends d with its status, and Retry-After when set.
func Write(w http.ResponseWriter, d Details) {
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	if d.RetryAfter > 0 {
		secs := int((d.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}
