package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ClientReport is what a viewer process tells the bench when it is done.
type ClientReport struct {
	Connected  int       `json:"connected"`
	Failed     int       `json:"failed"`
	Deliveries int64     `json:"deliveries"` // barrages received over all streams
	LagsMillis []float64 `json:"lagsMillis"` // acceptance → receipt, from the sampled streams
	CPUSeconds float64   `json:"cpuSeconds"`
}

// runViewers is the hidden "bench-viewers" command: it opens n streams to url from a
// process of its own, so the server's memory and CPU are measured without them. It prints
// "ready" once all are open and a ClientReport when its standard input closes.
func runViewers(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-viewers", flag.ContinueOnError)
	url := fs.String("url", "", "stream URL")
	n := fs.Int("n", 1000, "streams to open")
	every := fs.Int("sample", 100, "parse every n-th stream's barrages to measure lag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{
		MaxConnsPerHost:     0,
		MaxIdleConnsPerHost: *n,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ReadBufferSize:      4096,
		WriteBufferSize:     1024,
	}
	client := &http.Client{Transport: tr}
	var (
		deliveries atomic.Int64
		failed     atomic.Int64
		mu         sync.Mutex
		lags       []float64
		wg         sync.WaitGroup
		opened     sync.WaitGroup
	)
	start := func(i int) {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			failed.Add(1)
			opened.Done()
			return
		}
		opened.Done()
		defer resp.Body.Close()
		sample := *every > 0 && i%*every == 0
		r := bufio.NewReaderSize(resp.Body, 4096)
		for {
			line, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				return
			}
			data, ok := bytes.CutPrefix(line, []byte("data: ["))
			if !ok {
				continue
			}
			// A batch is a JSON array of barrages; each carries one "cursor".
			if !sample {
				deliveries.Add(int64(bytes.Count(data, []byte(`"cursor":`))))
				continue
			}
			now := time.Now()
			var batch []struct {
				AcceptedAt time.Time `json:"acceptedAt"`
			}
			if json.Unmarshal(append([]byte("["), data...), &batch) != nil {
				continue
			}
			deliveries.Add(int64(len(batch)))
			mu.Lock()
			for _, b := range batch {
				lags = append(lags, float64(now.Sub(b.AcceptedAt).Microseconds())/1000)
			}
			mu.Unlock()
		}
	}
	for i := range *n {
		wg.Add(1)
		opened.Add(1)
		go start(i)
		if i%200 == 199 {
			time.Sleep(10 * time.Millisecond) // pace the dials so the accept queue keeps up
		}
	}
	opened.Wait()
	fmt.Fprintln(stdout, "ready")
	cpu0 := cpuSeconds()
	_, _ = io.Copy(io.Discard, os.Stdin) // the bench closes stdin to end the run
	cpu := cpuSeconds() - cpu0
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	rep := ClientReport{Connected: *n - int(failed.Load()), Failed: int(failed.Load()), Deliveries: deliveries.Load(), LagsMillis: lags, CPUSeconds: cpu}
	return json.NewEncoder(stdout).Encode(rep)
}

// percentile returns the p-th percentile (0..100) of xs, sorting them.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	i := int(float64(len(xs)-1) * p / 100)
	return xs[i]
}
