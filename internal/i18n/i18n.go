// Package i18n holds every string a person reads on the HomePage, once per language, and
// picks the language of a request. Views read them through T, scripts through JS, and
// problem details through the problem package.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Lang is a language the HomePage speaks, as a BCP 47 tag.
type Lang string

// The languages, with the one used when nothing else fits first.
const (
	English Lang = "en"
	Chinese Lang = "zh-CN"
)

// Langs lists every language, the default first.
var Langs = []Lang{English, Chinese}

//go:embed en.json zh-CN.json
var files embed.FS

// tables are the catalogues, read once: they are part of the binary, like the templates.
var tables = mustLoad()

func mustLoad() map[Lang]map[string]string {
	t := map[Lang]map[string]string{}
	for _, l := range Langs {
		b, err := files.ReadFile(string(l) + ".json")
		if err != nil {
			panic(fmt.Errorf("i18n: read %s: %w", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Errorf("i18n: parse %s: %w", l, err))
		}
		t[l] = m
	}
	return t
}

// Valid reports whether s names one of Langs exactly.
func Valid(s string) (Lang, bool) {
	for _, l := range Langs {
		if string(l) == s {
			return l, true
		}
	}
	return English, false
}

// T returns the string key in lang with {0}, {1}… replaced by args. A key missing from
// lang falls back on English, then on the key itself; TestCatalogues keeps that from
// happening.
func T(lang Lang, key string, args ...any) string {
	s, ok := tables[lang][key]
	if !ok {
		if s, ok = tables[English][key]; !ok {
			return key
		}
	}
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, 2*len(args))
	for i, a := range args {
		pairs = append(pairs, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Has reports whether key is in the catalogue of lang.
func Has(lang Lang, key string) bool {
	_, ok := tables[lang][key]
	return ok
}

// Keys lists the keys of lang, sorted.
func Keys(lang Lang) []string {
	keys := make([]string, 0, len(tables[lang]))
	for k := range tables[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// JS is the table the page's scripts read: the keys under "js.", without that prefix.
func JS(lang Lang) map[string]string {
	out := map[string]string{}
	for k, v := range tables[lang] {
		if name, ok := strings.CutPrefix(k, "js."); ok {
			out[name] = v
		}
	}
	return out
}

// KeyOf finds the message under prefix whose English title is title, and returns its key
// without the ".title": the way to translate problems written by code that names no key
// (gettext's way, where the English text is the message's identity). Titles under such a
// prefix are unique (TestCatalogues).
func KeyOf(prefix, title string) (string, bool) {
	if title == "" {
		return "", false
	}
	for k, v := range tables[English] {
		if base, ok := strings.CutSuffix(k, ".title"); ok && v == title && strings.HasPrefix(k, prefix) {
			return base, true
		}
	}
	return "", false
}
