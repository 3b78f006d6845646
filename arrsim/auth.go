package arrsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tokenLifetime is the STS token lifetime on the simulated clock (the real
// service issued tokens for about 24 h).
const tokenLifetime = 24 * time.Hour

// stsClaims are the claims of a simulator-issued token.
type stsClaims struct {
	AccountID string `json:"aid"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expires   int64  `json:"exp"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// serveToken is the STS: GET /accounts/{id}/token (either casing of
// "accounts"; the api-version query is optional and not checked).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, account string) {
	if r.Method != http.MethodGet {
		w.Header()["Allow"] = []string{http.MethodGet}
		s.writeEmpty(w, http.StatusMethodNotAllowed, false)
		return
	}
	if !s.stsAccepts(r.Header.Get("Authorization"), account) {
		s.stats.tokensRejected.Add(1)
		s.writeEmpty(w, http.StatusUnauthorized, false)
		return
	}
	now := s.clock.Now()
	tok := s.issueToken(stsClaims{
		AccountID: s.opts.AccountID,
		Issuer:    "https://sts." + s.opts.Region + ".mixedreality.azure.com",
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expires:   now.Add(tokenLifetime).Unix(),
	})
	s.stats.tokensIssued.Add(1)
	body, _ := json.Marshal(struct {
		AccessToken string `json:"AccessToken"`
	}{tok})
	s.writeRaw(w, http.StatusOK, body, true, false)
}

// stsAccepts checks the STS bearer: the account key form "<id>:<key>", or in
// AcceptAnyBearer mode any other non-empty bearer (an Entra token).
func (s *Server) stsAccepts(authz, account string) bool {
	if !strings.EqualFold(account, s.opts.AccountID) || s.opts.AccountID == "" {
		return false
	}
	bearer, ok := cutBearer(authz)
	if !ok || bearer == "" {
		return false
	}
	if id, key, isKey := strings.Cut(bearer, ":"); isKey {
		return strings.EqualFold(id, s.opts.AccountID) && s.opts.AccountKey != "" &&
			subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AccountKey)) == 1
	}
	return s.opts.AcceptAnyBearer
}

func cutBearer(authz string) (string, bool) {
	if len(authz) < 7 || !strings.EqualFold(authz[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(authz[7:]), true
}

func (s *Server) issueToken(c stsClaims) string {
	payload, _ := json.Marshal(c)
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signing + "." + base64.RawURLEncoding.EncodeToString(s.sign(signing))
}

func (s *Server) sign(signing string) []byte {
	m := hmac.New(sha256.New, s.jwtKey)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// tokenCache remembers verified tokens so a hot GET loop does not re-verify
// the HMAC and re-decode the claims on every call.
type tokenCache struct {
	m sync.Map // token -> stsClaims
	n atomic.Int64
}

const tokenCacheMax = 10000

// verifyToken returns the claims of a token this simulator signed.
func (s *Server) verifyToken(tok string) (stsClaims, bool) {
	if v, ok := s.tokens.m.Load(tok); ok {
		return v.(stsClaims), true
	}
	h, rest, ok := strings.Cut(tok, ".")
	if !ok || h != jwtHeader {
		return stsClaims{}, false
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return stsClaims{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.sign(h+"."+p)) {
		return stsClaims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return stsClaims{}, false
	}
	var c stsClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return stsClaims{}, false
	}
	if s.tokens.n.Add(1) > tokenCacheMax {
		s.tokens.m.Clear()
		s.tokens.n.Store(0)
	}
	s.tokens.m.Store(tok, c)
	return c, true
}

// authorized checks an ARR call's bearer: a valid, unexpired simulator token
// for the account in the path.
func (s *Server) authorized(r *http.Request, account string) bool {
	tok, ok := cutBearer(r.Header.Get("Authorization"))
	if !ok {
		return false
	}
	c, ok := s.verifyToken(tok)
	if !ok {
		return false
	}
	return strings.EqualFold(c.AccountID, account) && s.clock.Now().Unix() < c.Expires
}
