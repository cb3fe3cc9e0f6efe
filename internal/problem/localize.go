package problem

import (
	"net/http"

	"github.com/barrage-live/barrage/internal/i18n"
)

// langWriter carries the reader's language to Write, through handlers that only pass the
// ResponseWriter on. Unwrap keeps http.ResponseController (flushes, hijacks) working.
type langWriter struct {
	http.ResponseWriter
	lang i18n.Lang
}

func (w *langWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *langWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// WithLang returns w, for which Write answers in lang.
func WithLang(w http.ResponseWriter, lang i18n.Lang) http.ResponseWriter {
	return &langWriter{ResponseWriter: w, lang: lang}
}

// langOf finds the language given by WithLang, through any wrappers that Unwrap.
func langOf(w http.ResponseWriter) i18n.Lang {
	for w != nil {
		if lw, ok := w.(*langWriter); ok {
			return lw.lang
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return i18n.English
}

// operatorKeys is where the catalogue keeps the problems of the operator routes, whose
// code names no key: they are found by their English title.
const operatorKeys = "problem.operator."

func localize(d Details, lang i18n.Lang) Details {
	if d.Key == "" {
		if lang == i18n.English {
			return d // the code's own English, which may name specifics
		}
		base, ok := i18n.KeyOf(operatorKeys, d.Title)
		if !ok {
			return d
		}
		d.Title = i18n.T(lang, base+".title")
		d.Detail = i18n.T(lang, base+".detail")
		d.Errors = localizeErrors(d.Errors, lang, true)
		return d
	}
	d.Title = i18n.T(lang, "problem."+d.Key+".title")
	d.Errors = localizeErrors(d.Errors, lang, false)
	if detail := detailOf(lang, d.Key, d.Args); detail != "" {
		d.Detail = detail
	} else if len(d.Errors) > 0 {
		d.Detail = fieldsDetail(d.Errors, lang)
	}
	return d
}

// fieldsDetail says every field error in one sentence: "text must not be empty".
func fieldsDetail(errs []FieldError, lang i18n.Lang) string {
	s := ""
	for i, e := range errs {
		if i > 0 {
			s += i18n.T(lang, "problem.fieldSep")
		}
		name := e.Field // a field the request made up is named as it was sent
		if i18n.Has(lang, "field."+e.Field) {
			name = i18n.T(lang, "field."+e.Field)
		}
		s += i18n.T(lang, "problem.fieldDetail", name, e.Reason)
	}
	return s
}

// localizeErrors says each reason in lang; a reason without a key is, in another language
// than English, only said to be out of bounds when generic is set.
func localizeErrors(errs []FieldError, lang i18n.Lang, generic bool) []FieldError {
	if len(errs) == 0 {
		return errs
	}
	out := make([]FieldError, len(errs))
	for i, e := range errs {
		switch {
		case e.Key != "":
			e.Reason = i18n.T(lang, "reason."+e.Key, e.Args...)
		case generic:
			e.Reason = i18n.T(lang, "reason.outOfBounds")
		}
		out[i] = e
	}
	return out
}
