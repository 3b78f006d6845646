package arrsim

import "sync/atomic"

// Stats are call counts since New, for tests and benchmarks. Calls are
// counted per operation whether or not a fault or auth failure answered them.
type Stats struct {
	TokenCalls       int64 `json:"tokenCalls"`
	TokensIssued     int64 `json:"tokensIssued"`
	TokensRejected   int64 `json:"tokensRejected"`
	CreateSession    int64 `json:"createSession"`
	GetSession       int64 `json:"getSession"`
	UpdateSession    int64 `json:"updateSession"`
	StopSession      int64 `json:"stopSession"`
	ListSessions     int64 `json:"listSessions"`
	CreateConversion int64 `json:"createConversion"`
	GetConversion    int64 `json:"getConversion"`
	ListConversions  int64 `json:"listConversions"`
	Unknown          int64 `json:"unknown"`
	Unauthorized     int64 `json:"unauthorized"`
	Throttled        int64 `json:"throttled"`
	Injected500      int64 `json:"injected500"`
	ConversionsRun   int64 `json:"conversionsRun"`
	BlobReads        int64 `json:"blobReads"`
	BlobWrites       int64 `json:"blobWrites"`
}

type counters struct {
	token, createSession, getSession, updateSession, stopSession, listSessions atomic.Int64
	createConversion, getConversion, listConversions, unknown                  atomic.Int64
	tokensIssued, tokensRejected, unauthorized, throttled, injected500         atomic.Int64
	conversionsRun, blobReads, blobWrites                                      atomic.Int64
}

func (c *counters) count(op string) {
	switch op {
	case opToken:
		c.token.Add(1)
	case opCreateSession:
		c.createSession.Add(1)
	case opGetSession:
		c.getSession.Add(1)
	case opUpdateSession:
		c.updateSession.Add(1)
	case opStopSession:
		c.stopSession.Add(1)
	case opListSessions:
		c.listSessions.Add(1)
	case opCreateConversion:
		c.createConversion.Add(1)
	case opGetConversion:
		c.getConversion.Add(1)
	case opListConversions:
		c.listConversions.Add(1)
	default:
		c.unknown.Add(1)
	}
}

// Stats returns a snapshot of the call counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		TokenCalls: c.token.Load(), TokensIssued: c.tokensIssued.Load(), TokensRejected: c.tokensRejected.Load(),
		CreateSession: c.createSession.Load(), GetSession: c.getSession.Load(), UpdateSession: c.updateSession.Load(),
		StopSession: c.stopSession.Load(), ListSessions: c.listSessions.Load(),
		CreateConversion: c.createConversion.Load(), GetConversion: c.getConversion.Load(), ListConversions: c.listConversions.Load(),
		Unknown: c.unknown.Load(), Unauthorized: c.unauthorized.Load(), Throttled: c.throttled.Load(), Injected500: c.injected500.Load(),
		ConversionsRun: c.conversionsRun.Load(), BlobReads: c.blobReads.Load(), BlobWrites: c.blobWrites.Load(),
	}
}
