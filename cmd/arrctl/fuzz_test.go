package main

import (
	"encoding/json"
	"testing"

	"github.com/arrops/arrops"
)

// Seeds are what the handler sends (functions/commands finish and
// functions.Announce).
var replySeeds = []string{
	`{"outcome":"accepted","reason":"session starting","action":"start","sessionId":"s1","session":{"type":"SessionStarting","time":"2026-11-24T09:00:00Z","sessionId":"s1","status":"Starting","size":"Standard"}}`,
	`{"outcome":"rejected","reason":"ARR refused the start: 400 BadRequest: bad size (MS-CV abc)","action":"start","sessionId":"s1"}`,
	`{"outcome":"noop","reason":"session is already Stopped","action":"stop","sessionId":"s1","session":{"type":"SessionStopped","status":"Stopped"}}`,
	`{"type":"SessionReady","time":"2026-11-24T09:02:00Z","sessionId":"s1","status":"Ready","hostname":"h.example","handshakePort":50051,"arrInspectorPort":8080}`,
	`{"type":"SessionError","sessionId":"s1","errorCode":"InternalServerError","errorMessage":"boom"}`,
	`{"outcome":"maybe"}`, `[]`, `null`, ``,
}

func FuzzDecodeReply(f *testing.F) {
	for _, s := range replySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeReply(busMessage{MessageID: "m", Subject: subjectReply, Body: body})
		if err != nil {
			return
		}
		if r.Outcome != arrops.OutcomeAccepted && r.Outcome != arrops.OutcomeNoop && r.Outcome != arrops.OutcomeRejected {
			t.Fatalf("accepted outcome %q", r.Outcome)
		}
		if r.Session != nil {
			readyOrEnded(r.Session) // must not panic
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range replySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodeEvent(busMessage{MessageID: "m", Subject: "SessionReady", Body: body})
		if err != nil {
			if !json.Valid(body) {
				return
			}
			// Valid JSON may still fail on field types; it must not be an object
			// of the right shape.
			var probe arrops.Event
			if json.Unmarshal(body, &probe) == nil {
				t.Fatalf("decodeEvent rejected %q that decodes", body)
			}
			return
		}
		done, err := readyOrEnded(ev)
		st := arrops.SessionStatus(ev.Status)
		if done != (st == arrops.SessionReady || st.Terminal()) {
			t.Fatalf("status %q: done=%v", st, done)
		}
		if (err != nil) != st.Terminal() {
			t.Fatalf("status %q: err=%v", st, err)
		}
	})
}

func TestDecodeEventImpliesStatus(t *testing.T) {
	ev, err := decodeEvent(busMessage{Body: []byte(`{"type":"SessionReady","sessionId":"s1","hostname":"h"}`)})
	if err != nil || ev.Status != "Ready" {
		t.Fatalf("%+v %v", ev, err)
	}
	if _, err := decodeReply(busMessage{Body: []byte(`{"outcome":"maybe"}`)}); err == nil {
		t.Fatal("unknown outcome accepted")
	}
}
