package devhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// DevFunctionKey is the function key devhost accepts when none is configured. It
// is a fixed, public development value (printed at start), not a secret.
const DevFunctionKey = "devhost-local-function-key"

// DevMasterKey is the master key devhost's admin API (/admin/...) accepts
// when none is configured; like the host, it takes no function key there.
// A fixed, public development value, not a secret.
const DevMasterKey = "devhost-local-master-key"

// Options configure a Host.
type Options struct {
	// Root is the deployment root holding host.json and the function folders.
	Root string
	// SettingsFile is local.settings.json; default <Root>/local.settings.json.
	SettingsFile string
	// Handler overrides host.json customHandler.description.defaultExecutablePath.
	Handler string
	// FunctionKey is the key for authLevel function/admin routes; default the
	// setting DEVHOST_FUNCTION_KEY, else DevFunctionKey.
	FunctionKey string
	// MasterKey is the key of the admin API; default the setting
	// DEVHOST_MASTER_KEY, else DevMasterKey.
	MasterKey string
	// ServiceBusLocal forces Service Bus triggers onto Azurite queues.
	ServiceBusLocal bool
	// Functions, when set, limits devhost to these functions (like func start --functions).
	Functions []string
	// Getenv reads the process environment; Environ is its full list, the base of
	// the handler's environment.
	Getenv  func(string) string
	Environ []string
	// Stdout receives devhost's slog lines and the handler's prefixed output.
	Stdout io.Writer
	// StartTimeout bounds the handler's start-up (default 60 s).
	StartTimeout time.Duration
	// MinPollInterval is the first queue polling delay after an empty poll
	// (default 100 ms); it doubles up to extensions.queues.maxPollingInterval.
	MinPollInterval time.Duration
}

// Host is a running devhost: handler supervisor, trigger listeners and HTTP front.
type Host struct {
	opts     Options
	app      *App
	settings *Settings
	out      *lockedWriter
	log      *slog.Logger
	sup      *Supervisor
	inv      *Invoker
	key      string
	master   string
	loc      *time.Location
	now      func() time.Time

	timers   map[string]*timerFunc
	statuses *statusStore // nil: timer status in memory only
	sbSeq    sequence

	mu       sync.Mutex
	services map[string]*azqueue.ServiceClient
}

// New loads the app from opts.Root and prepares (but does not start) the host.
func New(opts Options) (*Host, error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	opts.Root = root
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.MinPollInterval == 0 {
		opts.MinPollInterval = 100 * time.Millisecond
	}
	if opts.SettingsFile == "" {
		opts.SettingsFile = filepath.Join(opts.Root, "local.settings.json")
	}
	local, err := LoadLocalSettings(opts.SettingsFile)
	if err != nil {
		return nil, err
	}
	settings := NewSettings(opts.Getenv, local)
	app, err := LoadApp(opts.Root, settings)
	if err != nil {
		return nil, err
	}
	if len(opts.Functions) > 0 {
		var keep []*Function
		for _, name := range opts.Functions {
			fn := app.Function(name)
			if fn == nil {
				return nil, fmt.Errorf("-functions: no function named %q", name)
			}
			keep = append(keep, fn)
		}
		app.Functions = keep
	}
	out := &lockedWriter{w: opts.Stdout}
	h := &Host{opts: opts, app: app, settings: settings, out: out,
		log:      slog.New(slog.NewTextHandler(out, nil)),
		loc:      time.UTC,
		now:      time.Now,
		timers:   map[string]*timerFunc{},
		services: map[string]*azqueue.ServiceClient{}}
	if tz, ok := settings.Get("WEBSITE_TIME_ZONE"); ok {
		if h.loc, err = time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("setting WEBSITE_TIME_ZONE: %w", err)
		}
	}
	h.key = opts.FunctionKey
	if h.key == "" {
		h.key, _ = settings.Get("DEVHOST_FUNCTION_KEY")
	}
	if h.key == "" {
		h.key = DevFunctionKey
	}
	h.master = opts.MasterKey
	if h.master == "" {
		h.master, _ = settings.Get("DEVHOST_MASTER_KEY")
	}
	if h.master == "" {
		h.master = DevMasterKey
	}
	if app.Host.EnableForwardingHTTPRequest {
		h.log.Warn("host.json enableForwardingHttpRequest is true; devhost sends invocation payloads for HTTP triggers anyway")
	}
	for _, fn := range app.Functions {
		if err := h.prepare(fn); err != nil {
			return nil, err
		}
	}
	if len(h.timers) > 0 {
		if h.statuses, err = h.newStatusStore(); err != nil {
			return nil, err
		}
	}
	h.sup = NewSupervisor(ProcessConfig{
		Path:         h.handlerPath(),
		Args:         app.Host.Arguments,
		Dir:          h.handlerDir(),
		Env:          h.handlerEnv(),
		Output:       out,
		Logger:       h.log,
		StartTimeout: opts.StartTimeout,
	})
	h.inv = NewInvoker(h.sup, app.Host.FunctionTimeout, h.log)
	return h, nil
}

