package arrops

import (
	"errors"
	"fmt"
)

// Error codes, in the style of benbjohnson/wtf: they classify failures so the
// functions can decide between "record and answer" (permanent) and "fail the
// invocation so the host retries" (transient). Only the adapters decide a
// code (arr for ARR, store for Table Storage, notify for the bus), once;
// everything else switches on ErrorCode. The README's "Error contract" has
// the table of what each code does to a command, a conversion and a sweep.
const (
	EINVALID  = "invalid"   // bad input (ARR 400/422, other 4xx); permanent
	ENOTFOUND = "not_found" // permanent for the request at hand (ARR 404)
	ECONFLICT = "conflict"  // exists with other settings (ARR 409); permanent
	// EUNAUTHORIZED: a credential or role failure (ARR/STS 401/403, a
	// storage or bus role missing). Retrying cannot help until the operator
	// fixes the deployment: requests are answered with the reason and the
	// failure is logged at error level.
	EUNAUTHORIZED = "unauthorized"
	EINTERNAL     = "internal" // transient or unexpected (408, 429, 5xx, network); retry
)

// ErrConcurrentUpdate reports that a record changed since it was read (an
// ETag precondition failed): re-read the record and apply the change again.
// It is transient (EINTERNAL): a failure that wraps it lets the host retry.
var ErrConcurrentUpdate = errors.New("record changed since it was read")

// Error is an application error with a code and a human-readable message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithCode classifies err under code without changing its text: ErrorCode
// returns code, and errors.As still finds err's own types (such as an
// *azcore.ResponseError). Adapters use it for their service's errors. A nil
// err stays nil.
func WithCode(code string, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() []error {
	return []error{&Error{Code: e.code, Message: e.err.Error()}, e.err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// other non-nil errors and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or the
// full text for other errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// Permanent reports whether retrying cannot help (without the operator
// changing something, for EUNAUTHORIZED).
func Permanent(err error) bool {
	switch ErrorCode(err) {
	case EINVALID, ENOTFOUND, ECONFLICT, EUNAUTHORIZED:
		return true
	}
	return false
}
