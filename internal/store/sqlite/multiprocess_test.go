package sqlite

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// Environment of a writer child process: the shared directory and the writer's name.
const (
	childDirEnv  = "BARRAGE_SQLITE_TEST_DIR"
	childNameEnv = "BARRAGE_SQLITE_TEST_WRITER"
)

const (
	childBatches   = 60
	childBatchSize = 20
	room           = "shared"
)

// childBatch is writer's batch k: half of it ids every writer puts, half its own.
func childBatch(t testing.TB, writer string, k int) []barrage.Barrage {
	bs := make([]barrage.Barrage, 0, childBatchSize)
	for i := range childBatchSize {
		id := fmt.Sprintf("%s-%03d-%02d", writer, k, i)
		if i%2 == 0 {
			id = fmt.Sprintf("both-%03d-%02d", k, i)
		}
		b, err := barrage.Accept(room, barrage.Draft{Text: "from " + writer}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.ID = id
		bs = append(bs, b)
	}
	return bs
}

// TestSharedFileWriter is the body of each child process of TestTwoProcessesShareOneFile.
func TestSharedFileWriter(t *testing.T) {
	dir, name := os.Getenv(childDirEnv), os.Getenv(childNameEnv)
	if dir == "" {
		t.Skip("runs only as a child process of TestTwoProcessesShareOneFile")
	}
	s, err := Open(t.Context(), dir, store.Options{})
	if err != nil {
		t.Fatalf("writer %s: open: %v", name, err)
	}
	defer s.Close()
	if err := os.WriteFile(filepath.Join(dir, "ready-"+name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "go"), nil)
	stored := 0
	for k := range childBatches {
		n, err := s.Put(t.Context(), childBatch(t, name, k))
		if err != nil {
			t.Fatalf("writer %s batch %d: %v", name, k, err)
		}
		stored += len(n)
	}
	fmt.Printf("stored=%d\n", stored)
}

// waitFile waits for path to exist; a process that exits first fails the wait.
func waitFile(t *testing.T, path string, exits chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 30s", path)
		}
		select {
		case err := <-exits:
			exits <- err // leave it for whoever collects exits
			t.Fatalf("a writer exited before %s appeared: %v", path, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Two OS processes create and write one file at once, with half their ids in common,
// while this process follows the room's cursors: every id arrives exactly once, in
// rising cursor order, and the writers' stored counts add up to the distinct ids.
func TestTwoProcessesShareOneFile(t *testing.T) {
	dir := t.TempDir()
	writers := []string{"alpha", "beta"}
	outs := make([]*bytes.Buffer, len(writers))
	cmds := make([]*exec.Cmd, len(writers))
	for i, name := range writers {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSharedFileWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childNameEnv+"="+name)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start writer %s: %v", name, err)
		}
		cmds[i] = cmd
	}
	done := make(chan error, len(cmds))
	for _, cmd := range cmds {
		go func() { done <- cmd.Wait() }()
	}
	exited := 0
	t.Cleanup(func() {
		// t.Context is done by now, which kills writers still running; their output is
		// complete once Wait returns.
		for ; exited < len(cmds); exited++ {
			<-done
		}
		if t.Failed() {
			for i, out := range outs {
				t.Logf("writer %s said:\n%s", writers[i], out)
			}
		}
	})
	for _, name := range writers {
		waitFile(t, filepath.Join(dir, "ready-"+name), done)
	}
	s := openIn(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{}
	for _, name := range writers {
		for k := range childBatches {
			for _, b := range childBatch(t, name, k) {
				want[b.ID] = true
			}
		}
	}

	var got []store.Record
	var after store.Cursor
	deadline := time.Now().Add(2 * time.Minute)
	for exited < len(cmds) || len(got) < len(want) {
		recs, err := s.After(t.Context(), room, after, 50)
		if err != nil {
			t.Fatalf("reader: %v", err)
		}
		if len(recs) > 0 {
			got = append(got, recs...)
			after = recs[len(recs)-1].Cursor
			continue
		}
		select {
		case err := <-done:
			exited++
			if err != nil {
				t.Fatalf("a writer failed: %v", err) // the cleanup prints what it said
			}
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d rows; writers exited: %d", len(got), len(want), exited)
		}
	}

	seen := map[string]bool{}
	for i, r := range got {
		if !want[r.ID] || seen[r.ID] {
			t.Fatalf("row %d, %s, is unexpected or repeated", i, r.ID)
		}
		seen[r.ID] = true
		if len(r.Cursor) != cursorDigits || i > 0 && r.Cursor <= got[i-1].Cursor {
			t.Fatalf("row %d has cursor %q after %q", i, r.Cursor, got[max(i-1, 0)].Cursor)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("read %d distinct rows, want %d", len(seen), len(want))
	}
	total := 0
	for i, out := range outs {
		n := storedCount(t, out.String())
		t.Logf("writer %s stored %d", writers[i], n)
		total += n
	}
	if total != len(want) {
		t.Fatalf("writers stored %d rows between them, want %d distinct", total, len(want))
	}
}

func openIn(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dir, store.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func storedCount(t *testing.T, out string) int {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "stored="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("writer output %q: %v", sc.Text(), err)
			}
			return n
		}
	}
	t.Fatalf("writer printed no stored count:\n%s", out)
	return 0
}
