package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	Connected   int       `json:"connected"`
	Failed      int       `json:"failed"`
	Deliveries  int64     `json:"deliveries"`  // barrages received over all streams
	LastReceipt int64     `json:"lastReceipt"` // when the last of them arrived, Unix nanoseconds
	Receipts    []Receipt `json:"receipts"`    // every barrage the sampled streams got, and when
	CPUSeconds  float64   `json:"cpuSeconds"`
}

// viewerTally is what all of a viewer process's streams add up to.
type viewerTally struct {
	deliveries  atomic.Int64
	lastReceipt atomic.Int64
	failed      atomic.Int64
	mu          sync.Mutex
	receipts    []Receipt
}

// Receipt is one barrage's arrival on a sampled stream.
type Receipt struct {
	ID         string    `json:"id"`
	AcceptedAt time.Time `json:"acceptedAt"`
	At         int64     `json:"at"` // Unix nanoseconds
}

// runViewers is the hidden "bench-viewers" command: it opens n streams to url from a
// process of its own, so the server's memory and CPU are measured without them. It prints
// "ready" once all are open, answers each "count" line on its standard input with the
// deliveries so far, and prints a ClientReport when its standard input closes.
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
		ReadBufferSize:      16 << 10, // a batch of barrages in one read
		WriteBufferSize:     1024,
	}
	client := &http.Client{Transport: tr}
	var (
		tally  viewerTally
		wg     sync.WaitGroup
		opened sync.WaitGroup
	)
	start := func(i int) {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			tally.failed.Add(1)
			opened.Done()
			return
		}
		opened.Done()
		defer resp.Body.Close()
		tally.read(resp.Body, *every > 0 && i%*every == 0)
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
	in := bufio.NewScanner(os.Stdin) // the bench asks for counts, then closes stdin to end the run
	for in.Scan() {
		fmt.Fprintln(stdout, tally.deliveries.Load())
	}
	cpu := cpuSeconds() - cpu0
	cancel()
	wg.Wait()
	tally.mu.Lock()
	defer tally.mu.Unlock()
	failed := int(tally.failed.Load())
	rep := ClientReport{Connected: *n - failed, Failed: failed, Deliveries: tally.deliveries.Load(),
		LastReceipt: tally.lastReceipt.Load(), Receipts: tally.receipts, CPUSeconds: cpu}
	return json.NewEncoder(stdout).Encode(rep)
}

// read counts the barrages of one stream until it ends; a sampled stream also parses
// them, to note when each arrived.
func (t *viewerTally) read(body io.Reader, sample bool) {
	r := bufio.NewReaderSize(body, 16<<10)
	var long []byte // a line longer than the buffer, gathered
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if err != nil {
			return
		}
		if long != nil {
			line, long = append(long, line...), nil
		}
		data, ok := bytes.CutPrefix(line, []byte("data: ["))
		if !ok {
			continue
		}
		now := time.Now()
		// A batch is a JSON array of flat objects, one per barrage, and the bench's texts
		// hold no braces: counting one byte is enough, and cheap next to parsing.
		if !sample {
			t.count(int64(bytes.Count(data, []byte{'{'})), now)
			continue
		}
		var batch []struct {
			ID         string    `json:"id"`
			AcceptedAt time.Time `json:"acceptedAt"`
		}
		if json.Unmarshal(append([]byte("["), data...), &batch) != nil {
			continue
		}
		t.count(int64(len(batch)), now)
		t.mu.Lock()
		for _, b := range batch {
			t.receipts = append(t.receipts, Receipt{ID: b.ID, AcceptedAt: b.AcceptedAt, At: now.UnixNano()})
		}
		t.mu.Unlock()
	}
}

func (t *viewerTally) count(n int64, at time.Time) {
	t.deliveries.Add(n)
	ns := at.UnixNano()
	for {
		last := t.lastReceipt.Load()
		if ns <= last || t.lastReceipt.CompareAndSwap(last, ns) {
			return
		}
	}
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
