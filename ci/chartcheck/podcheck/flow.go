package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// waitFor retries fn until it returns nil, a permanent error, or the deadline passes; the
// last error says why.
func waitFor(ctx context.Context, what string, d time.Duration, fn func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return fmt.Errorf("%s: %w", what, p.error)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s: %w", what, d, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func get200(url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// checkProbes waits for each pod's readiness probe as the kubelet would, then asks every
// probe path once more: each must answer 200.
func (c *check) checkProbes(ctx context.Context, pods []pod) error {
	for _, p := range pods {
		if len(p.c.probes) == 0 {
			return fmt.Errorf("%s %s has no probes", p.w.kind, p.w.name)
		}
		for _, pr := range p.c.probes {
			if pr.kind == "readiness" {
				if err := waitFor(ctx, p.c.name+" ready", 90*time.Second, func() error { return get200(p.url(pr.port, pr.path)) }); err != nil {
					return err
				}
			}
		}
		for _, pr := range p.c.probes {
			if err := get200(p.url(pr.port, pr.path)); err != nil {
				return fmt.Errorf("%s %s probe: %w", p.c.name, pr.kind, err)
			}
			c.logf("%s %s probe %s on %d: 200", p.w.name, pr.kind, pr.path, pr.port)
		}
	}
	return nil
}

// checkMetricsApart asks each pod that serves /metrics on a port of its own for it there,
// and on its container ports, which a route reaches, wants it not served (404 or 405).
func (c *check) checkMetricsApart(pods []pod) error {
	for _, p := range pods {
		if p.c.metricsPort == 0 {
			continue
		}
		if err := get200(p.url(p.c.metricsPort, "/metrics")); err != nil {
			return fmt.Errorf("%s metrics: %w", p.c.name, err)
		}
		for _, port := range p.c.ports {
			if port == p.c.metricsPort {
				continue
			}
			resp, err := client.Get(p.url(port, "/metrics"))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
				return fmt.Errorf("%s serves /metrics on its port %d too (%s), where its route reaches", p.c.name, port, resp.Status)
			}
		}
		c.logf("%s /metrics on %d only", p.w.name, p.c.metricsPort)
	}
	return nil
}

// role finds the pod that runs a role (its container's first argument).
func role(pods []pod, name string) (pod, bool) {
	for _, p := range pods {
		if a := p.w.spec.Containers[0].Args; len(a) > 0 && a[0] == name {
			return p, true
		}
	}
	return pod{}, false
}

