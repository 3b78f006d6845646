package arrsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Session statuses as the service spells them.
const (
	statusStarting = "Starting"
	statusReady    = "Ready"
	statusStopped  = "Stopped"
	statusExpired  = "Expired"
	statusError    = "Error"
)

const (
	maxLeaseMinutes = 1440
	// retention is how long finished sessions stay readable by id.
	retention = 30 * 24 * time.Hour
)

// session is one rendering session. Its status is a pure function of these
// fields and the simulated time, so nothing runs in the background.
type session struct {
	id        string
	seq       uint64
	size      string
	lease     int // minutes, counted from readyAt
	created   time.Time
	readyAt   time.Time
	stoppedAt time.Time // zero unless stopped while Starting or Ready
	failAt    time.Time // zero unless a start failure or admin fail is set
	failErr   *apiError
	startFail bool // failAt is a failed start (never Ready), not a later fault
	hostname  string
	handshake int
	inspector int
	teraflops float64
}

// state returns the status at now and, for finished sessions, when it ended.
func (x *session) state(now time.Time) (string, time.Time) {
	if !x.failAt.IsZero() && !now.Before(x.failAt) && (x.stoppedAt.IsZero() || x.stoppedAt.After(x.failAt)) {
		return statusError, x.failAt
	}
	if !x.stoppedAt.IsZero() {
		return statusStopped, x.stoppedAt
	}
	if now.Before(x.readyAt) {
		return statusStarting, time.Time{}
	}
	if exp := x.readyAt.Add(time.Duration(x.lease) * time.Minute); !now.Before(exp) {
		return statusExpired, exp
	}
	return statusReady, time.Time{}
}

func active(status string) bool { return status == statusStarting || status == statusReady }

// sessionJSON is the 2022+ wire shape: unknown values are omitted.
type sessionJSON struct {
	ID                  string    `json:"id"`
	CreationTime        string    `json:"creationTime"`
	ArrInspectorPort    *int      `json:"arrInspectorPort,omitempty"`
	HandshakePort       *int      `json:"handshakePort,omitempty"`
	ElapsedTimeMinutes  int       `json:"elapsedTimeMinutes"`
	Hostname            *string   `json:"hostname,omitempty"`
	MaxLeaseTimeMinutes int       `json:"maxLeaseTimeMinutes"`
	Size                string    `json:"size"`
	Status              string    `json:"status"`
	Teraflops           *float64  `json:"teraflops,omitempty"`
	Error               *apiError `json:"error,omitempty"`
}

// session2021JSON is the January 2021 wire shape: every field, 0/null
// placeholders for unknown values.
type session2021JSON struct {
	ID                  string    `json:"id"`
	CreationTime        string    `json:"creationTime"`
	ArrInspectorPort    int       `json:"arrInspectorPort"`
	HandshakePort       int       `json:"handshakePort"`
	ElapsedTimeMinutes  int       `json:"elapsedTimeMinutes"`
	Hostname            *string   `json:"hostname"`
	MaxLeaseTimeMinutes int       `json:"maxLeaseTimeMinutes"`
	Size                string    `json:"size"`
	Status              string    `json:"status"`
	Teraflops           float64   `json:"teraflops"`
	Error               *apiError `json:"error"`
}

// sessionTimeFormat matches the service: "+00:00" offset, 7 fraction digits.
const sessionTimeFormat = "2006-01-02T15:04:05.0000000+00:00"

