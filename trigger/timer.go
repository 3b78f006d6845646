package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Timer is a timer trigger payload. Data.<binding> is an object (not
// double-encoded); Metadata holds only sys.
type Timer struct {
	Schedule Schedule
	// ScheduleStatus is nil when the host has no stored status, for example
	// on the first run or for schedules firing more than once a minute.
	ScheduleStatus *ScheduleStatus
	// IsPastDue is set when the invocation is later than scheduled (the app
	// was down when it was due).
	IsPastDue bool
	Sys       Sys
}

// Schedule is the timer's schedule settings.
type Schedule struct {
	AdjustForDST bool
}

// ScheduleStatus is the host's record of the timer's occurrences, in UTC.
type ScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

type timerWire struct {
	Schedule       Schedule
	ScheduleStatus *struct {
		Last, Next, LastUpdated string
	}
	IsPastDue bool
}

// Timer decodes the timer trigger bound as binding.
func (inv *Invocation) Timer(binding string) (Timer, error) {
	var t Timer
	raw, err := inv.Binding(binding)
	if err != nil {
		return t, err
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] == '"' { // tolerate a string holding the object
		if s, ok := metaText(raw); ok {
			raw = json.RawMessage(s)
		}
	}
	var w timerWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return t, fmt.Errorf("trigger: timer Data.%s: %w", binding, err)
	}
	t.Schedule, t.IsPastDue = w.Schedule, w.IsPastDue
	if w.ScheduleStatus != nil {
		var st ScheduleStatus
		for _, f := range []struct {
			name string
			in   string
			out  *time.Time
		}{{"Last", w.ScheduleStatus.Last, &st.Last}, {"Next", w.ScheduleStatus.Next, &st.Next}, {"LastUpdated", w.ScheduleStatus.LastUpdated, &st.LastUpdated}} {
			if *f.out, err = parseTime(f.in); err != nil {
				return t, fmt.Errorf("trigger: timer Data.%s.ScheduleStatus.%s %q is not a timestamp", binding, f.name, f.in)
			}
		}
		t.ScheduleStatus = &st
	}
	if t.Sys, err = inv.Sys(); err != nil {
		return t, fmt.Errorf("trigger: timer: %w", err)
	}
	return t, nil
}

// EncodeTimerInvocation renders t as the request body the host sends for a
// timer trigger bound as binding.
func EncodeTimerInvocation(binding string, t Timer) ([]byte, error) {
	var data ordered
	var sched ordered
	sched.add("AdjustForDST", boolJSON(t.Schedule.AdjustForDST))
	data.add("Schedule", sched.bytes())
	if t.ScheduleStatus == nil {
		data.add("ScheduleStatus", []byte("null"))
	} else {
		var st ordered
		st.add("Last", fmtTime(t.ScheduleStatus.Last, layoutOffset))
		st.add("Next", fmtTime(t.ScheduleStatus.Next, layoutOffset))
		st.add("LastUpdated", fmtTime(t.ScheduleStatus.LastUpdated, layoutOffset))
		data.add("ScheduleStatus", st.bytes())
	}
	data.add("IsPastDue", boolJSON(t.IsPastDue))
	var meta ordered
	meta.add("sys", sysValue(t.Sys))
	return envelope(binding, data.bytes(), &meta), nil
}

func boolJSON(b bool) []byte {
	if b {
		return []byte("true")
	}
	return []byte("false")
}
