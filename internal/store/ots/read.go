package ots

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// maxRangeRows is the most rows one GetRange answers; larger reads page.
const maxRangeRows = 5000

// horizon is the first seq readers may not show yet: every row below it was written,
// or will never be written, by now (writeWindow plus the clock allowance).
func (s *Store) horizon() int64 {
	return time.Now().Add(-s.writeWindow - clockAllowance).UnixNano()
}

// After returns up to limit records of room after the cursor and below the horizon.
func (s *Store) After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	seq, id := cursorStart(after)
	h := s.horizon()
	if seq >= h {
		return nil, nil
	}
	start := new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumn(pkRoom, room)
	start.AddPrimaryKeyColumn(pkSeq, seq)
	start.AddPrimaryKeyColumn(pkID, id)
	end := new(tablestore.PrimaryKey)
	end.AddPrimaryKeyColumn(pkRoom, room)
	end.AddPrimaryKeyColumn(pkSeq, h)
	end.AddPrimaryKeyColumnWithMinValue(pkID)
	recs, err := s.scan(ctx, start, end, tablestore.FORWARD, limit)
	if err != nil {
		return nil, s.wrap("after "+room, err)
	}
	return recs, nil
}

// Latest returns the last n records of room below the horizon, oldest first.
func (s *Store) Latest(ctx context.Context, room string, n int) ([]store.Record, error) {
	if n <= 0 {
		return nil, nil
	}
	start := new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumn(pkRoom, room)
	start.AddPrimaryKeyColumn(pkSeq, s.horizon())
	start.AddPrimaryKeyColumnWithMinValue(pkID)
	end := new(tablestore.PrimaryKey)
	end.AddPrimaryKeyColumn(pkRoom, room)
	end.AddPrimaryKeyColumnWithMinValue(pkSeq)
	end.AddPrimaryKeyColumnWithMinValue(pkID)
	recs, err := s.scan(ctx, start, end, tablestore.BACKWARD, n)
	if err != nil {
		return nil, s.wrap("latest "+room, err)
	}
	slices.Reverse(recs)
	return recs, nil
}

// scan reads up to limit rows of a range, following NextStartPrimaryKey across the
// service's 5000-row and 4 MB pages.
func (s *Store) scan(ctx context.Context, start, end *tablestore.PrimaryKey, dir tablestore.Direction, limit int) ([]store.Record, error) {
	c := s.client(ctx, true)
	var recs []store.Record
	for len(recs) < limit {
		resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName: s.cfg.Table, StartPrimaryKey: start, EndPrimaryKey: end, Direction: dir,
			MaxVersion: 1, Limit: int32(min(limit-len(recs), maxRangeRows)),
		}})
		if err != nil {
			return nil, err
		}
		for _, row := range resp.Rows {
			r, err := record(row)
			if err != nil {
				return nil, err
			}
			recs = append(recs, r)
		}
		if resp.NextStartPrimaryKey == nil {
			break
		}
		start = resp.NextStartPrimaryKey
	}
	return recs, nil
}

func record(row *tablestore.Row) (store.Record, error) {
	var r store.Record
	var seq int64
	for _, c := range row.PrimaryKey.PrimaryKeys {
		switch c.ColumnName {
		case pkRoom:
			r.Room, _ = c.Value.(string)
		case pkSeq:
			seq, _ = c.Value.(int64)
		case pkID:
			r.ID, _ = c.Value.(string)
		}
	}
	for _, c := range row.Columns {
		switch c.ColumnName {
		case colText:
			r.Text, _ = c.Value.(string)
		case colColor:
			r.Color, _ = c.Value.(string)
		case colMode:
			m, _ := c.Value.(string)
			r.Mode = barrage.Mode(m)
		case colAcceptedAt:
			n, _ := c.Value.(int64)
			r.AcceptedAt = time.Unix(0, n).UTC()
		case colTraceParent:
			r.TraceParent, _ = c.Value.(string)
		case colSender:
			r.Sender, _ = c.Value.(string)
		}
	}
	if r.ID == "" || r.Room == "" || seq <= 0 {
		return r, fmt.Errorf("row with key (%q, %d, %q) is not a barrage", r.Room, seq, r.ID)
	}
	r.Cursor = cursorOf(seq, r.ID)
	return r, nil
}

// cursorDigits is the width of the seq in a cursor: fixed-width lower-case hex, then the
// id, so cursors compare as strings in the table's key order (seq, then id).
const cursorDigits = 16

func cursorOf(seq int64, id string) store.Cursor {
	h := strconv.FormatUint(uint64(seq), 16)
	return store.Cursor(strings.Repeat("0", cursorDigits-len(h)) + h + id)
}

// cursorStart returns the first key (seq, id) whose cursor is greater than after. Clients
// hand cursors back opaquely, so any string is read by string order rather than refused.
func cursorStart(after store.Cursor) (int64, string) {
	s := string(after)
	k := 0
	for k < len(s) && k < cursorDigits && isHex(s[k]) {
		k++
	}
	prefix := s[:k]
	switch {
	case s == "":
		return 0, ""
	case k == cursorDigits:
		// A full cursor: the next key is the same seq with the next id in byte order.
		return hexValue(prefix), s[k:] + "\x00"
	case k == len(s) || s[k] < '0':
		return hexValue(prefix + strings.Repeat("0", cursorDigits-k)), ""
	case s[k] < 'a':
		return hexValue(prefix + "a" + strings.Repeat("0", cursorDigits-k-1)), ""
	default:
		return sat(hexValue(prefix+strings.Repeat("f", cursorDigits-k)), 1), ""
	}
}

func sat(v, d int64) int64 {
	if v > math.MaxInt64-d {
		return math.MaxInt64
	}
	return v + d
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func hexValue(h string) int64 {
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil || v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
