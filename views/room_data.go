// Package views renders the HomePage's HTML with templ. It does no I/O: handlers gather
// the data and pass it in.
package views

import (
	"strconv"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/i18n"
)

// RoomData is everything the room page shows when it opens.
type RoomData struct {
	Room       string
	Recent     []barrage.Barrage // the room's last barrages, oldest first
	LastCursor string            // where the live stream resumes (its lastEventId)
	LoadSender LoadSenderSettings
	Version    string
	Lang       i18n.Lang // the reader's language; English when unset
	// Moderation offers the operator's panel; it opens once the token is given.
	Moderation bool
	SlowMode   time.Duration // the room's slow mode, shown in the send box; 0 when off
}

func (d RoomData) slowSeconds() string { return strconv.Itoa(int(d.SlowMode / time.Second)) }

// LoadSenderSettings say whether the page offers the load sender, and its bounds.
type LoadSenderSettings struct {
	Enabled        bool
	MaxConcurrency int
	MaxDuration    time.Duration
	MaxRate        int  // barrages per second all runs of this instance send together
	TokenRequired  bool // the form asks for the operator token
}

func (s LoadSenderSettings) maxRate() string { return strconv.Itoa(max(1, s.MaxRate)) }

func (s LoadSenderSettings) maxSeconds() string {
	secs := int(s.MaxDuration / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs)
}

func (s LoadSenderSettings) defaultSeconds() string {
	secs := int(s.MaxDuration / time.Second)
	return strconv.Itoa(max(1, min(10, secs)))
}

func (s LoadSenderSettings) maxConcurrency() string { return strconv.Itoa(max(1, s.MaxConcurrency)) }

func (s LoadSenderSettings) defaultConcurrency() string {
	return strconv.Itoa(max(1, min(4, s.MaxConcurrency)))
}

func maxTextRunes() string { return strconv.Itoa(barrage.MaxTextRunes) }

// staticURL adds the version so a new release's scripts are not served from cache.
func staticURL(version, name string) string {
	return "/static/" + name + "?v=" + version
}

func rfc3339(b barrage.Barrage) string { return b.AcceptedAt.UTC().Format(time.RFC3339Nano) }

// lang is l, or English when l is unset.
func lang(l i18n.Lang) i18n.Lang {
	if _, ok := i18n.Valid(string(l)); ok {
		return l
	}
	return i18n.English
}

// t is the catalogue's string key in l.
func t(l i18n.Lang, key string, args ...any) string { return i18n.T(lang(l), key, args...) }
