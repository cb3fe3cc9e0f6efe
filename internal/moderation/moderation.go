// Package moderation is what an operator's actions on rooms become on every instance: the
// sender hash that lets a mute name a client without keeping its address, the limits of
// each action, and a Book of the running mutes and room rules that follows the store.
package moderation

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of what an operator may set. They bound what the store and every instance keep.
const (
	MinMute       = time.Second
	MaxMute       = 30 * 24 * time.Hour
	MaxSlowMode   = time.Hour
	MaxWords      = 200
	MaxWordRunes  = 32
	MaxMutesRoom  = 1000 // running mutes one room may hold
	MaxNameRunes  = 64   // the operator name header
	MaxRoomsRules = 5000 // rooms with rules a server keeps
)

// Hasher turns a client key (an address or a /64) into the sender hash that barrages and
// mutes carry. The key is secret, so the hash cannot be reversed by trying every address.
type Hasher struct{ key []byte }

// NewHasher derives the hash key from the operator token, so every instance with the same
// token agrees without another secret to share. Without a token the key is random: hashes
// then mean something only inside this process.
func NewHasher(token string) Hasher {
	if token == "" {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return Hasher{key: k}
	}
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("barrage sender hash"))
	return Hasher{key: m.Sum(nil)}
}

// Sender is the hash of clientKey: 32 hex digits.
func (h Hasher) Sender(clientKey string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(clientKey))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ErrInvalid marks input outside the limits; its text says which and why.
var ErrInvalid = errors.New("invalid moderation input")

// FieldError names the field of a moderation request that is wrong.
type FieldError struct {
	Field, Code string
	Args        []any
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s %v", e.Field, e.Code, e.Args) }

func invalid(field, code string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalid, &FieldError{Field: field, Code: code, Args: args})
}

// MuteFor checks a mute's length in whole seconds.
func MuteFor(seconds int64) (time.Duration, error) {
	d := time.Duration(seconds) * time.Second
	if seconds < int64(MinMute/time.Second) || d > MaxMute {
		return 0, invalid("seconds", "wholeNumber", int64(MinMute/time.Second), int64(MaxMute/time.Second))
	}
	return d, nil
}

// SlowMode checks a slow mode interval in whole seconds; 0 turns it off.
func SlowMode(seconds int64) (time.Duration, error) {
	if seconds < 0 || seconds > int64(MaxSlowMode/time.Second) {
		return 0, invalid("slowModeSeconds", "wholeNumber", 0, int64(MaxSlowMode/time.Second))
	}
	return time.Duration(seconds) * time.Second, nil
}

// Words checks and tidies a room's word list: trimmed, blank ones dropped, repeats
// (ignoring case) kept once.
func Words(in []string) ([]string, error) {
	if len(in) > MaxWords {
		return nil, invalid("words", "tooMany", MaxWords)
	}
	seen := map[string]bool{}
	out := []string{}
	for _, w := range in {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if !utf8.ValidString(w) {
			return nil, invalid("words", "notUTF8")
		}
		if n := utf8.RuneCountInString(w); n > MaxWordRunes {
			return nil, invalid("words", "wordTooLong", w, MaxWordRunes)
		}
		for _, r := range w {
			if unicode.IsControl(r) {
				return nil, invalid("words", "controlChars")
			}
		}
		if k := strings.ToLower(w); !seen[k] {
			seen[k] = true
			out = append(out, w)
		}
	}
	return out, nil
}

// Name checks the operator name a request gives: printable, at most MaxNameRunes.
func Name(n string) (string, error) {
	n = strings.TrimSpace(n)
	if !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxNameRunes {
		return "", invalid("name", "longerThan", MaxNameRunes)
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "", invalid("name", "controlChars")
		}
	}
	return n, nil
}
