package devhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Trigger and binding types understood by devhost (function.json "type").
const (
	TypeTimer         = "timerTrigger"
	TypeQueue         = "queueTrigger"
	TypeServiceBus    = "serviceBusTrigger"
	TypeHTTP          = "httpTrigger"
	TypeHTTPOut       = "http"
	TypeQueueOut      = "queue"
	TypeServiceBusOut = "serviceBus"
)

// Defaults of the real host that devhost applies when host.json is silent.
const (
	DefaultMaxDequeueCount    = 5
	DefaultBatchSize          = 16
	DefaultMaxDeliveryCount   = 10
	DefaultMaxConcurrentCalls = 16
	DefaultRoutePrefix        = "api"
	DefaultFunctionTimeout    = 30 * time.Minute
	// The queue extension's default (QueuePollingIntervals.DefaultMaximum):
	// after empty polls the delay doubles from 100 ms up to this. arrops'
	// host.json sets extensions.queues.maxPollingInterval to 2 s, so delayed
	// messages on arr-due are seen within 2 s of falling due, here as in Azure.
	DefaultMaxPollingInterval = time.Minute
)

// HostConfig is the part of host.json that devhost honours.
type HostConfig struct {
	// FunctionTimeout bounds one invocation; 0 means none ("-1" in host.json).
	FunctionTimeout time.Duration
	Executable      string
	Arguments       []string
	WorkingDir      string
	// EnableForwardingHTTPRequest is recorded only: devhost always sends the
	// invocation payload (the shape arrops' handler expects) and warns otherwise.
	EnableForwardingHTTPRequest bool
	Queues                      QueueOptions
	MaxConcurrentCalls          int
	RoutePrefix                 string
}

// QueueOptions mirror host.json extensions.queues.
type QueueOptions struct {
	MessageEncoding    string // "base64" (default) or "none"
	MaxDequeueCount    int
	VisibilityTimeout  time.Duration // delay before a failed message is visible again
	BatchSize          int
	MaxPollingInterval time.Duration
}

// Binding is one entry of function.json "bindings", after %SETTING% resolution.
type Binding struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	Schedule     string   `json:"schedule"`
	RunOnStartup bool     `json:"runOnStartup"`
	UseMonitor   *bool    `json:"useMonitor"`
	QueueName    string   `json:"queueName"`
	Connection   string   `json:"connection"`
	AuthLevel    string   `json:"authLevel"`
	Methods      []string `json:"methods"`
	Route        string   `json:"route"`
}

// Function is one function folder: its name (the folder name, also the path the
// handler is invoked on) and its bindings.
type Function struct {
	Name     string
	Dir      string
	Trigger  Binding
	Outputs  []Binding
	Bindings []Binding
}

// App is a loaded deployment root.
type App struct {
	Root      string
	Host      HostConfig
	Functions []*Function
}

