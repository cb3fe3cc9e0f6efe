package ots

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// The table's primary key. Feed rows are (room, seq, id); claim rows, which make writes
// idempotent, are (claimPrefix+id, attempt, id) and so never share a partition with a room.
const (
	pkRoom = "room"
	pkSeq  = "seq"
	pkID   = "id"

	colText        = "text"
	colColor       = "color"
	colMode        = "mode"
	colAcceptedAt  = "accepted_at" // Unix nanoseconds
	colTraceParent = "traceparent"
	colClaimSeq    = "claim_seq"
	colClaimRoom   = "claim_room"
	colSender      = "sender"
	colValue       = "value" // JSON of a moderation row
	colUntil       = "until" // Unix nanoseconds a mute ends
	colDeleted     = "deleted"

	// claimPrefix cannot start a room name (letters, digits, '-' and '_').
	claimPrefix = "~claim/"
	pingRoom    = "~ping" // a key Ping reads; never written
	// Moderation rows: the current mutes and rules as (stateRoom, 0, kind/room/key), and
	// the log as (logRoom, at, action id).
	stateRoom = "~mod/state"
	logRoom   = "~mod/log"
)

var wantPK = []struct {
	name string
	typ  tablestore.PrimaryKeyType
}{{pkRoom, tablestore.PrimaryKeyType_STRING}, {pkSeq, tablestore.PrimaryKeyType_INTEGER}, {pkID, tablestore.PrimaryKeyType_STRING}}

func (s *Store) describe(_ context.Context, c *tablestore.TableStoreClient) (*tablestore.DescribeTableResponse, error) {
	return c.DescribeTable(&tablestore.DescribeTableRequest{TableName: s.cfg.Table})
}

// ensureTable reaches the service once without retries, then creates the table or checks
// its key and TTL.
func (s *Store) ensureTable(ctx context.Context) error {
	d, err := s.describe(ctx, s.client(ctx, false))
	if code, _, _ := otsCode(err); code == "OTSObjectNotExist" {
		return s.createTable(ctx)
	}
	if err != nil {
		return s.openError(err)
	}
	if err := checkPK(s.cfg.Table, d.TableMeta.SchemaEntry); err != nil {
		return err
	}
	ttl := int(s.retention / time.Second)
	if d.TableOption.TimeToAlive != ttl {
		_, err := s.client(ctx, true).UpdateTable(&tablestore.UpdateTableRequest{
			TableName:   s.cfg.Table,
			TableOption: &tablestore.TableOption{TimeToAlive: ttl, MaxVersion: 1},
		})
		if err != nil {
			return s.wrap(fmt.Sprintf("set the TTL of table %q to %v", s.cfg.Table, s.retention), err)
		}
		s.log.Info("ots: table TTL changed to the configured retention", "table", s.cfg.Table,
			"from", time.Duration(d.TableOption.TimeToAlive)*time.Second, "to", s.retention)
	}
	return nil
}

// openError turns the first call's failure into one line naming what to fix.
func (s *Store) openError(err error) error {
	if _, _, ok := otsCode(err); !ok {
		return fmt.Errorf("ots: cannot reach Tablestore at OTS_ENDPOINT %q: %w", s.cfg.Endpoint, err)
	}
	return s.wrap(fmt.Sprintf("open table %q", s.cfg.Table), err)
}

func (s *Store) createTable(ctx context.Context) error {
	meta := &tablestore.TableMeta{TableName: s.cfg.Table}
	for _, k := range wantPK {
		switch k.typ {
		case tablestore.PrimaryKeyType_STRING:
			meta.AddPrimaryKeyColumn(k.name, tablestore.PrimaryKeyType_STRING)
		default:
			meta.AddPrimaryKeyColumn(k.name, tablestore.PrimaryKeyType_INTEGER)
		}
	}
	_, err := s.client(ctx, true).CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: int(s.retention / time.Second), MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if code, _, _ := otsCode(err); code == "OTSObjectAlreadyExist" {
		return s.ensureTable(ctx) // another process created it first
	}
	if err != nil {
		return s.wrap(fmt.Sprintf("create table %q", s.cfg.Table), err)
	}
	s.log.Info("ots: created table", "table", s.cfg.Table, "ttl", s.retention)
	return nil
}

var errSchema = errors.New("ots: table has another primary key")

func checkPK(table string, got []*tablestore.PrimaryKeySchema) error {
	ok := len(got) == len(wantPK)
	var have, want []string
	for i, k := range wantPK {
		want = append(want, fmt.Sprintf("%s %s", k.name, typeName(k.typ)))
		if i < len(got) && (got[i].Name == nil || *got[i].Name != k.name || got[i].Type == nil || *got[i].Type != k.typ || got[i].Option != nil) {
			ok = false
		}
	}
	for _, k := range got {
		name, typ := "?", tablestore.PrimaryKeyType(0)
		if k.Name != nil {
			name = *k.Name
		}
		if k.Type != nil {
			typ = *k.Type
		}
		have = append(have, fmt.Sprintf("%s %s", name, typeName(typ)))
	}
	if ok {
		return nil
	}
	return fmt.Errorf("%w: table %q (TABLE_NAME) has primary key (%s), this version needs (%s); set TABLE_NAME to a new table",
		errSchema, table, strings.Join(have, ", "), strings.Join(want, ", "))
}

func typeName(t tablestore.PrimaryKeyType) string {
	switch t {
	case tablestore.PrimaryKeyType_STRING:
		return "STRING"
	case tablestore.PrimaryKeyType_INTEGER:
		return "INTEGER"
	case tablestore.PrimaryKeyType_BINARY:
		return "BINARY"
	}
	return "UNKNOWN"
}
