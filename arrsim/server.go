package arrsim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is usable apart from AccountID
// and AccountKey, which every client needs to know.
type Options struct {
	// AccountID and AccountKey are the only credentials STS accepts
	// (as "Bearer <AccountID>:<AccountKey>").
	AccountID  string
	AccountKey string
	// AcceptAnyBearer is the Microsoft Entra test mode: STS accepts any bearer
	// token that is not of account-key form ("id:key"), as a managed identity
	// token would be. Account-key bearers must still be correct.
	AcceptAnyBearer bool
	// Region appears in session hostnames (default "eastus").
	Region string
	// ReadyAfter is the simulated time from create to Ready (default 10 s,
	// like the 2022 service). A start failure happens at the same moment.
	ReadyAfter time.Duration
	// ConversionAfter is the simulated time from create to the end of a
	// conversion (default 90 s). The first quarter shows NotStarted.
	ConversionAfter time.Duration
	// ClockSpeed makes simulated time run N times faster than Clock (default 1).
	// Lease expiry, elapsedTimeMinutes, token expiry and the timings above use
	// simulated time; fault latency is real time.
	ClockSpeed float64
	// Clock is the base clock (default time.Now).
	Clock func() time.Time
	// Style2021Nulls answers like the January 2021 service: unknown ports,
	// hostname, teraflops and error are sent as 0/null instead of being
	// omitted, error bodies carry details/target/innerError null, session GETs
	// carry no Cache-Control, and api-supported-versions lists two versions.
	Style2021Nulls bool
	// LinkedStorage accepts conversions without a SAS (the storage account is
	// "linked" to the ARR account). When false such a PUT gets 403
	// DelegatedResourceAccessError.
	LinkedStorage bool
	// LinkedStorageSAS, when set, supplies the SAS the simulator uses for a
	// linked-storage conversion (no SAS in the request), standing in for the
	// service's own identity. Without it blobs are read and written anonymously.
	LinkedStorageSAS func(containerURI string, write bool) (string, error)
	// PageSize is the number of items per list page (default 100).
	PageSize int
	// Logger receives one line per call (default: discard).
	Logger *slog.Logger
	// Faults are the initial fault-injection settings.
	Faults Faults
	// HTTPClient performs the blob reads and writes of conversions
	// (default: a client with a 60 s timeout).
	HTTPClient *http.Client
	// Seed makes fault sampling and generated values reproducible (0: random).
	Seed uint64
}

// Server is the simulator. It implements http.Handler; call Close when done.
type Server struct {
	opts   Options
	clock  *simClock
	log    *slog.Logger
	client *http.Client
	jwtKey []byte

	mu          sync.RWMutex
	sessions    map[string]*session
	sessionList []*session // creation order, for stable paging
	conversions map[string]*conversion
	convList    []*conversion
	seq         uint64
	creates     int

	faults faultState
	stats  counters
	tokens tokenCache

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// New returns a running simulator. It starts one background goroutine that
// finishes due conversions even when nobody polls them.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "eastus"
	}
	if opts.ReadyAfter <= 0 {
		opts.ReadyAfter = 10 * time.Second
	}
	if opts.ConversionAfter <= 0 {
		opts.ConversionAfter = 90 * time.Second
	}
	if opts.ClockSpeed <= 0 {
		opts.ClockSpeed = 1
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
	seed := opts.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:        opts,
		clock:       newSimClock(opts.Clock, opts.ClockSpeed),
		log:         opts.Logger,
		client:      opts.HTTPClient,
		jwtKey:      key,
		sessions:    map[string]*session{},
		conversions: map[string]*conversion{},
		ctx:         ctx,
		cancel:      cancel,
		wake:        make(chan struct{}, 1),
	}
	s.faults.init(opts.Faults, seed)
	s.wg.Add(1)
	go s.conversionWorker()
	return s
}

// Close stops the background goroutine and cancels blob transfers in flight.
func (s *Server) Close() {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
}

// Now returns the simulated time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the simulated clock forward by d (tests: expire a lease now).
func (s *Server) Advance(d time.Duration) {
	s.clock.Advance(d)
	s.poke()
}

// SetFaults replaces the fault-injection settings.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// operation names, as counted by Stats and logged.
const (
	opToken            = "sts.token"
	opCreateSession    = "sessions.create"
	opGetSession       = "sessions.get"
	opUpdateSession    = "sessions.update"
	opStopSession      = "sessions.stop"
	opListSessions     = "sessions.list"
	opCreateConversion = "conversions.create"
	opGetConversion    = "conversions.get"
	opListConversions  = "conversions.list"
	opAdmin            = "admin"
	opUnknown          = "unknown"
)

// supportedAPIVersions are the versions the service advertised; the examples
// use 2021-01-01-preview for PATCH, so all advertised versions are accepted.
var supportedAPIVersions = map[string]bool{"2021-01-01": true, "2021-01-01-preview": true, "2021-08-01-preview": true}

const (
	apiVersions2022 = "2021-01-01-preview, 2021-01-01, 2021-08-01-preview"
	apiVersions2021 = "2021-01-01-preview, 2021-01-01"
)

// statusRecorder remembers the status and MS-CV for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP routes STS, ARR and admin calls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	op := s.serve(rec, r)
	if s.log.Enabled(r.Context(), slog.LevelInfo) {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "arrsim call",
			slog.String("op", op),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.String("ms_cv", firstHeader(w.Header(), "MS-CV")),
			slog.Duration("duration", time.Since(start)),
		)
	}
}

