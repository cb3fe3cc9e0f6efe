package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// phase is one step of shutdown. Shutdown runs the phases in this order whatever order
// the roles started in, so a role added later cannot make a part stop before what
// depends on it.
type phase int

const (
	// phaseStopAccepting: readiness fails, live streams end, and the HomePage's (and the
	// health-only) listeners close to new connections.
	phaseStopAccepting phase = iota
	// phaseDrainRequests: sends already in flight finish and are answered.
	phaseDrainRequests
	// phaseStopLoad: load runs stop and their workers return, while the producer they
	// send through is still open.
	phaseStopLoad
	// phaseStopDelivery: the dispatcher stops consuming; its deliveries and dead letters
	// in flight finish before it returns.
	phaseStopDelivery
	// phaseStopProcessing: the processor's listener closes and the writes it took finish.
	// It comes after the dispatcher in dev mode, which delivers to it until then.
	phaseStopProcessing
	// phaseCloseProducers: the HomePage's producer and the dispatcher's dead letter
	// producer close; nothing sends through them any more.
	phaseCloseProducers
	// phaseCloseStore: nothing reads or writes the store any more.
	phaseCloseStore
	// phaseCloseBroker: the embedded broker goes last of the pipeline, after every client.
	phaseCloseBroker
	// phaseFlushTraces: spans of everything above are exported.
	phaseFlushTraces
	phaseCount
)

var phaseNames = [phaseCount]string{
	"stop accepting", "drain requests", "stop load runs", "stop deliveries", "stop processing",
	"close producers", "close store", "close broker", "flush traces",
}

func (p phase) String() string { return phaseNames[p] }

// stopStep is one part's work in a phase.
type stopStep struct {
	name string
	f    func(context.Context) error
}

// onStop registers f to run in phase p at shutdown, named for the record; steps of one
// phase run in the order they were registered.
func (a *App) onStop(p phase, name string, f func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stops[p] = append(a.stops[p], stopStep{name: name, f: f})
}

// Shutdown runs the phases in order. A phase that runs out of ctx does not stop the
// later ones: every part is still closed, and a send after its producer closed gets an
// error rather than a panic.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.draining = true
	stops := a.stops
	a.stops = [phaseCount][]stopStep{}
	a.mu.Unlock()
	var errs []error
	for p, steps := range stops {
		for _, s := range steps {
			a.mu.Lock()
			a.stopped = append(a.stopped, phase(p).String()+": "+s.name)
			a.mu.Unlock()
			if err := s.f(ctx); err != nil {
				errs = append(errs, fmt.Errorf("app: shutdown: %s: %s: %w", phase(p), s.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// stoppedSteps returns "phase: step" for every step Shutdown ran, in the order it ran them.
func (a *App) stoppedSteps() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.stopped...)
}

// stopServer closes srv's listener in phase stop. When stop is phaseStopAccepting the
// requests in flight are waited for in phaseDrainRequests, so every listener of the
// process is closed before any drain begins; otherwise both happen in stop.
func (a *App) stopServer(name string, srv *http.Server, stop phase) {
	drained := make(chan error, 1)
	closing := func(ctx context.Context) error {
		// Shutdown closes the listeners at once, then waits for requests in flight.
		go func() { drained <- srv.Shutdown(ctx) }()
		return nil
	}
	wait := func(ctx context.Context) error {
		select {
		case err := <-drained:
			if err != nil {
				return fmt.Errorf("app: %s: drain: %w", name, err)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("app: %s: drain: %w", name, ctx.Err())
		}
	}
	if stop == phaseStopAccepting {
		a.onStop(phaseStopAccepting, name+" listener", closing)
		a.onStop(phaseDrainRequests, name+" requests", wait)
		return
	}
	a.onStop(stop, name+" listener", closing)
	a.onStop(stop, name+" requests", wait)
}
