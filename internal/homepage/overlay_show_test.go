package homepage

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/problem"
)

func getOverlay(t *testing.T, url, lang string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

func TestOverlaySettings(t *testing.T) {
	srv, _ := newTestServer(t, Options{}, live.Options{})
	tests := []struct {
		name, query string
		attrs       map[string]string
	}{
		{"defaults", "", map[string]string{"data-lanes": "12", "data-size": "32", "data-speed": "1", "data-opacity": "1", "data-area": "0.75", "data-modes": "scroll,top,bottom"}},
		{"every setting", "lanes=5&size=48&speed=1.5&opacity=0.6&area=0.5&modes=top,scroll",
			map[string]string{"data-lanes": "5", "data-size": "48", "data-speed": "1.5", "data-opacity": "0.6", "data-area": "0.5", "data-modes": "scroll,top"}},
		{"bounds", "lanes=40&size=12&speed=4&opacity=0.1&area=1&modes=bottom",
			map[string]string{"data-lanes": "40", "data-size": "12", "data-speed": "4", "data-opacity": "0.1", "data-area": "1", "data-modes": "bottom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := getOverlay(t, srv.URL+"/rooms/stream1/overlay?"+tt.query, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", res.Status, body)
			}
			doc, err := html.Parse(strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			var main *html.Node
			for n := range doc.Descendants() {
				if n.Type == html.ElementNode && n.Data == "main" {
					main = n
				}
			}
			if main == nil {
				t.Fatal("no <main>")
			}
			got := map[string]string{}
			for _, a := range main.Attr {
				got[a.Key] = a.Val
			}
			for k, v := range tt.attrs {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if got["data-room"] != "stream1" {
				t.Errorf("room %q", got["data-room"])
			}
			if strings.Contains(string(body), "<form") || strings.Contains(string(body), "<button") || strings.Contains(string(body), "<input") {
				t.Error("the overlay has controls")
			}
		})
	}
}

// TestOverlayRefusesBadSettings: each bad parameter, an attacker's included, gets a 400
// problem that names it, and nothing is rendered.
func TestOverlayRefusesBadSettings(t *testing.T) {
	srv, _ := newTestServer(t, Options{}, live.Options{})
	tests := []struct {
		name, query string
		fields      []string
	}{
		{"huge lanes", "lanes=1e9", []string{"lanes"}},
		{"many lanes", "lanes=1000000000", []string{"lanes"}},
		{"zero lanes", "lanes=0", []string{"lanes"}},
		{"negative size", "size=-4", []string{"size"}},
		{"signed size", "size=+20", []string{"size"}},
		{"tiny size", "size=2", []string{"size"}},
		{"speed NaN", "speed=NaN", []string{"speed"}},
		{"speed Inf", "speed=Inf", []string{"speed"}},
		{"speed exponent", "speed=1e308", []string{"speed"}},
		{"opacity above one", "opacity=1.5", []string{"opacity"}},
		{"area empty", "area=", []string{"area"}},
		{"unknown mode", "modes=scroll,sideways", []string{"modes"}},
		{"no modes", "modes=", []string{"modes"}},
		{"long modes", "modes=" + strings.Repeat("top,", 50) + "top", []string{"modes"}},
		{"repeated", "lanes=3&lanes=4", []string{"lanes"}},
		{"typo", "lanse=3", []string{"lanse"}},
		{"two bad", "lanes=x&speed=9", []string{"lanes", "speed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := getOverlay(t, srv.URL+"/rooms/r/overlay?"+tt.query, "")
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Content-Type") != problem.ContentType {
				t.Fatalf("%s %s: %s", res.Status, res.Header.Get("Content-Type"), body)
			}
			var p problem.Details
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e.Field)
				if e.Reason == "" {
					t.Errorf("%s has no reason", e.Field)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") || p.Title != "Invalid overlay settings" {
				t.Errorf("got %q with fields %v, want %v", p.Title, fields, tt.fields)
			}
			for _, f := range tt.fields {
				if !strings.Contains(p.Detail, f) {
					t.Errorf("detail %q does not name %s", p.Detail, f)
				}
			}
		})
	}
	t.Run("long query", func(t *testing.T) {
		res, body := getOverlay(t, srv.URL+"/rooms/r/overlay?lanes="+strings.Repeat("1", 4000), "")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "longer than 512 bytes") {
			t.Fatalf("%s: %s", res.Status, body)
		}
	})
	t.Run("bad room", func(t *testing.T) {
		res, _ := getOverlay(t, srv.URL+"/rooms/a%20b/overlay", "")
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s", res.Status)
		}
	})
}

// TestProblemsInChinese: under Accept-Language: zh-CN the overlay's and the send API's
// problems are in Chinese, field by field; without it they stay English.
func TestProblemsInChinese(t *testing.T) {
	srv, _ := newTestServer(t, Options{}, live.Options{})
	res, body := getOverlay(t, srv.URL+"/rooms/r/overlay?lanes=1e9", "zh-CN,zh;q=0.9,en;q=0.8")
	var p problem.Details
	_ = json.Unmarshal(body, &p)
	if p.Title != "叠加层参数无效" || p.Detail != "弹幕行数（lanes）要填 1 到 40 之间的整数" || res.Header.Get("Content-Language") != "zh-CN" {
		t.Errorf("overlay: %s %q %q", res.Header.Get("Content-Language"), p.Title, p.Detail)
	}

	send := func(lang, text string) problem.Details {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/rooms/r/barrages", strings.NewReader(`{"text":`+text+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", lang)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var p problem.Details
		_ = json.NewDecoder(res.Body).Decode(&p)
		return p
	}
	long := `"` + strings.Repeat("长", 120) + `"`
	if p := send("zh-CN", long); p.Title != "弹幕无效" || p.Detail != "弹幕内容有 120 个字，最多只能 100 个字" ||
		len(p.Errors) != 1 || p.Errors[0].Reason != "有 120 个字，最多只能 100 个字" {
		t.Errorf("zh: %+v", p)
	}
	if p := send("en", long); p.Title != "Invalid barrage" || p.Detail != "text is 120 characters long; the limit is 100" {
		t.Errorf("en: %+v", p)
	}
	if p := send("zh", `1`); p.Title != "JSON 格式错误" || !strings.Contains(p.Detail, "字段“text”应该是 string 类型") {
		t.Errorf("zh json: %+v", p)
	}
}