// view renders x at now in the configured style.
func (s *Server) view(x *session, now time.Time) any {
	status, end := x.state(now)
	// reached: the session became Ready at some point up to now.
	reached := !now.Before(x.readyAt)
	if x.startFail || (!x.failAt.IsZero() && x.failAt.Before(x.readyAt)) {
		reached = false // failed to start
	}
	if !x.stoppedAt.IsZero() && x.stoppedAt.Before(x.readyAt) {
		reached = false // stopped while Starting
	}
	elapsed := 0
	if reached {
		until := now
		if !end.IsZero() {
			until = end
		}
		if d := until.Sub(x.readyAt); d > 0 {
			elapsed = int(d / time.Minute)
		}
	}
	wasReady := reached
	var errp *apiError
	if status == statusError {
		errp = x.failErr
	}
	if s.opts.Style2021Nulls {
		v := session2021JSON{ID: x.id, CreationTime: x.created.UTC().Format(sessionTimeFormat),
			ElapsedTimeMinutes: elapsed, MaxLeaseTimeMinutes: x.lease, Size: x.size, Status: status, Error: errp}
		if status == statusReady {
			v.ArrInspectorPort, v.HandshakePort, v.Hostname = x.inspector, x.handshake, &x.hostname
		}
		if wasReady {
			v.Teraflops = x.teraflops
		}
		return v
	}
	v := sessionJSON{ID: x.id, CreationTime: x.created.UTC().Format(sessionTimeFormat),
		ElapsedTimeMinutes: elapsed, MaxLeaseTimeMinutes: x.lease, Size: x.size, Status: status, Error: errp}
	if status == statusReady {
		v.ArrInspectorPort, v.HandshakePort, v.Hostname = &x.inspector, &x.handshake, &x.hostname
	}
	if wasReady {
		v.Teraflops = &x.teraflops
	}
	return v
}

// sessionCreate is a decoded, validated create-session body.
type sessionCreate struct {
	Lease int
	Size  string
}

