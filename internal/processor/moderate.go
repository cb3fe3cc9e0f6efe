package processor

import (
	"strings"
	"unicode"
)

// Masker replaces sensitive words with asterisks, one per character, ignoring case.
// Masking keeps the comment's length so lanes computed for it stay right.
type Masker struct {
	words [][]rune
}

// NewMasker builds a masker for words; blank words are ignored.
func NewMasker(words []string) *Masker {
	m := &Masker{}
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" {
			m.words = append(m.words, lowerRunes(w))
		}
	}
	return m
}

// Mask returns text with every sensitive word masked.
func (m *Masker) Mask(text string) string {
	if len(m.words) == 0 {
		return text
	}
	runes := []rune(text)
	lower := lowerRunes(text)
	changed := false
	for _, w := range m.words {
		for i := 0; i+len(w) <= len(lower); i++ {
			if equalRunes(lower[i:i+len(w)], w) {
				for j := i; j < i+len(w); j++ {
					runes[j] = '*'
				}
				changed = true
			}
		}
	}
	if !changed {
		return text
	}
	return string(runes)
}

// lowerRunes lowers rune by rune, so indexes match the original text.
func lowerRunes(s string) []rune {
	r := []rune(s)
	for i, c := range r {
		r[i] = unicode.ToLower(c)
	}
	return r
}

func equalRunes(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
