package arr

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// SessionSettings are the parameters of a new session.
type SessionSettings struct {
	// MaxLeaseTimeMinutes: 0..1440. The lease counts from Ready; billing runs until
	// the session is stopped or the lease expires.
	MaxLeaseTimeMinutes int32
	// Size: Standard or Premium in any letter case.
	Size SessionSize
}

// CreateSessionOptions, GetSessionOptions, ... are reserved for future parameters.
type (
	CreateSessionOptions struct{}
	GetSessionOptions    struct{}
	UpdateSessionOptions struct{}
	StopSessionOptions   struct{}
	ListSessionsOptions  struct{}
)

// CreateSessionResponse is the result of CreateSession.
type CreateSessionResponse struct {
	Session
	// Created is false when the service answered 200: a session with this id and
	// these settings already existed (a retried create), so this call started nothing.
	Created bool
	MSCV    string
}

// GetSessionResponse is the result of GetSession.
type GetSessionResponse struct {
	Session
	MSCV string
}

// UpdateSessionResponse is the result of UpdateSession.
type UpdateSessionResponse struct {
	Session
	MSCV string
}

// StopSessionResponse is the result of StopSession.
type StopSessionResponse struct {
	MSCV string
}

// ListSessionsResponse is one page of NewListSessionsPager: only Starting and
// Ready sessions are listed by the service.
type ListSessionsResponse struct {
	Sessions []Session
	NextLink *string
	MSCV     string
}

func (c *Client) sessionURL(id string) string {
	return c.accountPath() + "/sessions/" + url.PathEscape(id)
}

// CreateSession starts a rendering session with a caller-chosen id (PUT). Using a
// deterministic id makes the call idempotent: a retry with the same settings
// returns the existing session (Created false); different settings give 409.
func (c *Client) CreateSession(ctx context.Context, sessionID string, settings SessionSettings, _ *CreateSessionOptions) (CreateSessionResponse, error) {
	if err := ValidateID("session id", sessionID); err != nil {
		return CreateSessionResponse{}, err
	}
	if err := validateLease("maxLeaseTimeMinutes", settings.MaxLeaseTimeMinutes, 0); err != nil {
		return CreateSessionResponse{}, err
	}
	size, err := ParseSessionSize(string(settings.Size))
	if err != nil {
		return CreateSessionResponse{}, err
	}
	return c.createSession(ctx, sessionID, createSessionBody{MaxLeaseTimeMinutes: settings.MaxLeaseTimeMinutes, Size: size})
}

func (c *Client) createSession(ctx context.Context, id string, body createSessionBody) (CreateSessionResponse, error) {
	resp, err := c.send(ctx, http.MethodPut, c.sessionURL(id), body, http.StatusOK, http.StatusCreated)
	if err != nil {
		return CreateSessionResponse{}, fmt.Errorf("create session %s: %w", id, err)
	}
	out := CreateSessionResponse{Created: resp.StatusCode == http.StatusCreated, MSCV: resp.Header.Get("MS-CV")}
	if err := decodeSession(resp, &out.Session); err != nil {
		return CreateSessionResponse{}, fmt.Errorf("create session %s: %w", id, err)
	}
	return out, nil
}

// GetSession reads a session; finished sessions stay readable for 30 days.
func (c *Client) GetSession(ctx context.Context, sessionID string, _ *GetSessionOptions) (GetSessionResponse, error) {
	if err := ValidateID("session id", sessionID); err != nil {
		return GetSessionResponse{}, err
	}
	resp, err := c.send(ctx, http.MethodGet, c.sessionURL(sessionID), nil, http.StatusOK)
	if err != nil {
		return GetSessionResponse{}, fmt.Errorf("get session %s: %w", sessionID, err)
	}
	out := GetSessionResponse{MSCV: resp.Header.Get("MS-CV")}
	if err := decodeSession(resp, &out.Session); err != nil {
		return GetSessionResponse{}, fmt.Errorf("get session %s: %w", sessionID, err)
	}
	return out, nil
}

// UpdateSession extends the lease (PATCH). The service requires a value larger than
// the current one (422 otherwise); only 1..1440 can be checked here.
func (c *Client) UpdateSession(ctx context.Context, sessionID string, maxLeaseTimeMinutes int32, _ *UpdateSessionOptions) (UpdateSessionResponse, error) {
	if err := ValidateID("session id", sessionID); err != nil {
		return UpdateSessionResponse{}, err
	}
	if err := validateLease("maxLeaseTimeMinutes", maxLeaseTimeMinutes, 1); err != nil {
		return UpdateSessionResponse{}, err
	}
	return c.updateSession(ctx, sessionID, updateSessionBody{MaxLeaseTimeMinutes: maxLeaseTimeMinutes})
}

func (c *Client) updateSession(ctx context.Context, id string, body updateSessionBody) (UpdateSessionResponse, error) {
	resp, err := c.send(ctx, http.MethodPatch, c.sessionURL(id), body, http.StatusOK)
	if err != nil {
		return UpdateSessionResponse{}, fmt.Errorf("update session %s: %w", id, err)
	}
	out := UpdateSessionResponse{MSCV: resp.Header.Get("MS-CV")}
	if err := decodeSession(resp, &out.Session); err != nil {
		return UpdateSessionResponse{}, fmt.Errorf("update session %s: %w", id, err)
	}
	return out, nil
}

// StopSession stops a session (POST /sessions/{id}/:stop, 204) and ends its billing.
func (c *Client) StopSession(ctx context.Context, sessionID string, _ *StopSessionOptions) (StopSessionResponse, error) {
	if err := ValidateID("session id", sessionID); err != nil {
		return StopSessionResponse{}, err
	}
	resp, err := c.send(ctx, http.MethodPost, c.sessionURL(sessionID)+"/:stop", nil, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return StopSessionResponse{}, fmt.Errorf("stop session %s: %w", sessionID, err)
	}
	runtime.Drain(resp)
	return StopSessionResponse{MSCV: resp.Header.Get("MS-CV")}, nil
}

// NewListSessionsPager lists the account's Starting and Ready sessions, following
// @nextLink (only on the client's own endpoint).
func (c *Client) NewListSessionsPager(_ *ListSessionsOptions) *runtime.Pager[ListSessionsResponse] {
	return runtime.NewPager(runtime.PagingHandler[ListSessionsResponse]{
		More: func(p ListSessionsResponse) bool { return p.NextLink != nil && *p.NextLink != "" },
		Fetcher: func(ctx context.Context, page *ListSessionsResponse) (ListSessionsResponse, error) {
			u := c.accountPath() + "/sessions"
			if page != nil && page.NextLink != nil {
				var err error
				if u, err = c.resolveNextLink(*page.NextLink); err != nil {
					return ListSessionsResponse{}, err
				}
			}
			resp, err := c.send(ctx, http.MethodGet, u, nil, http.StatusOK)
			if err != nil {
				return ListSessionsResponse{}, fmt.Errorf("list sessions: %w", err)
			}
			var l sessionList
			if err := runtime.UnmarshalAsJSON(resp, &l); err != nil {
				return ListSessionsResponse{}, fmt.Errorf("list sessions: %w", err)
			}
			return ListSessionsResponse{Sessions: l.Sessions, NextLink: l.NextLink, MSCV: resp.Header.Get("MS-CV")}, nil
		},
	})
}
