package otstest

import (
	"slices"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
)

// The service's limits that the store relies on.
const (
	MaxBatchRows      = 200     // rows in one BatchWriteRow
	MaxRangeRows      = 5000    // rows in one GetRange answer
	MaxRangeBytes     = 4 << 20 // bytes of rows in one GetRange answer
	minTTLSeconds     = 86400   // a TTL is -1 or at least a day
	defaultMaxVersion = 1
)

func consumed(read, write int32) *otsprotocol.ConsumedCapacity {
	return &otsprotocol.ConsumedCapacity{CapacityUnit: &otsprotocol.CapacityUnit{Read: proto.Int32(read), Write: proto.Int32(write)}}
}

func decode(body []byte, m proto.Message) *svcError {
	if err := proto.Unmarshal(body, m); err != nil {
		return errParam("Failed to parse the request body: %v.", err)
	}
	return nil
}

// nowMillis reads the server's clock; s.mu must be held.
func (s *Server) nowMillis() int64 { return s.now().UnixMilli() }

// tableLocked returns a table; s.mu must be held.
func (s *Server) tableLocked(name string) (*table, *svcError) {
	t, ok := s.tables[name]
	if !ok {
		return nil, errNoTable
	}
	return t, nil
}

func (s *Server) createTable(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.CreateTableRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	meta := req.GetTableMeta()
	if meta.GetTableName() == "" || len(meta.GetPrimaryKey()) == 0 || len(meta.GetPrimaryKey()) > 4 {
		return nil, errParam("A table needs a name and 1 to 4 primary key columns.")
	}
	ttl := req.GetTableOptions().GetTimeToLive()
	if ttl == 0 {
		ttl = -1
	}
	if ttl != -1 && ttl < minTTLSeconds {
		return nil, errParam("TimeToLive must be -1 or at least %d seconds, got %d.", minTTLSeconds, ttl)
	}
	if mv := req.GetTableOptions().GetMaxVersions(); mv < 0 {
		return nil, errParam("MaxVersions must be positive.")
	}
	for _, pk := range meta.GetPrimaryKey() {
		if pk.Option != nil {
			return nil, errParam("Auto-increment primary key columns are not supported by this server.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[meta.GetTableName()]; ok {
		return nil, errTableExists
	}
	s.tables[meta.GetTableName()] = &table{meta: meta, ttl: ttl, created: time.Now().Unix()}
	return &otsprotocol.CreateTableResponse{}, nil
}

func (s *Server) describeTable(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.DescribeTableRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tableLocked(req.GetTableName())
	if e != nil {
		return nil, e
	}
	throughput, options := t.details()
	return &otsprotocol.DescribeTableResponse{
		TableMeta:                 t.meta,
		ReservedThroughputDetails: throughput,
		TableOptions:              options,
		TableStatus:               otsprotocol.TableStatus_ACTIVE.Enum(),
	}, nil
}

func (t *table) details() (*otsprotocol.ReservedThroughputDetails, *otsprotocol.TableOptions) {
	return &otsprotocol.ReservedThroughputDetails{
			CapacityUnit:     &otsprotocol.CapacityUnit{Read: proto.Int32(0), Write: proto.Int32(0)},
			LastIncreaseTime: proto.Int64(t.created),
		}, &otsprotocol.TableOptions{
			TimeToLive:                proto.Int32(t.ttl),
			MaxVersions:               proto.Int32(defaultMaxVersion),
			DeviationCellVersionInSec: proto.Int64(86400),
			AllowUpdate:               proto.Bool(true),
		}
}

// updateTable changes the TTL, the one option the store sets on an existing table.
func (s *Server) updateTable(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.UpdateTableRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tableLocked(req.GetTableName())
	if e != nil {
		return nil, e
	}
	if opts := req.GetTableOptions(); opts != nil && opts.TimeToLive != nil {
		ttl := opts.GetTimeToLive()
		if ttl != -1 && ttl < minTTLSeconds {
			return nil, errParam("TimeToLive must be -1 or at least %d seconds, got %d.", minTTLSeconds, ttl)
		}
		t.ttl = ttl
	}
	throughput, options := t.details()
	return &otsprotocol.UpdateTableResponse{
		ReservedThroughputDetails: throughput,
		TableOptions:              options,
		StreamDetails:             &otsprotocol.StreamDetails{EnableStream: proto.Bool(false)},
	}, nil
}

func (s *Server) listTable() (proto.Message, *svcError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &otsprotocol.ListTableResponse{}
	for name := range s.tables {
		resp.TableNames = append(resp.TableNames, name)
	}
	slices.Sort(resp.TableNames)
	return resp, nil
}

func (s *Server) deleteTable(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.DeleteTableRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.tableLocked(req.GetTableName()); e != nil {
		return nil, e
	}
	delete(s.tables, req.GetTableName())
	return &otsprotocol.DeleteTableResponse{}, nil
}

// rowChange is one decoded write.
type rowChange struct {
	op        otsprotocol.OperationType
	pk        []Value
	cells     []Cell
	existence otsprotocol.RowExistenceExpectation
}

func (s *Server) decodeChange(t *table, op otsprotocol.OperationType, raw []byte, cond *otsprotocol.Condition) (*rowChange, *svcError) {
	if cond == nil {
		return nil, errParam("The condition is missing.")
	}
	if len(cond.GetColumnCondition()) > 0 {
		return nil, errParam("Column conditions are not supported by this server.")
	}
	if op == otsprotocol.OperationType_UPDATE {
		return nil, errParam("UpdateRow is not supported by this server.")
	}
	rows, err := DecodeRows(raw)
	if err != nil {
		return nil, errParam("Invalid plain buffer: %v.", err)
	}
	if len(rows) != 1 {
		return nil, errParam("A row change holds one row, got %d.", len(rows))
	}
	pk, e := t.checkPK(rows[0].PK, false)
	if e != nil {
		return nil, e
	}
	for _, c := range rows[0].Cells {
		if c.Name == "" {
			return nil, errParam("A column name must not be empty.")
		}
	}
	return &rowChange{op: op, pk: pk, cells: rows[0].Cells, existence: cond.GetRowExistence()}, nil
}

// applyLocked checks a change's condition and applies it; s.mu must be held.
func (s *Server) applyLocked(t *table, c *rowChange, now int64) *svcError {
	_, exists := t.get(c.pk, now)
	switch c.existence {
	case otsprotocol.RowExistenceExpectation_EXPECT_EXIST:
		if !exists {
			return errCondition
		}
	case otsprotocol.RowExistenceExpectation_EXPECT_NOT_EXIST:
		if exists {
			return errCondition
		}
	}
	if c.op == otsprotocol.OperationType_DELETE {
		t.remove(c.pk)
		return nil
	}
	t.put(&storedRow{pk: c.pk, cells: slices.Clone(c.cells), written: now})
	return nil
}

func (s *Server) putRow(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.PutRowRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tableLocked(req.GetTableName())
	if e != nil {
		return nil, e
	}
	c, e := s.decodeChange(t, otsprotocol.OperationType_PUT, req.GetRow(), req.GetCondition())
	if e != nil {
		return nil, e
	}
	if e := s.applyLocked(t, c, s.nowMillis()); e != nil {
		return nil, e
	}
	return &otsprotocol.PutRowResponse{Consumed: consumed(0, 1)}, nil
}

func (s *Server) getRow(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.GetRowRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if req.MaxVersions == nil && req.TimeRange == nil {
		return nil, errParam("Neither column time range nor max versions is specified.")
	}
	rows, err := DecodeRows(req.GetPrimaryKey())
	if err != nil || len(rows) != 1 {
		return nil, errParam("Invalid primary key: %v.", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tableLocked(req.GetTableName())
	if e != nil {
		return nil, e
	}
	pk, e := t.checkPK(rows[0].PK, false)
	if e != nil {
		return nil, e
	}
	resp := &otsprotocol.GetRowResponse{Consumed: consumed(1, 0), Row: []byte{}}
	if r, ok := t.get(pk, s.nowMillis()); ok {
		resp.Row = EncodeRows(t.encode(r))
	}
	return resp, nil
}

func (s *Server) batchWriteRow(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.BatchWriteRowRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if req.GetIsAtomic() {
		return nil, errParam("Atomic batch writes are not supported by this server.")
	}
	total := 0
	for _, tb := range req.GetTables() {
		total += len(tb.GetRows())
	}
	if total == 0 {
		return nil, errParam("No row in the request.")
	}
	if total > MaxBatchRows {
		return nil, errParam("Rows count exceeds the upper limit: %d.", MaxBatchRows)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The whole request is checked first: a bad row or a repeated key fails it all.
	changes := make([][]*rowChange, len(req.GetTables()))
	for i, tb := range req.GetTables() {
		t, e := s.tableLocked(tb.GetTableName())
		if e != nil {
			return nil, e
		}
		for _, r := range tb.GetRows() {
			c, e := s.decodeChange(t, r.GetType(), r.GetRowChange(), r.GetCondition())
			if e != nil {
				return nil, e
			}
			for _, prev := range changes[i] {
				if comparePK(prev.pk, c.pk) == 0 {
					return nil, errParam("The input parameter is invalid: the same row appears twice in one batch.")
				}
			}
			changes[i] = append(changes[i], c)
		}
	}
	now := s.nowMillis()
	resp := &otsprotocol.BatchWriteRowResponse{}
	for i, tb := range req.GetTables() {
		t := s.tables[tb.GetTableName()]
		out := &otsprotocol.TableInBatchWriteRowResponse{TableName: proto.String(tb.GetTableName())}
		for _, c := range changes[i] {
			row := &otsprotocol.RowInBatchWriteRowResponse{IsOk: proto.Bool(true), Consumed: consumed(0, 1)}
			if e := s.applyLocked(t, c, now); e != nil {
				row = &otsprotocol.RowInBatchWriteRowResponse{
					IsOk:  proto.Bool(false),
					Error: &otsprotocol.Error{Code: proto.String(e.code), Message: proto.String(e.message)},
				}
			}
			out.Rows = append(out.Rows, row)
		}
		resp.Tables = append(resp.Tables, out)
	}
	return resp, nil
}

func (s *Server) getRange(body []byte) (proto.Message, *svcError) {
	var req otsprotocol.GetRangeRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if req.MaxVersions == nil && req.TimeRange == nil {
		return nil, errParam("Neither column time range nor max versions is specified.")
	}
	if len(req.GetFilter()) > 0 || len(req.GetToken()) > 0 {
		return nil, errParam("Filters and tokens are not supported by this server.")
	}
	limit := int(req.GetLimit())
	if req.Limit != nil && limit <= 0 {
		return nil, errParam("The limit must be positive.")
	}
	if limit == 0 || limit > MaxRangeRows {
		limit = MaxRangeRows
	}
	startRows, err1 := DecodeRows(req.GetInclusiveStartPrimaryKey())
	endRows, err2 := DecodeRows(req.GetExclusiveEndPrimaryKey())
	if err1 != nil || err2 != nil || len(startRows) != 1 || len(endRows) != 1 {
		return nil, errParam("Invalid range bounds.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tableLocked(req.GetTableName())
	if e != nil {
		return nil, e
	}
	start, e := t.checkPK(startRows[0].PK, true)
	if e != nil {
		return nil, e
	}
	end, e := t.checkPK(endRows[0].PK, true)
	if e != nil {
		return nil, e
	}
	forward := req.GetDirection() == otsprotocol.Direction_FORWARD
	if c := comparePK(start, end); forward && c > 0 || !forward && c < 0 {
		return nil, errParam("Begin key must less than end key in FORWARD.")
	}
	now := s.nowMillis()
	var out []Row
	size := 0
	var next []Value
	visit := func(r *storedRow) bool {
		if !t.live(r, now) {
			return true
		}
		if len(out) == limit || size >= MaxRangeBytes {
			next = r.pk
			return false
		}
		row := t.encode(r)
		out = append(out, row)
		size += rowSize(row)
		return true
	}
	i, found := t.find(start)
	if forward {
		for ; i < len(t.rows) && comparePK(t.rows[i].pk, end) < 0; i++ {
			if !visit(t.rows[i]) {
				break
			}
		}
	} else {
		if !found {
			i--
		}
		for ; i >= 0 && comparePK(t.rows[i].pk, end) > 0; i-- {
			if !visit(t.rows[i]) {
				break
			}
		}
	}
	resp := &otsprotocol.GetRangeResponse{Consumed: consumed(int32(len(out)), 0), Rows: []byte{}}
	if len(out) > 0 {
		resp.Rows = EncodeRows(out...)
	}
	if next != nil {
		resp.NextStartPrimaryKey = EncodeRows(t.encodeKey(next))
	}
	return resp, nil
}

func rowSize(r Row) int {
	n := 0
	for _, c := range append(r.PK, r.Cells...) {
		n += len(c.Name) + len(c.Value.Bytes) + 8
	}
	return n
}
