package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// sender POSTs one body over a kept-alive HTTP/1.1 connection of its own, as a lean load
// generator does: net/http's client spends two goroutines and their hand-offs on every
// request, CPU that the server under test would otherwise have on this machine.
type sender struct {
	addr    string
	request []byte
	conn    net.Conn
	r       *bufio.Reader
}

func dialSender(ctx context.Context, base, path string, body []byte) (*sender, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	s := &sender{addr: u.Host,
		request: fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			path, u.Host, len(body), body)}
	return s, s.dial(ctx)
}

func (s *sender) dial(ctx context.Context) error {
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	s.conn, s.r = c, bufio.NewReader(c)
	return nil
}

// send makes one request and returns its status, or 0 when the connection failed; the
// next send then dials again.
func (s *sender) send() int {
	if s.conn == nil && s.dial(context.Background()) != nil {
		return 0
	}
	_ = s.conn.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := s.roundTrip()
	if err != nil {
		s.close()
		return 0
	}
	return resp
}

func (s *sender) roundTrip() (int, error) {
	if _, err := s.conn.Write(s.request); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(s.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		s.close()
	}
	return resp.StatusCode, nil
}

func (s *sender) close() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}
