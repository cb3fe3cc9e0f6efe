package ots

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

const (
	codeConditionFail = "OTSConditionCheckFail"
	maxResolveRounds  = 8
)

// Put stores bs idempotently in two steps, each one BatchWriteRow. First it claims every
// id with a conditional put of a claim row that records the feed position (seq) chosen
// now; the condition failing means someone claimed the id before. Then it writes the feed
// rows of the ids it claimed, within the write window of their seq. Ids claimed before
// are settled one by one in resolve. Rows of bs are numbered in the order given, and the
// records it stored come back in that order.
func (s *Store) Put(ctx context.Context, bs []barrage.Barrage) ([]store.Record, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	if len(bs) > store.MaxBatch {
		return nil, fmt.Errorf("%w: put of %d barrages refused: a batch holds at most %d (store.MaxBatch)", errOversize, len(bs), store.MaxBatch)
	}
	bs = firstOfEachID(bs)
	for _, b := range bs {
		if err := barrage.ValidRoom(b.Room); err != nil {
			return nil, fmt.Errorf("ots: put %s: %w", b.ID, err)
		}
	}
	base := s.nextSeqs(len(bs))
	claims := make([]*tablestore.PutRowChange, len(bs))
	for i, b := range bs {
		claims[i] = s.claimRow(b, 0, base+int64(i))
	}
	results, err := s.batchWrite(ctx, claims)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("claim %d ids", len(bs)), err)
	}
	var fresh []int
	var claimedBefore []barrage.Barrage
	var firstErr error
	for i, r := range results {
		switch {
		case r.IsSucceed:
			fresh = append(fresh, i)
		case r.Error.Code == codeConditionFail:
			claimedBefore = append(claimedBefore, bs[i])
		case firstErr == nil:
			firstErr = rowError(bs[i].ID, r.Error)
		}
	}
	var stored []store.Record
	if len(fresh) > 0 {
		recs, err := s.writeFeed(ctx, base, bs, fresh)
		stored = recs
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// A failed row stays claimed without its feed row; the retry finishes it in resolve.
	if firstErr != nil {
		return nil, firstErr
	}
	recs, err := s.resolveAll(ctx, claimedBefore)
	if err != nil {
		return nil, err
	}
	return inOrder(bs, append(stored, recs...)), nil
}

// inOrder sorts recs into the order of bs, which they are a subset of.
func inOrder(bs []barrage.Barrage, recs []store.Record) []store.Record {
	if len(recs) < 2 {
		return recs
	}
	at := make(map[string]int, len(bs))
	for i, b := range bs {
		at[b.ID] = i
	}
	slices.SortFunc(recs, func(a, b store.Record) int { return at[a.ID] - at[b.ID] })
	return recs
}

// resolveParallel bounds the ids settled at once: a redelivered batch is all claimed
// before, and settling one id takes two or three round trips.
const resolveParallel = 16

func (s *Store) resolveAll(ctx context.Context, bs []barrage.Barrage) ([]store.Record, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		stored   []store.Record
		firstErr error
	)
	sem := make(chan struct{}, resolveParallel)
	for _, b := range bs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			recs, err := s.resolve(ctx, b)
			mu.Lock()
			defer mu.Unlock()
			stored = append(stored, recs...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return stored, firstErr
}

// writeFeed writes the feed rows of bs[i] for i in idx at seq base+i. The call must end
// within the write window of base: after that readers may have passed base, so a row that
// lands late could be missed. A row that misses the window fails the Put and is moved to
// a new seq when it is retried.
func (s *Store) writeFeed(ctx context.Context, base int64, bs []barrage.Barrage, idx []int) ([]store.Record, error) {
	deadline := time.Unix(0, base).Add(s.writeWindow)
	if time.Until(deadline) < s.writeWindow/2 {
		return nil, fmt.Errorf("ots: put: claiming took too long to write within the window: %w", store.ErrUnavailable)
	}
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	rows := make([]*tablestore.PutRowChange, len(idx))
	for k, i := range idx {
		rows[k] = s.feedRow(bs[i], base+int64(i))
	}
	results, err := s.batchWrite(wctx, rows)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("write %d rows", len(rows)), err)
	}
	var stored []store.Record
	for k, r := range results {
		switch i := idx[k]; {
		case r.IsSucceed:
			stored = append(stored, store.Record{Barrage: bs[i], Cursor: cursorOf(base+int64(i), bs[i].ID)})
		case r.Error.Code == codeConditionFail: // a resolver wrote it for us
		default:
			return stored, rowError(bs[i].ID, r.Error)
		}
	}
	return stored, nil
}

