package e2e

import (
	"context"
	"testing"
)

// observeLongTasks starts recording the tab's long tasks (main-thread tasks over 50 ms).
func observeLongTasks(t *testing.T, tab context.Context) {
	t.Helper()
	eval[bool](t, tab, `(() => {
		window.__longtasks = [];
		new PerformanceObserver((list) => {
			for (const e of list.getEntries()) window.__longtasks.push(e.duration);
		}).observe({ type: 'longtask' });
		return true;
	})()`)
}

// longTasks is what the observer saw.
type longTasks struct {
	Count int     `json:"count"`
	Max   float64 `json:"max"`
	Total float64 `json:"total"`
}

func readLongTasks(t *testing.T, tab context.Context) longTasks {
	t.Helper()
	return eval[longTasks](t, tab, `({
		count: window.__longtasks.length,
		max: Math.max(0, ...window.__longtasks),
		total: window.__longtasks.reduce((a, b) => a + b, 0),
	})`)
}
