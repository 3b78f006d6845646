package functions

import (
	"context"
	"fmt"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
)

// ConversionRecords is the part of the store that keeps conversion records.
type ConversionRecords interface {
	GetConversion(ctx context.Context, id string) (*arrops.Conversion, error)
	CreateConversion(ctx context.Context, c *arrops.Conversion) (*arrops.Conversion, bool, error)
	UpdateConversion(ctx context.Context, c *arrops.Conversion) error
}

// ApplyConversion copies ARR's view of a conversion into its record and
// reports whether anything changed. CompletedAt is the first terminal sighting.
func ApplyConversion(c *arrops.Conversion, a *arr.Conversion, now time.Time) bool {
	if c.Status.Terminal() && a.Status != "" && !arrops.ConversionStatus(a.Status).Terminal() {
		return false // a stale view: conversions never leave a terminal status
	}
	before := *c
	if a.Status != "" {
		c.Status = arrops.ConversionStatus(a.Status)
	}
	if a.Output != nil && a.Output.OutputAssetURI != nil {
		c.OutputURI = *a.Output.OutputAssetURI
	}
	if a.Error != nil {
		c.ErrorCode, c.ErrorMessage = arrops.Clip(a.Error.Code, arrops.MaxTextBytes), arrops.Clip(a.Error.Message, arrops.MaxTextBytes)
	}
	if c.Status.Terminal() && c.CompletedAt.IsZero() {
		c.CompletedAt = now
	}
	return c.Status != before.Status || c.OutputURI != before.OutputURI || c.ErrorCode != before.ErrorCode ||
		c.ErrorMessage != before.ErrorMessage || !c.CompletedAt.Equal(before.CompletedAt)
}

// ConversionEvent returns the event announcing a terminal conversion, or false
// for statuses that are not announced.
func ConversionEvent(c *arrops.Conversion, now time.Time) (arrops.Event, bool) {
	ev := arrops.Event{Time: now.UTC(), ConversionID: c.ID, Status: string(c.Status),
		InputBlob: c.InputContainer + "/" + c.InputPath, OutputURI: c.OutputURI,
		ErrorCode: arrops.Clip(c.ErrorCode, arrops.MaxTextBytes), ErrorMessage: arrops.Clip(c.ErrorMessage, arrops.MaxTextBytes),
		DurationSeconds: c.Duration().Seconds(), RequestedBy: c.RequestedBy, SettingsFile: c.SettingsFile, Details: c.Details}
	switch c.Status {
	case arrops.ConversionSucceeded:
		ev.Type = arrops.EventConversionSucceeded
	case arrops.ConversionFailed, arrops.ConversionCancelled, arrops.ConversionRejected:
		// A rejected upload is announced too (README, Events): the uploader
		// learns why nothing converts.
		ev.Type = arrops.EventConversionFailed
	default:
		return ev, false
	}
	return ev, true
}

// SyncConversion writes ARR's view of a conversion into its record (ETag,
// re-read on conflict) and announces a terminal status once (claim, publish,
// clear; as for sessions). c is updated in place. When ARR reports the end
// and out is not nil, ARR's result.json and info.json are read first and
// their details recorded with the status, so the event carries them.
func SyncConversion(ctx context.Context, recs ConversionRecords, bus Publisher, out BlobReader, c *arrops.Conversion, a *arr.Conversion, now time.Time) (wrote bool, err error) {
	var details *arrops.ConversionDetails
	if st := arrops.ConversionStatus(a.Status); out != nil && c.Details == nil && (st == arrops.ConversionSucceeded || st == arrops.ConversionFailed) {
		view := *c
		ApplyConversion(&view, a, now)
		if details, err = ReadConversionDetails(ctx, out, &view); err != nil {
			return false, fmt.Errorf("read output files of conversion %s: %w", c.ID, err)
		}
	}
	claimed := false
	_, err = ModifyConversion(ctx, recs, c.ID, c, func(c *arrops.Conversion) (bool, error) {
		changed := ApplyConversion(c, a, now)
		if details != nil && c.Details == nil {
			c.Details, changed = details, true
		}
		claimed = false
		if _, announce := ConversionEvent(c, now); announce && c.Announced != c.Status {
			c.Announced, c.AnnounceClaimedAt, claimed = c.Status, now, true
		}
		wrote = changed || claimed
		return wrote, nil
	})
	if err != nil {
		return false, err
	}
	if c.AnnounceClaimedAt.IsZero() || (!claimed && now.Sub(c.AnnounceClaimedAt) < StaleClaim) {
		return wrote, nil
	}
	ev, _ := ConversionEvent(c, now)
	ev.Type = arrops.EventConversionSucceeded
	if c.Announced != arrops.ConversionSucceeded {
		ev.Type = arrops.EventConversionFailed
	}
	if err := Announce(ctx, bus, ev, c.ReplyTo, c.CorrelationID, string(c.Announced)); err != nil {
		return wrote, err
	}
	// Clear the claim unless someone else cleared or replaced it meanwhile.
	announced, claimedAt := c.Announced, c.AnnounceClaimedAt
	if _, err := ModifyConversion(ctx, recs, c.ID, c, func(c *arrops.Conversion) (bool, error) {
		if c.Announced != announced || c.AnnounceClaimedAt.IsZero() || c.AnnounceClaimedAt.Sub(claimedAt).Abs() >= time.Millisecond {
			return false, nil
		}
		c.AnnounceClaimedAt = time.Time{}
		return true, nil
	}); err != nil {
		return wrote, fmt.Errorf("clear announcement claim of %s: %w", c.ID, err)
	}
	return true, nil
}
