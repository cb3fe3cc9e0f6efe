package sqlite

import (
	"math/rand/v2"
	"testing"

	"github.com/barrage-live/barrage/internal/store"
)

func TestCursorOrderMatchesSequence(t *testing.T) {
	seqs := []int64{1, 2, 9, 10, 15, 16, 255, 256, 4095, 1 << 40, 1<<62 + 7}
	for i := 1; i < len(seqs); i++ {
		if a, b := cursorOf(seqs[i-1]), cursorOf(seqs[i]); a >= b || len(a) != cursorDigits {
			t.Fatalf("cursor %q of %d does not sort before %q of %d", a, seqs[i-1], b, seqs[i])
		}
	}
}

func TestSeqBeforeKeepsStringOrder(t *testing.T) {
	tests := []struct {
		name  string
		after store.Cursor
		want  int64
	}{
		{"empty is before everything", "", 0},
		{"a cursor we gave out", cursorOf(42), 42},
		{"a cursor with a tail", cursorOf(42) + "x", 42},
		{"a short prefix", "000000000000002", 0x20 - 1},
		{"upper-case letters sort between digits and letters", "00000000000000A", 0xa0 - 1},
		{"a char above f", "00000000000000z", 0xff},
		{"a char below 0", "00000000000000-", 0},
		{"all above every cursor", "g", 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seqBefore(tt.after); got != tt.want {
				t.Fatalf("seqBefore(%q) = %d, want %d", tt.after, got, tt.want)
			}
		})
	}
}

// The defining property: cursorOf(seq) > after exactly when seq > seqBefore(after).
func TestSeqBeforeAgreesWithStringComparison(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	alphabet := "0123456789abcdefABFz-~/"
	for range 20000 {
		seq := rng.Int64N(1 << 20)
		base := []byte(cursorOf(rng.Int64N(1 << 20)))
		// Mutate a real cursor so the interesting cases near valid cursors come up often.
		n := rng.IntN(len(base) + 3)
		s := append([]byte{}, base[:min(n, len(base))]...)
		for len(s) < n {
			s = append(s, alphabet[rng.IntN(len(alphabet))])
		}
		if len(s) > 0 && rng.IntN(2) == 0 {
			s[rng.IntN(len(s))] = alphabet[rng.IntN(len(alphabet))]
		}
		after := store.Cursor(s)
		if got, want := seq > seqBefore(after), cursorOf(seq) > after; got != want {
			t.Fatalf("seq %d (%s) after %q: seqBefore says %v, string order says %v", seq, cursorOf(seq), after, got, want)
		}
	}
}
