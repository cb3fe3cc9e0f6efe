package i18n

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, header string
		want         Lang
	}{
		{"none", "", English},
		{"chinese", "zh-CN", Chinese},
		{"chinese without region", "zh", Chinese},
		{"simplified script", "zh-Hans", Chinese},
		{"browser order", "zh-CN,zh;q=0.9,en;q=0.8", Chinese},
		{"q-values outrank order", "en;q=0.5, zh-CN;q=0.9", Chinese},
		{"english first", "en-US,en;q=0.9,zh-CN;q=0.8", English},
		{"q=0 refuses", "zh-CN;q=0, en;q=0.1", English},
		{"unknown first", "fr-FR, zh;q=0.5", Chinese},
		{"only unknown", "fr, de;q=0.5", English},
		{"wildcard", "*", English},
		{"garbage", ";;;q=x,,", English},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Negotiate(tt.header); got != tt.want {
				t.Errorf("Negotiate(%q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}

// An attacker's header of any length is cut to the entries that fit, and still parsed.
func TestNegotiateLongHeader(t *testing.T) {
	h := "zh-CN;q=0.9," + strings.Repeat("x-aaaaaaaa;q=0.1,", 100000)
	if got := Negotiate(h); got != Chinese {
		t.Errorf("long header: %s", got)
	}
}

func TestFromRequestPrefersTheCookie(t *testing.T) {
	tests := []struct {
		name, cookie, header string
		want                 Lang
	}{
		{"cookie wins", "zh-CN", "en", Chinese},
		{"cookie english", "en", "zh-CN", English},
		{"unknown cookie ignored", "fr", "zh-CN", Chinese},
		{"no cookie", "", "zh-CN", Chinese},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Accept-Language", tt.header)
			if tt.cookie != "" {
				r.Header.Set("Cookie", CookieName+"="+tt.cookie)
			}
			if got := FromRequest(r); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestT(t *testing.T) {
	if got := T(English, "js.tooLong", 120, 100); got != "Your barrage is 120 characters long; the limit is 100." {
		t.Errorf("en: %q", got)
	}
	if got := T(Chinese, "js.tooLong", 120, 100); got != "你的弹幕有 120 个字，最多只能 100 个字。" {
		t.Errorf("zh: %q", got)
	}
	if got := T(Chinese, "no.such.key"); got != "no.such.key" {
		t.Errorf("missing: %q", got)
	}
}
