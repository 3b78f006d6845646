// Package arrsim is an Azure Remote Rendering (ARR) compatible simulator: one
// http.Handler that serves the Mixed Reality STS token endpoint and the ARR
// 2021-01-01 session and conversion API, byte-shaped like the recorded service
// (headers, omitted versus null fields, status sequences, error bodies).
//
// ARR was retired, so arrops cannot be tested against the real service; the
// simulator stands in for it in unit, integration and load tests and in local
// runs (cmd/arrsim). Time is simulated (ClockSpeed) so leases and start-up take
// seconds, state transitions are computed lazily on read so thousands of
// sessions cost no goroutines, conversions really read the input blob and
// write an .arrAsset through the given SAS (Azurite in tests), and faults
// (429, 500, latency, start failures) can be injected by Options or through
// the admin endpoints under /_sim/.
package arrsim