// Function returns the function with the given name (case-insensitive, as the
// host's admin API matches), or nil.
func (a *App) Function(name string) *Function {
	for _, f := range a.Functions {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// Settings resolves app settings: the process environment wins over the Values of
// local.settings.json, as with Core Tools.
type Settings struct {
	getenv func(string) string
	values map[string]string
}

// NewSettings builds Settings from getenv and the Values of local (may be nil).
func NewSettings(getenv func(string) string, local map[string]string) *Settings {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if local == nil {
		local = map[string]string{}
	}
	return &Settings{getenv: getenv, values: local}
}

// Get returns the setting's value and whether it is set (non-empty).
func (s *Settings) Get(name string) (string, bool) {
	if v := s.getenv(name); v != "" {
		return v, true
	}
	v := s.values[name]
	return v, v != ""
}

// Local returns the local.settings.json values (for the handler's environment).
func (s *Settings) Local() map[string]string { return s.values }

// LoadLocalSettings reads the Values object of a local.settings.json file. A
// missing file is not an error: the settings then come from the environment.
func LoadLocalSettings(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return map[string]string{}, nil // -settings /dev/null: environment only
	}
	var doc struct {
		Values map[string]any `json:"Values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, jsonErr(b, err))
	}
	out := make(map[string]string, len(doc.Values))
	for k, v := range doc.Values {
		switch v := v.(type) {
		case string:
			out[k] = v
		case nil:
		default: // Core Tools accepts numbers and booleans and passes their text
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out, nil
}

var settingRef = regexp.MustCompile(`%([^%\s]+)%`)

// Resolve replaces every %NAME% in s with the setting NAME, failing on the first
// one that is not set (the host refuses to index such a function as well).
func (s *Settings) Resolve(in string) (string, error) {
	var missing string
	out := settingRef.ReplaceAllStringFunc(in, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := s.Get(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("setting %q (referenced as %%%s%%) is not set", missing, missing)
	}
	return out, nil
}

// LoadApp reads root/host.json and every function.json under root/functions/*/
// and root/*/ (the deployment layout), resolving %SETTING% references.
func LoadApp(root string, settings *Settings) (*App, error) {
	host, err := loadHost(filepath.Join(root, "host.json"))
	if err != nil {
		return nil, err
	}
	app := &App{Root: root, Host: host}
	var paths []string
	for _, pattern := range []string{"*/function.json", "functions/*/function.json"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	seen := map[string]string{}
	for _, p := range paths {
		dir := filepath.Dir(p)
		name := filepath.Base(dir)
		if prev, dup := seen[strings.ToLower(name)]; dup {
			return nil, fmt.Errorf("function %s: defined twice (%s and %s)", name, prev, p)
		}
		seen[strings.ToLower(name)] = p
		fn, err := loadFunction(p, name, settings)
		if err != nil {
			return nil, err
		}
		if fn == nil {
			continue // disabled
		}
		fn.Dir = dir
		app.Functions = append(app.Functions, fn)
	}
	if len(app.Functions) == 0 {
		return nil, fmt.Errorf("no functions: no function.json under %s/*/ or %s/functions/*/", root, root)
	}
	return app, nil
}

func loadHost(path string) (HostConfig, error) {
	h := HostConfig{
		FunctionTimeout: DefaultFunctionTimeout,
		Queues: QueueOptions{MessageEncoding: "base64", MaxDequeueCount: DefaultMaxDequeueCount,
			BatchSize: DefaultBatchSize, MaxPollingInterval: DefaultMaxPollingInterval},
		MaxConcurrentCalls: DefaultMaxConcurrentCalls,
		RoutePrefix:        DefaultRoutePrefix,
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return h, fmt.Errorf("host.json: %w", err)
	}
	var doc struct {
		FunctionTimeout *string `json:"functionTimeout"`
		CustomHandler   struct {
			Description struct {
				DefaultExecutablePath string   `json:"defaultExecutablePath"`
				WorkingDirectory      string   `json:"workingDirectory"`
				Arguments             []string `json:"arguments"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			Queues struct {
				MessageEncoding    string `json:"messageEncoding"`
				MaxDequeueCount    *int   `json:"maxDequeueCount"`
				VisibilityTimeout  string `json:"visibilityTimeout"`
				BatchSize          *int   `json:"batchSize"`
				MaxPollingInterval string `json:"maxPollingInterval"`
			} `json:"queues"`
			ServiceBus struct {
				MaxConcurrentCalls *int `json:"maxConcurrentCalls"`
			} `json:"serviceBus"`
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return h, fmt.Errorf("host.json: %w", jsonErr(b, err))
	}
	if doc.FunctionTimeout != nil {
		if strings.TrimSpace(*doc.FunctionTimeout) == "-1" {
			h.FunctionTimeout = 0
		} else if h.FunctionTimeout, err = ParseTimeSpan(*doc.FunctionTimeout); err != nil {
			return h, fmt.Errorf("host.json: functionTimeout: %w", err)
		}
	}
	d := doc.CustomHandler.Description
	h.Executable, h.Arguments, h.WorkingDir = d.DefaultExecutablePath, d.Arguments, d.WorkingDirectory
	h.EnableForwardingHTTPRequest = doc.CustomHandler.EnableForwardingHTTPRequest
	q := doc.Extensions.Queues
	switch strings.ToLower(q.MessageEncoding) {
	case "", "base64":
	case "none":
		h.Queues.MessageEncoding = "none"
	default:
		return h, fmt.Errorf("host.json: extensions.queues.messageEncoding %q: want base64 or none", q.MessageEncoding)
	}
	if q.MaxDequeueCount != nil {
		if *q.MaxDequeueCount < 1 {
			return h, fmt.Errorf("host.json: extensions.queues.maxDequeueCount %d: want >= 1", *q.MaxDequeueCount)
		}
		h.Queues.MaxDequeueCount = *q.MaxDequeueCount
	}
	if q.BatchSize != nil {
		if *q.BatchSize < 1 || *q.BatchSize > 32 {
			return h, fmt.Errorf("host.json: extensions.queues.batchSize %d: want 1..32", *q.BatchSize)
		}
		h.Queues.BatchSize = *q.BatchSize
	}
	if q.VisibilityTimeout != "" {
		if h.Queues.VisibilityTimeout, err = ParseTimeSpan(q.VisibilityTimeout); err != nil {
			return h, fmt.Errorf("host.json: extensions.queues.visibilityTimeout: %w", err)
		}
	}
	if q.MaxPollingInterval != "" {
		if h.Queues.MaxPollingInterval, err = ParseTimeSpan(q.MaxPollingInterval); err != nil {
			return h, fmt.Errorf("host.json: extensions.queues.maxPollingInterval: %w", err)
		}
	}
	if n := doc.Extensions.ServiceBus.MaxConcurrentCalls; n != nil && *n > 0 {
		h.MaxConcurrentCalls = *n
	}
	if p := doc.Extensions.HTTP.RoutePrefix; p != nil {
		h.RoutePrefix = strings.Trim(*p, "/")
	}
	return h, nil
}

// loadFunction parses one function.json; it returns nil for a disabled function.
func loadFunction(path, name string, settings *Settings) (*Function, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("function %s: %s", name, fmt.Sprintf(format, args...))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fail("%v", err)
	}
	var doc struct {
		Disabled any               `json:"disabled"`
		Bindings []json.RawMessage `json:"bindings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fail("function.json: %v", jsonErr(b, err))
	}
	if disabled(doc.Disabled) {
		return nil, nil
	}
	if v, ok := settings.Get("AzureWebJobs." + name + ".Disabled"); ok && strings.EqualFold(v, "true") {
		return nil, nil
	}
	fn := &Function{Name: name}
	for i, raw := range doc.Bindings {
		var generic map[string]any
		if err := json.Unmarshal(raw, &generic); err != nil {
			return nil, fail("binding %d: not an object", i)
		}
		// Resolve %SETTING% in every string property, then decode the typed view.
		for k, v := range generic {
			if s, ok := v.(string); ok {
				r, err := settings.Resolve(s)
				if err != nil {
					return nil, fail("binding %d (%v) property %s: %v", i, generic["name"], k, err)
				}
				generic[k] = r
			}
		}
		resolved, _ := json.Marshal(generic)
		var bd Binding
		if err := json.Unmarshal(resolved, &bd); err != nil {
			return nil, fail("binding %d: %v", i, err)
		}
		if bd.Name == "" || bd.Type == "" {
			return nil, fail("binding %d: name and type are required", i)
		}
		fn.Bindings = append(fn.Bindings, bd)
		if strings.HasSuffix(strings.ToLower(bd.Type), "trigger") {
			if fn.Trigger.Type != "" {
				return nil, fail("more than one trigger (%s and %s)", fn.Trigger.Name, bd.Name)
			}
			fn.Trigger = bd
			continue
		}
		if strings.EqualFold(bd.Direction, "out") || strings.EqualFold(bd.Direction, "inout") {
			fn.Outputs = append(fn.Outputs, bd)
		}
	}
	if fn.Trigger.Type == "" {
		return nil, fail("no trigger binding")
	}
	t := &fn.Trigger
	switch t.Type {
	case TypeTimer:
		if t.Schedule == "" {
			return nil, fail("timerTrigger %s: schedule is required", t.Name)
		}
		if _, err := ParseSchedule(t.Schedule); err != nil {
			return nil, fail("timerTrigger %s: %v", t.Name, err)
		}
	case TypeQueue, TypeServiceBus:
		if t.QueueName == "" {
			return nil, fail("%s %s: queueName is required (topics are not supported by devhost)", t.Type, t.Name)
		}
		if t.Type == TypeQueue && t.Connection == "" {
			t.Connection = "AzureWebJobsStorage"
		}
		t.QueueName = strings.ToLower(t.QueueName)
	case TypeHTTP:
		for _, m := range t.Methods {
			switch strings.ToUpper(m) {
			case "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "TRACE":
			default:
				return nil, fail("httpTrigger %s: unknown method %q", t.Name, m)
			}
		}
		switch strings.ToLower(t.AuthLevel) {
		case "", "anonymous", "function", "admin", "system":
		default:
			return nil, fail("httpTrigger %s: unknown authLevel %q", t.Name, t.AuthLevel)
		}
	default:
		return nil, fail("trigger type %q is not supported by devhost", t.Type)
	}
	return fn, nil
}

func disabled(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// jsonErr adds the line of a JSON syntax error, which encoding/json reports only
// as a byte offset.
func jsonErr(b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + strings.Count(string(b[:min(int(se.Offset), len(b))]), "\n")
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

// ParseTimeSpan parses a .NET TimeSpan as host.json writes it: "hh:mm:ss",
// "d.hh:mm:ss" or with a fraction "hh:mm:ss.fff".
func ParseTimeSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days int64
	rest := s
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("timespan %q: bad days", s)
		}
		days, rest = d, s[i+1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("timespan %q: want hh:mm:ss", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("timespan %q: want hh:mm:ss", s)
	}
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second)), nil
}
