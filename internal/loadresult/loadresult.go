// Package loadresult is the record the load scenario (e2e TestLoad) leaves
// for `make bench`: the e2e test writes it as load.json and cmd/benchtable
// reads it into the results table. One type, so the two cannot drift.
package loadresult

// FileName is the file the load scenario writes under $ARROPS_RESULTS_DIR.
const FileName = "load.json"

// Result is what one load run measured.
type Result struct {
	Commands          int     `json:"commands"`
	DurationSeconds   float64 `json:"durationSeconds"`
	CommandsPerSecond float64 `json:"commandsPerSecond"`
	P50Ms             float64 `json:"p50Ms"`
	P99Ms             float64 `json:"p99Ms"`
	Sessions          int     `json:"sessions"`
	Malformed         int     `json:"malformed"`
	Duplicates        int     `json:"duplicates"`
	Poison            int     `json:"poison"`
}
