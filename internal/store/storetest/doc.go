// Package storetest is the contract every store.Store must keep, as one test suite that
// runs against each backend: call Run from the backend's own tests. Backends may also
// implement Expirer and RetentionReporter so the suite can check expiry; Flaky wraps any
// store to make it unavailable for a while in fault tests.
package storetest
