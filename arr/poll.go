package arr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrUnexpectedStatus is returned (wrapped) by the Wait functions when the resource
// reached a terminal status that is not among the awaited ones.
var ErrUnexpectedStatus = errors.New("arr: unexpected terminal status")

// WaitForSessionOptions configures WaitForSession.
type WaitForSessionOptions struct {
	// Until lists the statuses to wait for. Default: any status except Starting.
	Until []SessionStatus
	// Interval between GETs. Default: the client's Standard or Premium interval,
	// chosen by the session's size.
	Interval time.Duration
}

// WaitForSession polls GetSession until the session's status is one of opts.Until.
// If the session reaches a terminal status that is not awaited, it returns the
// session and an error wrapping ErrUnexpectedStatus. Cancel ctx to stop waiting;
// on any error the last session read (zero if none) is returned with it.
func (c *Client) WaitForSession(ctx context.Context, sessionID string, opts *WaitForSessionOptions) (Session, error) {
	var o WaitForSessionOptions
	if opts != nil {
		o = *opts
	}
	done := func(s SessionStatus) bool {
		if len(o.Until) == 0 {
			return s != SessionStatusStarting
		}
		return slices.Contains(o.Until, s)
	}
	var last Session // returned with errors so the caller sees the last known state
	for {
		r, err := c.GetSession(ctx, sessionID, nil)
		if err != nil {
			return last, fmt.Errorf("wait for session: %w", err)
		}
		s := r.Session
		last = s
		if done(s.Status) {
			return s, nil
		}
		if s.Status.Terminal() {
			return s, fmt.Errorf("session %s is %s while waiting for %v: %w", sessionID, s.Status, o.Until, ErrUnexpectedStatus)
		}
		iv := o.Interval
		if iv <= 0 {
			iv = c.standardPoll
			if s.Size == SessionSizePremium {
				iv = c.premiumPoll
			}
		}
		if err := sleep(ctx, iv); err != nil {
			return s, fmt.Errorf("wait for session %s (last status %s): %w", sessionID, s.Status, err)
		}
	}
}

// WaitForConversionOptions configures WaitForConversion.
type WaitForConversionOptions struct {
	// Until lists the statuses to wait for. Default: Succeeded, Failed, Cancelled.
	Until []ConversionStatus
	// Interval between GETs. Default: the client's conversion interval (10 s).
	Interval time.Duration
}

// WaitForConversion polls GetConversion until its status is one of opts.Until. A
// Failed conversion is a normal result when waiting for terminal statuses: inspect
// Conversion.Error.
func (c *Client) WaitForConversion(ctx context.Context, conversionID string, opts *WaitForConversionOptions) (Conversion, error) {
	var o WaitForConversionOptions
	if opts != nil {
		o = *opts
	}
	done := func(s ConversionStatus) bool {
		if len(o.Until) == 0 {
			return s.Terminal()
		}
		return slices.Contains(o.Until, s)
	}
	iv := o.Interval
	if iv <= 0 {
		iv = c.conversionPoll
	}
	var last Conversion
	for {
		r, err := c.GetConversion(ctx, conversionID, nil)
		if err != nil {
			return last, fmt.Errorf("wait for conversion: %w", err)
		}
		cv := r.Conversion
		last = cv
		if done(cv.Status) {
			return cv, nil
		}
		if cv.Status.Terminal() {
			return cv, fmt.Errorf("conversion %s is %s while waiting for %v: %w", conversionID, cv.Status, o.Until, ErrUnexpectedStatus)
		}
		if err := sleep(ctx, iv); err != nil {
			return cv, fmt.Errorf("wait for conversion %s (last status %s): %w", conversionID, cv.Status, err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
