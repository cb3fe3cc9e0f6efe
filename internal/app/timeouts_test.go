package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
)

const shortRead = 500 * time.Millisecond

// A client that sends its headers and then trickles (here: stops sending) its body is cut
// off at BARRAGE_READ_TIMEOUT, so it cannot hold a connection and a goroutine for ever.
func TestSlowBodyIsCutOff(t *testing.T) {
	a := startDev(t, t.TempDir(), map[string]string{"BARRAGE_READ_TIMEOUT": shortRead.String()})
	conn, err := net.Dial("tcp", a.HomePage)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, err = io.WriteString(conn, "POST /api/rooms/r/barrages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100\r\n\r\n{\"te")
	if err != nil {
		t.Fatal(err)
	}
	// The test's own deadline, far past the read timeout: reaching it means nothing cut us off.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	answer, err := io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection was still open after 20s, read timeout %v", shortRead)
	}
	t.Logf("slow body: connection closed after %v (read timeout %v); answer %q", time.Since(start).Round(time.Millisecond), shortRead, firstLine(answer))
	if len(answer) > 0 && !strings.HasPrefix(string(answer), "HTTP/1.1 408") {
		t.Fatalf("answer to a body cut off: %q", firstLine(answer))
	}
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	a := startDev(t, t.TempDir(), nil)
	req, _ := http.NewRequest(http.MethodGet, "http://"+a.HomePage+"/", nil)
	req.Header.Set("X-Forwarded-For", strings.Repeat("1.2.3.4, ", 8000)) // 72 KB
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("72 KB of headers: %d, want 431", resp.StatusCode)
	}
}

// A live stream is one long request: the read timeout must not end it. It stays open for
// several read timeouts (counted by its stats events, one a second) and still delivers.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	a := startDev(t, t.TempDir(), map[string]string{"BARRAGE_READ_TIMEOUT": shortRead.String()})
	base := "http://" + a.HomePage
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rooms/long/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	opened := time.Now()
	stats := make(chan time.Time, 64)
	barrages := make(chan store.Record, 64)
	ended := make(chan error, 1)
	go func() {
		ended <- livetest.ReadEvents(resp.Body, func(e livetest.Event) {
			switch e.Name {
			case "stats":
				stats <- time.Now()
			case "barrage":
				var recs []store.Record
				_ = json.Unmarshal([]byte(e.Data), &recs)
				for _, r := range recs {
					barrages <- r
				}
			}
		})
	}()
	deadline := time.After(30 * time.Second)
	for waited := time.Duration(0); waited < 4*shortRead; {
		select {
		case at := <-stats:
			waited = at.Sub(opened)
		case err := <-ended:
			t.Fatalf("stream ended after %v (read timeout %v): %v", time.Since(opened), shortRead, err)
		case <-deadline:
			t.Fatal("no stats events on the stream")
		}
	}
	status, out := send(t, base, "long", `{"text":"still live"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, out)
	}
	for {
		select {
		case r := <-barrages:
			if r.ID == out["id"] {
				t.Logf("stream delivered a barrage %v after it opened (read timeout %v)", time.Since(opened).Round(time.Millisecond), shortRead)
				return
			}
		case err := <-ended:
			t.Fatalf("stream ended after %v: %v", time.Since(opened), err)
		case <-deadline:
			t.Fatal("the barrage never arrived on the stream")
		}
	}
}

func firstLine(b []byte) string {
	line, _, _ := bufio.NewReader(strings.NewReader(string(b))).ReadLine()
	return string(line)
}
