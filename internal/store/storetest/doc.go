// Package storetest is the contract every store.Store must keep, as one test suite that
// runs against each backend: call Run from the backend's own tests.
package storetest
