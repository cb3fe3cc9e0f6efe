package otstest

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
)

// table is one table's schema and rows, sorted by primary key.
type table struct {
	meta    *otsprotocol.TableMeta
	ttl     int32 // seconds; -1 keeps rows forever
	created int64 // Unix seconds
	rows    []*storedRow
}

type storedRow struct {
	pk      []Value
	cells   []Cell
	written int64 // milliseconds, the version of its cells
}

func compareValue(a, b Value) int {
	rank := func(v Value) int {
		switch v.Kind {
		case KindInfMin:
			return 0
		case KindInfMax:
			return 2
		}
		return 1
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 || rank(a) != 1 {
		return c
	}
	if a.Kind == KindInteger {
		return cmp.Compare(a.Int, b.Int)
	}
	return bytes.Compare(a.Bytes, b.Bytes)
}

func comparePK(a, b []Value) int {
	for i := range min(len(a), len(b)) {
		if c := compareValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// find returns where pk is or would go.
func (t *table) find(pk []Value) (int, bool) {
	return slices.BinarySearchFunc(t.rows, pk, func(r *storedRow, pk []Value) int { return comparePK(r.pk, pk) })
}

// live reports whether a row is still within the table's TTL at nowMillis.
func (t *table) live(r *storedRow, nowMillis int64) bool {
	return t.ttl < 0 || r.written > nowMillis-int64(t.ttl)*1000
}

// get returns the live row at pk.
func (t *table) get(pk []Value, nowMillis int64) (*storedRow, bool) {
	i, ok := t.find(pk)
	if !ok || !t.live(t.rows[i], nowMillis) {
		return nil, false
	}
	return t.rows[i], true
}

// put replaces the row at pk; an expired row counts as absent, as on the service.
func (t *table) put(r *storedRow) {
	i, ok := t.find(r.pk)
	if ok {
		t.rows[i] = r
		return
	}
	t.rows = slices.Insert(t.rows, i, r)
}

func (t *table) remove(pk []Value) {
	if i, ok := t.find(pk); ok {
		t.rows = slices.Delete(t.rows, i, i+1)
	}
}

// checkPK validates a row key against the schema; bounds allows INF_MIN and INF_MAX.
func (t *table) checkPK(pk []Cell, bounds bool) ([]Value, *svcError) {
	schema := t.meta.PrimaryKey
	if len(pk) != len(schema) {
		return nil, errParam("The number of primary key columns must be %d, got %d.", len(schema), len(pk))
	}
	vals := make([]Value, len(pk))
	for i, c := range pk {
		col := schema[i]
		if c.Name != col.GetName() {
			return nil, errParam("Validate PK name fail. Input: %s, Meta: %s.", c.Name, col.GetName())
		}
		k := c.Value.Kind
		if bounds && (k == KindInfMin || k == KindInfMax) {
			vals[i] = c.Value
			continue
		}
		want := map[otsprotocol.PrimaryKeyType]Kind{
			otsprotocol.PrimaryKeyType_INTEGER: KindInteger,
			otsprotocol.PrimaryKeyType_STRING:  KindString,
			otsprotocol.PrimaryKeyType_BINARY:  KindBlob,
		}[col.GetType()]
		if k != want {
			return nil, errParam("Validate PK type fail. Input: %d, Meta: %s.", k, col.GetType())
		}
		if (k == KindString || k == KindBlob) && len(c.Value.Bytes) > 1024 {
			return nil, errParam("The length of primary key column: '%s' exceeds the MaxLength: 1024.", c.Name)
		}
		vals[i] = c.Value
	}
	return vals, nil
}

// encode gives the row back with its key names and the cells' versions.
func (t *table) encode(r *storedRow) Row {
	row := Row{PK: make([]Cell, len(r.pk)), Cells: make([]Cell, len(r.cells))}
	for i, v := range r.pk {
		row.PK[i] = Cell{Name: t.meta.PrimaryKey[i].GetName(), Value: v}
	}
	for i, c := range r.cells {
		c.Timestamp, c.HasTime = r.written, true
		row.Cells[i] = c
	}
	return row
}

func (t *table) encodeKey(pk []Value) Row {
	row := Row{PK: make([]Cell, len(pk))}
	for i, v := range pk {
		row.PK[i] = Cell{Name: t.meta.PrimaryKey[i].GetName(), Value: v}
	}
	return row
}
