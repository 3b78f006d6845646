package devhost

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (h *Host) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/functions/{name}", h.adminOnly(h.serveAdminInvoke))
	mux.HandleFunc("GET /admin/host/status", h.adminOnly(h.serveStatus))
	prefix := "/"
	if h.app.Host.RoutePrefix != "" {
		prefix = "/" + h.app.Host.RoutePrefix + "/"
	}
	mux.HandleFunc(prefix, h.serveHTTPTrigger)
	if prefix != "/" {
		mux.HandleFunc("/", http.NotFound)
		mux.HandleFunc("GET /{$}", h.serveRoot)
	}
	return mux
}

// routeOf is the path a function's httpTrigger answers on (template form).
func (h *Host) routeOf(fn *Function) string {
	r := fn.Trigger.Route
	if r == "" {
		r = fn.Name
	}
	if h.app.Host.RoutePrefix == "" {
		return "/" + strings.Trim(r, "/")
	}
	return "/" + h.app.Host.RoutePrefix + "/" + strings.Trim(r, "/")
}

// matchRoute matches a request path against a route template with {name},
// {name?}, {name:constraint} and {*rest} segments (constraints are not checked).
// Literal segments compare case-insensitively, like ASP.NET routing.
func matchRoute(template, path string) (object, bool) {
	ts := strings.Split(strings.Trim(template, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) == 1 && ps[0] == "" {
		ps = nil
	}
	params := object{}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			name := strings.Trim(t, "{}")
			if strings.HasPrefix(name, "*") {
				params = append(params, member{strings.TrimPrefix(strings.SplitN(name, ":", 2)[0], "*"), strings.Join(ps[min(i, len(ps)):], "/")})
				return params, true
			}
			optional := strings.HasSuffix(name, "?")
			name = strings.SplitN(strings.TrimSuffix(name, "?"), ":", 2)[0]
			if i >= len(ps) {
				if optional {
					continue
				}
				return nil, false
			}
			v, err := url.PathUnescape(ps[i])
			if err != nil {
				return nil, false
			}
			params = append(params, member{name, v})
			continue
		}
		if i >= len(ps) || !strings.EqualFold(t, ps[i]) {
			return nil, false
		}
	}
	if len(ps) > len(ts) {
		return nil, false
	}
	return params, true
}

