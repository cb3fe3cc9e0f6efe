package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/barrage-live/barrage/internal/i18n"
)

func write(t *testing.T, lang i18n.Lang, d Details) (*httptest.ResponseRecorder, Details) {
	t.Helper()
	rec := httptest.NewRecorder()
	var w http.ResponseWriter = rec
	if lang != "" {
		w = WithLang(rec, lang)
	}
	Write(w, d)
	var got Details
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return rec, got
}

func TestWriteSaysItInTheReadersLanguage(t *testing.T) {
	tests := []struct {
		name          string
		lang          i18n.Lang
		d             Details
		title, detail string
	}{
		{"keyed, no language", "", New(http.StatusTooManyRequests, "tooManyBarrages"),
			"Too many barrages", "you are sending faster than this room allows; wait a moment"},
		{"keyed, Chinese", i18n.Chinese, New(http.StatusTooManyRequests, "tooManyBarrages"),
			"弹幕发得太多了", "你发弹幕的速度超过了这个房间的限制，稍等一下"},
		{"with arguments", i18n.Chinese, New(http.StatusRequestEntityTooLarge, "bodyTooLarge", 4096),
			"请求内容太大", "请求内容超过了 4096 字节"},
		// The operator routes name no key: their English title finds it.
		{"by title, Chinese", i18n.Chinese, Details{Status: 401, Title: "Wrong operator token", Detail: "the operator token was not accepted"},
			"管理员令牌错误", "管理员令牌不对"},
		{"by title, English keeps the code's words", i18n.English, Details{Status: 409, Title: "A load run is already going in this room", Detail: "run 7 is still going"},
			"A load run is already going in this room", "run 7 is still going"},
		{"unknown title stays", i18n.Chinese, Details{Status: 418, Title: "Teapot", Detail: "short and stout"},
			"Teapot", "short and stout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, got := write(t, tt.lang, tt.d)
			if got.Title != tt.title || got.Detail != tt.detail {
				t.Errorf("got %q / %q, want %q / %q", got.Title, got.Detail, tt.title, tt.detail)
			}
			if rec.Code != tt.d.Status || rec.Header().Get("Content-Type") != ContentType {
				t.Errorf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestFieldErrorsInChinese(t *testing.T) {
	d := Invalid(http.StatusBadRequest, "invalidOverlay",
		FieldError{Field: "lanes", Key: "wholeNumber", Args: []any{1, 40}},
		FieldError{Field: "bogus", Key: "unknown"})
	if d.Detail != "lanes must be a whole number from 1 to 40; bogus is not a setting of the overlay; it takes lanes, size, speed, opacity, area and modes" {
		t.Errorf("en detail %q", d.Detail)
	}
	_, got := write(t, i18n.Chinese, d)
	if got.Errors[0].Reason != "要填 1 到 40 之间的整数" || got.Errors[1].Field != "bogus" {
		t.Errorf("zh errors %+v", got.Errors)
	}
	if got.Detail != "弹幕行数（lanes）要填 1 到 40 之间的整数；bogus不是叠加层的参数；可用的参数有 lanes、size、speed、opacity、area 和 modes" {
		t.Errorf("zh detail %q", got.Detail)
	}
	// A load sender's field error has no key: in Chinese it is said to be out of bounds.
	_, got = write(t, i18n.Chinese, Details{Status: 422, Title: "Invalid load run", Errors: []FieldError{{Field: "concurrency", Reason: "must be from 1 to 8"}}})
	if got.Errors[0].Reason != "超出了允许的范围" || got.Title != "压测设置无效" {
		t.Errorf("zh unkeyed %+v", got)
	}
}

// The language rides on the writer through wrappers that unwrap, and flushing still works.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestLanguageThroughWrappers(t *testing.T) {
	rec := httptest.NewRecorder()
	w := wrapper{WithLang(rec, i18n.Chinese)}
	Write(w, New(http.StatusForbidden, "crossOrigin"))
	if rec.Header().Get("Content-Language") != "zh-CN" {
		t.Errorf("Content-Language %q", rec.Header().Get("Content-Language"))
	}
	if err := http.NewResponseController(WithLang(rec, i18n.English)).Flush(); err != nil {
		t.Errorf("flush: %v", err)
	}
}
