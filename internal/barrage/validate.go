package barrage

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// FieldError says which field of a barrage is wrong and why, in words a sender can act on.
// Code and Args name the reason without its words, for pages that say it in another
// language.
type FieldError struct {
	Field  string // JSON name of the field
	Reason string
	Code   string
	Args   []any
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ErrInvalid is wrapped by every validation error, so callers can tell bad input from faults.
var ErrInvalid = errors.New("invalid barrage")

func invalid(field, code, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalid, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Code: code, Args: args})
}

// ValidRoom reports whether room is a safe room name: 1 to MaxRoomLength characters of
// a-z, A-Z, 0-9, '-' and '_'. Room names go into URLs, Kafka keys and table keys unescaped.
func ValidRoom(room string) error { return safeName("room", room, MaxRoomLength) }

func safeName(field, s string, max int) error {
	if s == "" {
		return invalid(field, "empty", "must not be empty")
	}
	if len(s) > max {
		return invalid(field, "longerThan", "must be at most %d characters", max)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return invalid(field, "nameChars", "may only contain letters, digits, '-' and '_'")
		}
	}
	return nil
}

// ValidText checks a comment's text: valid UTF-8, not blank, at most MaxTextRunes runes, and
// no control characters, which could break lines in logs and on screen.
func ValidText(text string) error {
	if !utf8.ValidString(text) {
		return invalid("text", "notUTF8", "is not valid UTF-8")
	}
	if text == "" {
		return invalid("text", "empty", "must not be empty")
	}
	if n := utf8.RuneCountInString(text); n > MaxTextRunes {
		return invalid("text", "textTooLong", "is %d characters long; the limit is %d", n, MaxTextRunes)
	}
	for _, r := range text {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return invalid("text", "controlChars", "must not contain control characters or line breaks")
		}
	}
	return nil
}

// ValidColor accepts only "#rrggbb" in lower case.
func ValidColor(color string) error {
	if len(color) != 7 || color[0] != '#' {
		return invalid("color", "color", "must look like #rrggbb")
	}
	for _, c := range color[1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return invalid("color", "color", "must look like #rrggbb")
		}
	}
	return nil
}

// ValidMode accepts the three drawing modes.
func ValidMode(m Mode) error {
	switch m {
	case ModeScroll, ModeTop, ModeBottom:
		return nil
	}
	return invalid("mode", "mode", "must be one of scroll, top or bottom")
}

// Validate checks every field of an accepted barrage. The processor calls it again on what
// arrives from Kafka, because anything can be typed into a topic.
func (b Barrage) Validate() error {
	if err := safeName("id", b.ID, MaxIDLength); err != nil {
		return err
	}
	if err := ValidRoom(b.Room); err != nil {
		return err
	}
	if err := ValidText(b.Text); err != nil {
		return err
	}
	if err := ValidColor(b.Color); err != nil {
		return err
	}
	if err := ValidMode(b.Mode); err != nil {
		return err
	}
	if b.AcceptedAt.IsZero() {
		return invalid("acceptedAt", "unset", "must be set")
	}
	if b.Sender != "" {
		return ValidSender(b.Sender)
	}
	return nil
}

// ValidSender accepts a sender hash: lower-case hex, at most MaxSenderLength digits.
func ValidSender(s string) error {
	if s == "" || len(s) > MaxSenderLength {
		return invalid("sender", "sender", "must be 1 to %d hex digits", MaxSenderLength)
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return invalid("sender", "sender", "must be 1 to %d hex digits", MaxSenderLength)
		}
	}
	return nil
}
