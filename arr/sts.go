package arr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

const (
	stsAPIVersion = "2019-02-28-preview"
	// refreshMargin: STS tokens live about 24 h; renew when less than this remains so
	// that a token never expires in the middle of a retried call.
	refreshMargin = 5 * time.Minute
	// unknownExpiryTTL bounds the caching of a token whose exp cannot be read.
	unknownExpiryTTL = time.Minute
	// stsFetchTimeout bounds one STS exchange (including its retries) that runs on
	// behalf of possibly many waiting callers.
	stsFetchTimeout = 2 * time.Minute
)

// stsError marks an STS failure as final for the ARR pipeline's retry policy: the
// STS pipeline has already retried what was retryable.
type stsError struct{ err error }

func (e *stsError) Error() string { return e.err.Error() }
func (e *stsError) Unwrap() error { return e.err }
func (e *stsError) NonRetriable() {}

// stsTokenSource fetches and caches STS access tokens. One fetch serves every caller
// waiting at that moment; each caller can still give up through its own context.
type stsTokenSource struct {
	pl        runtime.Pipeline
	tokenURL  string
	accountID string
	scope     string
	cred      Credential
	now       func() time.Time

	mu        sync.Mutex
	tok       string
	exp       time.Time
	refreshAt time.Time
	inflight  *stsCall
}

type stsCall struct {
	done chan struct{}
	tok  string
	err  error
}

func newSTSTokenSource(pl runtime.Pipeline, stsEndpoint, accountID, accountDomain string, cred Credential) *stsTokenSource {
	return &stsTokenSource{
		pl:        pl,
		tokenURL:  stsEndpoint + "/Accounts/" + url.PathEscape(accountID) + "/token?api-version=" + stsAPIVersion,
		accountID: accountID,
		scope:     "https://sts." + accountDomain + "/.default",
		cred:      cred,
		now:       time.Now,
	}
}

// token returns a cached token or waits for the (single) fetch in progress.
func (s *stsTokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.tok != "" && s.now().Before(s.refreshAt) {
		tok := s.tok
		s.mu.Unlock()
		return tok, nil
	}
	c := s.inflight
	if c == nil {
		c = &stsCall{done: make(chan struct{})}
		s.inflight = c
		// Detached from the first caller's cancellation: other callers may be waiting
		// on this fetch. Bounded by stsFetchTimeout instead.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stsFetchTimeout)
		go func() {
			defer cancel()
			s.fetch(fctx, c)
		}()
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *stsTokenSource) fetch(ctx context.Context, c *stsCall) {
	tok, exp, err := s.exchange(ctx)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = nil
	defer close(c.done)
	if err != nil {
		// A still-valid older token is better than failing the call.
		if s.tok != "" && now.Before(s.exp.Add(-30*time.Second)) {
			c.tok = s.tok
			return
		}
		c.err = &stsError{err: err}
		return
	}
	c.tok = tok
	s.tok, s.exp, s.refreshAt = tok, exp, refreshTime(now, exp)
}

// refreshTime is when a token expiring at exp should be replaced.
func refreshTime(now, exp time.Time) time.Time {
	left := exp.Sub(now)
	switch {
	case left <= 0:
		return now // already expired: use once, never cache
	case left < 2*refreshMargin:
		return now.Add(left / 2)
	default:
		return exp.Add(-refreshMargin)
	}
}

// invalidate drops tok if it is still the cached token (ARR answered 401 to it).
func (s *stsTokenSource) invalidate(tok string) {
	s.mu.Lock()
	if s.tok == tok {
		s.tok, s.refreshAt = "", time.Time{}
	}
	s.mu.Unlock()
}

func (s *stsTokenSource) exchange(ctx context.Context) (string, time.Time, error) {
	authz, err := s.cred.stsAuthorization(ctx, s.accountID, s.scope)
	if err != nil {
		return "", time.Time{}, err
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, s.tokenURL)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("arr: STS request: %w", err)
	}
	req.Raw().Header.Set("Accept", "application/json")
	req.Raw().Header.Set("Authorization", authz)
	resp, err := s.pl.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("arr: STS token for account %s: %w", s.accountID, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := newResponseError(resp)
		if re, ok := err.(*ResponseError); ok {
			re.sts = true
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return "", time.Time{}, fmt.Errorf("arr: STS rejected the credential for account %s (wrong account id, key or role?): %w", s.accountID, err)
		}
		return "", time.Time{}, fmt.Errorf("arr: STS token for account %s: %w", s.accountID, err)
	}
	var body struct {
		AccessToken string `json:"AccessToken"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
		return "", time.Time{}, errors.New("arr: STS response is not {\"AccessToken\":...}")
	}
	if body.AccessToken == "" {
		return "", time.Time{}, errors.New("arr: STS response has an empty AccessToken")
	}
	exp, err := jwtExpiry(body.AccessToken)
	if err != nil {
		exp = s.now().Add(unknownExpiryTTL)
	}
	return body.AccessToken, exp, nil
}

// authPolicy puts the STS token on every ARR request and, on a 401, replaces the
// token once and resends.
type authPolicy struct{ src *stsTokenSource }

func (p *authPolicy) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	tok, err := p.src.token(ctx)
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Authorization", "Bearer "+tok)
	resp, err := req.Next()
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	p.src.invalidate(tok)
	tok2, err := p.src.token(ctx)
	if err != nil {
		runtime.Drain(resp)
		return nil, err
	}
	if err := req.RewindBody(); err != nil {
		return resp, nil
	}
	runtime.Drain(resp)
	req.Raw().Header.Set("Authorization", "Bearer "+tok2)
	return req.Next()
}
