// Package e2e holds the end-to-end tests of arrops: every test starts the
// whole local system as real processes (Azurite, the ARR simulator, devhost
// running the handler binary) on free loopback ports, drives it the way
// other apps and Azure would (command messages on the local Service Bus
// queue, BlobCreated events on the storage queue, timers, HTTP), and checks
// the records, events and replies it leaves behind.
//
// The tests skip outside CI when Azurite is not installed (npm ci); with CI
// set they fail instead. `go test -short` skips them.
package e2e
