// Package reliability holds the tests that break the pipeline on purpose: roles killed
// and restarted as separate processes, a broker restart, a failing store, poison records,
// viewers that reconnect or stall. Each counts that every accepted barrage is stored once
// and reaches every viewer once. docs/reliability.md lists them.
package reliability
