package arrsim

import (
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults are injected failures. Counters ("Next") apply to the next N ARR
// calls and are used up; rates apply to every call with that probability.
// STS and admin calls are never faulted.
type Faults struct {
	// Throttle429Next answers the next N ARR calls with 429.
	Throttle429Next int `json:"throttle429Next,omitempty"`
	// Throttle429Rate answers this fraction (0..1) of ARR calls with 429.
	Throttle429Rate float64 `json:"throttle429Rate,omitempty"`
	// RetryAfterSeconds is the Retry-After value of a 429 (default 15, as in
	// the examples).
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
	// Error500Next answers the next N ARR calls with 500 InternalServerError.
	Error500Next int `json:"error500Next,omitempty"`
	// Forbidden403Next answers the next N ARR calls with 403 Forbidden, as
	// ARR does when the caller's identity lacks the Remote Rendering role.
	Forbidden403Next int `json:"forbidden403Next,omitempty"`
	// Error500Rate answers this fraction of ARR calls with 500.
	Error500Rate float64 `json:"error500Rate,omitempty"`
	// Latency is added (in real time) before every ARR call is answered.
	// In JSON it is a Go duration string such as "250ms".
	Latency time.Duration `json:"-"`
	// StartErrorNext makes the next N created sessions end in Error instead
	// of Ready.
	StartErrorNext int `json:"startErrorNext,omitempty"`
	// StartErrorRate makes this fraction of created sessions end in Error.
	StartErrorRate float64 `json:"startErrorRate,omitempty"`
	// StartErrorCode and StartErrorMessage are the error of a failed start
	// (default InternalServerError / "Unexpected internal server error encountered.").
	StartErrorCode    string `json:"startErrorCode,omitempty"`
	StartErrorMessage string `json:"startErrorMessage,omitempty"`
}

// MarshalJSON writes Latency as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	v := struct {
		plain
		Latency string `json:"latency,omitempty"`
	}{plain: plain(f)}
	if f.Latency > 0 {
		v.Latency = f.Latency.String()
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads Latency as a duration string.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var v struct {
		plain
		Latency string `json:"latency"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Faults(v.plain)
	if v.Latency != "" {
		d, err := time.ParseDuration(v.Latency)
		if err != nil {
			return fmt.Errorf("faults latency: %w", err)
		}
		f.Latency = d
	}
	return nil
}

// Validate reports settings out of range.
func (f Faults) Validate() error {
	for name, r := range map[string]float64{"throttle429Rate": f.Throttle429Rate, "error500Rate": f.Error500Rate, "startErrorRate": f.StartErrorRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("faults: %s %v outside 0..1", name, r)
		}
	}
	if f.Throttle429Next < 0 || f.Error500Next < 0 || f.Forbidden403Next < 0 || f.StartErrorNext < 0 || f.RetryAfterSeconds < 0 || f.Latency < 0 {
		return fmt.Errorf("faults: negative count or duration")
	}
	return nil
}

type faultState struct {
	mu  sync.Mutex
	f   Faults
	rnd *mrand.Rand
}

func (fs *faultState) init(f Faults, seed uint64) {
	fs.f = f
	fs.rnd = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (fs *faultState) set(f Faults) {
	fs.mu.Lock()
	fs.f = f
	fs.mu.Unlock()
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f
}

// decide picks the fault for one ARR call.
func (fs *faultState) decide() (latency time.Duration, status, retryAfter int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := &fs.f
	latency = f.Latency
	retryAfter = f.RetryAfterSeconds
	if retryAfter == 0 {
		retryAfter = 15
	}
	switch {
	case f.Throttle429Next > 0:
		f.Throttle429Next--
		status = http.StatusTooManyRequests
	case f.Error500Next > 0:
		f.Error500Next--
		status = http.StatusInternalServerError
	case f.Forbidden403Next > 0:
		f.Forbidden403Next--
		status = http.StatusForbidden
	case f.Throttle429Rate > 0 && fs.rnd.Float64() < f.Throttle429Rate:
		status = http.StatusTooManyRequests
	case f.Error500Rate > 0 && fs.rnd.Float64() < f.Error500Rate:
		status = http.StatusInternalServerError
	}
	return latency, status, retryAfter
}

// startFailure decides whether a new session fails to start.
func (fs *faultState) startFailure() *apiError {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := &fs.f
	fail := false
	if f.StartErrorNext > 0 {
		f.StartErrorNext--
		fail = true
	} else if f.StartErrorRate > 0 && fs.rnd.Float64() < f.StartErrorRate {
		fail = true
	}
	if !fail {
		return nil
	}
	e := &apiError{Code: f.StartErrorCode, Message: f.StartErrorMessage}
	if e.Code == "" {
		e.Code = "InternalServerError"
	}
	if e.Message == "" {
		e.Message = "Unexpected internal server error encountered."
	}
	return e
}

// ports draws two distinct ports in the range the service used.
func (fs *faultState) ports() (int, int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	a := 49152 + fs.rnd.IntN(65535-49152)
	b := 49152 + fs.rnd.IntN(65535-49152)
	for b == a {
		b = 49152 + fs.rnd.IntN(65535-49152)
	}
	return a, b
}

// injectFaults applies latency and 429/403/500 faults; it reports whether the
// call was answered.
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request) bool {
	latency, status, retryAfter := s.faults.decide()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch status {
	case http.StatusTooManyRequests:
		s.stats.throttled.Add(1)
		w.Header()["Retry-After"] = []string{strconv.Itoa(retryAfter)}
		s.writeEmpty(w, status, true)
		return true
	case http.StatusInternalServerError:
		s.stats.injected500.Add(1)
		s.writeError(w, status, "InternalServerError", "An internal server error occurred.")
		return true
	case http.StatusForbidden:
		s.writeError(w, status, "Forbidden", "The caller does not have the role this operation needs.")
		return true
	}
	return false
}
