package trigger

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Seeds: every fixture of the kind, plus hand-made edge cases.
var (
	sbFixtures     = []string{"servicebus-trigger-start-command.json", "servicebus-trigger-redelivery.json", "servicebus-trigger-malformed.json"}
	queueFixtures  = []string{"queue-trigger-captured-gewoscout.json", "queue-trigger-blobcreated-eventgrid.json", "queue-trigger-blobcreated-cloudevents.json", "queue-trigger-blobcreated-base64.json", "queue-trigger-adls-flushwithclose.json"}
	timerFixtures  = []string{"timer-trigger.json", "timer-trigger-pastdue.json", "timer-trigger-schedulestatus-null.json"}
	httpFixtures   = []string{"http-trigger-get.json", "http-trigger-get-captured.json"}
	eventFixtures  = []string{"eventgrid-blobcreated-event.json", "cloudevents-blobcreated-event.json"}
	edgeInvocation = []string{`{"Data":{}}`, `{"Data":{"cmd":null}}`, `{"Data":{"msg":"\"\\\"\""}}`, `{"Data":{"msg":{}},"Metadata":{"Id":"\"\""}}`, `null`, `{"Data":{"req":{"Method":"POST","Body":{"a":1}}}}`}
)

func seed(f *testing.F, fixtures []string) {
	for _, name := range fixtures {
		f.Add(readFixture(f, name))
	}
	for _, s := range edgeInvocation {
		f.Add([]byte(s))
	}
}

func FuzzInvocation(f *testing.F) {
	seed(f, sbFixtures)
	seed(f, queueFixtures)
	seed(f, timerFixtures)
	seed(f, httpFixtures)
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := DecodeInvocation(body)
		if err != nil {
			return
		}
		if inv.Data == nil || inv.Metadata == nil {
			t.Fatal("decoded invocation has nil maps")
		}
		for name := range inv.Data {
			// Every decoder must cope with every binding value without panicking.
			_, _ = inv.ServiceBusMessage(name)
			_, _ = inv.QueueMessage(name)
			_, _ = inv.Timer(name)
			_, _ = inv.HTTPRequest(name)
		}
		_, _ = inv.Sys()
		for k, v := range inv.Metadata {
			_, _ = inv.MetaString(k)
			checkMetaTextFast(t, v)
		}
	})
}

func FuzzServiceBus(f *testing.F) {
	seed(f, sbFixtures)
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := DecodeInvocation(body)
		if err != nil {
			return
		}
		m, err := inv.ServiceBusMessage("cmd")
		if err != nil {
			return
		}
		enc, err := EncodeServiceBusInvocation("cmd", m)
		if err != nil {
			return // a body that is not UTF-8 text
		}
		inv2, err := DecodeInvocation(enc)
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		m2, err := inv2.ServiceBusMessage("cmd")
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		if !bytes.Equal(m.Body, m2.Body) || m.BodyBase64 != m2.BodyBase64 {
			t.Fatalf("body %q (base64 %v) came back as %q (%v)", m.Body, m.BodyBase64, m2.Body, m2.BodyBase64)
		}
	})
}

func FuzzQueue(f *testing.F) {
	seed(f, queueFixtures)
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := DecodeInvocation(body)
		if err != nil {
			return
		}
		m, err := inv.QueueMessage("msg")
		if err != nil {
			return
		}
		if m.IDShadowed() && m.ID != "" {
			t.Fatalf("shadowed id kept: %q", m.ID)
		}
		enc, err := EncodeQueueInvocation("msg", m)
		if err != nil {
			return
		}
		inv2, err := DecodeInvocation(enc)
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		m2, err := inv2.QueueMessage("msg")
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		if !bytes.Equal(m.Body, m2.Body) || m.BodyBase64 != m2.BodyBase64 {
			t.Fatalf("body %q (base64 %v) came back as %q (%v)", m.Body, m.BodyBase64, m2.Body, m2.BodyBase64)
		}
		_, _ = DecodeBlobEvents(m.Body)
	})
}

func FuzzTimer(f *testing.F) {
	seed(f, timerFixtures)
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := DecodeInvocation(body)
		if err != nil {
			return
		}
		tm, err := inv.Timer("timer")
		if err != nil {
			return
		}
		enc, err := EncodeTimerInvocation("timer", tm)
		if err != nil {
			t.Fatal(err)
		}
		inv2, err := DecodeInvocation(enc)
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		tm2, err := inv2.Timer("timer")
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		if tm2.IsPastDue != tm.IsPastDue || tm2.Schedule != tm.Schedule || (tm2.ScheduleStatus == nil) != (tm.ScheduleStatus == nil) {
			t.Fatalf("timer %+v came back as %+v", tm, tm2)
		}
	})
}

func FuzzHTTP(f *testing.F) {
	seed(f, httpFixtures)
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := DecodeInvocation(body)
		if err != nil {
			return
		}
		r, err := inv.HTTPRequest("req")
		if err != nil {
			return
		}
		_ = r.String()
		_ = r.Header("Content-Type")
		enc, err := EncodeHTTPInvocation("req", r)
		if err != nil {
			return
		}
		inv2, err := DecodeInvocation(enc)
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		r2, err := inv2.HTTPRequest("req")
		if err != nil {
			t.Fatalf("encoder output does not decode: %v\n%s", err, enc)
		}
		if r2.Method != r.Method || r2.URL != r.URL || r2.HasBody != r.HasBody {
			t.Fatalf("request %+v came back as %+v", r, r2)
		}
	})
}

func FuzzBlobEvents(f *testing.F) {
	for _, name := range eventFixtures {
		raw := readFixture(f, name)
		f.Add(raw)
		f.Add([]byte(base64Std(raw)))
	}
	for _, name := range queueFixtures {
		inv, err := DecodeInvocation(readFixture(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(inv.Data["msg"]))
	}
	f.Add([]byte(`{"id":"e","eventType":"Microsoft.Storage.BlobCreated","subject":"/blobServices/default/containers/c/blobs/p"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeBlobEvents(body)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for _, ev := range evs {
			if ev.ID == "" || ev.EventType == "" || (ev.Schema != SchemaEventGrid && ev.Schema != SchemaCloudEvents) {
				t.Fatalf("incomplete event %+v", ev)
			}
			if strings.HasPrefix(ev.EventType, "Microsoft.Storage.Blob") && (ev.Container == "" || ev.BlobPath == "") {
				t.Fatalf("blob event without container/path: %+v", ev)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// checkMetaTextFast asserts the reflection-free path agrees with the general one.
func checkMetaTextFast(t *testing.T, raw []byte) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return
	}
	if fast, ok := metaTextFast(raw); ok {
		if slow, ok2 := metaTextString(raw); !ok2 || slow != fast {
			t.Fatalf("metaTextFast(%s) = %q, general form %q %v", raw, fast, slow, ok2)
		}
	}
}

func TestMetaTextFast(t *testing.T) {
	for _, raw := range []string{`"abc"`, `"\"abc\""`, `"\"\""`, `""`, `"\""`, `"\"a\" \"b\""`, `"3"`, `"2026-11-30T12:42:16+00:00"`, `"\"é\""`, `"\"a\\\"b\""`} {
		checkMetaTextFast(t, []byte(raw))
	}
}
