package ots

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/barrage-live/barrage/internal/store"
)

// TestCursorStartKeepsStringOrder: for any string a client sends back, the rows After
// returns are exactly those whose cursor is greater than it as a string.
func TestCursorStartKeepsStringOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	type key struct {
		seq int64
		id  string
	}
	var keys []key
	for range 300 {
		keys = append(keys, key{rng.Int64N(1 << 40), string(rune('a'+rng.IntN(26))) + strings.Repeat("x", rng.IntN(3))})
	}
	afters := []store.Cursor{"", "0", "00000000000000000", "zz", "!", "0000a", "0000:", "000000ffffffffff", "ffffffffffffffffff"}
	for _, k := range keys[:40] {
		c := string(cursorOf(k.seq, k.id))
		afters = append(afters, store.Cursor(c), store.Cursor(c[:rng.IntN(len(c))]), store.Cursor(c+"\x00"), store.Cursor(c[:10]+"g"))
	}
	less := func(a, b key) bool { return a.seq < b.seq || a.seq == b.seq && a.id < b.id }
	for _, after := range afters {
		seq, id := cursorStart(after)
		start := key{seq, id}
		for _, k := range keys {
			byString := cursorOf(k.seq, k.id) > after
			byKey := !less(k, start)
			if byString != byKey {
				t.Fatalf("after %q: row (%d, %q) cursor %q follows by string: %v, by key from (%d, %q): %v",
					after, k.seq, k.id, cursorOf(k.seq, k.id), byString, seq, id, byKey)
			}
		}
	}
}
