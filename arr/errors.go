package arr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/arrops/arrops"
)

// ResponseError is a failed ARR or STS call. errors.As finds it, and through Unwrap
// also the *azcore.ResponseError it wraps. Error() holds the method, the URL path
// (never the query or headers), status, ARR error code, message and MS-CV: no token,
// key or SAS can appear in it.
type ResponseError struct {
	StatusCode int
	ErrorCode  string
	Message    string
	// MSCV is the service's correlation vector: quote it to Microsoft support.
	MSCV string
	// Details is the full decoded error object, if the body had one.
	Details *ErrorDetails

	method, path string
	az           *azcore.ResponseError
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("arr: ")
	if e.method != "" {
		b.WriteString(e.method + " " + e.path + ": ")
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorCode != "" {
		b.WriteString(": " + e.ErrorCode)
	}
	if e.Message != "" {
		b.WriteString(": " + truncate(e.Message, 512))
	}
	if e.MSCV != "" {
		b.WriteString(" (MS-CV " + e.MSCV + ")")
	}
	return b.String()
}

// Unwrap returns the *azcore.ResponseError (for code written against azcore) and
// an *arrops.Error that classifies the failure for arrops.ErrorCode/Permanent:
// 400/401/403/422 are EINVALID (bad input, credential or role: retrying cannot
// help), 404 ENOTFOUND, 409 ECONFLICT, anything else (429, 5xx) EINTERNAL.
func (e *ResponseError) Unwrap() []error {
	code := arrops.EINTERNAL
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
		code = arrops.EINVALID
	case http.StatusNotFound:
		code = arrops.ENOTFOUND
	case http.StatusConflict:
		code = arrops.ECONFLICT
	}
	msg := strings.TrimSpace(e.ErrorCode + " " + e.Message)
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.az == nil {
		return []error{&arrops.Error{Code: code, Message: msg}}
	}
	return []error{e.az, &arrops.Error{Code: code, Message: msg}}
}

// RawResponse is the HTTP response (body already read).
func (e *ResponseError) RawResponse() *http.Response {
	if e.az == nil {
		return nil
	}
	return e.az.RawResponse
}

// newResponseError builds a *ResponseError from a non-success response. It reads
// and buffers the body (bodies of failures are small).
func newResponseError(resp *http.Response) error {
	azErr := runtime.NewResponseError(resp)
	var az *azcore.ResponseError
	if !errors.As(azErr, &az) {
		return fmt.Errorf("arr: reading error response: %w", azErr)
	}
	body, _ := runtime.Payload(resp)
	d, _ := decodeError(body)
	e := &ResponseError{StatusCode: resp.StatusCode, MSCV: resp.Header.Get("MS-CV"), az: az}
	if resp.Request != nil {
		e.method, e.path = resp.Request.Method, resp.Request.URL.Path
	}
	if d != nil {
		e.Details, e.ErrorCode, e.Message = d, d.Code, d.Message
	} else if wa := resp.Header.Get("WWW-Authenticate"); wa != "" {
		e.Message = truncate(wa, 256)
	}
	if e.ErrorCode == "" {
		e.ErrorCode = az.ErrorCode
	}
	return e
}

// decodeError decodes {"error":{...}}. It returns nil, nil for an empty body and
// nil, err for a body that is not an ARR error object.
func decodeError(body []byte) (*ErrorDetails, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	var env struct {
		Error *ErrorDetails `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("arr: decode error body: %w", err)
	}
	if env.Error == nil {
		return nil, errors.New("arr: error body has no error object")
	}
	return env.Error, nil
}
