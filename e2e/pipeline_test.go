package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// TestConversionPipelineEndToEnd is issue 18's pipeline over real processes
// (Azurite, arrsim, devhost running the handler): a settings file uploaded
// before its model starts nothing; the model's upload is converted with the
// settings applied and visible in info.json; the result details are
// recorded and announced. Then the settings change and a convert command
// converts the existing blob again: a second conversion, answered on the
// command's ReplyTo and announced there too, with the new settings applied.
func TestConversionPipelineEndToEnd(t *testing.T) {
	began := time.Now()
	s := startSystem(t, stack.Options{
		SimArgs: []string{"-conversion-after", "1s"},
		Settings: map[string]string{"WATCH_SCHEDULE": "*/1 * * * * *", "ARR_INPUT_PREFIX": "models/", "ARR_OUTPUT_PREFIX": "assets",
			"ARR_INPUT_CONTAINER": "arr-input", "ARR_OUTPUT_CONTAINER": "arr-output"},
	})
	// The stack creates the input and output containers (stack.LocalResources).
	events := &eventLog{s: s}

	// Side file first, then the model (README: "side files first").
	settings := functest.BlobEvent{Container: "arr-input", Path: "models/site/plant.ConversionSettings.json"}
	body := []byte(`{"scaling": 0.01, "recenterToOrigin": true}`)
	settings.ETag, settings.Size = s.putBlob("arr-input", settings.Path, body), int64(len(body))
	s.deliverBlobEvent(settings.JSON(t))
	plant := functest.BlobEvent{Container: "arr-input", Path: "models/site/plant.fbx"}
	plant.ETag, plant.Size = s.putBlob("arr-input", plant.Path, functest.SampleGLB), int64(len(functest.SampleGLB))
	s.deliverBlobEvent(plant.JSON(t))

	first := s.waitConversions(20*time.Second, plant)[plant.Path]
	if first.Status != arrops.ConversionSucceeded || first.SettingsFile != settings.Path {
		t.Fatalf("first conversion %+v, want Succeeded with settings file %s", first, settings.Path)
	}
	for _, c := range s.conversions() {
		if strings.HasSuffix(c.InputPath, ".json") {
			t.Errorf("the settings upload made a record: %+v", c)
		}
	}
	// The settings are visible in the info.json ARR wrote, and recorded.
	info := s.download("arr-output", "assets/site/plant.info.json")
	var doc struct {
		ConversionSettings map[string]any `json:"conversionSettings"`
	}
	if err := json.Unmarshal(info, &doc); err != nil || doc.ConversionSettings["scaling"] != 0.01 || doc.ConversionSettings["recenterToOrigin"] != true {
		t.Fatalf("info.json %s: %v, want the settings applied", info, err)
	}
	d := first.Details
	if d == nil || d.Result != arrops.ResultSucceeded || string(d.Settings) != `{"recenterToOrigin":true,"scaling":0.01}` ||
		d.Statistics == nil || d.Statistics.Vertices == 0 || d.Statistics.BoundingBox == nil {
		t.Fatalf("first details %+v", d)
	}
	var ev arrops.Event
	s.eventually(10*time.Second, "ConversionSucceeded event", func() error {
		evs := events.byConversion()[first.ID]
		if len(evs) == 0 {
			return fmt.Errorf("no event yet")
		}
		ev = evs[0]
		return nil
	})
	if ev.Type != arrops.EventConversionSucceeded || ev.SettingsFile != settings.Path || ev.Details == nil ||
		!reflect.DeepEqual(ev.Details, d) {
		t.Fatalf("event %+v, want the details of the record", ev)
	}
	evJSON, _ := json.Marshal(ev)
	recJSON, _ := json.Marshal(first)
	t.Logf("ConversionSucceeded: %s\nrecord: %s", evJSON, recJSON)

	// New settings; a convert command converts the existing blob again.
	body = []byte(`{"scaling": 0.1, "sceneGraphMode": "none"}`)
	s.putBlob("arr-input", settings.Path, body)
	const replyTo, msgID = "e2e-convert-replies", "convert-plant-1"
	cmd := `{"action":"convert","input":"models/site/plant.fbx","requestedBy":"pipeline"}`
	s.send(cmd, notify.Message{MessageID: msgID, ReplyTo: replyTo, ContentType: "application/json"})
	s.send(cmd, notify.Message{MessageID: msgID, ReplyTo: replyTo, ContentType: "application/json"}) // a duplicate delivery

	var second *arrops.Conversion
	s.eventually(20*time.Second, "second conversion", func() error {
		var n int
		for _, c := range s.conversions() {
			if c.InputPath == plant.Path && c.ID != first.ID {
				second, n = c, n+1
			}
		}
		if n > 1 {
			s.t.Fatalf("%d conversions for one command", n)
		}
		if second == nil || second.Details == nil {
			return fmt.Errorf("second: %+v", second)
		}
		return nil
	})
	if second.Status != arrops.ConversionSucceeded || second.RequestedBy != "pipeline" || second.CorrelationID != msgID ||
		second.InputETag != first.InputETag || second.OutputPath != first.OutputPath ||
		string(second.Details.Settings) != `{"scaling":0.1,"sceneGraphMode":"none"}` {
		t.Fatalf("second conversion %+v details %+v", second, second.Details)
	}
	// The reply queue gets the command's answer and the conversion's event.
	// The two deliveries run concurrently, so their replies may arrive in
	// either order: exactly one is accepted, any other is a noop.
	var reply *arrops.CommandReply
	var replyEvent *arrops.Event
	s.eventually(10*time.Second, "reply and event on ReplyTo", func() error {
		for _, m := range s.receive(replyTo, 32, 200*time.Millisecond) {
			switch m.Subject {
			case "CommandReply":
				var r arrops.CommandReply
				json.Unmarshal(m.Body, &r)
				switch {
				case r.Outcome == arrops.OutcomeNoop:
				case reply == nil && r.Outcome == arrops.OutcomeAccepted:
					reply = &r
				default:
					s.t.Fatalf("reply %s: want one accepted reply, any other a noop", m.Body)
				}
			case string(arrops.EventConversionSucceeded):
				replyEvent = &arrops.Event{}
				json.Unmarshal(m.Body, replyEvent)
				if m.CorrelationID != msgID {
					s.t.Errorf("event on ReplyTo has CorrelationId %q, want %q", m.CorrelationID, msgID)
				}
			}
		}
		if reply == nil || replyEvent == nil {
			return fmt.Errorf("reply %v event %v", reply, replyEvent)
		}
		return nil
	})
	if reply.Outcome != arrops.OutcomeAccepted || reply.ConversionID != second.ID || replyEvent.ConversionID != second.ID ||
		replyEvent.RequestedBy != "pipeline" || replyEvent.Details == nil {
		t.Errorf("reply %+v, event %+v", reply, replyEvent)
	}
	if a := s.audit(msgID); len(a) == 0 || a[0].ConversionID != second.ID || a[0].Action != arrops.ActionConvert {
		t.Errorf("audit %+v", a)
	}
	s.assertNoSAS(events)
	t.Logf("total %s", time.Since(began).Round(time.Millisecond))
}

// download reads a blob whole.
func (s *system) download(container, path string) []byte {
	s.t.Helper()
	resp, err := s.blobs.DownloadStream(s.ctx, container, path, nil)
	if err != nil {
		s.t.Fatalf("download %s/%s: %v", container, path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return []byte(b.String())
}
