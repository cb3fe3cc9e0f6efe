package kafka

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// A moderation notice names a room and nothing else; one that also carries records is not
// one a HomePage sends.
func TestModerationNoticeCheck(t *testing.T) {
	b, _ := barrage.Accept("a", barrage.Draft{Text: "t"}, time.Now())
	rec := store.Record{Barrage: b, Cursor: "00000000000000aa" + store.Cursor(b.ID)}
	tests := []struct {
		name string
		n    Notice
		ok   bool
	}{
		{"moderation", Notice{Room: "a", Moderation: true}, true},
		{"moderation with records", Notice{Room: "a", Moderation: true, Records: []store.Record{rec}}, false},
		{"moderation of a bad room", Notice{Room: "a b", Moderation: true}, false},
		{"records", Notice{Room: "a", Records: []store.Record{rec}}, true},
		{"neither", Notice{Room: "a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.n.Check(); (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok %v", err, tt.ok)
			}
		})
	}
	data, _ := json.Marshal(Notice{Room: "a", Moderation: true})
	if string(data) != `{"room":"a","moderation":true}` {
		t.Fatalf("a moderation notice is %s", data)
	}
}
