package arrops

import (
	"errors"
	"fmt"
)

// Error codes, in the style of benbjohnson/wtf: they classify failures so the
// handler can decide between "answer and record" (permanent) and "fail the
// invocation so the host retries" (transient).
const (
	EINVALID  = "invalid"   // bad input; permanent
	ENOTFOUND = "not_found" // permanent for the request at hand
	ECONFLICT = "conflict"  // exists with other settings; permanent
	EINTERNAL = "internal"  // transient or unexpected; retry
)

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

// Permanent reports whether retrying cannot help.
func Permanent(err error) bool {
	switch ErrorCode(err) {
	case EINVALID, ENOTFOUND, ECONFLICT:
		return true
	}
	return false
}
