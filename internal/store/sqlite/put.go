package sqlite

import (
	"context"
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
		sqls[n] = "INSERT INTO barrages (id, room, text, color, mode, accepted_at, traceparent) VALUES " +
			strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", n-1) + "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
	}
	return sqls
}()

func insertArgs(bs []barrage.Barrage) []any {
	args := make([]any, 0, 7*len(bs))
	for _, b := range bs {
		args = append(args, b.ID, b.Room, b.Text, b.Color, string(b.Mode), b.AcceptedAt.UnixNano(), b.TraceParent)
	}
	return args
}

// Put stores bs with one statement in one transaction, so a batch costs one commit. Ids
// already stored are skipped; the first of a repeated id in bs wins. The transaction
// begins IMMEDIATE: a deferred one could find its WAL snapshot stale at the first write
// and fail without waiting on the busy timeout.
func (s *Store) Put(ctx context.Context, bs []barrage.Barrage) (int, error) {
	if len(bs) == 0 {
		return 0, nil
	}
	if len(bs) > store.MaxBatch {
		return 0, fmt.Errorf("sqlite: put of %d barrages refused: a batch holds at most %d (store.MaxBatch)", len(bs), store.MaxBatch)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap("put: begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, insertSQLs[len(bs)], insertArgs(bs)...)
	if err != nil {
		return 0, wrap(fmt.Sprintf("put %d barrages", len(bs)), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(fmt.Sprintf("put %d barrages", len(bs)), err)
	}
	stored := int(n)
	if err := tx.Commit(); err != nil {
		return 0, wrap(fmt.Sprintf("put: commit %d barrages", len(bs)), err)
	}
	return stored, nil
}
