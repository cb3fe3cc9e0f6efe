package otstest_test

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

func TestPlainBufferRoundTrip(t *testing.T) {
	row := otstest.Row{
		PK: []otstest.Cell{
			{Name: "room", Value: otstest.Value{Kind: otstest.KindString, Bytes: []byte("lobby")}},
			{Name: "seq", Value: otstest.Value{Kind: otstest.KindInteger, Int: -42}},
		},
		Cells: []otstest.Cell{
			{Name: "text", Value: otstest.Value{Kind: otstest.KindString, Bytes: []byte("弹幕")}, Timestamp: 1700000000000, HasTime: true},
			{Name: "ok", Value: otstest.Value{Kind: otstest.KindBoolean, Bool: true}, Timestamp: 1, HasTime: true},
		},
	}
	buf := otstest.EncodeRows(row, row)
	rows, err := otstest.DecodeRows(buf)
	if err != nil || len(rows) != 2 {
		t.Fatalf("DecodeRows = %d rows, %v", len(rows), err)
	}
	if got := rows[1].Cells[0]; string(got.Value.Bytes) != "弹幕" || got.Timestamp != 1700000000000 || rows[1].PK[1].Value.Int != -42 {
		t.Fatalf("decoded %+v", rows[1])
	}
	// Flip one byte of the text: its cell checksum no longer matches.
	bad := bytes.Clone(buf)
	i := bytes.Index(bad, []byte("弹幕"))
	bad[i] ^= 1
	if _, err := otstest.DecodeRows(bad); err == nil {
		t.Fatal("a corrupted row decoded without error")
	}
}

func TestUnsignedRequestRefused(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	resp, err := http.Post(srv.URL+"/ListTable", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unsigned request answered %d, want 400", resp.StatusCode)
	}
}

// TestGetRangePaging: one answer holds at most 5000 rows and says where to go on, in
// both directions, and the SDK follows it.
func TestGetRangePaging(t *testing.T) {
	const rows = 5000 + 321
	srv := otstest.Start(t, otstest.Options{})
	c := tablestore.NewClient(srv.URL, srv.Instance(), srv.KeyID(), srv.Secret())
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("k", tablestore.PrimaryKeyType_INTEGER)
	if _, err := c.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i += otstest.MaxBatchRows {
		req := new(tablestore.BatchWriteRowRequest)
		for k := i; k < min(i+otstest.MaxBatchRows, rows); k++ {
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: new(tablestore.PrimaryKey)}
			ch.PrimaryKey.AddPrimaryKeyColumn("k", int64(k))
			ch.AddColumn("v", "x")
			ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
			req.AddRowChange(ch)
		}
		resp, err := c.BatchWriteRow(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.TableToRowsResult["t"] {
			if !r.IsSucceed {
				t.Fatalf("row %d: %v", r.Index, r.Error)
			}
		}
	}
	for _, dir := range []tablestore.Direction{tablestore.FORWARD, tablestore.BACKWARD} {
		start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
		start.AddPrimaryKeyColumnWithMinValue("k")
		end.AddPrimaryKeyColumnWithMaxValue("k")
		if dir == tablestore.BACKWARD {
			start, end = end, start
		}
		var got []int64
		for pages := 0; start != nil; pages++ {
			resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
				TableName: "t", StartPrimaryKey: start, EndPrimaryKey: end, Direction: dir, MaxVersion: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if pages == 0 && len(resp.Rows) != otstest.MaxRangeRows {
				t.Fatalf("first page held %d rows, want %d", len(resp.Rows), otstest.MaxRangeRows)
			}
			for _, r := range resp.Rows {
				got = append(got, r.PrimaryKey.PrimaryKeys[0].Value.(int64))
			}
			start = resp.NextStartPrimaryKey
		}
		if len(got) != rows {
			t.Fatalf("%v: read %d rows, want %d", dir, len(got), rows)
		}
		for i := 1; i < len(got); i++ {
			if (dir == tablestore.FORWARD) != (got[i] > got[i-1]) {
				t.Fatalf("%v: row %d (%d) out of order after %d", dir, i, got[i], got[i-1])
			}
		}
	}
}

func TestConditionCheckFail(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	c := tablestore.NewClient(srv.URL, srv.Instance(), srv.KeyID(), srv.Secret())
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("k", tablestore.PrimaryKeyType_STRING)
	if _, err := c.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	put := func() error {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: new(tablestore.PrimaryKey)}
		ch.PrimaryKey.AddPrimaryKeyColumn("k", "a")
		ch.AddColumn("v", int64(1))
		ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
		_, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	var oe *tablestore.OtsError
	if err := put(); !errors.As(err, &oe) || oe.Code != "OTSConditionCheckFail" || oe.HttpStatusCode != http.StatusForbidden {
		t.Fatalf("second conditional put gave %v, want OTSConditionCheckFail (403)", err)
	}
	if n := srv.Requests("PutRow"); n != 2 {
		t.Fatalf("server saw %d PutRow requests, want 2: a failed condition is not retried", n)
	}
}

// TestServeOnAListener: the server answers the SDK on the listener it is given, under the
// access key of its options, and refuses any other key.
func TestServeOnAListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := otstest.Serve(otstest.Options{Instance: "pods", KeyID: "id", Secret: "s"}, ln)
	defer srv.Close()
	if srv.URL != "http://"+ln.Addr().String() {
		t.Fatalf("URL %s, want the listener's %s", srv.URL, ln.Addr())
	}
	if _, err := tablestore.NewClient(srv.URL, "pods", "id", "s").ListTable(); err != nil {
		t.Fatalf("ListTable with the server's key: %v", err)
	}
	if _, err := tablestore.NewClient(srv.URL, "pods", "id", "wrong").ListTable(); err == nil {
		t.Fatal("ListTable with a wrong secret succeeded")
	}
}