// decodeSessionCreate validates a create-session body. Sizes are accepted in
// any casing and answered canonically.
func decodeSessionCreate(body []byte) (sessionCreate, *apiError) {
	var req struct {
		MaxLeaseTimeMinutes *json.Number `json:"maxLeaseTimeMinutes"`
		Size                *string      `json:"size"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil || req.MaxLeaseTimeMinutes == nil || req.Size == nil {
		return sessionCreate{}, errMalformed
	}
	lease, e := decodeLease(*req.MaxLeaseTimeMinutes)
	if e != nil {
		return sessionCreate{}, e
	}
	if lease > maxLeaseMinutes {
		return sessionCreate{}, &apiError{Code: "BadRequest", Message: "The maxLeaseTimeMinutes value cannot be greater than 1440."}
	}
	var size string
	switch {
	case strings.EqualFold(*req.Size, "Standard"):
		size = "Standard"
	case strings.EqualFold(*req.Size, "Premium"):
		size = "Premium"
	default:
		return sessionCreate{}, &apiError{Code: "BadRequest", Message: "The size value is not supported. Supported values are Standard and Premium."}
	}
	return sessionCreate{Lease: lease, Size: size}, nil
}

var (
	errMalformed     = &apiError{Code: "BadRequest", Message: "The request was malformed."}
	errNegativeLease = &apiError{Code: "BadRequest", Message: "The maxLeaseTimeMinutes value cannot be negative."}
)

// decodeLease parses an integral lease; fractions and overflow are malformed.
func decodeLease(n json.Number) (int, *apiError) {
	v, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		if strings.HasPrefix(string(n), "-") {
			return 0, errNegativeLease
		}
		return 0, errMalformed
	}
	if v < 0 {
		return 0, errNegativeLease
	}
	return int(v), nil
}

// decodeSessionUpdate validates a PATCH body.
func decodeSessionUpdate(body []byte) (int, *apiError) {
	var req struct {
		MaxLeaseTimeMinutes *json.Number `json:"maxLeaseTimeMinutes"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil || req.MaxLeaseTimeMinutes == nil {
		return 0, errMalformed
	}
	return decodeLease(*req.MaxLeaseTimeMinutes)
}

func (s *Server) writeAPIError(w http.ResponseWriter, status int, e *apiError) {
	s.writeError(w, status, e.Code, e.Message)
}

var errConflict = &apiError{Code: "Conflict", Message: "A resource already exists under the given ID."}

// createBody checks the id of a create (PUT) and reads its body, answering
// 400 itself when either is unusable. kind is "session" or "conversion".
func (s *Server) createBody(w http.ResponseWriter, r *http.Request, kind, id string) ([]byte, bool) {
	if !validID(id) {
		s.writeAPIError(w, http.StatusBadRequest, &apiError{Code: "BadRequest", Message: "The " + kind + " id is invalid. It may contain letters, digits, '-' and '_' and be at most 256 characters long."})
		return nil, false
	}
	body, err := readBody(r)
	if err != nil {
		s.writeAPIError(w, http.StatusBadRequest, errMalformed)
		return nil, false
	}
	return body, true
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := s.createBody(w, r, "session", id)
	if !ok {
		return
	}
	req, e := decodeSessionCreate(body)
	if e != nil {
		s.writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	if x, ok := s.sessions[id]; ok {
		status, _ := x.state(now)
		same := active(status) && x.size == req.Size && x.lease == req.Lease
		var v any
		if same {
			v = s.view(x, now)
		}
		s.mu.Unlock()
		if !same {
			// A finished session's id cannot be reused either: the service
			// keeps it readable for 30 days.
			s.writeAPIError(w, http.StatusConflict, errConflict)
			return
		}
		s.writeJSON(w, http.StatusOK, v, false)
		return
	}
	x := s.newSession(id, req, now)
	s.sessions[id] = x
	s.sessionList = append(s.sessionList, x)
	// Sweep once the list has doubled since the last sweep: amortised O(1)
	// per create however many sessions are kept.
	if s.creates++; s.creates >= max(1024, len(s.sessionList)/2) {
		s.creates = 0
		s.purgeLocked(now)
	}
	v := s.view(x, now)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusCreated, v, false)
}

func (s *Server) newSession(id string, req sessionCreate, now time.Time) *session {
	s.seq++
	x := &session{id: id, seq: s.seq, size: req.Size, lease: req.Lease, created: now, readyAt: now.Add(s.opts.ReadyAfter)}
	if e := s.faults.startFailure(); e != nil {
		x.failAt, x.failErr, x.startFail = x.readyAt, e, true
	}
	// The hostname is derived from account and id so a replay yields the
	// same one; ports are drawn like the service's arbitrary ones.
	sum := sha256.Sum256([]byte(s.opts.AccountID + "/" + id + "/" + strconv.FormatUint(x.seq, 10)))
	kind, tf := "standard", 8.1
	if req.Size == "Premium" {
		// No Premium session was recorded; Premium VMs were about three times
		// the Standard GPU capacity.
		kind, tf = "premium", 24.3
	}
	if s.opts.Style2021Nulls && req.Size == "Standard" {
		tf = 10.6 // the January 2021 value
	}
	x.hostname = "arrwu2" + kind + hex.EncodeToString(sum[:16]) + ".remoterendering.vm." + s.opts.Region + ".mixedreality.azure.com"
	x.handshake, x.inspector = s.faults.ports()
	x.teraflops = tf
	return x
}

// purgeLocked forgets sessions finished more than the retention ago.
func (s *Server) purgeLocked(now time.Time) {
	kept := s.sessionList[:0]
	for _, x := range s.sessionList {
		if status, end := x.state(now); !active(status) && now.Sub(end) > retention {
			delete(s.sessions, x.id)
			continue
		}
		kept = append(kept, x)
	}
	clear(s.sessionList[len(kept):])
	s.sessionList = kept
}

// lookup returns a session that is still retained.
func (s *Server) lookupLocked(id string, now time.Time) *session {
	x, ok := s.sessions[id]
	if !ok {
		return nil
	}
	if status, end := x.state(now); !active(status) && now.Sub(end) > retention {
		return nil
	}
	return x
}

func (s *Server) getSession(w http.ResponseWriter, id string) {
	now := s.clock.Now()
	s.mu.RLock()
	x := s.lookupLocked(id, now)
	var v any
	if x != nil {
		v = s.view(x, now)
	}
	s.mu.RUnlock()
	if x == nil {
		s.writeEmpty(w, http.StatusNotFound, true)
		return
	}
	// The January 2021 service sent no Cache-Control on session GETs.
	s.writeJSON(w, http.StatusOK, v, !s.opts.Style2021Nulls)
}

func (s *Server) updateSession(w http.ResponseWriter, r *http.Request, id string) {
	body, err := readBody(r)
	if err != nil {
		s.writeAPIError(w, http.StatusBadRequest, errMalformed)
		return
	}
	lease, e := decodeSessionUpdate(body)
	if e != nil {
		s.writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	x := s.lookupLocked(id, now)
	if x == nil {
		s.mu.Unlock()
		s.writeEmpty(w, http.StatusNotFound, true)
		return
	}
	status, _ := x.state(now)
	switch {
	case !active(status):
		s.mu.Unlock()
		s.writeAPIError(w, http.StatusUnprocessableEntity, &apiError{Code: "UnprocessableEntity", Message: "The session is " + status + "; only Starting or Ready sessions can be updated."})
		return
	case lease <= x.lease || lease > maxLeaseMinutes:
		cur := x.lease
		s.mu.Unlock()
		s.writeAPIError(w, http.StatusUnprocessableEntity, &apiError{Code: "UnprocessableEntity",
			Message: "The maxLeaseTimeMinutes value must be greater than the current value (" + strconv.Itoa(cur) + ") and at most 1440."})
		return
	}
	x.lease = lease
	v := s.view(x, now)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, v, false)
}

func (s *Server) stopSession(w http.ResponseWriter, id string) {
	now := s.clock.Now()
	s.mu.Lock()
	x := s.lookupLocked(id, now)
	if x != nil {
		if status, _ := x.state(now); active(status) {
			x.stoppedAt = now
		}
	}
	s.mu.Unlock()
	if x == nil {
		s.writeEmpty(w, http.StatusNotFound, true)
		return
	}
	// Stopping a finished session is a no-op, so a retried stop succeeds.
	s.writeEmpty(w, http.StatusNoContent, true)
}

// skipTokenParam carries the paging position: the sequence number of the
// last item returned, stable while items are added or finish.
const skipTokenParam = "$skipToken"

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	after, ok := parseSkip(r)
	if !ok {
		s.writeAPIError(w, http.StatusBadRequest, errMalformed)
		return
	}
	now := s.clock.Now()
	s.mu.RLock()
	items, last, more := page(s.sessionList, after, s.opts.PageSize, func(x *session) (uint64, bool) {
		status, _ := x.state(now)
		return x.seq, active(status)
	}, func(x *session) any { return s.view(x, now) })
	s.mu.RUnlock()
	if more {
		s.writeJSON(w, http.StatusOK, struct {
			Sessions []any  `json:"sessions"`
			NextLink string `json:"@nextLink"`
		}{items, nextLink(r, last)}, true)
		return
	}
	// The service sends no @nextLink key at all on the last page.
	s.writeJSON(w, http.StatusOK, struct {
		Sessions []any `json:"sessions"`
	}{items}, true)
}

// page returns the next page of list after the item with sequence number
// after: up to size items that keep, as views, the sequence number of the
// last one, and whether more follow. keep returns an item's sequence number
// and whether it is listed at all. The caller holds the read lock.
func page[T, V any](list []T, after uint64, size int, keep func(T) (uint64, bool), view func(T) V) (items []V, last uint64, more bool) {
	items = make([]V, 0, 8)
	for _, x := range list {
		seq, ok := keep(x)
		if seq <= after || !ok {
			continue
		}
		if len(items) == size {
			return items, last, true
		}
		items = append(items, view(x))
		last = seq
	}
	return items, last, false
}

func parseSkip(r *http.Request) (uint64, bool) {
	v := r.URL.Query().Get(skipTokenParam)
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

// nextLink is an absolute URL on the host the client called.
func nextLink(r *http.Request, last uint64) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := url.Values{}
	q.Set("api-version", r.URL.Query().Get("api-version"))
	q.Set(skipTokenParam, strconv.FormatUint(last, 10))
	return scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
}
