package arrsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// adminPrefix starts the simulator's own endpoints; ARR paths all start with
// /accounts/, so they cannot collide.
//
//	GET  /_sim/stats                  Stats as JSON
//	GET  /_sim/faults                 current Faults
//	POST /_sim/faults                 replace Faults (JSON body)
//	POST /_sim/clock?advance=5m       move the simulated clock forward
//	POST /_sim/sessions/{id}/fail     put a session into Error now
//	                                  (optional body {"code":"…","message":"…"})
const adminPrefix = "/_sim/"

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, adminPrefix)
	switch {
	case p == "stats" && r.Method == http.MethodGet:
		s.writeJSON(w, http.StatusOK, s.Stats(), true)
	case p == "faults" && r.Method == http.MethodGet:
		s.writeJSON(w, http.StatusOK, s.faults.get(), true)
	case p == "faults" && r.Method == http.MethodPost:
		body, err := readBody(r)
		var f Faults
		if err == nil {
			err = json.Unmarshal(body, &f)
		}
		if err == nil {
			err = f.Validate()
		}
		if err != nil {
			s.writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		s.faults.set(f)
		s.writeJSON(w, http.StatusOK, f, false)
	case p == "clock" && r.Method == http.MethodPost:
		d, err := time.ParseDuration(r.URL.Query().Get("advance"))
		if err != nil || d < 0 {
			s.writeError(w, http.StatusBadRequest, "BadRequest", "advance must be a non-negative Go duration such as 5m")
			return
		}
		s.Advance(d)
		s.writeJSON(w, http.StatusOK, struct {
			Now string `json:"now"`
		}{s.Now().UTC().Format(time.RFC3339Nano)}, false)
	case strings.HasPrefix(p, "sessions/") && strings.HasSuffix(p, "/fail") && r.Method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(p, "sessions/"), "/fail")
		e := apiError{Code: "InternalServerError", Message: "Unexpected internal server error encountered."}
		if body, err := readBody(r); err == nil && len(strings.TrimSpace(string(body))) > 0 {
			if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
				s.writeError(w, http.StatusBadRequest, "BadRequest", "body must be {\"code\":\"…\",\"message\":\"…\"}")
				return
			}
		}
		switch s.FailSession(id, e.Code, e.Message) {
		case nil:
			s.writeEmpty(w, http.StatusNoContent, false)
		case errNotFound:
			s.writeEmpty(w, http.StatusNotFound, false)
		default:
			s.writeError(w, http.StatusConflict, "Conflict", "The session has already finished.")
		}
	default:
		s.writeEmpty(w, http.StatusNotFound, false)
	}
}

type adminErr string

func (e adminErr) Error() string { return string(e) }

const (
	errNotFound = adminErr("arrsim: session not found")
	errFinished = adminErr("arrsim: session already finished")
)

// FailSession puts a Starting or Ready session into Error now, with the
// given error code and message.
func (s *Server) FailSession(id, code, message string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.lookupLocked(id, now)
	if x == nil {
		return errNotFound
	}
	if status, _ := x.state(now); !active(status) {
		return errFinished
	}
	x.failAt, x.failErr = now, &apiError{Code: code, Message: message}
	return nil
}
