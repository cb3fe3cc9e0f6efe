package store

import (
	"context"
	"time"
)

// Actor is who took a moderation action: the operator token is one identity, so it is the
// keyed hash of the client that presented it, and the name they gave, if any.
type Actor struct {
	Client string `json:"client"`
	Name   string `json:"name,omitempty"`
}

// Action kinds, as written to the moderation log.
const (
	ActDelete = "delete"
	ActMute   = "mute"
	ActUnmute = "unmute"
	ActRules  = "rules"
)

// Action is one entry of the moderation log: what was done in a room, to what, by whom
// and when. Target is a barrage id (delete) or a sender hash (mute, unmute).
type Action struct {
	ID     string    `json:"id"`
	Room   string    `json:"room"`
	Kind   string    `json:"kind"`
	Target string    `json:"target,omitempty"`
	Until  time.Time `json:"until,omitzero"` // a mute's end
	By     Actor     `json:"by"`
	At     time.Time `json:"at"`
}

// Mute silences one sender hash in one room until Until.
type Mute struct {
	Room   string    `json:"room"`
	Sender string    `json:"sender"`
	Until  time.Time `json:"until"`
	By     Actor     `json:"by"`
	At     time.Time `json:"at"`
}

// Rules are a room's settings: the shortest gap between one client's sends, and the
// words its barrages have masked on top of the server-wide list.
type Rules struct {
	Room     string        `json:"room"`
	SlowMode time.Duration `json:"slowMode"`
	Words    []string      `json:"words"`
	By       Actor         `json:"by"`
	At       time.Time     `json:"at"`
}

// Moderation is every room's current mutes and rules.
type Moderation struct {
	Mutes []Mute
	Rules []Rules
}

// Moderator is what a store keeps for moderation. Every change is written together with
// its entry in the log, and stays until it is undone (a mute until it ends).
//
//   - Delete hides a stored barrage from After, Latest and Find for good: a redelivery of
//     its id is still skipped by Put, and the cursors of other rows do not change.
//   - Actions returns the log entries written at or after since, oldest first; a reader
//     that asks again from a little before the newest it has sees late writers too.
type Moderator interface {
	// Find returns the stored, not deleted, barrage id of room.
	Find(ctx context.Context, room, id string) (Record, bool, error)
	// Delete hides barrage id of room and logs act; false when there is no such barrage.
	Delete(ctx context.Context, room, id string, act Action) (bool, error)
	// PutMute mutes m.Sender in m.Room until m.Until, replacing an earlier mute.
	PutMute(ctx context.Context, m Mute, act Action) error
	// Unmute lifts the mute of sender in room, if any.
	Unmute(ctx context.Context, room, sender string, act Action) error
	// PutRules replaces the rules of r.Room; zero rules remove them.
	PutRules(ctx context.Context, r Rules, act Action) error
	// Moderation returns the mutes still running at now, and every room's rules.
	Moderation(ctx context.Context, now time.Time) (Moderation, error)
	// Actions returns at most limit log entries written at or after since.
	Actions(ctx context.Context, since time.Time, limit int) ([]Action, error)
}

// Zero reports whether r changes nothing.
func (r Rules) Zero() bool { return r.SlowMode == 0 && len(r.Words) == 0 }
