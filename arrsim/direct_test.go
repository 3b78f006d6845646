package arrsim

import (
	"net/http"
	"net/http/httptest"
	"strings"
)

// serveDirect calls ServeHTTP in process (no network) and returns the status.
func serveDirect(h *harness, method, path, body string) int {
	req := httptest.NewRequest(method, "/accounts/"+h.sim.opts.AccountID+path+"?api-version=2021-01-01", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.token)
	rec := httptest.NewRecorder()
	h.sim.ServeHTTP(rec, req)
	return rec.Code
}

var _ http.Handler = (*Server)(nil)