// checkFlow sends barrages to the HomePage pod and reads them back from its live stream:
// they can only get there through Kafka, the event driver, the processor pod and the
// shared store. Then it kills the processor, sends while it is down, starts it again, and
// wants every barrage exactly once.
func (c *check) checkFlow(ctx context.Context, pods []pod) error {
	home, ok := role(pods, "homepage")
	if !ok {
		return fmt.Errorf("no HomePage pod")
	}
	proc, ok := role(pods, "processor")
	if !ok {
		return fmt.Errorf("no processor pod")
	}
	base := home.url(knativePort, "")
	room := "pods-" + randomHex(4)
	stream, err := openStream(ctx, base+"/api/rooms/"+room+"/stream")
	if err != nil {
		return err
	}
	defer stream.close()

	seen := map[string]int{}
	var sent []string
	send := func(text string) error {
		id, err := post(ctx, base, room, text)
		if err != nil {
			return err
		}
		sent = append(sent, id)
		return nil
	}
	// awaitAll reads the stream until every barrage sent so far has arrived.
	awaitAll := func(what string, d time.Duration) error {
		timeout := time.After(d)
		for {
			missing := 0
			for _, id := range sent {
				if seen[id] == 0 {
					missing++
				}
			}
			if missing == 0 {
				return nil
			}
			select {
			case ids, ok := <-stream.batches:
				if !ok {
					return fmt.Errorf("%s: the live stream ended: %v", what, stream.err)
				}
				for _, id := range ids {
					seen[id]++
				}
			case <-timeout:
				return fmt.Errorf("%s: %d of %d barrages did not arrive within %s", what, missing, len(sent), d)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}

	t0 := time.Now()
	if err := send("through the pods"); err != nil {
		return err
	}
	if err := awaitAll("first barrage", 60*time.Second); err != nil {
		return err
	}
	c.logf("a barrage POSTed to %s arrived on its live stream after %s", home.c.name, time.Since(t0).Round(10*time.Millisecond))
	if err := processed(proc, 1); err != nil {
		return err
	}

	if _, err := c.pm.run(ctx, "kill", proc.c.name); err != nil {
		return err
	}
	if err := waitFor(ctx, "the processor stops", 30*time.Second, func() error {
		state, err := c.pm.run(ctx, "inspect", "-f", "{{.State.Running}}", proc.c.name)
		if err == nil && state != "false" {
			err = fmt.Errorf("running: %s", state)
		}
		return err
	}); err != nil {
		return err
	}
	for i := range 3 {
		if err := send(fmt.Sprintf("while the processor is down %d", i)); err != nil {
			return err
		}
	}
	c.logf("killed %s and sent 3 barrages while it was down", proc.c.name)
	if _, err := c.pm.run(ctx, "start", proc.c.name); err != nil {
		return err
	}
	for _, port := range proc.c.ports {
		if proc.hostPorts[port], err = c.pm.hostPort(ctx, proc.c.name, port); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, "the processor is ready again", 60*time.Second, func() error { return get200(proc.url(knativePort, "/readyz")) }); err != nil {
		return err
	}
	for i := range 3 {
		if err := send(fmt.Sprintf("after the restart %d", i)); err != nil {
			return err
		}
	}
	if err := awaitAll("after the processor restarted", 90*time.Second); err != nil {
		return err
	}
	for _, id := range sent {
		if seen[id] != 1 {
			return fmt.Errorf("barrage %s arrived %d times on the live stream", id, seen[id])
		}
	}
	// The stream shows a barrage from its stored notice; history reads the store, which on
	// Tablestore lets readers see a row only once its settle window has passed.
	err = waitFor(ctx, "the room's history", 30*time.Second, func() error {
		stored, err := history(ctx, base, room)
		if err != nil {
			return err
		}
		for _, id := range sent {
			if stored[id] > 1 {
				return permanent{fmt.Errorf("barrage %s is in the room's history %d times", id, stored[id])}
			}
			if stored[id] == 0 {
				return fmt.Errorf("barrage %s is not in the room's history", id)
			}
		}
		if len(stored) != len(sent) {
			return permanent{fmt.Errorf("the room's history has %d barrages, %d were sent", len(stored), len(sent))}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.logf("all %d barrages arrived exactly once, on the stream and in the history, across the processor's restart", len(sent))
	return nil
}

// post sends a barrage and returns its id; a 429 is waited out as a client would.
func post(ctx context.Context, base, room, text string) (string, error) {
	body, _ := json.Marshal(map[string]string{"text": text})
	var id string
	err := waitFor(ctx, "POST a barrage", 30*time.Second, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/rooms/"+room+"/barrages", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("429 %s", b)
		}
		if resp.StatusCode != http.StatusAccepted {
			return permanent{fmt.Errorf("POST: %s %s", resp.Status, b)}
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
			return permanent{fmt.Errorf("POST answered %s", b)}
		}
		id = out.ID
		return nil
	})
	return id, err
}

// permanent marks an error that waitFor does not retry.
type permanent struct{ error }

// processed reads the processor's own count of barrages it handed to the store: the pod
// itself did the work, not some other path.
func processed(p pod, atLeast float64) error {
	port := knativePort
	if p.c.metricsPort != 0 {
		port = p.c.metricsPort
	}
	resp, err := client.Get(p.url(port, "/metrics"))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var v float64
		if _, err := fmt.Sscanf(sc.Text(), "barrage_processed_total %g", &v); err == nil {
			if v < atLeast {
				return fmt.Errorf("the processor pod counts %g barrages processed, want at least %g", v, atLeast)
			}
			return nil
		}
	}
	return fmt.Errorf("the processor pod's /metrics has no barrage_processed_total")
}

// history counts each barrage id in the room's stored history.
func history(ctx context.Context, base, room string) (map[string]int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rooms/"+room+"/barrages?limit=100", nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("history: %s", resp.Status)
	}
	var page struct {
		Barrages []struct {
			ID string `json:"id"`
		} `json:"barrages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	n := map[string]int{}
	for _, b := range page.Barrages {
		n[b.ID]++
	}
	return n, nil
}

// sseStream reads a live stream's barrage events into batches of ids.
type sseStream struct {
	batches chan []string
	cancel  context.CancelFunc
	err     error
}

func openStream(ctx context.Context, url string) (*sseStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req) // no timeout: the stream stays open
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	s := &sseStream{batches: make(chan []string, 64), cancel: cancel}
	go func() {
		defer close(s.batches)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		event, data := "", ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if event == "barrage" {
					var bs []struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal([]byte(data), &bs); err != nil {
						s.err = err
						return
					}
					ids := make([]string, len(bs))
					for i, b := range bs {
						ids[i] = b.ID
					}
					select {
					case s.batches <- ids:
					case <-ctx.Done():
						return
					}
				}
				event, data = "", ""
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			}
		}
		s.err = sc.Err()
	}()
	return s, nil
}

func (s *sseStream) close() { s.cancel() }
