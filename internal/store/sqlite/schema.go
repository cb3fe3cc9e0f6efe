package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// schemaVersion is kept in PRAGMA user_version; a newer file is refused, not misread.
const schemaVersion = 2

// seq is the cursor. AUTOINCREMENT numbers rows inside the write transaction, which SQLite
// runs one at a time across every process, so seq order is commit order; and it never
// reuses a number, even after the newest rows expire. id is the idempotency key.
const schema = `
CREATE TABLE barrages (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT    NOT NULL UNIQUE,
	room        TEXT    NOT NULL,
	text        TEXT    NOT NULL,
	color       TEXT    NOT NULL,
	mode        TEXT    NOT NULL,
	accepted_at INTEGER NOT NULL, -- Unix nanoseconds
	traceparent TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX barrages_room_seq ON barrages (room, seq);
CREATE INDEX barrages_accepted_at ON barrages (accepted_at);
`

// moderationSchema is version 2: who sent each barrage (a keyed hash), a deleted barrage
// kept as a tombstone so a redelivery of its id is still skipped, the current mutes and
// rules, and the log of every action. docs/store.md has why.
const moderationSchema = `
ALTER TABLE barrages ADD COLUMN sender  TEXT    NOT NULL DEFAULT '';
ALTER TABLE barrages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
CREATE TABLE moderation_state (
	kind  TEXT    NOT NULL, -- mute or rules
	room  TEXT    NOT NULL,
	key   TEXT    NOT NULL, -- the sender hash of a mute; '' for rules
	until INTEGER NOT NULL, -- Unix nanoseconds a mute ends; 0 for rules
	value TEXT    NOT NULL, -- JSON
	PRIMARY KEY (kind, room, key)
);
CREATE TABLE moderation_log (
	seq   INTEGER PRIMARY KEY AUTOINCREMENT,
	at    INTEGER NOT NULL, -- Unix nanoseconds
	value TEXT    NOT NULL  -- JSON of the action
);
CREATE INDEX moderation_log_at ON moderation_log (at);
`

// migrate creates the schema in a write transaction, so processes opening a new file at
// the same moment create it once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin schema", err)
	}
	defer func() { _ = tx.Rollback() }()
	var mode string
	if err := tx.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return wrap("read journal mode", err)
	}
	if mode != "wal" {
		return fmt.Errorf("sqlite: journal mode is %q, not wal: the file system may not support the shared memory WAL needs", mode)
	}
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return wrap("read schema version", err)
	}
	switch {
	case version == schemaVersion:
		return nil
	case version > schemaVersion:
		return fmt.Errorf("sqlite: schema version %d is newer than this program's %d", version, schemaVersion)
	}
	if version < 1 {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return wrap("create schema", err)
		}
	}
	if _, err := tx.ExecContext(ctx, moderationSchema); err != nil {
		return wrap("add the moderation schema", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return wrap("set schema version", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap("commit schema", err)
	}
	return nil
}
