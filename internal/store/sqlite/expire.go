package sqlite

import (
	"context"
	"time"
)

// expireChunk bounds how many rows one delete transaction removes, so a large backlog
// of expired rows never holds the write lock long enough to stall Put.
const expireChunk = 2000

// ExpireNow deletes the rows that are older than the retention at now.
func (s *Store) ExpireNow(ctx context.Context, now time.Time) error {
	_, err := s.expire(ctx, now)
	return err
}

// EnforcedRetention reports the retention rows are deleted after.
func (s *Store) EnforcedRetention(context.Context) (time.Duration, error) {
	return s.retention, nil
}

func (s *Store) expire(ctx context.Context, now time.Time) (int64, error) {
	if err := s.expireModeration(ctx, now); err != nil {
		return 0, err
	}
	cutoff := now.Add(-s.retention).UnixNano()
	var total int64
	for {
		res, err := s.writer.ExecContext(ctx,
			`DELETE FROM barrages WHERE seq IN (SELECT seq FROM barrages WHERE accepted_at < ? LIMIT ?)`,
			cutoff, expireChunk)
		if err != nil {
			return total, wrap("expire", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("expire", err)
		}
		total += n
		if n < expireChunk {
			return total, nil
		}
	}
}

// cleanEvery expires rows once at start and then on every tick until ctx ends. Every
// process sharing the file may run it; deleting what is already gone costs nothing.
func (s *Store) cleanEvery(ctx context.Context) {
	defer s.cleaning.Done()
	t := time.NewTicker(s.cfg.cleanupEvery)
	defer t.Stop()
	for {
		n, err := s.expire(ctx, s.cfg.now())
		if ctx.Err() != nil {
			return // closing: a cut-short delete is not a failure
		}
		if err != nil {
			s.cfg.log.Warn("expiring old barrages failed", "err", err)
		} else if n > 0 {
			s.cfg.log.Debug("expired old barrages", "rows", n)
		}
		if s.cfg.cleaned != nil {
			s.cfg.cleaned(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
