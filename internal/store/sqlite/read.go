package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

const columns = `seq, id, room, text, color, mode, accepted_at, traceparent, sender`

// After returns up to limit records of room after the cursor. A reader's snapshot holds a
// prefix of the commit order, which is seq order, so no row can appear later below it.
func (s *Store) After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+columns+` FROM barrages WHERE room = ? AND seq > ? AND deleted = 0 ORDER BY seq LIMIT ?`,
		room, seqBefore(after), limit)
	if err != nil {
		return nil, wrap("after "+room, err)
	}
	recs, err := scanRecords(rows, limit)
	if err != nil {
		return nil, wrap("after "+room, err)
	}
	return recs, nil
}

// Latest returns the last n records of room, oldest first.
func (s *Store) Latest(ctx context.Context, room string, n int) ([]store.Record, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+columns+` FROM barrages WHERE room = ? AND deleted = 0 ORDER BY seq DESC LIMIT ?`, room, n)
	if err != nil {
		return nil, wrap("latest "+room, err)
	}
	recs, err := scanRecords(rows, n)
	if err != nil {
		return nil, wrap("latest "+room, err)
	}
	slices.Reverse(recs)
	return recs, nil
}

func scanRecords(rows *sql.Rows, capacity int) ([]store.Record, error) {
	defer func() { _ = rows.Close() }()
	recs := make([]store.Record, 0, min(capacity, 256))
	for rows.Next() {
		var (
			r          store.Record
			seq, nanos int64
			mode       string
		)
		if err := rows.Scan(&seq, &r.ID, &r.Room, &r.Text, &r.Color, &mode, &nanos, &r.TraceParent, &r.Sender); err != nil {
			return nil, err
		}
		r.Mode = barrage.Mode(mode)
		r.AcceptedAt = time.Unix(0, nanos).UTC()
		r.Cursor = cursorOf(seq)
		recs = append(recs, r)
	}
	return recs, rows.Err()
}
