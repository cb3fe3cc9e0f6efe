package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// reduceMotion makes the tab report prefers-reduced-motion: reduce.
func reduceMotion() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
}

func listedWith(text string) string {
	return `[...document.querySelectorAll('[data-testid=live-item]')].find(e => e.textContent === ` + quote(text) + `)`
}

func TestReducedMotionListsBarragesAndBlockWordsHideThem(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-controls"
	browser := newBrowser(t)
	within(t, browser, 10*time.Second, reduceMotion())
	openRoom(t, browser, base+"/rooms/"+room)
	if !eval[bool](t, browser, `document.querySelector('[data-testid=stage]').hidden && !document.querySelector('[data-testid=live-list]').hidden`) {
		t.Fatal("with reduced motion the page still shows the flying stage instead of the list")
	}

	// Block a word; it is kept in this browser across a reload.
	within(t, browser, 10*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=block-word]`), "Spoiler"+kb.Enter),
		chromedp.Navigate(base+"/rooms/"+room),
		waitFor(`document.querySelector('[data-testid=connection]').dataset.state === 'live'`),
	))
	if got := eval[string](t, browser, `document.querySelector('[data-testid=block-list]').textContent`); got != "spoiler×" {
		t.Fatalf("block list after reload = %q, want the saved word", got)
	}

	send(t, base, room, "the SPOILER is here")
	fine := "nothing to hide here"
	send(t, base, room, fine)
	within(t, browser, 15*time.Second, waitFor(listedWith(fine)))
	if eval[bool](t, browser, `!!`+listedWith("the SPOILER is here")) {
		t.Error("a barrage with a blocked word is listed")
	}

	// Own barrages are marked in the list too; Clear empties it.
	mine := "my own listed barrage"
	within(t, browser, 15*time.Second, chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=send-text]`), mine+kb.Enter),
		waitFor(listedWith(mine)+`?.classList.contains('own')`),
		chromedp.Click(chromedp.CSS(`[data-testid=ctl-clear]`)),
		waitFor(`document.querySelectorAll('[data-testid=live-item]').length === 0`),
	))
}

func TestPauseHoldsBarragesInPlace(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-pause"
	browser := newBrowser(t)
	openRoom(t, browser, base+"/rooms/"+room)
	text := "hold still"
	send(t, base, room, text)
	within(t, browser, 15*time.Second, waitFor(shownWith(text)))
	at := func() float64 { return eval[float64](t, browser, shownWith(text)+`.getAnimations()[0].currentTime`) }
	twoFrames := func() {
		within(t, browser, 5*time.Second, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise))
	}
	before := at()
	twoFrames()
	if moved := at(); moved <= before {
		t.Fatalf("the barrage does not move before pausing: %v then %v", before, moved)
	}
	within(t, browser, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=ctl-pause]`)))
	first := at()
	twoFrames()
	if second := at(); first != second {
		t.Errorf("paused barrage moved from %v to %v", first, second)
	}
	within(t, browser, 5*time.Second, chromedp.Steps(
		chromedp.Click(chromedp.CSS(`[data-testid=ctl-hide]`)),
		waitFor(`document.querySelector('[data-testid=danmaku-layer]').hidden && document.querySelectorAll('[data-testid=danmaku]').length === 0`),
	))
}

// TestDomViewStartsOnTheSharedClockAfterALongTask: a barrage's animation runs on the clock the
// lanes plan with, even when the main thread is busy between placing it and the next frame; a
// late start would let the next barrage in its row catch up with it.
func TestDomViewStartsOnTheSharedClockAfterALongTask(t *testing.T) {
	base := startProgram(t, nil)
	browser := newBrowser(t)
	openRoom(t, browser, base+"/rooms/e2e-long-task")
	const check = `(async () => {
		const src = document.querySelector('script[type=module]').src;
		const { DomView } = await import(new URL('view_dom.js', src));
		const { Clock } = await import(new URL('clock.js', src));
		const layer = document.createElement('div');
		document.body.append(layer);
		const clock = new Clock();
		const view = new DomView(layer, clock);
		const start = clock.now();
		view.add({ b: { id: 'long-task', text: 'long task', mode: 'scroll', color: '#fff' }, own: false,
			mode: 'scroll', duration: 10000, from: 1000, to: -100, start, y: 0, font: '24px sans-serif' });
		view.flush();
		for (const busy = performance.now(); performance.now() - busy < 300;) {}
		await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
		const anim = layer.firstChild.getAnimations()[0];
		const lag = (document.timeline.currentTime - clock.timeline(start)) - anim.currentTime;
		layer.remove();
		return lag;
	})()`
	lag := within(t, browser, 10*time.Second, chromedp.Evaluate[float64](check, chromedp.EvalAwaitPromise))
	if lag < -1 || lag > 1 {
		t.Fatalf("after a 300 ms task the animation is %.1f ms behind the shared clock, want none", lag)
	}
}
