package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// insertSQLs[n] inserts n rows in one statement; rows are numbered in the order given,
// and a repeated id keeps its first row.
var insertSQLs = func() []string {
	sqls := make([]string, store.MaxBatch+1)
	for n := 1; n <= store.MaxBatch; n++ {
		sqls[n] = "INSERT INTO barrages (id, room, text, color, mode, accepted_at, traceparent, sender) VALUES " +
			strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", n-1) + "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING seq, id"
	}
	return sqls
}()

func insertArgs(bs []barrage.Barrage) []any {
	args := make([]any, 0, 8*len(bs))
	for _, b := range bs {
		args = append(args, b.ID, b.Room, b.Text, b.Color, string(b.Mode), b.AcceptedAt.UnixNano(), b.TraceParent, b.Sender)
	}
	return args
}

// Put stores bs with one statement in one transaction, so a batch costs one commit. Ids
// already stored are skipped; the first of a repeated id in bs wins. The transaction
// begins IMMEDIATE: a deferred one could find its WAL snapshot stale at the first write
// and fail without waiting on the busy timeout.
func (s *Store) Put(ctx context.Context, bs []barrage.Barrage) ([]store.Record, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	if len(bs) > store.MaxBatch {
		return nil, fmt.Errorf("sqlite: put of %d barrages refused: a batch holds at most %d (store.MaxBatch)", len(bs), store.MaxBatch)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap("put: begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, insertSQLs[len(bs)], insertArgs(bs)...)
	if err != nil {
		return nil, wrap(fmt.Sprintf("put %d barrages", len(bs)), err)
	}
	seqs, err := insertedSeqs(rows)
	if err != nil {
		return nil, wrap(fmt.Sprintf("put %d barrages", len(bs)), err)
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(fmt.Sprintf("put: commit %d barrages", len(bs)), err)
	}
	var stored []store.Record
	for _, b := range bs {
		if seq, ok := seqs[b.ID]; ok {
			delete(seqs, b.ID) // a repeated id: its first row is the one stored
			stored = append(stored, store.Record{Barrage: b, Cursor: cursorOf(seq)})
		}
	}
	return stored, nil
}

// insertedSeqs reads the RETURNING rows of an insert: the seq of each id it stored.
func insertedSeqs(rows *sql.Rows) (map[string]int64, error) {
	defer func() { _ = rows.Close() }()
	seqs := map[string]int64{}
	for rows.Next() {
		var (
			seq int64
			id  string
		)
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, err
		}
		seqs[id] = seq
	}
	return seqs, rows.Err()
}
