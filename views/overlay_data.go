package views

import (
	"strconv"
	"strings"

	"github.com/barrage-live/barrage/internal/i18n"
)

// OverlayData is the overlay page of one room: only the flying barrages, drawn as the
// settings say, for streaming software to put over a video.
type OverlayData struct {
	Room       string
	LastCursor string // where the live stream starts: after what the room already holds
	Settings   OverlaySettings
	Version    string
	Lang       i18n.Lang
}

// OverlaySettings are the overlay's query parameters, already checked and bounded.
type OverlaySettings struct {
	Lanes    int      // rows at most; fewer when the screen share holds fewer
	FontSize int      // px
	Speed    float64  // 1 is the page's default pace
	Opacity  float64  // 0..1
	Area     float64  // share of the screen's height used, 0..1
	Modes    []string // the modes drawn, of scroll, top and bottom
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (s OverlaySettings) lanes() string { return strconv.Itoa(s.Lanes) }
func (s OverlaySettings) size() string  { return strconv.Itoa(s.FontSize) }
func (s OverlaySettings) modes() string { return strings.Join(s.Modes, ",") }
