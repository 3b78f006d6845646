package arrsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Persistence: the service keeps sessions and conversions across its own
// restarts, so the simulator can too (make run passes -state in its data
// folder). The state file holds every retained session and conversion, the
// token signing key (tokens issued before a restart stay valid, as the
// service's do) and how far simulated time runs ahead of the wall clock.
// Time while the simulator is down passes at wall-clock rate, so a lease
// runs out during a pause exactly as it would at the service.
//
// A pending conversion keeps its SAS in the file until it finishes, because
// it needs them to read and write; the file is written 0600 and only ever
// holds SAS for local storage. Finished conversions keep none.

// stateVersion changes when the file's meaning does; other versions are refused.
const stateVersion = 1

type savedState struct {
	Version     int               `json:"version"`
	SavedAt     time.Time         `json:"savedAt"`
	Ahead       time.Duration     `json:"simulatedAheadNs"` // simulated now - wall now
	Seq         uint64            `json:"seq"`
	Creates     int               `json:"creates"`
	JWTKey      []byte            `json:"jwtKey"`
	Sessions    []savedSession    `json:"sessions"`
	Conversions []savedConversion `json:"conversions"`
}

type savedSession struct {
	ID        string    `json:"id"`
	Seq       uint64    `json:"seq"`
	Size      string    `json:"size"`
	Lease     int       `json:"lease"`
	Created   time.Time `json:"created"`
	ReadyAt   time.Time `json:"readyAt"`
	StoppedAt time.Time `json:"stoppedAt"`
	FailAt    time.Time `json:"failAt"`
	FailErr   *apiError `json:"failErr,omitempty"`
	StartFail bool      `json:"startFail,omitempty"`
	Hostname  string    `json:"hostname"`
	Handshake int       `json:"handshakePort"`
	Inspector int       `json:"inspectorPort"`
	Teraflops float64   `json:"teraflops"`
}

type savedConversion struct {
	ID       string             `json:"id"`
	Seq      uint64             `json:"seq"`
	Settings conversionSettings `json:"settings"`
	ReadSAS  string             `json:"readSas,omitempty"`
	WriteSAS string             `json:"writeSas,omitempty"`
	Created  time.Time          `json:"created"`
	Done     bool               `json:"done"`
	Status   string             `json:"status,omitempty"`
	Err      *apiError          `json:"error,omitempty"`
	Output   string             `json:"output,omitempty"`
}

// snapshot renders the state; the caller holds no lock.
func (s *Server) snapshot() savedState {
	now := s.clock.Now()
	st := savedState{Version: stateVersion, SavedAt: s.opts.Clock().UTC(), Ahead: now.Sub(s.opts.Clock()), JWTKey: s.jwtKey}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st.Seq, st.Creates = s.seq, s.creates
	for _, x := range s.sessionList {
		st.Sessions = append(st.Sessions, savedSession{ID: x.id, Seq: x.seq, Size: x.size, Lease: x.lease, Created: x.created,
			ReadyAt: x.readyAt, StoppedAt: x.stoppedAt, FailAt: x.failAt, FailErr: x.failErr, StartFail: x.startFail,
			Hostname: x.hostname, Handshake: x.handshake, Inspector: x.inspector, Teraflops: x.teraflops})
	}
	for _, c := range s.convList {
		sc := savedConversion{ID: c.id, Seq: c.seq, Settings: c.settings, Created: c.created}
		if c.phase == phaseDone {
			sc.Done, sc.Status, sc.Err, sc.Output = true, c.status, c.err, c.output
		} else {
			// Pending or in flight: it runs again after a restart.
			sc.ReadSAS, sc.WriteSAS = c.readSAS, c.writeSAS
		}
		st.Conversions = append(st.Conversions, sc)
	}
	return st
}

// restore replaces the (empty) state with st.
func (s *Server) restore(st savedState) error {
	if st.Version != stateVersion {
		return fmt.Errorf("state version %d, this simulator reads %d", st.Version, stateVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessionList) > 0 || len(s.convList) > 0 {
		return errors.New("restore into a simulator that already has sessions or conversions")
	}
	if len(st.JWTKey) > 0 {
		s.jwtKey = st.JWTKey
	}
	s.seq, s.creates = st.Seq, st.Creates
	if st.Ahead > 0 {
		s.clock.Advance(st.Ahead)
	}
	for _, x := range st.Sessions {
		v := &session{id: x.ID, seq: x.Seq, size: x.Size, lease: x.Lease, created: x.Created, readyAt: x.ReadyAt,
			stoppedAt: x.StoppedAt, failAt: x.FailAt, failErr: x.FailErr, startFail: x.StartFail, hostname: x.Hostname,
			handshake: x.Handshake, inspector: x.Inspector, teraflops: x.Teraflops}
		s.sessions[v.id] = v
		s.sessionList = append(s.sessionList, v)
	}
	for _, c := range st.Conversions {
		v := &conversion{id: c.ID, seq: c.Seq, settings: c.Settings, readSAS: c.ReadSAS, writeSAS: c.WriteSAS,
			created: c.Created, done: make(chan struct{})}
		if c.Done {
			v.phase, v.status, v.err, v.output = phaseDone, c.Status, c.Err, c.Output
			close(v.done)
		}
		s.conversions[v.id] = v
		s.convList = append(s.convList, v)
	}
	return nil
}

// Persist loads path (when it exists) into the simulator, which must be
// new, then keeps the file up to date: it is rewritten, atomically, within
// every second after a change, and once more when the simulator closes.
func (s *Server) Persist(path string) error {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("simulator state: %w", err)
	default:
		var st savedState
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("simulator state %s: %w", path, err)
		}
		if err := s.restore(st); err != nil {
			return fmt.Errorf("simulator state %s: %w", path, err)
		}
		s.log.Info("arrsim state restored", "file", path, "sessions", len(st.Sessions), "conversions", len(st.Conversions), "savedAt", st.SavedAt)
		s.poke() // conversions that came due while it was down
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var last []byte
		save := func() {
			st := s.snapshot()
			st.SavedAt = time.Time{} // compare content, not the instant
			st.Ahead = st.Ahead.Round(time.Second)
			cmp, _ := json.Marshal(st)
			if bytes.Equal(cmp, last) {
				return
			}
			if err := writeState(path, s.snapshot()); err != nil {
				s.log.Error("arrsim: cannot save state", "file", path, "err", err.Error())
				return
			}
			last = cmp
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				save()
				return
			case <-t.C:
				save()
			}
		}
	}()
	return nil
}

// writeState writes st to path through a temporary file and a rename, so a
// crash leaves the old or the new state, never half of one.
func writeState(path string, st savedState) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".arrsim-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
