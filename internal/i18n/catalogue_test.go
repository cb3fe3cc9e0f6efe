package i18n

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var placeholder = regexp.MustCompile(`\{\d+\}`)

// TestCatalogues fails when a string is in one language and not the other, when one is
// empty, or when the two do not take the same {n} arguments.
func TestCatalogues(t *testing.T) {
	en := Keys(English)
	if len(en) < 100 {
		t.Fatalf("the English catalogue has only %d keys", len(en))
	}
	for _, l := range Langs[1:] {
		other := Keys(l)
		for _, k := range en {
			if !Has(l, k) {
				t.Errorf("%s: %q is missing", l, k)
			}
		}
		for _, k := range other {
			if !Has(English, k) {
				t.Errorf("en: %q is missing (it is in %s)", k, l)
			}
		}
	}
	for _, l := range Langs {
		for _, k := range Keys(l) {
			v := T(l, k)
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", l, k)
			}
			want := placeholder.FindAllString(T(English, k), -1)
			got := placeholder.FindAllString(v, -1)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				t.Errorf("%s: %q takes %v, English takes %v", l, k, got, want)
			}
		}
	}
	// Problems found by their English title need that title to be unique.
	titles := map[string]string{}
	for _, k := range en {
		if strings.HasPrefix(k, "problem.operator.") && strings.HasSuffix(k, ".title") {
			if prev, ok := titles[T(English, k)]; ok {
				t.Errorf("%q and %q share the title %q", prev, k, T(English, k))
			}
			titles[T(English, k)] = k
		}
	}
}

// TestChineseIsChinese catches a string copied over untranslated: every Chinese string
// differs from the English one, and has Han characters in it unless it is only
// placeholders and punctuation.
func TestChineseIsChinese(t *testing.T) {
	han := regexp.MustCompile(`\p{Han}`)
	letter := regexp.MustCompile(`\pL`)
	for _, k := range Keys(Chinese) {
		v := T(Chinese, k)
		if v == T(English, k) || letter.MatchString(v) && !han.MatchString(v) {
			t.Errorf("zh-CN %q is %q, not Chinese", k, v)
		}
	}
}

// usedKeys finds every key the code names, by the call shapes that name one.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	patterns := []struct {
		glob   string
		re     *regexp.Regexp
		prefix string
	}{
		{"views/*.templ", regexp.MustCompile(`\bt\([a-zA-Z.]+, "([^"]+)"`), ""},
		{"static/*.js", regexp.MustCompile(`\bt\('([^']+)'`), "js."},
		{"internal/homepage/*.go", regexp.MustCompile(`problem\.(?:New|Invalid)\([^,]+, "([^"]+)"`), "problem."},
		{"internal/homepage/*.go", regexp.MustCompile(`(?:tooMany|unavailable)\((?:w, )?"([^"]+)"`), "problem."},
		{"internal/homepage/*.go", regexp.MustCompile(`s\.reject\([^,]+, [^,]+, "([^"]+)"`), "problem."},
		{"internal/homepage/*.go", regexp.MustCompile(`bad\([a-z]+, "([^"]+)"`), "reason."},
		{"internal/homepage/*.go", regexp.MustCompile(`FieldError{[^}]*Key: "([^"]+)"`), "reason."},
		{"internal/barrage/*.go", regexp.MustCompile(`invalid\([^,]+, "([^"]+)"`), "reason."},
	}
	used := map[string]string{}
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join(root, p.glob))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files for %s", p.glob)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.re.FindAllStringSubmatch(string(b), -1) {
				used[p.prefix+m[1]] = f
			}
		}
	}
	return used
}

// TestUsedKeysExist fails when a view, a script or a handler names a key the catalogue
// lacks.
func TestUsedKeysExist(t *testing.T) {
	used := usedKeys(t)
	if len(used) < 80 {
		t.Fatalf("found only %d keys in use; the patterns no longer match the code", len(used))
	}
	for k, f := range used {
		if strings.HasPrefix(k, "problem.") && !Has(English, k) {
			if Has(English, k+".title") {
				continue
			}
		}
		if strings.HasPrefix(k, "js.state.") || strings.HasPrefix(k, "js.field.") {
			continue // named in parts; checked below
		}
		if !Has(English, k) {
			t.Errorf("%s uses %q, which the catalogue lacks", f, k)
		}
	}
	for _, s := range []string{"connecting", "live", "reconnecting"} {
		if !Has(English, "js.state."+s) {
			t.Errorf("the connection state %q has no string", s)
		}
	}
}

// TestOperatorProblemsAreTranslated: the operator routes write problems without keys;
// each of their titles must be one the catalogue can find.
func TestOperatorProblemsAreTranslated(t *testing.T) {
	title := regexp.MustCompile(`Title: "([^"]+)"|unauthorized\(w, [^,]+, "([^"]+)"`)
	n := 0
	for _, glob := range []string{"internal/operator/*.go", "internal/loadsender/*.go"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", glob))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range title.FindAllStringSubmatch(string(b), -1) {
				tt := m[1] + m[2]
				n++
				if _, ok := KeyOf("problem.operator.", tt); !ok {
					t.Errorf("%s: the problem %q has no translation", f, tt)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d operator problems; the pattern no longer matches the code", n)
	}
}
