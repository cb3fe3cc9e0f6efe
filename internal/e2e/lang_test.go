package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// acceptLanguage makes the tab send this Accept-Language, as a browser set to it does.
func acceptLanguage(v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v}})
		return err
	})
}

type pageLang struct {
	Lang, Send, Conn, Title, Placeholder string
	CJKFont                              bool
}

const readPageLang = `({
  lang: document.documentElement.lang,
  send: document.querySelector('[data-testid=send-button]').textContent,
  conn: document.querySelector('[data-testid=connection]').textContent,
  title: document.title,
  placeholder: document.querySelector('[data-testid=send-text]').placeholder,
  cJKFont: document.fonts.check('16px "Noto Sans CJK SC"', '弹幕'),
})`

// TestPageInChineseAndTheSwitchIsRemembered: under Accept-Language: zh-CN the page is
// rendered in Chinese, scripts' words included; the switch turns it to English, which the
// server renders on every later load despite the header, and back.
func TestPageInChineseAndTheSwitchIsRemembered(t *testing.T) {
	base := startProgram(t, nil)
	const room = "e2e-zh"
	for _, s := range []string{"前方高能", "哈哈哈哈哈", "主播晚上好", "这波操作可以", "打卡 第 3 天"} {
		send(t, base, room, s)
	}
	waitUntil(t, "the history stored", func() bool { return len(roomHistory(t, base, room)) == 5 })
	browser := newBrowser(t)
	within(t, browser, 10*time.Second, acceptLanguage("zh-CN,zh;q=0.9,en;q=0.8"))
	openRoom(t, browser, base+"/rooms/"+room)

	got := eval[pageLang](t, browser, readPageLang)
	want := pageLang{Lang: "zh-CN", Send: "发送", Conn: "已连接", Title: "e2e-zh · 弹幕", Placeholder: "发个弹幕，按回车发送", CJKFont: true}
	if got != want {
		t.Errorf("under zh-CN: %+v, want %+v", got, want)
	}
	if !got.CJKFont {
		t.Log("no CJK font: Chinese is drawn as boxes (install fonts-noto-cjk)")
	}
	if *updateDocs {
		for _, s := range []string{"欢迎新来的朋友", "这首歌好好听", "弹幕护体", "2333333", "前排围观"} {
			send(t, base, room, s)
		}
		// The picture the README shows: the barrages well into the stage.
		within(t, browser, 15*time.Second, waitFor(`(() => {
		  const els = [...document.querySelectorAll('[data-testid=danmaku]')];
		  return els.length >= 4 && els.every((e) => e.getBoundingClientRect().left < innerWidth * 0.6);
		})()`))
		if err := writeFile(docsPath(t, "screenshots", "page-zh.png"), screenshot(t, browser)); err != nil {
			t.Fatal(err)
		}
	}

	// A choice on the switch outranks the header, now and on later loads.
	choose(t, browser, "en")
	afterReload(t, browser, `document.documentElement.lang === 'en' && document.querySelector('[data-testid=connection]').dataset.state === 'live'`)
	openRoom(t, browser, base+"/rooms/"+room)
	got = eval[pageLang](t, browser, readPageLang)
	if got.Lang != "en" || got.Send != "Send" || got.Conn != "live" {
		t.Errorf("after choosing English and reloading: %+v", got)
	}
	choose(t, browser, "zh-CN")
	afterReload(t, browser, `document.documentElement.lang === 'zh-CN'`)
	// The overlay speaks the same language.
	within(t, browser, 20*time.Second, chromedp.Navigate(base+"/rooms/"+room+"/overlay"))
	if l := eval[string](t, browser, `document.documentElement.lang`); l != "zh-CN" {
		t.Errorf("overlay lang %q", l)
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

// choose picks a language on the page's switch, as a reader does.
func choose(t *testing.T, tab context.Context, lang string) {
	t.Helper()
	eval[bool](t, tab, `(() => { const s = document.querySelector('[data-testid=lang-switch]'); s.value = `+quote(lang)+`; s.dispatchEvent(new Event('change')); return true; })()`)
}

// afterReload waits for expr to hold on the page the tab reloads into; while the old page
// goes, evaluating fails, and that only means not yet.
func afterReload(t *testing.T, tab context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, cancel := context.WithTimeout(tab, 2*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error %v)", expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
