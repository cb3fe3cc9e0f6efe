package sqlite

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"

	"github.com/barrage-live/barrage/internal/store"
)

// Primary result codes that mean another connection holds the lock: a retry may succeed.
const (
	codeBusy   = 5 // SQLITE_BUSY
	codeLocked = 6 // SQLITE_LOCKED
)

// wrap names the operation and marks lock contention as store.ErrUnavailable.
func wrap(op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		if c := se.Code() & 0xff; c == codeBusy || c == codeLocked {
			return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
