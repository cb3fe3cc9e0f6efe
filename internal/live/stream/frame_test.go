package stream

import (
	"bytes"
	"fmt"
	"io"
	"strings"
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
	st := viewerState{pos: Position{Cursor: "0005"}}
	old, _ := Batch([]store.Record{{Cursor: "0004"}})
	same, _ := Batch([]store.Record{{Cursor: "0005"}})
	next, _ := Batch([]store.Record{{Cursor: "0006"}})
	stats := EncodeTagged(&sse.Event{ID: []byte("9999"), Event: []byte("stats"), Data: []byte("{}")})
	var b []byte
	for _, f := range []*Frame{old, same, stats, next, stats} {
		b = st.appendFrame(b, f)
	}
	want := "id: 0005\ndata: {}\nevent: stats\n\n" + string(next.head) + string(next.wire) + "id: 0006\ndata: {}\nevent: stats\n\n"
	if string(b) != want {
		t.Fatalf("wrote\n%q\nwant\n%q", b, want)
	}
}

// TestWriterKeepsWhatWasShownAhead: a viewer shown records early keeps them in their id
// until the settled cursor passes them, is not given them again when they settle, and is
// given a lower record that settled after them.
func TestWriterKeepsWhatWasShownAhead(t *testing.T) {
	g := NewGroup("0005")
	st := viewerState{pos: Position{Cursor: "0005"}, synced: true}
	early := []store.Record{{Cursor: "0009"}}
	f1, _ := Step(early, Position{Cursor: "0005", Ahead: []store.Cursor{"0009"}}, early)
	g.Publish(f1)
	settled := []store.Record{{Cursor: "0007"}}
	f2, _ := Step(settled, Position{Cursor: "0009"}, nil) // 0009 settled too, already shown
	g.Publish(f2)
	var b []byte
	b = st.appendFrame(b, f1)
	if got := st.pos.ID(); got != "0005.0009" {
		t.Fatalf("after the early frame the id is %q, want 0005.0009", got)
	}
	b = st.appendFrame(b, f2)
	want := "id: 0005.0009\n" + string(f1.wire) + "id: 0009\n" + string(f2.wire)
	if string(b) != want {
		t.Fatalf("wrote\n%q\nwant\n%q", b, want)
	}
	// A viewer back from elsewhere with 0007 shown ahead is given only what they lack.
	other := viewerState{pos: ParsePosition("0005.0007")}
	out := string(other.appendFrame(nil, f1)) + string(other.appendFrame(nil, f2))
	if strings.Count(out, `"cursor":"0007"`) != 0 || strings.Count(out, `"cursor":"0009"`) != 1 || !other.pos.Equal(Position{Cursor: "0009"}) {
		t.Fatalf("a viewer at 0005.0007 was written %q and is at %q", out, other.pos.ID())
	}
}

func TestParsePosition(t *testing.T) {
	tests := []struct {
		name, id, want string
	}{
		{name: "cursor", id: "00ab", want: "00ab"},
		{name: "ahead sorted", id: "0001.0009.0003", want: "0001.0003.0009"},
		{name: "at or below the cursor dropped", id: "0005.0004.0005.0006", want: "0005.0006"},
		{name: "repeats dropped", id: "0001.0002.0002", want: "0001.0002"},
		{name: "nothing settled yet", id: ".0002", want: ".0002"},
		{name: "empty", id: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParsePosition(tc.id).ID(); got != tc.want {
				t.Fatalf("ParsePosition(%q).ID() = %q, want %q", tc.id, got, tc.want)
			}
		})
	}
	var long strings.Builder
	long.WriteString("0000")
	for i := range 3 * MaxAhead {
		fmt.Fprintf(&long, ".%04d", i+1)
	}
	if n := len(ParsePosition(long.String()).Ahead); n != MaxAhead {
		t.Fatalf("an id with %d ahead keeps %d, want %d", 3*MaxAhead, n, MaxAhead)
	}
}

// TestViewersNeverGetSenderOrTrace: the sender hash and the trace context are the operators';
// every barrage event leaves them out, and the records the frame keeps are not changed.
func TestViewersNeverGetSenderOrTrace(t *testing.T) {
	rec := store.Record{Cursor: "0000000000000001"}
	rec.ID, rec.Room, rec.Text = "b1", "room", "hello"
	rec.Sender = "0123456789abcdef0123456789abcdef"
	rec.TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	f, err := Batch([]store.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{rec.Sender, rec.TraceParent, "sender", "traceparent"} {
		if bytes.Contains(f.wire, []byte(secret)) {
			t.Errorf("the event carries %q: %s", secret, f.wire)
		}
	}
	if !bytes.Contains(f.wire, []byte("hello")) {
		t.Errorf("the event lost the barrage: %s", f.wire)
	}
	if rec.Sender == "" || rec.TraceParent == "" {
		t.Error("encoding changed the caller's record")
	}
}
