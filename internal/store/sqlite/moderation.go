package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

var _ store.Moderator = (*Store)(nil)

// Find returns barrage id of room unless it is deleted.
func (s *Store) Find(ctx context.Context, room, id string) (store.Record, bool, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+columns+` FROM barrages WHERE id = ? AND room = ? AND deleted = 0`, id, room)
	if err != nil {
		return store.Record{}, false, wrap("find "+id, err)
	}
	recs, err := scanRecords(rows, 1)
	if err != nil || len(recs) == 0 {
		return store.Record{}, false, wrapNil("find "+id, err)
	}
	return recs[0], true, nil
}

// Delete keeps the row as a tombstone, without its text or sender: its id stays taken, so
// a redelivery is skipped, and its seq stays used, so no cursor moves.
func (s *Store) Delete(ctx context.Context, room, id string, act store.Action) (bool, error) {
	found := false
	err := s.logged(ctx, "delete "+id, act, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE barrages SET deleted = 1, text = '', sender = '', traceparent = '' WHERE id = ? AND room = ? AND deleted = 0`, id, room)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		found = n > 0
		if err == nil && !found {
			return errNothing
		}
		return err
	})
	if errors.Is(err, errNothing) {
		return false, nil
	}
	return found, err
}

// errNothing rolls back an action that changed nothing, so it is not logged.
var errNothing = errors.New("nothing to change")

// PutMute replaces the mute of m.Sender in m.Room.
func (s *Store) PutMute(ctx context.Context, m store.Mute, act store.Action) error {
	return s.putState(ctx, "mute", m.Room, m.Sender, m.Until.UnixNano(), m, act)
}

// Unmute removes the mute of sender in room.
func (s *Store) Unmute(ctx context.Context, room, sender string, act store.Action) error {
	return s.logged(ctx, "unmute", act, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM moderation_state WHERE kind = 'mute' AND room = ? AND key = ?`, room, sender)
		return err
	})
}

// PutRules replaces the rules of r.Room; zero rules are removed.
func (s *Store) PutRules(ctx context.Context, r store.Rules, act store.Action) error {
	if r.Zero() {
		return s.logged(ctx, "rules", act, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM moderation_state WHERE kind = 'rules' AND room = ?`, r.Room)
			return err
		})
	}
	return s.putState(ctx, "rules", r.Room, "", 0, r, act)
}

func (s *Store) putState(ctx context.Context, kind, room, key string, until int64, v any, act store.Action) error {
	value, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", kind, err)
	}
	return s.logged(ctx, kind, act, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO moderation_state (kind, room, key, until, value) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, room, key) DO UPDATE SET until = excluded.until, value = excluded.value`, kind, room, key, until, string(value))
		return err
	})
}

// logged runs change and writes act to the log in one transaction.
func (s *Store) logged(ctx context.Context, op string, act store.Action, change func(*sql.Tx) error) error {
	value, err := json.Marshal(act)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op+": begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := change(tx); err != nil {
		if errors.Is(err, errNothing) {
			return err
		}
		return wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_log (at, value) VALUES (?, ?)`, act.At.UnixNano(), string(value)); err != nil {
		return wrap(op+": log", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap(op+": commit", err)
	}
	return nil
}

// Moderation reads every running mute and every room's rules.
func (s *Store) Moderation(ctx context.Context, now time.Time) (store.Moderation, error) {
	var m store.Moderation
	rows, err := s.reader.QueryContext(ctx,
		`SELECT kind, value FROM moderation_state WHERE kind = 'rules' OR until > ? ORDER BY kind, room, key`, now.UnixNano())
	if err != nil {
		return m, wrap("moderation", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var kind, value string
		if err := rows.Scan(&kind, &value); err != nil {
			return m, wrap("moderation", err)
		}
		switch kind {
		case "mute":
			var mu store.Mute
			if err := json.Unmarshal([]byte(value), &mu); err != nil {
				return m, fmt.Errorf("sqlite: moderation: a mute: %w", err)
			}
			m.Mutes = append(m.Mutes, mu)
		case "rules":
			var r store.Rules
			if err := json.Unmarshal([]byte(value), &r); err != nil {
				return m, fmt.Errorf("sqlite: moderation: rules: %w", err)
			}
			m.Rules = append(m.Rules, r)
		}
	}
	return m, wrapNil("moderation", rows.Err())
}

// Actions reads the log from since on, oldest first.
func (s *Store) Actions(ctx context.Context, since time.Time, limit int) ([]store.Action, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx,
		`SELECT value FROM moderation_log WHERE at >= ? ORDER BY at, seq LIMIT ?`, since.UnixNano(), limit)
	if err != nil {
		return nil, wrap("actions", err)
	}
	defer func() { _ = rows.Close() }()
	var acts []store.Action
	for rows.Next() {
		var value string
		if err := rows.Scan(&value); err != nil {
			return nil, wrap("actions", err)
		}
		var a store.Action
		if err := json.Unmarshal([]byte(value), &a); err != nil {
			return nil, fmt.Errorf("sqlite: actions: %w", err)
		}
		acts = append(acts, a)
	}
	return acts, wrapNil("actions", rows.Err())
}

// expireModeration drops mutes that ended and log entries older than the retention.
func (s *Store) expireModeration(ctx context.Context, now time.Time) error {
	_, err := s.writer.ExecContext(ctx, `DELETE FROM moderation_state WHERE kind = 'mute' AND until <= ?`, now.UnixNano())
	if err == nil {
		_, err = s.writer.ExecContext(ctx, `DELETE FROM moderation_log WHERE at < ?`, now.Add(-s.retention).UnixNano())
	}
	return wrapNil("expire moderation", err)
}

func wrapNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(op, err)
}
