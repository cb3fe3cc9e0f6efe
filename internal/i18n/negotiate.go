package i18n

import (
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// CookieName is the cookie that holds the language a reader chose on the page.
const CookieName = "lang"

// maxAcceptLanguage bounds the header we parse: real browsers send well under 200 bytes.
const maxAcceptLanguage = 512

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// FromRequest is the language for r: the reader's own choice from the cookie when it
// names a language we have, otherwise the best match for Accept-Language.
func FromRequest(r *http.Request) Lang {
	if c, err := r.Cookie(CookieName); err == nil {
		if l, ok := Valid(c.Value); ok {
			return l
		}
	}
	return Negotiate(r.Header.Get("Accept-Language"))
}

// Negotiate picks a language for an Accept-Language header by its q-values: the most
// preferred language we have, English when none fits.
func Negotiate(header string) Lang {
	if len(header) > maxAcceptLanguage {
		// Keep the whole entries that fit; an over-long header is not a reason to fail.
		header = header[:maxAcceptLanguage]
		if i := strings.LastIndexByte(header, ','); i >= 0 {
			header = header[:i]
		}
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Langs[i]
}
