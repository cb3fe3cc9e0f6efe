package sqlite

import (
	"context"
	"fmt"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

const insertBarrage = `INSERT INTO barrages (id, room, text, color, mode, accepted_at, traceparent)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// Put stores bs in one transaction, so a batch costs one commit. Ids already stored are
// skipped; the first of a repeated id in bs wins.
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
	stmt, err := tx.PrepareContext(ctx, insertBarrage)
	if err != nil {
		return 0, wrap("put: prepare", err)
	}
	defer func() { _ = stmt.Close() }()
	stored := 0
	for _, b := range bs {
		res, err := stmt.ExecContext(ctx, b.ID, b.Room, b.Text, b.Color, string(b.Mode), b.AcceptedAt.UnixNano(), b.TraceParent)
		if err != nil {
			return 0, wrap("put "+b.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, wrap("put "+b.ID, err)
		}
		stored += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, wrap(fmt.Sprintf("put: commit %d barrages", len(bs)), err)
	}
	return stored, nil
}