// Supervisor returns the handler supervisor (for status and tests).
func (h *Host) Supervisor() *Supervisor { return h.sup }

// prepare validates what a function needs before anything starts, so that a
// missing setting is one clear error at start-up rather than a loop of failures.
func (h *Host) prepare(fn *Function) error {
	switch fn.Trigger.Type {
	case TypeTimer:
		t, err := newTimerFunc(fn, h.now().In(h.loc))
		if err != nil {
			return err
		}
		h.timers[fn.Name] = t
	case TypeQueue:
		if _, err := h.queueService(fn.Trigger.Connection); err != nil {
			return fmt.Errorf("function %s: %w", fn.Name, err)
		}
	case TypeServiceBus:
		if !h.serviceBusLocal(fn.Trigger) {
			return fmt.Errorf("function %s: setting %s holds a Service Bus connection, which devhost cannot drive; run with -sb-local to carry queue %s on Azurite",
				fn.Name, fn.Trigger.Connection, fn.Trigger.QueueName)
		}
		if _, err := h.queueService("AzureWebJobsStorage"); err != nil {
			return fmt.Errorf("function %s (local Service Bus): %w", fn.Name, err)
		}
	}
	for _, o := range fn.Outputs {
		switch o.Type {
		case TypeHTTPOut:
		case TypeQueueOut:
			if _, err := h.queueService(orDefault(o.Connection, "AzureWebJobsStorage")); err != nil {
				return fmt.Errorf("function %s output %s: %w", fn.Name, o.Name, err)
			}
		case TypeServiceBusOut:
			if !h.serviceBusLocal(o) {
				return fmt.Errorf("function %s output %s: only local Service Bus outputs are supported (-sb-local)", fn.Name, o.Name)
			}
		default:
			h.log.Warn("output binding not supported by devhost; its values are dropped",
				"function", fn.Name, "binding", o.Name, "type", o.Type)
		}
	}
	return nil
}

func (h *Host) serviceBusLocal(b Binding) bool {
	if h.opts.ServiceBusLocal {
		return true
	}
	_, set := h.settings.Get(orDefault(b.Connection, "AzureWebJobsServiceBus"))
	return !set
}

// serviceBusNamespace is what Metadata.Client reports in local mode.
func (h *Host) serviceBusNamespace(b Binding) string {
	conn := orDefault(b.Connection, "AzureWebJobsServiceBus")
	if ns, ok := h.settings.Get(conn + "__fullyQualifiedNamespace"); ok {
		return ns
	}
	if cs, ok := h.settings.Get(conn); ok {
		for _, part := range strings.Split(cs, ";") {
			if k, v, _ := strings.Cut(part, "="); strings.EqualFold(k, "Endpoint") {
				return strings.Trim(strings.TrimPrefix(v, "sb://"), "/")
			}
		}
	}
	return "localhost"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// devStorage is what UseDevelopmentStorage=true stands for.
const devStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"

// queueService returns the queue service of a storage connection setting: a
// connection string, or the identity-based <prefix>__queueServiceUri /
// <prefix>__accountName forms.
func (h *Host) queueService(connection string) (*azqueue.ServiceClient, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if svc, ok := h.services[connection]; ok {
		return svc, nil
	}
	var svc *azqueue.ServiceClient
	var err error
	if cs, ok := h.settings.Get(connection); ok {
		if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(cs, ";")), "UseDevelopmentStorage=true") {
			cs = devStorage
		}
		// The error of the SDK may quote the connection string: never pass it on.
		if svc, err = azqueue.NewServiceClientFromConnectionString(cs, nil); err != nil {
			return nil, fmt.Errorf("setting %s: not a usable storage connection string", connection)
		}
	} else {
		uri, ok := h.settings.Get(connection + "__queueServiceUri")
		if !ok {
			if acct, ok2 := h.settings.Get(connection + "__accountName"); ok2 {
				uri, ok = "https://"+acct+".queue.core.windows.net/", true
			}
		}
		if !ok {
			return nil, fmt.Errorf("storage connection: setting %s (or %s__queueServiceUri) is not set", connection, connection)
		}
		cred, cerr := azidentity.NewDefaultAzureCredential(nil)
		if cerr != nil {
			return nil, fmt.Errorf("setting %s__queueServiceUri: credential: %w", connection, cerr)
		}
		if svc, err = azqueue.NewServiceClient(uri, cred, nil); err != nil {
			return nil, fmt.Errorf("setting %s__queueServiceUri: %w", connection, err)
		}
	}
	h.services[connection] = svc
	return svc, nil
}

