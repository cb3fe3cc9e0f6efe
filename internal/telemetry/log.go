// Package telemetry is how the processes report on themselves: structured logs that
// never carry a secret, and (with tracing and metrics) where a barrage spent its time.
package telemetry

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns a slog logger at level ("debug", "info", "warn", "error"), as JSON or
// text, that replaces every occurrence of the given secrets with "[redacted]", whatever
// attribute or message they end up in.
func NewLogger(w io.Writer, level string, json bool, secrets []string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redactor(secrets)}
	var h slog.Handler
	if json {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	if len(secrets) > 0 {
		h = redactMessages{Handler: h, replace: replacer(secrets)}
	}
	return slog.New(h)
}

func replacer(secrets []string) *strings.Replacer {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, "[redacted]")
		}
	}
	return strings.NewReplacer(pairs...)
}

// redactor scrubs attribute values, including errors, which are rendered to text first.
func redactor(secrets []string) func([]string, slog.Attr) slog.Attr {
	if len(secrets) == 0 {
		return nil
	}
	r := replacer(secrets)
	return func(_ []string, a slog.Attr) slog.Attr {
		v := a.Value.Resolve()
		switch v.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(r.Replace(v.String()))
		case slog.KindAny:
			if err, ok := v.Any().(error); ok {
				a.Value = slog.StringValue(r.Replace(err.Error()))
			} else if s, ok := v.Any().(interface{ String() string }); ok {
				a.Value = slog.StringValue(r.Replace(s.String()))
			}
		}
		return a
	}
}

// redactMessages scrubs the message, which ReplaceAttr does not see.
type redactMessages struct {
	slog.Handler
	replace *strings.Replacer
}

func (h redactMessages) Handle(ctx context.Context, rec slog.Record) error {
	rec.Message = h.replace.Replace(rec.Message)
	return h.Handler.Handle(ctx, rec)
}

func (h redactMessages) WithAttrs(as []slog.Attr) slog.Handler {
	return redactMessages{Handler: h.Handler.WithAttrs(as), replace: h.replace}
}

func (h redactMessages) WithGroup(name string) slog.Handler {
	return redactMessages{Handler: h.Handler.WithGroup(name), replace: h.replace}
}
