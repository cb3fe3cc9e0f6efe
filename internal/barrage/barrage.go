// Package barrage is the domain of a bullet comment: what one is, what makes it valid, and
// the limits every part of the pipeline agrees on. It imports nothing of ours.
package barrage

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// Mode is where a barrage is drawn on the screen.
type Mode string

const (
	ModeScroll Mode = "scroll" // flies from right to left
	ModeTop    Mode = "top"    // pinned to the top, centred
	ModeBottom Mode = "bottom" // pinned to the bottom, centred
)

// Limits shared by the API, the processor and the views.
const (
	MaxTextRunes  = 100  // longer comments cover the video and read badly in flight
	MaxRoomLength = 64   // room names appear in URLs, keys and table rows
	MaxIDLength   = 64   // ids are primary keys; clients other than ours may choose them
	MaxBodyBytes  = 4096 // a send body is tiny; anything larger is abuse
	DefaultColor  = "#ffffff"
)

// Barrage is one bullet comment as clients and the store see it.
type Barrage struct {
	ID         string    `json:"id"`
	Room       string    `json:"room"`
	Text       string    `json:"text"`
	Color      string    `json:"color"`
	Mode       Mode      `json:"mode"`
	AcceptedAt time.Time `json:"acceptedAt"`
	// TraceParent is the W3C trace context of the step that last handled the barrage, so
	// each later step, up to the live stream, continues or links to the same trace.
	TraceParent string `json:"traceparent,omitempty"`
	// Sender is a keyed hash of the client that sent it, so an operator can mute them from
	// the barrage. Only the pipeline carries it: readers never get it.
	Sender string `json:"sender,omitempty"`
}

// MaxSenderLength bounds a sender hash: 32 hex digits are what the HomePage writes.
const MaxSenderLength = 64

// Draft is what a sender submits: the send body before it is accepted.
type Draft struct {
	Text  string `json:"text"`
	Color string `json:"color,omitempty"`
	Mode  Mode   `json:"mode,omitempty"`
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a unique id that sorts by creation time: 8 bytes of nanoseconds, then 8
// random bytes, so two HomePage instances never collide.
func NewID(at time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(at.UnixNano()))
	_, _ = rand.Read(b[8:])
	return idEncoding.EncodeToString(b[:])
}

// Accept validates d for room and returns the barrage it becomes, stamped with id and time.
// Text is trimmed; color and mode get their defaults.
func Accept(room string, d Draft, at time.Time) (Barrage, error) {
	b := Barrage{
		ID:         NewID(at),
		Room:       room,
		Text:       strings.TrimSpace(d.Text),
		Color:      strings.ToLower(d.Color),
		Mode:       d.Mode,
		AcceptedAt: at.UTC(),
	}
	if b.Color == "" {
		b.Color = DefaultColor
	}
	if b.Mode == "" {
		b.Mode = ModeScroll
	}
	return b, b.Validate()
}