func (h *Host) handlerPath() string {
	p := h.opts.Handler
	if p == "" {
		p = h.app.Host.Executable
	}
	if p == "" {
		p = "handler"
	}
	if h.opts.Handler == "" && !filepath.IsAbs(p) {
		p = filepath.Join(h.app.Root, p) // host.json paths are relative to the root
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

func (h *Host) handlerDir() string {
	if d := h.app.Host.WorkingDir; d != "" {
		if filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(h.app.Root, d)
	}
	return h.app.Root
}

// handlerEnv is the process environment plus the local.settings.json values that
// the environment does not already set, and what the host adds.
func (h *Host) handlerEnv() []string {
	env := slices.Clone(h.opts.Environ)
	has := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		has[k] = true
	}
	keys := make([]string, 0, len(h.settings.Local()))
	for k := range h.settings.Local() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !has[k] {
			env = append(env, k+"="+h.settings.Local()[k])
		}
	}
	for _, kv := range []string{"FUNCTIONS_WORKER_RUNTIME=custom", "AzureWebJobsScriptRoot=" + h.app.Root} {
		if k, _, _ := strings.Cut(kv, "="); !has[k] {
			env = append(env, kv)
		}
	}
	return env
}

// Serve runs the handler, the trigger listeners and the HTTP front on ln until
// ctx ends. It returns an error only when the handler cannot be started at all
// or the listener fails.
func (h *Host) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	supErr := make(chan error, 1)
	go func() { supErr <- h.sup.Run(ctx) }()

	srv := &http.Server{Handler: h.routes(), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	h.log.Info("devhost listening", "addr", "http://"+ln.Addr().String(), "functions", len(h.app.Functions))
	for _, fn := range h.app.Functions {
		attrs := []any{"function", fn.Name, "trigger", fn.Trigger.Type}
		switch fn.Trigger.Type {
		case TypeHTTP:
			attrs = append(attrs, "url", "http://"+ln.Addr().String()+h.routeOf(fn), "authLevel", orDefault(fn.Trigger.AuthLevel, "function"))
		case TypeTimer:
			attrs = append(attrs, "schedule", fn.Trigger.Schedule)
		default:
			attrs = append(attrs, "queue", fn.Trigger.QueueName)
		}
		h.log.Info("function", attrs...)
	}
	if h.key == DevFunctionKey {
		h.log.Info("function key for authLevel function routes (dev value)", "key", DevFunctionKey)
	}
	if h.master == DevMasterKey {
		h.log.Info("master key for the admin API /admin/... (dev value)", "key", DevMasterKey)
	}

	var workers sync.WaitGroup
	started := make(chan struct{})
	go func() {
		defer close(started)
		if _, err := h.sup.Ready(ctx); err != nil {
			return
		}
		h.startTriggers(ctx, &workers)
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-supErr:
		supErr <- err
	case err = <-srvErr:
		err = fmt.Errorf("http: %w", err)
	}
	cancel()
	shutCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shutCtx)
	<-started
	workers.Wait()
	if serr := <-supErr; err == nil {
		err = serr
	}
	h.log.Info("devhost stopped")
	return err
}

func (h *Host) startTriggers(ctx context.Context, wg *sync.WaitGroup) {
	if len(h.timers) > 0 {
		h.startTimers(ctx, wg)
	}
	for _, fn := range h.app.Functions {
		var l *listener
		var err error
		switch fn.Trigger.Type {
		case TypeQueue:
			l, err = h.queueListener(fn)
		case TypeServiceBus:
			l, err = h.serviceBusListener(fn)
		default:
			continue
		}
		if err != nil {
			h.log.Error("cannot listen", "function", fn.Name, "err", err.Error())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run(ctx)
		}()
	}
}

// Errors of Fire that the admin API maps to 404 and 400.
var (
	errNotFound    = errors.New("no such function")
	errHTTPTrigger = errors.New("http-triggered: call its route instead")
)

// Fire invokes a function now, as the admin API POST /admin/functions/<name>
// does: timers fire with their status, queue and Service Bus functions receive
// input as the message text with freshly made metadata.
func (h *Host) Fire(ctx context.Context, name, input string) error {
	fn := h.app.Function(name)
	if fn == nil {
		return fmt.Errorf("%w: %s", errNotFound, name)
	}
	switch fn.Trigger.Type {
	case TypeTimer:
		return h.timers[fn.Name].fire(ctx, h, false, false)
	case TypeQueue:
		now := h.now()
		m := QueueMessage{ID: NewUUID(), PopReceipt: randomPopReceipt(), DequeueCount: 1, InsertionTime: now,
			ExpirationTime: now.Add(7 * 24 * time.Hour), NextVisibleTime: now.Add(10 * time.Minute), Text: input}
		return h.deliverQueue(ctx, fn, m)
	case TypeServiceBus:
		return h.deliverServiceBus(ctx, fn, h.adminServiceBusMessage(fn, input))
	default:
		return fmt.Errorf("function %s: %w", fn.Name, errHTTPTrigger)
	}
}

func randomPopReceipt() string {
	return strings.ReplaceAll(NewUUID(), "-", "")[:22] + "=="
}
