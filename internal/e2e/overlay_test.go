package e2e

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// transparentBackground makes the tab's default background fully transparent, as a
// browser source in OBS does. cdp.RGBA leaves out an alpha of 0 (which then means 1), so
// the colour is sent with its alpha spelled out.
func transparentBackground() chromedp.Action[chromedp.Void] {
	type rgba struct {
		R int64   `json:"r"`
		G int64   `json:"g"`
		B int64   `json:"b"`
		A float64 `json:"a"`
	}
	type params struct {
		Color rgba `json:"color"`
	}
	cmd := cdp.Command[params, cdp.Empty]{Method: emulation.CommandSetDefaultBackgroundColorOverride}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cmd, params{})
		return err
	})
}

// recordDanmaku keeps, in window.__drawn, the id of every barrage the page draws, so a
// test can tell what was shown after the elements have flown off and gone.
const recordDanmaku = `(() => {
  window.__drawn = [];
  new MutationObserver((ms) => {
    for (const m of ms) for (const n of m.addedNodes) if (n.dataset && n.dataset.testid === 'danmaku') window.__drawn.push(n.textContent);
  }).observe(document.querySelector('[data-testid=danmaku-layer]'), { childList: true });
  return true;
})()`

func drawn(text string) string {
	return `window.__drawn.includes(` + quote(text) + `)`
}

func openOverlay(t *testing.T, tab context.Context, u string) {
	t.Helper()
	within(t, tab, 20*time.Second, chromedp.Steps(
		chromedp.Navigate(u),
		waitFor(`document.querySelector('[data-testid=overlay]').dataset.state === 'live'`),
	))
	if !eval[bool](t, tab, recordDanmaku) {
		t.Fatal("could not watch the overlay")
	}
}

func sendStyled(t *testing.T, base, room, text, color, mode string) {
	t.Helper()
	body := `{"text":` + quote(text) + `,"color":"` + color + `","mode":"` + mode + `"}`
	res, err := api.Post(base+"/api/rooms/"+room+"/barrages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("send %q: %s", text, res.Status)
	}
}

// TestOverlayIsTransparentOutsideBarrages: over a transparent default background, as OBS
// draws a browser source, every pixel of the overlay outside the barrages is fully
// transparent, and the barrages themselves are drawn.
func TestOverlayIsTransparentOutsideBarrages(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-overlay"
	browser := newBrowser(t)
	within(t, browser, 10*time.Second, chromedp.Steps(chromedp.EmulateViewport(1280, 720), transparentBackground()))
	openOverlay(t, browser, base+"/rooms/"+room+"/overlay?lanes=8&size=40&area=0.6&opacity=0.9")
	texts := []struct{ text, color, mode string }{
		{"前方高能！", "#ffcc00", "scroll"},
		{"这段太燃了", "#ffffff", "scroll"},
		{"awsl 主播好厉害", "#66ccff", "scroll"},
		{"第一次看直播，打卡", "#ff6699", "scroll"},
		{"欢迎来到直播间", "#ffffff", "top"},
		{"overlay from OBS", "#99ff99", "bottom"},
	}
	for _, b := range texts {
		sendStyled(t, base, room, b.text, b.color, b.mode)
	}
	// Once every barrage is drawn and fully on screen, stop them where they are.
	within(t, browser, 20*time.Second, waitFor(`(() => {
	  const els = [...document.querySelectorAll('[data-testid=danmaku]')];
	  return els.length === 6 && els.every((e) => { const r = e.getBoundingClientRect(); return r.right < innerWidth - 20 && r.left > 0; });
	})()`))
	type rect struct{ Left, Top, Right, Bottom float64 }
	// Each barrage is fixed where its animation has it, as a plain style, so that what the
	// compositor paints and what layout reports are the same; two frames later it is drawn.
	eval[bool](t, browser, `(() => {
	  for (const a of document.getAnimations()) { a.pause(); a.commitStyles(); a.cancel(); }
	  requestAnimationFrame(() => requestAnimationFrame(() => (window.__still = true)));
	  return true;
	})()`)
	within(t, browser, 10*time.Second, waitFor(`window.__still === true`))
	rects := eval[[]rect](t, browser, `[...document.querySelectorAll('[data-testid=danmaku]')].map((e) => {
	  const r = e.getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
	})`)
	shot := within(t, browser, 10*time.Second, chromedp.CaptureScreenshot())
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	const shadow = 3 // px the text shadow and anti-aliasing may reach beyond a box
	inside := func(x, y int) int {
		for i, r := range rects {
			if float64(x) >= math.Floor(r.Left)-shadow && float64(x) <= math.Ceil(r.Right)+shadow &&
				float64(y) >= math.Floor(r.Top)-shadow && float64(y) <= math.Ceil(r.Bottom)+shadow {
				return i
			}
		}
		return -1
	}
	b := img.Bounds()
	var clear, strayed int
	inked := make([]int, len(rects))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			_, _, _, a := img.At(x, y).RGBA()
			i := inside(x, y)
			switch {
			case i < 0 && a == 0:
				clear++
			case i < 0:
				strayed++
			case a > 0:
				inked[i]++
			}
		}
	}
	t.Logf("%dx%d: %d transparent pixels outside the barrages, %d not; ink per barrage %v", b.Dx(), b.Dy(), clear, strayed, inked)
	if strayed > 0 {
		t.Errorf("%d pixels outside the barrages are not transparent", strayed)
	}
	if clear < b.Dx()*b.Dy()/2 {
		t.Errorf("only %d pixels are transparent", clear)
	}
	for i, n := range inked {
		if n < 50 {
			t.Errorf("barrage %d at %+v is hardly drawn: %d pixels", i, rects[i], n)
		}
	}
	if *updateDocs {
		writePNG(t, docsPath(t, "screenshots", "overlay.png"), overTestCard(img))
	}
}

