package ots

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/barrage-live/barrage/internal/store"
)

var _ store.Moderator = (*Store)(nil)

// tombstoneAttempt is the claim attempt of a deleted id: above every real attempt, so
// the latest claim of the id is the tombstone, and a redelivery settles on it.
const tombstoneAttempt = math.MaxInt64

// Find returns barrage id of room unless it is deleted.
func (s *Store) Find(ctx context.Context, room, id string) (store.Record, bool, error) {
	c, found, err := s.latestClaim(ctx, id)
	if err != nil {
		return store.Record{}, false, s.wrap("find "+id, err)
	}
	if !found || c.deleted || c.room != room {
		return store.Record{}, false, nil
	}
	exists, b, _, err := s.readFeed(ctx, room, c.seq, id)
	if err != nil || !exists {
		return store.Record{}, false, wrapNil(s, "find "+id, err)
	}
	return store.Record{Barrage: b, Cursor: cursorOf(c.seq, id)}, true, nil
}

// Delete writes the id's tombstone claim, then drops its feed row and logs act, in one
// batch. The tombstone is what keeps a redelivery from storing the barrage again.
func (s *Store) Delete(ctx context.Context, room, id string, act store.Action) (bool, error) {
	c, found, err := s.latestClaim(ctx, id)
	if err != nil {
		return false, s.wrap("delete "+id, err)
	}
	if !found || c.deleted || c.room != room {
		return false, nil
	}
	tomb := &tablestore.PutRowChange{TableName: s.cfg.Table, PrimaryKey: new(tablestore.PrimaryKey)}
	tomb.PrimaryKey.AddPrimaryKeyColumn(pkRoom, claimPrefix+id)
	tomb.PrimaryKey.AddPrimaryKeyColumn(pkSeq, int64(tombstoneAttempt))
	tomb.PrimaryKey.AddPrimaryKeyColumn(pkID, id)
	tomb.AddColumn(colClaimSeq, c.seq)
	tomb.AddColumn(colClaimRoom, room)
	tomb.AddColumn(colDeleted, true)
	tomb.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	del := &tablestore.DeleteRowChange{TableName: s.cfg.Table, PrimaryKey: new(tablestore.PrimaryKey)}
	del.PrimaryKey.AddPrimaryKeyColumn(pkRoom, room)
	del.PrimaryKey.AddPrimaryKeyColumn(pkSeq, c.seq)
	del.PrimaryKey.AddPrimaryKeyColumn(pkID, id)
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	logRow, err := s.logRow(act)
	if err != nil {
		return false, err
	}
	results, err := s.batchChange(ctx, []tablestore.RowChange{tomb, del, logRow})
	if err != nil {
		return false, s.wrap("delete "+id, err)
	}
	for i, r := range results {
		switch {
		case r.IsSucceed:
		case i == 0 && r.Error.Code == codeConditionFail:
			return false, nil // deleted by another operator first
		default:
			return false, rowError(id, r.Error)
		}
	}
	return true, nil
}

// PutMute replaces the mute of m.Sender in m.Room.
func (s *Store) PutMute(ctx context.Context, m store.Mute, act store.Action) error {
	return s.putState(ctx, "mute/"+m.Room+"/"+m.Sender, m.Until, m, act)
}

// Unmute removes the mute of sender in room.
func (s *Store) Unmute(ctx context.Context, room, sender string, act store.Action) error {
	return s.dropState(ctx, "mute/"+room+"/"+sender, act)
}

// PutRules replaces the rules of r.Room; zero rules are removed.
func (s *Store) PutRules(ctx context.Context, r store.Rules, act store.Action) error {
	if r.Zero() {
		return s.dropState(ctx, "rules/"+r.Room+"/", act)
	}
	return s.putState(ctx, "rules/"+r.Room+"/", time.Time{}, r, act)
}

func (s *Store) stateKey(key string) *tablestore.PrimaryKey {
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn(pkRoom, stateRoom)
	pk.AddPrimaryKeyColumn(pkSeq, int64(0))
	pk.AddPrimaryKeyColumn(pkID, key)
	return pk
}

func (s *Store) stateRow(key string, until time.Time, value []byte) *tablestore.PutRowChange {
	ch := &tablestore.PutRowChange{TableName: s.cfg.Table, PrimaryKey: s.stateKey(key)}
	ch.AddColumn(colValue, string(value))
	if !until.IsZero() {
		ch.AddColumn(colUntil, until.UnixNano())
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return ch
}

func (s *Store) putState(ctx context.Context, key string, until time.Time, v any, act store.Action) error {
	value, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ots: moderation %s: %w", key, err)
	}
	return s.changeLogged(ctx, key, s.stateRow(key, until, value), act)
}

func (s *Store) dropState(ctx context.Context, key string, act store.Action) error {
	del := &tablestore.DeleteRowChange{TableName: s.cfg.Table, PrimaryKey: s.stateKey(key)}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return s.changeLogged(ctx, key, del, act)
}

// changeLogged writes a state change and its log entry in one batch.
func (s *Store) changeLogged(ctx context.Context, key string, ch tablestore.RowChange, act store.Action) error {
	logRow, err := s.logRow(act)
	if err != nil {
		return err
	}
	results, err := s.batchChange(ctx, []tablestore.RowChange{ch, logRow})
	if err != nil {
		return s.wrap("moderation "+key, err)
	}
	for _, r := range results {
		if !r.IsSucceed {
			return rowError(key, r.Error)
		}
	}
	return nil
}

