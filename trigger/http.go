package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// HTTPRequest is an HTTP trigger payload (enableForwardingHttpRequest false).
type HTTPRequest struct {
	URL    string
	Method string
	// Query holds the query parameters; repeated keys arrive joined with
	// commas.
	Query map[string]string
	// Headers as sent in Data (arrays of values). Keys keep the client's
	// casing: use Header for case-insensitive access.
	Headers map[string][]string
	// Params are the route parameters.
	Params     map[string]string
	Identities []Identity
	// Body is the request body; HasBody is false when the host sent none
	// (any request with Content-Length 0). A JSON body arrives as an object
	// and is kept as its JSON text; an octet-stream or multipart body
	// arrives as base64 and is decoded.
	Body    []byte
	HasBody bool
	Sys     Sys
}

// Identity is one ClaimsIdentity of the caller; anonymous calls have one
// with an empty AuthenticationType and no claims.
type Identity struct {
	AuthenticationType string
	IsAuthenticated    bool
	Name               string
	NameClaimType      string
	RoleClaimType      string
	Claims             []Claim
}

// Claim is one claim of an Identity.
type Claim struct {
	Type           string
	Value          string
	ValueType      string
	Issuer         string
	OriginalIssuer string
}

// Header returns the first value of the named header (case-insensitive).
func (r *HTTPRequest) Header(name string) string {
	if v := r.HeaderValues(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// HeaderValues returns all values of the named header (case-insensitive).
func (r *HTTPRequest) HeaderValues(name string) []string {
	if v, ok := r.Headers[name]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// QueryValue returns a query parameter (case-insensitive, as the host's
// binding data is).
func (r *HTTPRequest) QueryValue(name string) string {
	if v, ok := r.Query[name]; ok {
		return v
	}
	for k, v := range r.Query {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// ParsedURL parses URL.
func (r *HTTPRequest) ParsedURL() (*url.URL, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("trigger: http request url: %w", err)
	}
	return u, nil
}

// AuthLevel returns the value of the Functions authlevel claim ("Function",
// "Admin", ...) or "" for anonymous calls.
func (r *HTTPRequest) AuthLevel() string {
	for _, id := range r.Identities {
		for _, c := range id.Claims {
			if c.Type == "http://schemas.microsoft.com/2017/07/functions/claims/authlevel" {
				return c.Value
			}
		}
	}
	return ""
}

// DecodeBody unmarshals the JSON body into v.
func (r *HTTPRequest) DecodeBody(v any) error {
	if !r.HasBody {
		return errors.New("trigger: http request has no body")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("trigger: http request body: %w", err)
	}
	return nil
}

// sensitiveQuery are the query parameters that carry credentials: function
// keys, tokens, SAS signatures.
var sensitiveQuery = []string{"code", "sig", "token", "access_token", "key"}

// RedactedURL returns URL with credential query parameters (the function
// key "code", SAS "sig", tokens) replaced by REDACTED.
func (r *HTTPRequest) RedactedURL() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return "(unparsable url)"
	}
	q := u.Query()
	changed := false
	for k := range q {
		for _, s := range sensitiveQuery {
			if strings.EqualFold(k, s) {
				q[k] = []string{"REDACTED"}
				changed = true
			}
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// String describes the request without credentials.
func (r HTTPRequest) String() string { return r.Method + " " + r.RedactedURL() }

// LogValue logs the request without credentials: method, redacted URL and
// the names (not values) of the headers.
func (r HTTPRequest) LogValue() slog.Value {
	names := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	return slog.GroupValue(
		slog.String("method", r.Method),
		slog.String("url", r.RedactedURL()),
		slog.Any("headers", names),
		slog.Int("bodyBytes", len(r.Body)),
	)
}

type httpWire struct {
	URL        string                     `json:"Url"`
	Method     string                     `json:"Method"`
	Query      map[string]json.RawMessage `json:"Query"`
	Headers    map[string]json.RawMessage `json:"Headers"`
	Params     map[string]json.RawMessage `json:"Params"`
	Identities []identityWire             `json:"Identities"`
	Body       json.RawMessage            `json:"Body"`
}

type identityWire struct {
	AuthenticationType *string
	IsAuthenticated    bool
	Name               *string
	NameClaimType      *string
	RoleClaimType      *string
	Claims             []Claim
}

// HTTPRequest decodes the HTTP trigger bound as binding.
func (inv *Invocation) HTTPRequest(binding string) (HTTPRequest, error) {
	var r HTTPRequest
	raw, err := inv.Binding(binding)
	if err != nil {
		return r, err
	}
	var w httpWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return r, fmt.Errorf("trigger: http Data.%s: %w", binding, err)
	}
	if w.Method == "" {
		return r, fmt.Errorf("trigger: http Data.%s: no Method", binding)
	}
	r.URL, r.Method = w.URL, w.Method
	r.Query = textMap(w.Query)
	r.Params = textMap(w.Params)
	r.Headers = make(map[string][]string, len(w.Headers))
	for k, v := range w.Headers {
		r.Headers[k] = headerValues(v)
	}
	for _, iw := range w.Identities {
		if len(iw.Claims) == 0 {
			iw.Claims = nil // "Claims": [] for anonymous calls
		}
		r.Identities = append(r.Identities, Identity{
			AuthenticationType: deref(iw.AuthenticationType),
			IsAuthenticated:    iw.IsAuthenticated,
			Name:               deref(iw.Name),
			NameClaimType:      deref(iw.NameClaimType),
			RoleClaimType:      deref(iw.RoleClaimType),
			Claims:             iw.Claims,
		})
	}
	if !isNull(w.Body) {
		r.HasBody = true
		body := bytes.TrimSpace(w.Body)
		if body[0] == '"' {
			var s string
			if err := json.Unmarshal(body, &s); err != nil {
				return r, fmt.Errorf("trigger: http Data.%s.Body: %w", binding, err)
			}
			r.Body = []byte(s)
			if isBinaryMedia(r.Header("Content-Type")) {
				if dec, ok := decodeBase64(r.Body); ok {
					r.Body = dec
				}
			}
		} else {
			r.Body = append([]byte(nil), body...)
		}
	}
	if r.Sys, err = inv.Sys(); err != nil {
		return r, fmt.Errorf("trigger: http: %w", err)
	}
	return r, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// textMap turns an object of scalars into text; non-scalar values are kept
// as their JSON text.
func textMap(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if isNull(v) {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(bytes.TrimSpace(v))
		}
	}
	return out
}

// headerValues accepts the Data form (array of strings) and the Metadata
// form (a plain string).
func headerValues(v json.RawMessage) []string {
	var vals []string
	if json.Unmarshal(v, &vals) == nil {
		return vals
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []string{s}
	}
	return []string{string(bytes.TrimSpace(v))}
}

func isBinaryMedia(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/"))
}

// EncodeHTTPInvocation renders r as the request body the host sends for an
// HTTP trigger bound as binding: headers as arrays in Data and as strings
// (values joined with ",") in Metadata; a JSON body (JSON content type, valid
// JSON) as an object, an octet-stream or multipart body as base64, anything
// else as a string; no Body member when HasBody is false. Nil Identities
// give the anonymous identity the host always sends.
func EncodeHTTPInvocation(binding string, r HTTPRequest) ([]byte, error) {
	query, err := marshalNoEscape(nonNilMap(r.Query))
	if err != nil {
		return nil, fmt.Errorf("trigger: encode http query: %w", err)
	}
	headers, err := marshalNoEscape(nonNilHeaders(r.Headers))
	if err != nil {
		return nil, fmt.Errorf("trigger: encode http headers: %w", err)
	}
	params, err := marshalNoEscape(nonNilMap(r.Params))
	if err != nil {
		return nil, fmt.Errorf("trigger: encode http params: %w", err)
	}
	ids := r.Identities
	if ids == nil {
		ids = []Identity{{
			NameClaimType: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
			RoleClaimType: "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
		}}
	}
	var idList bytes.Buffer
	idList.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			idList.WriteByte(',')
		}
		idList.Write(encodeIdentity(id))
	}
	idList.WriteByte(']')

	var req ordered
	req.add("Url", jsonString(r.URL))
	req.add("Method", jsonString(r.Method))
	req.add("Query", query)
	req.add("Headers", headers)
	req.add("Params", params)
	req.add("Identities", idList.Bytes())
	if r.HasBody {
		ct := r.Header("Content-Type")
		switch {
		case contentTypeIsJSON(ct) && json.Valid(r.Body):
			var compact bytes.Buffer
			_ = json.Compact(&compact, r.Body) // valid JSON compacts
			req.add("Body", compact.Bytes())
		case isBinaryMedia(ct):
			req.add("Body", jsonString(base64Std(r.Body)))
		default:
			if !utf8.Valid(r.Body) {
				return nil, errors.New("trigger: encode http body: not UTF-8 text and not a binary content type")
			}
			req.add("Body", jsonString(string(r.Body)))
		}
	}

	var metaHeaders ordered
	for _, k := range sortedKeys(r.Headers) {
		metaHeaders.add(k, jsonString(strings.Join(r.Headers[k], ",")))
	}
	var meta ordered
	meta.add("Query", query)
	meta.add("Headers", metaHeaders.bytes())
	meta.add("sys", sysValue(r.Sys))
	return envelope(binding, req.bytes(), &meta), nil
}

func encodeIdentity(id Identity) []byte {
	nullable := func(s string) []byte {
		if s == "" {
			return []byte("null")
		}
		return jsonString(s)
	}
	var o ordered
	o.add("AuthenticationType", nullable(id.AuthenticationType))
	o.add("IsAuthenticated", boolJSON(id.IsAuthenticated))
	o.add("Actor", []byte("null"))
	o.add("BootstrapContext", []byte("null"))
	var claims bytes.Buffer
	claims.WriteByte('[')
	for i, c := range id.Claims {
		if i > 0 {
			claims.WriteByte(',')
		}
		var co ordered
		co.add("Issuer", jsonString(c.Issuer))
		co.add("OriginalIssuer", jsonString(c.OriginalIssuer))
		co.add("Properties", []byte("{}"))
		co.add("Type", jsonString(c.Type))
		co.add("Value", jsonString(c.Value))
		co.add("ValueType", jsonString(c.ValueType))
		claims.Write(co.bytes())
	}
	claims.WriteByte(']')
	o.add("Claims", claims.Bytes())
	o.add("Label", []byte("null"))
	o.add("Name", nullable(id.Name))
	o.add("NameClaimType", nullable(id.NameClaimType))
	o.add("RoleClaimType", nullable(id.RoleClaimType))
	return o.bytes()
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilHeaders(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
