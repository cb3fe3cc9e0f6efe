package homepage

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/barrage-live/barrage/internal/live"
)

// TestPageLanguage: the server renders the language the reader chose (the cookie), else
// the one Accept-Language prefers, and says that the answer varies by both.
func TestPageLanguage(t *testing.T) {
	srv, _ := newTestServer(t, Options{}, live.Options{})
	tests := []struct {
		name, cookie, header, want string
	}{
		{"no preference", "", "", `<html lang="en"`},
		{"header", "", "zh-CN,zh;q=0.9,en;q=0.8", `<html lang="zh-CN"`},
		{"cookie over header", "en", "zh-CN", `<html lang="en"`},
		{"cookie chinese", "zh-CN", "en-US", `<html lang="zh-CN"`},
		{"forged cookie ignored", `"><script>`, "zh", `<html lang="zh-CN"`},
	}
	for _, tt := range tests {
		for _, path := range []string{"/rooms/r", "/rooms/r/overlay"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				if tt.header != "" {
					req.Header.Set("Accept-Language", tt.header)
				}
				if tt.cookie != "" {
					req.AddCookie(&http.Cookie{Name: "lang", Value: tt.cookie})
				}
				res, body := getWith(t, req)
				if res.StatusCode != http.StatusOK || !strings.Contains(body, tt.want) {
					t.Errorf("%s: want %s in the page", res.Status, tt.want)
				}
				if lang := strings.TrimSuffix(strings.TrimPrefix(tt.want, `<html lang="`), `"`); res.Header.Get("Content-Language") != lang {
					t.Errorf("Content-Language %q, want %q", res.Header.Get("Content-Language"), lang)
				}
				if res.Header.Get("Vary") != "Accept-Language, Cookie" {
					t.Errorf("Vary %q", res.Header.Get("Vary"))
				}
			})
		}
	}
}

func getWith(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}