// resolve settles an id that was claimed before: it is stored if its feed row exists;
// if the claim is recent, its writer may still be at work, so the row is written at the
// claimed seq (whoever is first wins); if the claim is older than half the write window,
// the id is claimed again at a new seq, so no row is ever written late at an old seq.
func (s *Store) resolve(ctx context.Context, b barrage.Barrage) ([]store.Record, error) {
	for range maxResolveRounds {
		c, found, err := s.latestClaim(ctx, b.ID)
		if err != nil {
			return nil, s.wrap("read claim of "+b.ID, err)
		}
		if !found { // expired with the TTL: claim afresh
			c = claim{attempt: -1}
		} else if c.deleted {
			return nil, nil // deleted by an operator: stored once, and gone
		} else {
			exists, stored, written, err := s.readFeed(ctx, c.room, c.seq, b.ID)
			if err != nil {
				return nil, s.wrap("read row of "+b.ID, err)
			}
			if exists && written <= time.Unix(0, c.seq).Add(s.writeWindow).UnixMilli() {
				return nil, nil
			}
			if exists {
				// The service wrote the row after its window (a write whose answer was
				// lost): readers may be past it. Move it to a new seq, then drop the old.
				return nil, s.relocate(ctx, stored, c)
			}
			if time.Since(time.Unix(0, c.seq)) < s.writeWindow/2 {
				return s.writeFeed(ctx, c.seq, []barrage.Barrage{b}, []int{0})
			}
		}
		seq := s.nextSeqs(1)
		results, err := s.batchWrite(ctx, []*tablestore.PutRowChange{s.claimRow(b, c.attempt+1, seq)})
		if err != nil {
			return nil, s.wrap("claim "+b.ID+" again", err)
		}
		switch r := results[0]; {
		case r.IsSucceed:
			return s.writeFeed(ctx, seq, []barrage.Barrage{b}, []int{0})
		case r.Error.Code != codeConditionFail:
			return nil, rowError(b.ID, r.Error)
		}
		// Another writer claimed it again first: look once more.
	}
	return nil, fmt.Errorf("ots: put %s: claims kept changing: %w", b.ID, store.ErrUnavailable)
}

// relocate claims b again at a new seq, writes its row there and deletes the row at the
// old claim. A reader not yet past the old seq may show the barrage twice; none misses it.
func (s *Store) relocate(ctx context.Context, b barrage.Barrage, old claim) error {
	seq := s.nextSeqs(1)
	results, err := s.batchWrite(ctx, []*tablestore.PutRowChange{s.claimRow(b, old.attempt+1, seq)})
	if err != nil {
		return s.wrap("claim "+b.ID+" to move it", err)
	}
	if r := results[0]; !r.IsSucceed {
		if r.Error.Code == codeConditionFail { // another writer is moving it
			return fmt.Errorf("ots: put %s: being moved by another writer: %w", b.ID, store.ErrUnavailable)
		}
		return rowError(b.ID, r.Error)
	}
	if _, err := s.writeFeed(ctx, seq, []barrage.Barrage{b}, []int{0}); err != nil {
		return err
	}
	del := &tablestore.DeleteRowChange{TableName: s.cfg.Table, PrimaryKey: new(tablestore.PrimaryKey)}
	del.PrimaryKey.AddPrimaryKeyColumn(pkRoom, old.room)
	del.PrimaryKey.AddPrimaryKeyColumn(pkSeq, old.seq)
	del.PrimaryKey.AddPrimaryKeyColumn(pkID, b.ID)
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	results, err = s.batchChange(ctx, []tablestore.RowChange{del})
	if err != nil {
		return s.wrap("delete the late row of "+b.ID, err)
	}
	if r := results[0]; !r.IsSucceed {
		return rowError(b.ID, r.Error)
	}
	s.log.Warn("ots: moved a row the service wrote after its window", "id", b.ID, "room", b.Room)
	return nil
}

type claim struct {
	attempt, seq int64
	room         string
	deleted      bool // the tombstone an operator's delete leaves
}

func (s *Store) latestClaim(ctx context.Context, id string) (claim, bool, error) {
	start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumn(pkRoom, claimPrefix+id)
	start.AddPrimaryKeyColumnWithMaxValue(pkSeq)
	start.AddPrimaryKeyColumnWithMaxValue(pkID)
	end.AddPrimaryKeyColumn(pkRoom, claimPrefix+id)
	end.AddPrimaryKeyColumnWithMinValue(pkSeq)
	end.AddPrimaryKeyColumnWithMinValue(pkID)
	resp, err := s.client(ctx, true).GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
		TableName: s.cfg.Table, StartPrimaryKey: start, EndPrimaryKey: end,
		Direction: tablestore.BACKWARD, Limit: 1, MaxVersion: 1,
	}})
	if err != nil {
		return claim{}, false, err
	}
	if len(resp.Rows) == 0 {
		return claim{}, false, nil
	}
	row := resp.Rows[0]
	c := claim{attempt: pkInt(row.PrimaryKey, pkSeq)}
	for _, col := range row.Columns {
		switch col.ColumnName {
		case colClaimSeq:
			c.seq, _ = col.Value.(int64)
		case colClaimRoom:
			c.room, _ = col.Value.(string)
		case colDeleted:
			c.deleted = true
		}
	}
	return c, true, nil
}