func (h *Host) serveHTTPTrigger(w http.ResponseWriter, r *http.Request) {
	var fn *Function
	var params object
	for _, f := range h.app.Functions {
		if f.Trigger.Type != TypeHTTP {
			continue
		}
		if p, ok := matchRoute(h.routeOf(f), r.URL.Path); ok {
			fn, params = f, p
			break
		}
	}
	if fn == nil {
		http.NotFound(w, r)
		return
	}
	if ms := fn.Trigger.Methods; len(ms) > 0 && !slices.ContainsFunc(ms, func(m string) bool { return strings.EqualFold(m, r.Method) }) {
		w.Header().Set("Allow", strings.ToUpper(strings.Join(ms, ", ")))
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	keyed := false
	switch strings.ToLower(fn.Trigger.AuthLevel) {
	case "anonymous":
	default: // function is the default authLevel; admin and system need a key too
		if !h.validKey(r) {
			http.Error(w, "unauthorized: pass the function key as ?code= or x-functions-key", http.StatusUnauthorized)
			return
		}
		keyed = true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 100<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	payload, err := HTTPPayload(fn.Name, fn.Trigger.Name, r, body, params, keyed, h.now(), NewUUID())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp, err := h.invokeWithOutputs(r.Context(), fn, "http", payload)
	if err != nil {
		// Like the host: the caller learns only that the function failed.
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	outName := ""
	for _, o := range fn.Outputs {
		if o.Type == TypeHTTPOut {
			outName = o.Name
		}
	}
	writeHTTPOutput(w, outputValue(resp, outName), h)
}

func (h *Host) validKey(r *http.Request) bool { return keyIs(r, h.key) }

// keyIs reports whether the request carries want as x-functions-key or ?code=.
func keyIs(r *http.Request, want string) bool {
	got := r.Header.Get("x-functions-key")
	if got == "" {
		got = r.URL.Query().Get("code")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// adminOnly guards the admin API with the master key, as the host does: a
// function key is not enough.
func (h *Host) adminOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !keyIs(r, h.master) {
			http.Error(w, "unauthorized: the admin API needs the master key as x-functions-key or ?code= (setting DEVHOST_MASTER_KEY; default "+DevMasterKey+")", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

// writeHTTPOutput translates Outputs.<res> ({statusCode, headers, body}, keys
// case-insensitive) into the HTTP response.
func writeHTTPOutput(w http.ResponseWriter, raw json.RawMessage, h *Host) {
	var res map[string]json.RawMessage
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &res) != nil {
		h.log.Warn("http output not set or not an object; answering 200 with an empty body")
		w.WriteHeader(http.StatusOK)
		return
	}
	get := func(key string) json.RawMessage {
		for k, v := range res {
			if strings.EqualFold(k, key) {
				return v
			}
		}
		return nil
	}
	status := http.StatusOK
	if v := get("statusCode"); v != nil {
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			if i, err := n.Int64(); err == nil {
				status = int(i)
			}
		} else {
			var s string
			if json.Unmarshal(v, &s) == nil {
				if i, err := strconv.Atoi(s); err == nil {
					status = i
				}
			}
		}
	}
	var headers map[string]any
	_ = json.Unmarshal(get("headers"), &headers)
	for k, v := range headers {
		switch v := v.(type) {
		case string:
			w.Header().Set(k, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					w.Header().Add(k, s)
				}
			}
		default:
			b, _ := json.Marshal(v)
			w.Header().Set(k, string(b))
		}
	}
	var body []byte
	if b := get("body"); len(b) > 0 && string(b) != "null" {
		var s string
		if json.Unmarshal(b, &s) == nil {
			body = []byte(s)
		} else {
			body = b // an object or array body is sent as its JSON
			if w.Header().Get("Content-Type") == "" {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
			}
		}
	}
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// HTTPPayload builds the invocation body of an httpTrigger function from the
// request, following the host's GetRequestAsJObject: Headers as arrays in Data
// and plain strings in Metadata, Query joined with commas, an Identities entry
// even when anonymous, and no Body unless Content-Length is positive.
func HTTPPayload(function, binding string, r *http.Request, body []byte, params object, keyed bool, now time.Time, randGUID string) ([]byte, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	query := queryObject(r.URL.RawQuery)
	// net/http moves Host out of the header map; the host lists it.
	names := make([]string, 0, len(r.Header)+1)
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	names = append([]string{"Host"}, names...)
	arrays, plain := object{}, object{}
	for _, k := range names {
		vals := r.Header.Values(k)
		if k == "Host" {
			vals = []string{r.Host}
		}
		arrays = append(arrays, member{k, vals})
		plain = append(plain, member{k, strings.Join(vals, ",")})
	}
	if params == nil {
		params = object{}
	}
	req := object{
		{"Url", u},
		{"Method", r.Method},
		{"Query", query},
		{"Headers", arrays},
		{"Params", params},
		{"Identities", []any{identity(keyed)}},
	}
	if r.ContentLength > 0 {
		req = append(req, member{"Body", string(body)})
	}
	meta := object{{"Query", query}, {"Headers", plain}, {"sys", sysObject(function, now, randGUID)}}
	return invocation(object{{binding, req}}, meta)
}

// queryObject keeps first-seen key order and joins repeated keys with commas.
func queryObject(raw string) object {
	q := object{}
	idx := map[string]int{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		if i, ok := idx[k]; ok {
			q[i].Value = q[i].Value.(string) + "," + v
			continue
		}
		idx[k] = len(q)
		q = append(q, member{k, v})
	}
	return q
}

func identity(keyed bool) object {
	id := object{
		{"AuthenticationType", nil},
		{"IsAuthenticated", false},
		{"Actor", nil},
		{"BootstrapContext", nil},
		{"Claims", []any{}},
		{"Label", nil},
		{"Name", nil},
		{"NameClaimType", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"},
		{"RoleClaimType", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"},
	}
	if keyed {
		claim := func(typ, value string) object {
			return object{{"Issuer", "LOCAL AUTHORITY"}, {"OriginalIssuer", "LOCAL AUTHORITY"}, {"Properties", object{}},
				{"Type", typ}, {"Value", value}, {"ValueType", "http://www.w3.org/2001/XMLSchema#string"}}
		}
		id.set("AuthenticationType", "WebJobsAuthLevel")
		id.set("IsAuthenticated", true)
		id.set("Claims", []any{
			claim("http://schemas.microsoft.com/2017/07/functions/claims/authlevel", "Function"),
			claim("http://schemas.microsoft.com/2017/07/functions/claims/keyid", "default"),
		})
	}
	return id
}

// serveAdminInvoke is POST /admin/functions/<name> with an optional body
// {"input":"..."}. devhost runs the invocation before answering 202 (the host
// answers first), so scripts know it is done; a failure answers 502 with the
// one-line reason.
func (h *Host) serveAdminInvoke(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Input string `json:"input"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		err = json.Unmarshal(b, &in)
	}
	if err != nil {
		http.Error(w, `body must be {"input":"..."}: `+err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.Fire(r.Context(), r.PathValue("name"), in.Input); err != nil {
		status := http.StatusBadGateway
		switch {
		case errors.Is(err, errNotFound):
			status = http.StatusNotFound
		case errors.Is(err, errHTTPTrigger):
			status = http.StatusBadRequest
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// serveRoot answers GET / like the host's landing page: 200 once the handler
// runs, 503 before, so a start-up script can poll it.
func (h *Host) serveRoot(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.sup.Ready(ctx); err != nil {
		http.Error(w, "devhost: handler starting", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "devhost: running\n")
}

func (h *Host) serveStatus(w http.ResponseWriter, r *http.Request) {
	state := "Running"
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.sup.Ready(ctx); err != nil {
		state = "Initialized"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"state": state, "version": HostVersion, "handlerStarts": h.sup.Starts()})
}
