package chartcheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var keyLine = regexp.MustCompile(`^(\s*)([A-Za-z][A-Za-z0-9]*):\s*(.*)$`)

// TestValuesDocumented checks that values.yaml starts with the schema line editors read and
// that every value has a comment right above it. Entries inside a resources block are data
// of a documented value.
func TestValuesDocumented(t *testing.T) {
	f, err := os.Open(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	type key struct {
		indent int
		name   string
	}
	var parents []key
	prev, n := "", 0
	for sc.Scan() {
		line := sc.Text()
		n++
		if n == 1 && line != "# yaml-language-server: $schema=values.schema.json" {
			t.Errorf("values.yaml line 1 is %q, want the yaml-language-server schema line", line)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m != nil {
			indent := len(m[1])
			for len(parents) > 0 && parents[len(parents)-1].indent >= indent {
				parents = parents[:len(parents)-1]
			}
			inResources := false
			for _, p := range parents {
				inResources = inResources || p.name == "resources"
			}
			leaf := m[3] != ""
			if leaf && !inResources && !strings.HasPrefix(strings.TrimSpace(prev), "#") {
				t.Errorf("values.yaml:%d: %s has no comment above it", n, strings.TrimSpace(line))
			}
			parents = append(parents, key{indent, m[2]})
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
