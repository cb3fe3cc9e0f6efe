package views

import (
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/i18n"
)

// The panel is in the page only with moderation on, shows nothing but the token field until
// the script opens it, and says a mute is not an identity; slow mode is in the send box.
func TestRoomModerationPanelAndSlowMode(t *testing.T) {
	doc := render(t, RoomData{Room: "r"})
	if len(all(doc, "moderation")) != 0 || len(all(doc, "send-slow")) != 0 {
		t.Fatal("a page without moderation has a panel or a slow mode note")
	}
	for _, l := range i18n.Langs {
		doc = render(t, RoomData{Room: "r", Moderation: true, SlowMode: 30 * time.Second, Lang: l})
		one(t, doc, "mod-token")
		body := one(t, doc, "mod-body")
		if _, hidden := attr(body, "hidden"); !hidden {
			t.Fatalf("%s: the panel's controls show before the token is given", l)
		}
		for _, id := range []string{"mod-mutes", "mod-slow", "mod-words", "mod-save", "mod-minutes", "mod-name"} {
			one(t, body, id)
		}
		if !strings.Contains(text(body), i18n.T(l, "mod.identity")) {
			t.Fatalf("%s: the panel does not say a mute is not an identity", l)
		}
		if got := text(one(t, doc, "send-slow")); got != i18n.T(l, "send.slowMode", "30") {
			t.Fatalf("%s: the send box says %q about slow mode", l, got)
		}
	}
}
