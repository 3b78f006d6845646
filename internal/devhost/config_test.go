package devhost

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestResolveSettings(t *testing.T) {
	s := NewSettings(func(k string) string {
		return map[string]string{"WATCH_SCHEDULE": "0 */1 * * * *", "BOTH": "from-env"}[k]
	}, map[string]string{"QUEUE": "arr-blob-created", "BOTH": "from-file", "EMPTY": ""})
	tests := []struct {
		in, want, err string
	}{
		{in: "%WATCH_SCHEDULE%", want: "0 */1 * * * *"},
		{in: "%QUEUE%", want: "arr-blob-created"},
		{in: "%BOTH%", want: "from-env"}, // the environment wins, as with Core Tools
		{in: "prefix-%QUEUE%-%QUEUE%", want: "prefix-arr-blob-created-arr-blob-created"},
		{in: "no reference", want: "no reference"},
		{in: "100% sure", want: "100% sure"},
		{in: "%MISSING%", err: `setting "MISSING"`},
		{in: "%EMPTY%", err: `setting "EMPTY"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := s.Resolve(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Resolve(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSchedule(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 37, 41, 0, time.UTC)
	tests := []struct {
		expr      string
		next      time.Time
		subMinute bool
		err       string
	}{
		{expr: "0 */5 * * * *", next: time.Date(2026, 11, 23, 12, 40, 0, 0, time.UTC)},
		{expr: "0 0 * * * *", next: time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)},
		{expr: "*/10 * * * * *", next: time.Date(2026, 11, 23, 12, 37, 50, 0, time.UTC), subMinute: true},
		{expr: "30 15 9 * * MON-FRI", next: time.Date(2026, 11, 24, 9, 15, 30, 0, time.UTC)},
		{expr: "0 0 0 1 Jan *", next: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{expr: "00:05:00", next: at.Add(5 * time.Minute)},
		{expr: "00:00:30", next: at.Add(30 * time.Second), subMinute: true},
		{expr: "*/5 * * * *", err: "six fields"},
		{expr: "0 */5 * * * * *", err: "six fields"},
		{expr: "@every 5m", err: "six fields"},
		{expr: "0 61 * * * *", err: "schedule"},
		{expr: "", err: "six fields"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := ParseSchedule(tt.expr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSchedule(%q) error %v, want %q", tt.expr, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(at); !got.Equal(tt.next) {
				t.Errorf("Next = %s, want %s", got, tt.next)
			}
			if s.SubMinute() != tt.subMinute {
				t.Errorf("SubMinute = %v, want %v", s.SubMinute(), tt.subMinute)
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "00:05:00", want: 5 * time.Minute},
		{in: "01:00:00", want: time.Hour},
		{in: "1.02:00:00", want: 26 * time.Hour},
		{in: "00:00:00.250", want: 250 * time.Millisecond},
		{in: "5", bad: true},
		{in: "00:61:00", bad: true},
		{in: "x:00:00", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseTimeSpan(tt.in)
		if tt.bad != (err != nil) || (!tt.bad && got != tt.want) {
			t.Errorf("ParseTimeSpan(%q) = %s, %v", tt.in, got, err)
		}
	}
}

func writeRoot(t *testing.T, host string, functions map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if host != "" {
		if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(host), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, fj := range functions {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(fj), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLoadAppErrors(t *testing.T) {
	settings := NewSettings(nil, map[string]string{"WATCH_SCHEDULE": "0 */1 * * * *"})
	host := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}}}`
	timer := `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"%WATCH_SCHEDULE%"}]}`
	tests := []struct {
		name      string
		host      string
		functions map[string]string
		err       string
	}{
		{name: "no host.json", functions: map[string]string{"watch": timer}, err: "host.json"},
		{name: "broken host.json", host: "{\n\"version\": ,", functions: map[string]string{"watch": timer}, err: "host.json: line 2"},
		{name: "bad encoding", host: `{"extensions":{"queues":{"messageEncoding":"utf8"}}}`, functions: map[string]string{"watch": timer}, err: "messageEncoding"},
		{name: "bad timeout", host: `{"functionTimeout":"five minutes"}`, functions: map[string]string{"watch": timer}, err: "functionTimeout"},
		{name: "no functions", host: host, err: "no functions"},
		{name: "broken function.json", host: host, functions: map[string]string{"watch": `{"bindings":[`}, err: "function watch: function.json"},
		{name: "no trigger", host: host, functions: map[string]string{"watch": `{"bindings":[{"name":"res","type":"http","direction":"out"}]}`}, err: "function watch: no trigger binding"},
		{name: "two triggers", host: host, functions: map[string]string{"watch": `{"bindings":[{"name":"a","type":"timerTrigger","schedule":"0 * * * * *"},{"name":"b","type":"queueTrigger","queueName":"q"}]}`}, err: "more than one trigger"},
		{name: "missing setting", host: host, functions: map[string]string{"watch": `{"bindings":[{"name":"t","type":"timerTrigger","schedule":"%NOPE%"}]}`}, err: `function watch: binding 0 (t) property schedule: setting "NOPE"`},
		{name: "five-field cron", host: host, functions: map[string]string{"watch": `{"bindings":[{"name":"t","type":"timerTrigger","schedule":"*/5 * * * *"}]}`}, err: "six fields"},
		{name: "no schedule", host: host, functions: map[string]string{"watch": `{"bindings":[{"name":"t","type":"timerTrigger"}]}`}, err: "schedule is required"},
		{name: "no queue name", host: host, functions: map[string]string{"convert": `{"bindings":[{"name":"msg","type":"queueTrigger"}]}`}, err: "queueName is required"},
		{name: "bad method", host: host, functions: map[string]string{"report": `{"bindings":[{"name":"req","type":"httpTrigger","methods":["fetch"]}]}`}, err: `unknown method "fetch"`},
		{name: "unknown trigger", host: host, functions: map[string]string{"blob": `{"bindings":[{"name":"b","type":"blobTrigger","path":"x/{name}"}]}`}, err: "not supported"},
		{name: "binding without type", host: host, functions: map[string]string{"watch": `{"bindings":[{"name":"t"}]}`}, err: "name and type are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeRoot(t, tt.host, tt.functions)
			_, err := LoadApp(root, settings)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("LoadApp error %v, want it to contain %q", err, tt.err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoadAppFromFixtures(t *testing.T) {
	root := t.TempDir()
	copyFile := func(src, dst string) {
		b := fixture(t, src)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("bindings/host.json.example", filepath.Join(root, "host.json"))
	for fn, src := range map[string]string{"watch": "timer-trigger", "convert": "queue-trigger", "commands": "servicebus-trigger", "report": "http-trigger"} {
		copyFile("bindings/"+src+".function.json", filepath.Join(root, "functions", fn, "function.json"))
	}
	app, err := LoadApp(root, NewSettings(nil, map[string]string{"WATCH_SCHEDULE": "0 */1 * * * *"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Functions) != 4 {
		t.Fatalf("%d functions", len(app.Functions))
	}
	h := app.Host
	if h.Executable != "handler" || h.Queues.MessageEncoding != "base64" || h.Queues.MaxDequeueCount != 5 ||
		h.Queues.VisibilityTimeout != 30*time.Second || h.Queues.BatchSize != 16 || h.MaxConcurrentCalls != 4 ||
		h.RoutePrefix != "api" || h.FunctionTimeout != DefaultFunctionTimeout {
		t.Errorf("host config %+v", h)
	}
	if w := app.Function("WATCH"); w == nil || w.Trigger.Schedule != "0 */1 * * * *" {
		t.Errorf("watch trigger %+v", w)
	}
	if c := app.Function("convert"); c.Trigger.QueueName != "arr-blob-created" || len(c.Outputs) != 1 || c.Outputs[0].Name != "outQueue" {
		t.Errorf("convert %+v", c)
	}
	if r := app.Function("report"); r.Trigger.AuthLevel != "function" || r.Trigger.Route != "report" || r.Trigger.Methods[0] != "get" {
		t.Errorf("report %+v", r)
	}
}

func TestLoadAppSkipsDisabled(t *testing.T) {
	host := `{"version":"2.0"}`
	root := writeRoot(t, host, map[string]string{
		"a": `{"disabled":true,"bindings":[{"name":"t","type":"timerTrigger","schedule":"0 * * * * *"}]}`,
		"b": `{"bindings":[{"name":"t","type":"timerTrigger","schedule":"0 * * * * *"}]}`,
		"c": `{"bindings":[{"name":"t","type":"timerTrigger","schedule":"0 * * * * *"}]}`,
	})
	app, err := LoadApp(root, NewSettings(nil, map[string]string{"AzureWebJobs.c.Disabled": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Functions) != 1 || app.Functions[0].Name != "b" {
		t.Fatalf("functions %v", app.Functions)
	}
}

func TestLoadLocalSettings(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "local.settings.json")
	if err := os.WriteFile(p, []byte(`{"IsEncrypted":false,"Values":{"A":"x","N":5,"B":true,"Z":null}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := LoadLocalSettings(p)
	if err != nil {
		t.Fatal(err)
	}
	if v["A"] != "x" || v["N"] != "5" || v["B"] != "true" || len(v) != 3 {
		t.Fatalf("values %v", v)
	}
	if v, err := LoadLocalSettings(filepath.Join(dir, "missing.json")); err != nil || len(v) != 0 {
		t.Fatalf("missing file: %v %v", v, err)
	}
}

func TestParseScheduleRejectsTZPrefix(t *testing.T) {
	// Found by FuzzParseSchedule: robfig loads zone files for TZ= prefixes.
	if _, err := ParseSchedule("TZ=Europe/Vienna 0 * * * *"); err == nil || !strings.Contains(err.Error(), "TZ=") {
		t.Fatalf("err = %v", err)
	}
}

func TestForwardPrefixesLines(t *testing.T) {
	var out strings.Builder
	s := NewSupervisor(ProcessConfig{Output: &out})
	long := strings.Repeat("x", 70*1024)
	in := "one\r\ntwo\n" + long + "\nlast without newline"
	var wg sync.WaitGroup
	wg.Add(1)
	s.forward(&wg, strings.NewReader(in), handlerLine)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 5 || lines[0] != "[handler] one" || lines[1] != "[handler] two" || lines[4] != "[handler] last without newline" ||
		len(lines[2])+len(lines[3]) != len(long)+2*len(stdoutPrefix) {
		t.Fatalf("forwarded %d lines: %.60q", len(lines), lines)
	}
}

// A handler line shows its level in front when it is a JSON line with one;
// anything else is printed as it came.
func TestHandlerLine(t *testing.T) {
	tests := []struct{ line, want string }{
		{`{"time":"2026-12-04T16:00:00Z","level":"WARN","msg":"sweep failed"}`, `[handler] WARN {"time":"2026-12-04T16:00:00Z","level":"WARN","msg":"sweep failed"}`},
		{`{"level":"ERROR","msg":"x"}`, `[handler] ERROR {"level":"ERROR","msg":"x"}`},
		{`{"level":"INFO+2","msg":"x"}`, `[handler] INFO+2 {"level":"INFO+2","msg":"x"}`},
		{`{"msg":"no level"}`, `[handler] {"msg":"no level"}`},
		{`{"level":"not a level","msg":"x"}`, `[handler] {"level":"not a level","msg":"x"}`},
		{`{"level":7}`, `[handler] {"level":7}`},
		{`{"level":"WARN"`, `[handler] {"level":"WARN"`},
		{`level=WARN msg=text`, `[handler] level=WARN msg=text`},
		{``, `[handler] `},
	}
	for _, tt := range tests {
		if got := handlerLine(tt.line); got != tt.want {
			t.Errorf("handlerLine(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestLoadLocalSettingsDevNull(t *testing.T) {
	v, err := LoadLocalSettings(os.DevNull)
	if err != nil || len(v) != 0 {
		t.Fatalf("LoadLocalSettings(%s) = %v, %v", os.DevNull, v, err)
	}
}