func (s *Store) logRow(act store.Action) (*tablestore.PutRowChange, error) {
	value, err := json.Marshal(act)
	if err != nil {
		return nil, fmt.Errorf("ots: log %s: %w", act.Kind, err)
	}
	ch := &tablestore.PutRowChange{TableName: s.cfg.Table, PrimaryKey: new(tablestore.PrimaryKey)}
	ch.PrimaryKey.AddPrimaryKeyColumn(pkRoom, logRoom)
	ch.PrimaryKey.AddPrimaryKeyColumn(pkSeq, act.At.UnixNano())
	ch.PrimaryKey.AddPrimaryKeyColumn(pkID, act.ID)
	ch.AddColumn(colValue, string(value))
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return ch, nil
}

// Moderation reads the state rows. The table's TTL would drop a rule nobody changes for
// the retention, so a row past half of it is written again as it is.
func (s *Store) Moderation(ctx context.Context, now time.Time) (store.Moderation, error) {
	var m store.Moderation
	start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumn(pkRoom, stateRoom)
	start.AddPrimaryKeyColumnWithMinValue(pkSeq)
	start.AddPrimaryKeyColumnWithMinValue(pkID)
	end.AddPrimaryKeyColumn(pkRoom, stateRoom)
	end.AddPrimaryKeyColumnWithMaxValue(pkSeq)
	end.AddPrimaryKeyColumnWithMaxValue(pkID)
	var stale []*tablestore.PutRowChange
	err := s.scanRows(ctx, start, end, func(row *tablestore.Row) error {
		var value string
		var until, written int64
		for _, c := range row.Columns {
			written = max(written, c.Timestamp)
			switch c.ColumnName {
			case colValue:
				value, _ = c.Value.(string)
			case colUntil:
				until, _ = c.Value.(int64)
			}
		}
		key, _ := row.PrimaryKey.PrimaryKeys[2].Value.(string)
		if until != 0 {
			if until <= now.UnixNano() {
				return nil
			}
			var mu store.Mute
			if err := json.Unmarshal([]byte(value), &mu); err != nil {
				return fmt.Errorf("a mute: %w", err)
			}
			m.Mutes = append(m.Mutes, mu)
		} else {
			var r store.Rules
			if err := json.Unmarshal([]byte(value), &r); err != nil {
				return fmt.Errorf("rules: %w", err)
			}
			m.Rules = append(m.Rules, r)
		}
		if now.Sub(time.UnixMilli(written)) > s.retention/2 {
			var u time.Time
			if until != 0 {
				u = time.Unix(0, until)
			}
			stale = append(stale, s.stateRow(key, u, []byte(value)))
		}
		return nil
	})
	if err != nil {
		return m, s.wrap("moderation", err)
	}
	for _, ch := range stale {
		if _, err := s.batchWrite(ctx, []*tablestore.PutRowChange{ch}); err != nil {
			s.log.Warn("ots: rewriting a moderation row before its TTL failed", "err", err)
		}
	}
	return m, nil
}

// Actions reads the log from since on, oldest first.
func (s *Store) Actions(ctx context.Context, since time.Time, limit int) ([]store.Action, error) {
	if limit <= 0 {
		return nil, nil
	}
	start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumn(pkRoom, logRoom)
	start.AddPrimaryKeyColumn(pkSeq, since.UnixNano())
	start.AddPrimaryKeyColumnWithMinValue(pkID)
	end.AddPrimaryKeyColumn(pkRoom, logRoom)
	end.AddPrimaryKeyColumnWithMaxValue(pkSeq)
	end.AddPrimaryKeyColumnWithMaxValue(pkID)
	var acts []store.Action
	err := s.scanRows(ctx, start, end, func(row *tablestore.Row) error {
		if len(acts) >= limit {
			return errEnough
		}
		for _, c := range row.Columns {
			if c.ColumnName == colValue {
				var a store.Action
				v, _ := c.Value.(string)
				if err := json.Unmarshal([]byte(v), &a); err != nil {
					return fmt.Errorf("an action: %w", err)
				}
				acts = append(acts, a)
			}
		}
		return nil
	})
	if err != nil && err != errEnough {
		return nil, s.wrap("actions", err)
	}
	return acts, nil
}

var errEnough = fmt.Errorf("enough rows")

// scanRows hands every row of a forward range to fn, page by page.
func (s *Store) scanRows(ctx context.Context, start, end *tablestore.PrimaryKey, fn func(*tablestore.Row) error) error {
	c := s.client(ctx, true)
	for {
		resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName: s.cfg.Table, StartPrimaryKey: start, EndPrimaryKey: end, Direction: tablestore.FORWARD,
			MaxVersion: 1, Limit: maxRangeRows,
		}})
		if err != nil {
			return err
		}
		for _, row := range resp.Rows {
			if err := fn(row); err != nil {
				return err
			}
		}
		if resp.NextStartPrimaryKey == nil {
			return nil
		}
		start = resp.NextStartPrimaryKey
	}
}

func wrapNil(s *Store, op string, err error) error {
	if err == nil {
		return nil
	}
	return s.wrap(op, err)
}
