package stream

import (
	"bytes"
	"io"
	"testing"

	"github.com/r3labs/sse/v2"

	"github.com/barrage-live/barrage/internal/store"
)

// TestFramesReadBackWithTheLibrary: what Encode writes, the library's own reader splits
// into the same events, and a viewer's writer drops a batch it has had.
func TestFramesReadBackWithTheLibrary(t *testing.T) {
	tests := []struct {
		name string
		ev   sse.Event
		want string
	}{
		{name: "batch", ev: sse.Event{ID: []byte("0001"), Event: []byte("barrage"), Data: []byte(`[{"id":"a"}]`)},
			want: "id: 0001\ndata: [{\"id\":\"a\"}]\nevent: barrage"},
		{name: "data over lines", ev: sse.Event{Event: []byte("gap"), Data: []byte("a\nb")},
			want: "data: a\ndata: b\nevent: gap"},
		{name: "comment", ev: sse.Event{Comment: []byte("keep-alive")}, want: ": keep-alive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Encode(&tc.ev)
			r := sse.NewEventStreamReader(bytes.NewReader(append(append([]byte(nil), f.wire...), f.wire...)), 1<<16)
			for i := range 2 {
				got, err := r.ReadEvent()
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if string(got) != tc.want {
					t.Fatalf("event %d read back as %q, want %q", i, got, tc.want)
				}
			}
			if _, err := r.ReadEvent(); err != io.EOF {
				t.Fatalf("more than two events: %v", err)
			}
		})
	}
}

func TestWriterDropsWhatItHasAndTagsStats(t *testing.T) {
	at := store.Cursor("0005")
	old, _ := Batch([]store.Record{{Cursor: "0004"}})
	same, _ := Batch([]store.Record{{Cursor: "0005"}})
	next, _ := Batch([]store.Record{{Cursor: "0006"}})
	stats := EncodeTagged(&sse.Event{ID: []byte("9999"), Event: []byte("stats"), Data: []byte("{}")})
	var b []byte
	for _, f := range []*Frame{old, same, stats, next, stats} {
		b, at = appendFrame(b, f, at)
	}
	want := "id: 0005\ndata: {}\nevent: stats\n\n" + string(next.wire) + "id: 0006\ndata: {}\nevent: stats\n\n"
	if string(b) != want {
		t.Fatalf("wrote\n%q\nwant\n%q", b, want)
	}
}