// readFeed reads the row (room, seq, id): whether it exists, the barrage it holds and
// when the service wrote it (its cells' version, in milliseconds).
func (s *Store) readFeed(ctx context.Context, room string, seq int64, id string) (bool, barrage.Barrage, int64, error) {
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn(pkRoom, room)
	pk.AddPrimaryKeyColumn(pkSeq, seq)
	pk.AddPrimaryKeyColumn(pkID, id)
	resp, err := s.client(ctx, true).GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: s.cfg.Table, PrimaryKey: pk, MaxVersion: 1,
	}})
	if err != nil || len(resp.PrimaryKey.PrimaryKeys) == 0 {
		return false, barrage.Barrage{}, 0, err
	}
	var written int64
	for _, c := range resp.Columns {
		written = max(written, c.Timestamp)
	}
	rec, err := record(&tablestore.Row{PrimaryKey: &resp.PrimaryKey, Columns: resp.Columns})
	if err != nil {
		return false, barrage.Barrage{}, 0, err
	}
	return true, rec.Barrage, written, nil
}

func (s *Store) claimRow(b barrage.Barrage, attempt, seq int64) *tablestore.PutRowChange {
	ch := &tablestore.PutRowChange{TableName: s.cfg.Table, PrimaryKey: new(tablestore.PrimaryKey)}
	ch.PrimaryKey.AddPrimaryKeyColumn(pkRoom, claimPrefix+b.ID)
	ch.PrimaryKey.AddPrimaryKeyColumn(pkSeq, attempt)
	ch.PrimaryKey.AddPrimaryKeyColumn(pkID, b.ID)
	ch.AddColumn(colClaimSeq, seq)
	ch.AddColumn(colClaimRoom, b.Room)
	ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	return ch
}

func (s *Store) feedRow(b barrage.Barrage, seq int64) *tablestore.PutRowChange {
	ch := &tablestore.PutRowChange{TableName: s.cfg.Table, PrimaryKey: new(tablestore.PrimaryKey)}
	ch.PrimaryKey.AddPrimaryKeyColumn(pkRoom, b.Room)
	ch.PrimaryKey.AddPrimaryKeyColumn(pkSeq, seq)
	ch.PrimaryKey.AddPrimaryKeyColumn(pkID, b.ID)
	ch.AddColumn(colText, b.Text)
	ch.AddColumn(colColor, b.Color)
	ch.AddColumn(colMode, string(b.Mode))
	ch.AddColumn(colAcceptedAt, b.AcceptedAt.UnixNano())
	if b.TraceParent != "" {
		ch.AddColumn(colTraceParent, b.TraceParent)
	}
	if b.Sender != "" {
		ch.AddColumn(colSender, b.Sender)
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	return ch
}

// batchWrite sends rows (at most 200) in one BatchWriteRow and returns each row's result
// in the order given.
func (s *Store) batchWrite(ctx context.Context, rows []*tablestore.PutRowChange) ([]tablestore.RowResult, error) {
	changes := make([]tablestore.RowChange, len(rows))
	for i, r := range rows {
		changes[i] = r
	}
	return s.batchChange(ctx, changes)
}

func (s *Store) batchChange(ctx context.Context, rows []tablestore.RowChange) ([]tablestore.RowResult, error) {
	req := new(tablestore.BatchWriteRowRequest)
	for _, r := range rows {
		req.AddRowChange(r)
	}
	resp, err := s.client(ctx, true).BatchWriteRow(req)
	if err != nil {
		return nil, err
	}
	got := resp.TableToRowsResult[s.cfg.Table]
	if len(got) != len(rows) {
		return nil, fmt.Errorf("BatchWriteRow answered %d results for %d rows", len(got), len(rows))
	}
	results := make([]tablestore.RowResult, len(rows))
	for _, r := range got {
		if r.Index < 0 || int(r.Index) >= len(rows) {
			return nil, fmt.Errorf("BatchWriteRow answered row index %d of %d", r.Index, len(rows))
		}
		results[r.Index] = r
	}
	return results, nil
}

// rowError is one row's failure inside a batch, classified like a whole call's.
func rowError(id string, e tablestore.Error) error {
	err := &tablestore.OtsError{Code: e.Code, Message: e.Message}
	if transient(err) {
		return fmt.Errorf("ots: put %s: %w: %w", id, store.ErrUnavailable, err)
	}
	return fmt.Errorf("ots: put %s: %w", id, err)
}

func firstOfEachID(bs []barrage.Barrage) []barrage.Barrage {
	seen := make(map[string]bool, len(bs))
	out := make([]barrage.Barrage, 0, len(bs))
	for _, b := range bs {
		if !seen[b.ID] {
			seen[b.ID] = true
			out = append(out, b)
		}
	}
	return out
}

func pkInt(pk *tablestore.PrimaryKey, name string) int64 {
	for _, c := range pk.PrimaryKeys {
		if c.ColumnName == name {
			v, _ := c.Value.(int64)
			return v
		}
	}
	return 0
}