// overTestCard puts the overlay over a test image, as streaming software puts it over
// the video.
func overTestCard(overlay image.Image) image.Image {
	b := overlay.Bounds()
	out := image.NewRGBA(b)
	bars := []color.RGBA{{192, 192, 192, 255}, {192, 192, 0, 255}, {0, 192, 192, 255}, {0, 192, 0, 255},
		{192, 0, 192, 255}, {192, 0, 0, 255}, {0, 0, 192, 255}}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := bars[(x-b.Min.X)*len(bars)/b.Dx()]
			if y > b.Dy()*3/4 { // a darker band below, like the card's lower third
				c = color.RGBA{c.R / 4, c.G / 4, c.B / 4, 255}
			}
			out.SetRGBA(x, y, c)
		}
	}
	draw.Draw(out, b, overlay, b.Min, draw.Over)
	return out
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOverlayReconnectsAndMissesNothing: the server side drops the overlay's stream and
// refuses it for a while; the overlay reconnects by itself from its last cursor and draws
// every barrage sent in between, each once.
func TestOverlayReconnectsAndMissesNothing(t *testing.T) {
	base := startProgram(t, nil)
	u, _ := url.Parse(base)
	proxy := startCutProxy(t, u.Host)
	const room = "e2e-overlay-cut"
	browser := newBrowser(t)
	openOverlay(t, browser, proxy.URL()+"/rooms/"+room+"/overlay?speed=4")

	send(t, base, room, "before the cut")
	within(t, browser, 15*time.Second, waitFor(drawn("before the cut")))

	proxy.cut(true)
	within(t, browser, 15*time.Second, waitFor(`document.querySelector('[data-testid=overlay]').dataset.state === 'reconnecting'`))
	var missed []string
	for i := range 5 {
		text := "while cut " + string(rune('a'+i))
		missed = append(missed, text)
		send(t, base, room, text)
	}
	waitUntil(t, "the barrages sent while cut stored", func() bool { return len(roomHistory(t, base, room)) == 6 })
	if eval[bool](t, browser, drawn(missed[0])) {
		t.Fatal("a barrage reached the overlay through a cut connection")
	}
	proxy.cut(false)

	for _, text := range missed {
		within(t, browser, 30*time.Second, waitFor(drawn(text)))
	}
	send(t, base, room, "after the cut")
	within(t, browser, 15*time.Second, waitFor(drawn("after the cut")))
	got := eval[[]string](t, browser, `window.__drawn`)
	counts := map[string]int{}
	for _, s := range got {
		counts[s]++
	}
	for _, text := range append([]string{"before the cut", "after the cut"}, missed...) {
		if counts[text] != 1 {
			t.Errorf("%q drawn %d times", text, counts[text])
		}
	}
	if len(got) != 7 {
		t.Errorf("drew %d barrages, want 7: %q", len(got), got)
	}
}
