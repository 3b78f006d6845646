package trigger

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrops/arrops/internal/modroot"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFixture(t testing.TB, name string) *Invocation {
	t.Helper()
	inv, err := DecodeInvocation(readFixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return inv
}

// sharedFixtures is the shared Functions payload fixtures folder.
func sharedFixtures(t *testing.T) string {
	t.Helper()
	shared, err := modroot.Shared()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(shared, "fixtures", "functions")
}

// TestFixturesMatchShared keeps testdata/ a faithful copy of the shared
// fixtures, and makes sure no shared fixture is left untested.
func TestFixturesMatchShared(t *testing.T) {
	shared := sharedFixtures(t)
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared fixtures not present: %v", err)
	}
	var n int
	err := filepath.WalkDir(shared, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "README.md" {
			return err
		}
		rel, _ := filepath.Rel(shared, path)
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join("testdata", rel))
		if err != nil {
			t.Errorf("testdata copy missing: %v", err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from the shared fixture", rel)
		}
		if _, covered := fixtureCoverage[rel]; !covered {
			t.Errorf("shared fixture %s is not covered by a decode test", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(fixtureCoverage) {
		t.Errorf("%d shared fixtures, %d covered", n, len(fixtureCoverage))
	}
}

// fixtureCoverage names the test that decodes each fixture with asserted
// values.
var fixtureCoverage = map[string]string{
	"cloudevents-blobcreated-event.json":         "TestDecodeBlobEventsFixtures",
	"eventgrid-blobcreated-event.json":           "TestDecodeBlobEventsFixtures",
	"http-trigger-get-captured.json":             "TestDecodeHTTPFixtures",
	"http-trigger-get.json":                      "TestDecodeHTTPFixtures",
	"queue-trigger-adls-flushwithclose.json":     "TestDecodeQueueFixtures",
	"queue-trigger-blobcreated-base64.json":      "TestDecodeQueueFixtures",
	"queue-trigger-blobcreated-cloudevents.json": "TestDecodeQueueFixtures",
	"queue-trigger-blobcreated-eventgrid.json":   "TestDecodeQueueFixtures",
	"queue-trigger-captured-gewoscout.json":      "TestDecodeQueueFixtures",
	"response-empty.json":                        "TestDecodeResponseFixtures",
	"response-http.json":                         "TestDecodeResponseFixtures",
	"response-queue-output.json":                 "TestDecodeResponseFixtures",
	"servicebus-trigger-malformed.json":          "TestDecodeServiceBusFixtures",
	"servicebus-trigger-redelivery.json":         "TestDecodeServiceBusFixtures",
	"servicebus-trigger-start-command.json":      "TestDecodeServiceBusFixtures",
	"timer-trigger-pastdue.json":                 "TestDecodeTimerFixtures",
	"timer-trigger-schedulestatus-null.json":     "TestDecodeTimerFixtures",
	"timer-trigger.json":                         "TestDecodeTimerFixtures",
	"bindings/host.json.example":                 "TestBindingsFixtures",
	"bindings/http-trigger.function.json":        "TestBindingsFixtures",
	"bindings/queue-trigger.function.json":       "TestBindingsFixtures",
	"bindings/servicebus-trigger.function.json":  "TestBindingsFixtures",
	"bindings/timer-trigger.function.json":       "TestBindingsFixtures",
}

// TestBindingsFixtures checks that the function.json binding names are the
// Data keys the invocation fixtures use and decode under, and that host.json
// holds the settings this package's decoding assumes.
func TestBindingsFixtures(t *testing.T) {
	type binding struct {
		Name, Type, Direction string
	}
	tests := []struct {
		functionJSON string
		fixture      string
		wantTrigger  binding
		decode       func(*Invocation, string) error
		outputs      []binding
	}{
		{"bindings/http-trigger.function.json", "http-trigger-get.json", binding{"req", "httpTrigger", "in"},
			func(inv *Invocation, b string) error { _, err := inv.HTTPRequest(b); return err },
			[]binding{{"res", "http", "out"}}},
		{"bindings/queue-trigger.function.json", "queue-trigger-blobcreated-eventgrid.json", binding{"msg", "queueTrigger", "in"},
			func(inv *Invocation, b string) error { _, err := inv.QueueMessage(b); return err },
			[]binding{{"outQueue", "queue", "out"}}},
		{"bindings/servicebus-trigger.function.json", "servicebus-trigger-start-command.json", binding{"cmd", "serviceBusTrigger", "in"},
			func(inv *Invocation, b string) error { _, err := inv.ServiceBusMessage(b); return err }, nil},
		{"bindings/timer-trigger.function.json", "timer-trigger.json", binding{"timer", "timerTrigger", "in"},
			func(inv *Invocation, b string) error { _, err := inv.Timer(b); return err }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.functionJSON, func(t *testing.T) {
			var fj struct{ Bindings []binding }
			if err := json.Unmarshal(readFixture(t, tt.functionJSON), &fj); err != nil {
				t.Fatal(err)
			}
			if len(fj.Bindings) != 1+len(tt.outputs) {
				t.Fatalf("bindings = %+v", fj.Bindings)
			}
			if fj.Bindings[0] != tt.wantTrigger {
				t.Errorf("trigger binding = %+v, want %+v", fj.Bindings[0], tt.wantTrigger)
			}
			for i, o := range tt.outputs {
				if fj.Bindings[1+i] != o {
					t.Errorf("output binding = %+v, want %+v", fj.Bindings[1+i], o)
				}
			}
			inv := decodeFixture(t, tt.fixture)
			if _, ok := inv.Data[tt.wantTrigger.Name]; !ok || len(inv.Data) != 1 {
				t.Errorf("%s Data keys %v, want only %q", tt.fixture, keys(inv.Data), tt.wantTrigger.Name)
			}
			if err := tt.decode(inv, tt.wantTrigger.Name); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("host.json.example", func(t *testing.T) {
		var host struct {
			ExtensionBundle struct{ ID, Version string }
			CustomHandler   struct {
				Description struct {
					DefaultExecutablePath string
				}
				EnableForwardingHttpRequest bool
			}
			Extensions struct {
				Queues struct {
					MessageEncoding string
					MaxDequeueCount int
				}
				HTTP struct{ RoutePrefix string }
			}
		}
		if err := json.Unmarshal(readFixture(t, "bindings/host.json.example"), &host); err != nil {
			t.Fatal(err)
		}
		// This package decodes the non-forwarding HTTP shape and base64-decoded queue text.
		if host.CustomHandler.EnableForwardingHttpRequest {
			t.Error("enableForwardingHttpRequest = true; HTTPRequest decodes the non-forwarded shape")
		}
		if host.CustomHandler.Description.DefaultExecutablePath != "handler" {
			t.Errorf("defaultExecutablePath = %q", host.CustomHandler.Description.DefaultExecutablePath)
		}
		if host.Extensions.Queues.MessageEncoding != "base64" || host.Extensions.Queues.MaxDequeueCount != 5 {
			t.Errorf("queues = %+v", host.Extensions.Queues)
		}
		if host.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" || host.ExtensionBundle.Version != "[4.*, 5.0.0)" {
			t.Errorf("extensionBundle = %+v", host.ExtensionBundle)
		}
		if host.Extensions.HTTP.RoutePrefix != "api" {
			t.Errorf("routePrefix = %q", host.Extensions.HTTP.RoutePrefix)
		}
	})
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }
