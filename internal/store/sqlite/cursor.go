package sqlite

import (
	"math"
	"strconv"
	"strings"

	"github.com/barrage-live/barrage/internal/store"
)

// cursorDigits is the width of a cursor: a sequence number in fixed-width lower-case hex,
// so cursors compare as strings in the same order as the numbers.
const cursorDigits = 16

func cursorOf(seq int64) store.Cursor {
	s := strconv.FormatUint(uint64(seq), 16)
	return store.Cursor(strings.Repeat("0", cursorDigits-len(s)) + s)
}

// seqBefore returns the n for which a row's cursor is greater than after exactly when its
// sequence number is greater than n. Clients hand cursors back opaquely, so any string is
// read by the string order the contract promises rather than rejected.
func seqBefore(after store.Cursor) int64 {
	s := string(after)
	k := 0
	for k < len(s) && k < cursorDigits && isHex(s[k]) {
		k++
	}
	prefix := s[:k]
	switch {
	case k == cursorDigits:
		// A full cursor, possibly with a tail: only larger cursors follow it.
		return hexValue(prefix)
	case k == len(s) || s[k] < '0':
		// Every cursor that starts with prefix, or with anything larger, follows.
		return max(hexValue(prefix+strings.Repeat("0", cursorDigits-k))-1, 0)
	case s[k] < 'a':
		// Between '9' and 'a': cursors with prefix then a letter follow.
		return hexValue(prefix+"a"+strings.Repeat("0", cursorDigits-k-1)) - 1
	default:
		// Above 'f': only cursors whose prefix is larger follow.
		return hexValue(prefix + strings.Repeat("f", cursorDigits-k))
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// hexValue reads at most 16 hex digits, clamped to the int64 range sequence numbers live in.
func hexValue(h string) int64 {
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil || v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
