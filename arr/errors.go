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
	sts          bool // the failure came from STS, not from ARR itself
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
// an *arrops.Error that classifies the failure for arrops.ErrorCode (see
// Classify). Its message ("403 Forbidden: <ARR's message> (MS-CV <cv>)", with
// an "STS " prefix for the token service) keeps ARR's status, code, message and
// MS-CV, so a recorded reason (arrops.ErrorMessage) can be quoted to Microsoft
// support.
func (e *ResponseError) Unwrap() []error {
	var b strings.Builder
	if e.sts {
		b.WriteString("STS ")
	}
	fmt.Fprintf(&b, "%d", e.StatusCode)
	if e.ErrorCode != "" {
		b.WriteString(" " + e.ErrorCode)
	} else {
		b.WriteString(" " + http.StatusText(e.StatusCode))
	}
	if e.Message != "" {
		b.WriteString(": " + truncate(e.Message, 512))
	}
	if e.MSCV != "" {
		b.WriteString(" (MS-CV " + e.MSCV + ")")
	}
	ae := &arrops.Error{Code: e.Class(), Message: b.String()}
	if e.az == nil {
		return []error{ae}
	}
	return []error{e.az, ae}
}

// Class is the arrops error code of the failure (Classify of its status and
// ARR error code). A 4xx from STS (other than 408 and 429) is always
// EUNAUTHORIZED: the account id, key or identity is wrong, whatever the status.
func (e *ResponseError) Class() string {
	c := Classify(e.StatusCode, e.ErrorCode)
	if e.sts && (c == arrops.EINVALID || c == arrops.ENOTFOUND || c == arrops.ECONFLICT) {
		return arrops.EUNAUTHORIZED
	}
	return c
}

// Classify is arrops' one classification of ARR failures, by HTTP status and
// ARR error code:
//
//	401, 403, DelegatedResourceAccessError  EUNAUTHORIZED  credential, role or storage link: the operator must fix it
//	400, 422, other 4xx                     EINVALID       the request cannot succeed as it is
//	404                                     ENOTFOUND      no such session or conversion
//	409                                     ECONFLICT      the id exists with other settings
//	408, 429, 5xx, anything else            EINTERNAL      transient: retry
//
// The README's "Error contract" says what each class does to a command, a
// conversion and a sweep.
func Classify(status int, code string) string {
	switch {
	case code == "DelegatedResourceAccessError", status == http.StatusUnauthorized, status == http.StatusForbidden:
		return arrops.EUNAUTHORIZED
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return arrops.EINTERNAL
	case status == http.StatusNotFound:
		return arrops.ENOTFOUND
	case status == http.StatusConflict:
		return arrops.ECONFLICT
	case status >= 400 && status < 500:
		return arrops.EINVALID
	}
	return arrops.EINTERNAL
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