func firstHeader(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// route is a parsed ARR path.
type route struct {
	op      string
	account string
	id      string
}

func parseRoute(method, path string) route {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "accounts") || parts[1] == "" {
		return route{op: opUnknown}
	}
	rt := route{account: parts[1], op: opUnknown}
	switch {
	case len(parts) == 3 && parts[2] == "token":
		rt.op = opToken
	case parts[2] == "sessions" && len(parts) == 3 && method == http.MethodGet:
		rt.op = opListSessions
	case parts[2] == "sessions" && len(parts) == 4 && parts[3] != "":
		rt.id = parts[3]
		switch method {
		case http.MethodPut:
			rt.op = opCreateSession
		case http.MethodGet:
			rt.op = opGetSession
		case http.MethodPatch:
			rt.op = opUpdateSession
		}
	case parts[2] == "sessions" && len(parts) == 5 && parts[4] == ":stop" && method == http.MethodPost:
		rt.id = parts[3]
		rt.op = opStopSession
	case parts[2] == "conversions" && len(parts) == 3 && method == http.MethodGet:
		rt.op = opListConversions
	case parts[2] == "conversions" && len(parts) == 4 && parts[3] != "":
		rt.id = parts[3]
		switch method {
		case http.MethodPut:
			rt.op = opCreateConversion
		case http.MethodGet:
			rt.op = opGetConversion
		}
	}
	return rt
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return opAdmin
	}
	rt := parseRoute(r.Method, r.URL.Path)
	s.stats.count(rt.op)
	switch rt.op {
	case opUnknown:
		s.writeEmpty(w, http.StatusNotFound, true)
		return rt.op
	case opToken:
		s.serveToken(w, r, rt.account)
		return rt.op
	}
	if s.injectFaults(w, r) {
		return rt.op
	}
	if !s.authorized(r, rt.account) {
		s.stats.unauthorized.Add(1)
		w.Header()["WWW-Authenticate"] = []string{`Bearer error="invalid_token"`}
		s.writeEmpty(w, http.StatusUnauthorized, true)
		return rt.op
	}
	if !supportedAPIVersions[r.URL.Query().Get("api-version")] {
		s.writeError(w, http.StatusBadRequest, "BadRequest", "The api-version query parameter is missing or not supported.")
		return rt.op
	}
	switch rt.op {
	case opCreateSession:
		s.createSession(w, r, rt.id)
	case opGetSession:
		s.getSession(w, rt.id)
	case opUpdateSession:
		s.updateSession(w, r, rt.id)
	case opStopSession:
		s.stopSession(w, rt.id)
	case opListSessions:
		s.listSessions(w, r)
	case opCreateConversion:
		s.createConversion(w, r, rt.id)
	case opGetConversion:
		s.getConversion(w, r, rt.id)
	case opListConversions:
		s.listConversions(w, r)
	}
	return rt.op
}

// newCV returns a correlation vector like the service's: 22 base64
// characters (16 random bytes) and ".0".
func newCV() string {
	var b [16]byte
	hi, lo := mrand.Uint64(), mrand.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	return base64.RawStdEncoding.EncodeToString(b[:]) + ".0"
}

// setCommon sets the headers every response carries. Header names are set
// directly in the map to keep the service's exact casing (MS-CV,
// api-supported-versions) on the wire.
func (s *Server) setCommon(w http.ResponseWriter, arr bool) {
	h := w.Header()
	h["MS-CV"] = []string{newCV()}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	if arr {
		if s.opts.Style2021Nulls {
			h["api-supported-versions"] = []string{apiVersions2021}
		} else {
			h["api-supported-versions"] = []string{apiVersions2022}
		}
	}
}

func setNoCache(h http.Header) {
	h["Cache-Control"] = []string{"no-store, no-cache"}
	h["Pragma"] = []string{"no-cache"}
}

// writeEmpty answers with no body (401, 403, 404, 204, 429).
func (s *Server) writeEmpty(w http.ResponseWriter, status int, arr bool) {
	s.setCommon(w, arr)
	if status != http.StatusNoContent {
		w.Header()["Content-Length"] = []string{"0"}
	}
	w.WriteHeader(status)
}

// writeJSON answers with a JSON body; noCache adds Cache-Control and Pragma
// (the service sends them on single-resource GETs and the session list only).
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any, noCache bool) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only simulator-built values reach here; a failure is a bug.
		s.writeError(w, http.StatusInternalServerError, "InternalServerError", "An internal server error occurred.")
		return
	}
	s.writeRaw(w, status, body, noCache, true)
}

func (s *Server) writeRaw(w http.ResponseWriter, status int, body []byte, noCache, arr bool) {
	s.setCommon(w, arr)
	h := w.Header()
	if noCache {
		setNoCache(h)
	}
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["Content-Length"] = []string{itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// apiError is the service's error object.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type errorEnvelope struct {
	Error apiError `json:"error"`
}

// errorEnvelope2021 is the January 2021 error body, with explicit nulls.
type errorEnvelope2021 struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Details    any    `json:"details"`
		Target     any    `json:"target"`
		InnerError any    `json:"innerError"`
	} `json:"error"`
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, message string) {
	// January 2021 sent the null members on 400s only (its 403 had none).
	if s.opts.Style2021Nulls && status == http.StatusBadRequest {
		var e errorEnvelope2021
		e.Error.Code, e.Error.Message = code, message
		s.writeJSON(w, status, e, false)
		return
	}
	s.writeJSON(w, status, errorEnvelope{Error: apiError{Code: code, Message: message}}, false)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// validID reports whether id is a valid session or conversion id:
// letters, digits, '-' and '_', 1 to 256 characters.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// readBody reads at most 1 MiB of request body.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}
