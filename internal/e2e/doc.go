// Package e2e drives the room page in a real Chromium against the whole program started
// in this process: sending, a second viewer, escaping, the load sender and the renderer
// under a burst. Tests skip when no Chromium is installed.
package e2e
