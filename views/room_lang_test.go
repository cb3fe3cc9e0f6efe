package views

import (
	"encoding/json"
	"testing"

	"golang.org/x/net/html"

	"github.com/barrage-live/barrage/internal/i18n"
)

// TestRoomInEachLanguage: the page is rendered in the reader's language, offers the
// switch with that language chosen, and hands the scripts their table.
func TestRoomInEachLanguage(t *testing.T) {
	tests := []struct {
		lang                i18n.Lang
		htmlLang, send      string
		live, history, hint string
	}{
		{"", "en", "Send", "live", "Recent", "New barrages ↓"},
		{i18n.English, "en", "Send", "live", "Recent", "New barrages ↓"},
		{i18n.Chinese, "zh-CN", "发送", "已连接", "最近弹幕", "有新弹幕 ↓"},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			doc := render(t, RoomData{Room: "r", Lang: tt.lang, LoadSender: LoadSenderSettings{Enabled: true, MaxRate: 50}})
			var root, strings *html.Node
			for n := range doc.Descendants() {
				if n.Type == html.ElementNode && n.Data == "html" {
					root = n
				}
				if id, _ := attr(n, "id"); n.Type == html.ElementNode && id == "strings" {
					strings = n
				}
			}
			if got, _ := attr(root, "lang"); got != tt.htmlLang {
				t.Errorf("html lang %q", got)
			}
			if got := text(one(t, doc, "send-button")); got != tt.send {
				t.Errorf("send button %q", got)
			}
			if got := text(one(t, doc, "history-newer")); got != tt.hint {
				t.Errorf("hint %q", got)
			}
			if _, hidden := attr(one(t, doc, "history-newer"), "hidden"); !hidden {
				t.Error("the hint shows before anything is new")
			}
			sw := one(t, doc, "lang-switch")
			var chosen []string
			for n := range sw.Descendants() {
				if _, sel := attr(n, "selected"); n.Type == html.ElementNode && sel {
					v, _ := attr(n, "value")
					chosen = append(chosen, v)
				}
			}
			if len(chosen) != 1 || chosen[0] != tt.htmlLang {
				t.Errorf("switch chooses %v", chosen)
			}
			if typ, _ := attr(strings, "type"); typ != "application/json" {
				t.Fatalf("strings table type %q", typ)
			}
			var table map[string]string
			if err := json.Unmarshal([]byte(text(strings)), &table); err != nil {
				t.Fatal(err)
			}
			if table["state.live"] != tt.live {
				t.Errorf("scripts' table says live is %q", table["state.live"])
			}
		})
	}
}
