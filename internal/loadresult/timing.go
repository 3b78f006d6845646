package loadresult

import (
	"slices"
	"time"
)

// TimingFileName is the file the timing scenarios (e2e TestReadyLatency,
// TestPolicyStopLatency, TestConversionLatency) write under
// $ARROPS_RESULTS_DIR, each filling its part.
const TimingFileName = "timing.json"

// Latency summarises delays from an instant (ARR's Ready, a policy limit) to
// arrops' reaction.
type Latency struct {
	N     int     `json:"n"`
	P50Ms float64 `json:"p50Ms"`
	P95Ms float64 `json:"p95Ms"`
	MaxMs float64 `json:"maxMs"`
	MinMs float64 `json:"minMs"`
}

// Summarise returns the latency of ds (nearest-rank percentiles).
func Summarise(ds []time.Duration) *Latency {
	if len(ds) == 0 {
		return &Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p int) time.Duration { return s[max(0, min((p*len(s)+99)/100-1, len(s)-1))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &Latency{N: len(s), P50Ms: ms(rank(50)), P95Ms: ms(rank(95)), MaxMs: ms(s[len(s)-1]), MinMs: ms(s[0])}
}

// Timing is what the timing scenarios measured; a part not run is nil.
type Timing struct {
	// ReadyFollowUps and ReadyBaseline: ARR Ready -> SessionReady on the
	// requester's ReplyTo, with follow-ups (production defaults) and with
	// WATCH_FOLLOWUP_SECONDS=0 (the minute timer alone).
	ReadyFollowUps *Latency `json:"readyFollowUps,omitempty"`
	ReadyBaseline  *Latency `json:"readyBaseline,omitempty"`
	// Conversion: ARR conversion finished -> ConversionSucceeded/Failed.
	Conversion *Latency `json:"conversion,omitempty"`
	// PolicyStop: policy limit -> ARR stop call (the simulator's log);
	// PolicyWarning: warning instant -> SessionStopWarning on ReplyTo.
	// A negative MinMs would be a stop or warning before its instant.
	PolicyStop    *Latency `json:"policyStop,omitempty"`
	PolicyWarning *Latency `json:"policyWarning,omitempty"`
	// PoolWarm: a start on the queue -> its reply with a hostname, during
	// pool hours (served from the warm pool); PoolCold: a cold start in the
	// same run -> SessionReady (the simulator's start time).
	PoolWarm *Latency `json:"poolWarm,omitempty"`
	PoolCold *Latency `json:"poolCold,omitempty"`
	// PoolBurst: concurrent starts against a smaller pool.
	PoolBurst *PoolBurst `json:"poolBurst,omitempty"`
}

// PoolBurst counts how Starts concurrent starts against a pool of Pool
// Ready sessions were served.
type PoolBurst struct {
	Starts, Pool, Warm, Cold int
	// DoubleClaims counts pool sessions handed to more than one command.
	DoubleClaims int `json:"doubleClaims"`
}
