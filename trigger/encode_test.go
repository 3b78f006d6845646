package trigger

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sdkObjects are the guessed shapes of Service Bus SDK objects in the
// fixtures (see their README); the encoder sends them empty.
var sdkObjects = []string{"MessageReceiver", "MessageSession", "MessageActions", "SessionActions", "ReceiveActions", "Client"}

func parseAny(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	if meta, ok := v["Metadata"].(map[string]any); ok {
		for _, k := range sdkObjects {
			delete(meta, k)
		}
		// sys.UtcNow is compared as an instant: the captured fixtures trim
		// trailing zeros of the fraction (Newtonsoft's default, which the
		// encoder follows) while one assembled fixture keeps them.
		if sys, ok := meta["sys"].(map[string]any); ok {
			if s, ok := sys["UtcNow"].(string); ok {
				if tm, err := parseTime(s); err == nil {
					sys["UtcNow"] = tm.Format(time.RFC3339Nano)
				}
			}
		}
	}
	return v
}

// TestEncodeReproducesFixtures decodes every invocation fixture, encodes the
// result again and expects the fixture back (as JSON values: key order is not
// compared), then checks decode(encode(x)) == x.
func TestEncodeReproducesFixtures(t *testing.T) {
	type codec struct {
		binding   string
		roundTrip func(t *testing.T, inv *Invocation) (encoded []byte, again func(*Invocation) (any, any))
	}
	sb := codec{"cmd", func(t *testing.T, inv *Invocation) ([]byte, func(*Invocation) (any, any)) {
		x, err := inv.ServiceBusMessage("cmd")
		if err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeServiceBusInvocation("cmd", x)
		if err != nil {
			t.Fatal(err)
		}
		return enc, func(inv2 *Invocation) (any, any) { y, err := inv2.ServiceBusMessage("cmd"); must(t, err); return x, y }
	}}
	queue := codec{"msg", func(t *testing.T, inv *Invocation) ([]byte, func(*Invocation) (any, any)) {
		x, err := inv.QueueMessage("msg")
		if err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeQueueInvocation("msg", x)
		if err != nil {
			t.Fatal(err)
		}
		return enc, func(inv2 *Invocation) (any, any) { y, err := inv2.QueueMessage("msg"); must(t, err); return x, y }
	}}
	timer := codec{"timer", func(t *testing.T, inv *Invocation) ([]byte, func(*Invocation) (any, any)) {
		x, err := inv.Timer("timer")
		if err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeTimerInvocation("timer", x)
		if err != nil {
			t.Fatal(err)
		}
		return enc, func(inv2 *Invocation) (any, any) { y, err := inv2.Timer("timer"); must(t, err); return x, y }
	}}
	httpc := codec{"req", func(t *testing.T, inv *Invocation) ([]byte, func(*Invocation) (any, any)) {
		x, err := inv.HTTPRequest("req")
		if err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeHTTPInvocation("req", x)
		if err != nil {
			t.Fatal(err)
		}
		return enc, func(inv2 *Invocation) (any, any) { y, err := inv2.HTTPRequest("req"); must(t, err); return x, y }
	}}
	tests := []struct {
		fixture string
		c       codec
	}{
		{"servicebus-trigger-start-command.json", sb},
		{"servicebus-trigger-redelivery.json", sb},
		{"servicebus-trigger-malformed.json", sb},
		{"queue-trigger-captured-gewoscout.json", queue},
		{"queue-trigger-blobcreated-eventgrid.json", queue},
		{"queue-trigger-blobcreated-cloudevents.json", queue},
		{"queue-trigger-blobcreated-base64.json", queue},
		{"queue-trigger-adls-flushwithclose.json", queue},
		{"timer-trigger.json", timer},
		{"timer-trigger-pastdue.json", timer},
		{"timer-trigger-schedulestatus-null.json", timer},
		{"http-trigger-get.json", httpc},
		{"http-trigger-get-captured.json", httpc},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			raw := readFixture(t, tt.fixture)
			inv, err := DecodeInvocation(raw)
			if err != nil {
				t.Fatal(err)
			}
			enc, again := tt.c.roundTrip(t, inv)
			if got, want := parseAny(t, enc), parseAny(t, raw); !reflect.DeepEqual(got, want) {
				t.Errorf("encode differs from fixture\ngot  %s\nwant %s", enc, compact(t, raw))
			}
			inv2, err := DecodeInvocation(enc)
			if err != nil {
				t.Fatal(err)
			}
			x, y := again(inv2)
			if !reflect.DeepEqual(x, y) {
				t.Errorf("decode(encode(x)) != x\nx %+v\ny %+v", x, y)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func compact(t *testing.T, b []byte) string {
	v := parseAny(t, b)
	out, _ := json.Marshal(v)
	return string(out)
}

// TestEncodeHostRules checks each metadata rule of the host on a built
// message rather than a fixture.
func TestEncodeHostRules(t *testing.T) {
	body := `{"id":"ev-1","when":"2024-04-06T15:30:00.123Z","offset":"2024-04-06T17:30:00+02:00","day":"2024-04-06","n":60,"f":1.5,"ok":true,"nothing":null,"list":[1],"obj":{"a":1},"sys":"x","Html":"<a&b>"}`
	msg := QueueMessage{Body: []byte(body), ID: "q-1", DequeueCount: 2, PopReceipt: "pr",
		InsertionTime: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Sys: Sys{MethodName: "F", UtcNow: time.Date(2026, 11, 23, 12, 0, 1, 500, time.UTC), RandGuid: "g"}}
	enc, err := EncodeQueueInvocation("msg", msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"Data":{"msg":"\"{\\\"id\\\":\\\"ev-1\\\"`, // text body encoded twice
		`"DequeueCount":"2"`,                        // numbers as strings
		`"InsertionTime":"2026-11-23T12:00:00+00:00"`,
		`"Id":"\"ev-1\""`,                  // body id shadows Id, in place
		`"when":"\"04/06/2024 15:30:00\""`, // body dates rewritten
		`"offset":"\"04/06/2024 15:30:00\""`,
		`"day":"\"2024-04-06\""`, // a date without time is not a date to Newtonsoft
		`"n":"\"60\""`, `"f":"\"1.5\""`, `"ok":"\"True\""`,
		`"Html":"\"<a&b>\""`, // no HTML escaping
		`"sys":{"MethodName":"F","UtcNow":"2026-11-23T12:00:01.0000005Z","RandGuid":"g"}`,
	} {
		if !strings.Contains(string(enc), want) {
			t.Errorf("encoding lacks %s\n%s", want, enc)
		}
	}
	for _, absent := range []string{`"nothing"`, `"list":"`, `"obj":"`, `"ExpirationTime"`, `"sys":"`} {
		if strings.Contains(string(enc), absent) {
			t.Errorf("encoding has %s\n%s", absent, enc)
		}
	}
	if strings.Index(string(enc), `"Id"`) > strings.Index(string(enc), `"sys"`) {
		t.Error("shadowed Id moved")
	}
	if _, err := EncodeQueueInvocation("msg", QueueMessage{Body: []byte{0xff}}); err == nil {
		t.Error("non-UTF-8 body encoded as text")
	}
}

func TestNewSys(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	a, b := NewSys("commands", now), NewSys("commands", now)
	if a.RandGuid == b.RandGuid || len(a.RandGuid) != 36 || a.RandGuid[14] != '4' {
		t.Errorf("RandGuid %q %q", a.RandGuid, b.RandGuid)
	}
	if !a.UtcNow.Equal(now.Truncate(100)) || a.UtcNow.Location() != time.UTC || a.MethodName != "commands" {
		t.Errorf("%+v", a)
	}
	out, _ := json.Marshal(a)
	if !strings.Contains(string(out), `"UtcNow":"2026-11-23T11:00:00.1234567Z"`) {
		t.Errorf("%s", out)
	}
}
