package chartcheck

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// generatedToken matches what the chart draws at random: the admin token when none is
// given, and the checksum salt. The golden files hold a placeholder for them, and for the
// checksums of the Secret holding them (TestSecretChecksum checks those).
var (
	generatedToken = regexp.MustCompile(`(?m)^(  BARRAGE_ADMIN_TOKEN: |  checksum-salt: )\S+$`)
	secretChecksum = regexp.MustCompile(`(?m)^(\s+checksum/secret: )[0-9a-f]{64}$`)
)

var update = flag.Bool("update", false, "rewrite the golden manifests in testdata/")

// TestEnvironments renders every environment file, checks it as a cluster would, and
// compares it with its golden manifest.
func TestEnvironments(t *testing.T) {
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			docs := mustRender(t, valueFiles(env), nil)
			r := decode(t, env, docs)
			checkInvariants(t, r)
			if check := environmentChecks[env]; check != nil {
				check(t, r)
			}
			golden(t, env, docs)
		})
	}
}

func golden(t *testing.T, env string, docs []doc) {
	t.Helper()
	var got bytes.Buffer
	generated := false
	for _, d := range docs {
		generated = generated || d.kind == "Secret" && generatedToken.Match(d.raw)
	}
	for _, d := range docs {
		raw := d.raw
		if d.kind == "Secret" {
			raw = generatedToken.ReplaceAll(raw, []byte(`$1"<generated>"`))
		}
		if generated {
			raw = secretChecksum.ReplaceAll(raw, []byte(`$1"<sha256 of the generated Secret>"`))
		}
		got.WriteString("---\n# Source: " + d.source + "\n")
		got.Write(bytes.TrimPrefix(raw, []byte("---\n")))
		got.WriteString("\n")
	}
	path := filepath.Join("testdata", env+".golden.yaml")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/chartcheck -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s differs from the rendered chart; review the change and run go test ./internal/chartcheck -update\n%s",
			path, firstDifference(string(want), got.String()))
	}
}

// firstDifference shows the first line where two texts part.
func firstDifference(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return fmt.Sprintf("line %d:\n  golden:   %s\n  rendered: %s", i+1, w, g)
		}
	}
	return ""
}
