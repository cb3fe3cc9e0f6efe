package static

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerServesWithTypesAndRevalidation(t *testing.T) {
	h := Handler()
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantType string
	}{
		{name: "script", path: "app.js", wantCode: http.StatusOK, wantType: "text/javascript; charset=utf-8"},
		{name: "style", path: "style.css", wantCode: http.StatusOK, wantType: "text/css; charset=utf-8"},
		{name: "unknown", path: "nope.js", wantCode: http.StatusNotFound},
		{name: "no listing", path: "", wantCode: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The handler is mounted with the prefix stripped: paths have no leading slash.
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.URL.Path = tt.path
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantCode != http.StatusOK {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			etag := rec.Header().Get("ETag")
			if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("want an ETag and no-cache, got %v", rec.Header())
			}
			again := httptest.NewRecorder()
			req = httptest.NewRequest(http.MethodGet, "/x", nil)
			req.URL.Path = tt.path
			req.Header.Set("If-None-Match", etag)
			h.ServeHTTP(again, req)
			if again.Code != http.StatusNotModified {
				t.Errorf("revalidation = %d, want 304", again.Code)
			}
		})
	}
}

// Every module a script imports must be embedded, or the page breaks only in a browser.
func TestScriptImportsAreEmbedded(t *testing.T) {
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';`)
	scripts, _ := fs.Glob(FS(), "*.js")
	if len(scripts) == 0 {
		t.Fatal("no scripts embedded")
	}
	for _, name := range scripts {
		src, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			if _, err := fs.Stat(FS(), m[1]); err != nil {
				t.Errorf("%s imports %s, which is not embedded", name, m[1])
			}
		}
		if strings.Contains(string(src), "innerHTML") {
			t.Errorf("%s uses innerHTML; set text with textContent", name)
		}
	}
}
