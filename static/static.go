// Package static holds the page's scripts and styles, embedded in the binary so the
// HomePage needs nothing from a CDN or the file system.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

//go:embed *.js *.css
var files embed.FS

// FS is the embedded files, named as they are served.
func FS() fs.FS { return files }

type asset struct {
	body []byte
	etag string
	typ  string
}

// Handler serves the files, to be mounted under /static/ with the prefix stripped. Each
// response carries an ETag and asks for revalidation, so a new release is picked up at
// once while unchanged files cost a 304.
func Handler() http.Handler {
	assets := map[string]asset{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, err := fs.ReadFile(files, e.Name())
		if err != nil {
			continue // embedded files are always readable
		}
		sum := sha256.Sum256(b)
		typ := mime.TypeByExtension(path.Ext(e.Name()))
		if path.Ext(e.Name()) == ".js" {
			typ = "text/javascript; charset=utf-8"
		}
		assets[e.Name()] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, typ: typ}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.typ)
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(a.body))
	})
}
