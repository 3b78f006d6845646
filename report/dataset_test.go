package report

import (
	"iter"
	"time"

	"github.com/arrops/arrops"
)

// fixedNow is the "now" of every golden file.
var fixedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const xss = `<script>alert(1)</script>`

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// dataset is a fixed month of records covering every billing case; the store
// hands the report a couple of days before from, so some fall outside.
func dataset() ([]*arrops.Session, []*arrops.Conversion) {
	ss := []*arrops.Session{
		{ID: "s-outside", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "viewer-app",
			CreatedAt: ts("2026-10-30T09:55:00Z"), ReadyAt: ts("2026-10-30T10:00:00Z"), StoppedAt: ts("2026-10-30T11:00:00Z")},
		{ID: "s-month-end", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "viewer-app",
			Tags:      map[string]string{"project": "plant-7"},
			CreatedAt: ts("2026-10-31T22:55:00Z"), ReadyAt: ts("2026-10-31T23:00:00Z"), StoppedAt: ts("2026-11-01T01:30:00Z"), StopReason: "command"},
		{ID: "s-midnight", Size: arrops.SizePremium, Status: arrops.SessionExpired, Origin: arrops.OriginExternal, RequestedBy: "alice",
			Tags:      map[string]string{"project": "plant-7", "keepAlive": "true"},
			CreatedAt: ts("2026-11-05T21:50:00Z"), ReadyAt: ts("2026-11-05T22:00:00Z"), StoppedAt: ts("2026-11-06T02:00:00Z")},
		{ID: "s-error-ready", Size: arrops.SizeStandard, Status: arrops.SessionError, RequestedBy: "bob",
			CreatedAt: ts("2026-11-10T07:55:00Z"), ReadyAt: ts("2026-11-10T08:00:00Z"), StoppedAt: ts("2026-11-10T08:45:00Z"),
			ErrorCode: "InternalServerError", ErrorMessage: "render server crashed"},
		{ID: "s-error-never", Size: arrops.SizeStandard, Status: arrops.SessionError, RequestedBy: "bob",
			CreatedAt: ts("2026-11-10T09:00:00Z"), StoppedAt: ts("2026-11-10T09:04:00Z"), ErrorCode: "CapacityExceeded"},
		{ID: "s-ready-missing", Size: arrops.SizeStandard, Status: arrops.SessionReady, RequestedBy: "carol",
			CreatedAt: ts("2026-11-12T14:00:00Z")},
		{ID: "s-xss", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: xss,
			Tags:      map[string]string{"project": `<img src=x onerror=alert(2)>`},
			CreatedAt: ts("2026-11-15T08:58:00Z"), ReadyAt: ts("2026-11-15T09:00:00Z"), StoppedAt: ts("2026-11-15T09:30:00Z"),
			// Extended past its 120 min lease: saves 09:30 → 12:00.
			MaxLeaseMinutes: 120, ExtendedUntil: ts("2026-11-15T12:00:00Z"), StopReason: "policy quietHours: quiet hours 09:30-18:00"},
		{ID: "s-formula", Size: arrops.SizePremium, Status: arrops.SessionStopped, RequestedBy: "=HYPERLINK(\"x\")",
			CreatedAt: ts("2026-11-20T10:00:00Z"), ReadyAt: ts("2026-11-20T10:05:00Z"), StoppedAt: ts("2026-11-20T10:50:30Z"),
			// Lease from Ready: 10:05 + 60 min; saves 10:50:30 → 11:05.
			MaxLeaseMinutes: 60, StopReason: "policy maxReadyMinutes: ready for 45 min"},
		{ID: "s-running", Size: arrops.SizeStandard, Status: arrops.SessionReady, RequestedBy: "viewer-app",
			Tags:      map[string]string{"project": "plant-9"},
			CreatedAt: ts("2026-11-23T10:25:00Z"), ReadyAt: ts("2026-11-23T10:30:00Z")},
		{ID: "s-starting", Size: arrops.SizePremium, Status: arrops.SessionStarting, RequestedBy: "alice",
			CreatedAt: ts("2026-11-23T11:55:00Z")},
	}
	cs := []*arrops.Conversion{
		{ID: "c-old", InputContainer: "arr-input", InputPath: "old.fbx", Status: arrops.ConversionSucceeded,
			CreatedAt: ts("2026-10-29T10:00:00Z"), CompletedAt: ts("2026-10-29T10:05:00Z")},
		{ID: "c-ok-1", InputContainer: "arr-input", InputPath: "plant/robot.fbx", Status: arrops.ConversionSucceeded,
			OutputURI: "https://devstoreaccount1.blob.core.windows.net/arr-output/plant/robot.arrAsset",
			CreatedAt: ts("2026-11-02T10:00:00Z"), CompletedAt: ts("2026-11-02T10:04:00Z")},
		{ID: "c-ok-2", InputContainer: "arr-input", InputPath: "plant/hall.glb", Status: arrops.ConversionSucceeded,
			CreatedAt: ts("2026-11-03T10:00:00Z"), CompletedAt: ts("2026-11-03T10:10:00Z"),
			Details: &arrops.ConversionDetails{Result: arrops.ResultSucceededWithWarnings, WarningsTotal: 1,
				Warnings: []string{"4004 Missing texture (texture=hall_floor.png)"}}},
		{ID: "c-ok-3", InputContainer: "arr-input", InputPath: "scan.e57", Status: arrops.ConversionSucceeded,
			CreatedAt: ts("2026-11-04T10:00:00Z"), CompletedAt: ts("2026-11-04T11:00:00Z")},
		{ID: "c-fail-1", InputContainer: "arr-input", InputPath: "broken.fbx", Status: arrops.ConversionFailed,
			ErrorCode: "InvalidInput", ErrorMessage: "the FBX file is corrupt",
			CreatedAt: ts("2026-11-06T10:00:00Z"), CompletedAt: ts("2026-11-06T10:01:00Z")},
		{ID: "c-fail-2", InputContainer: "arr-input", InputPath: "x.fbx", Status: arrops.ConversionFailed,
			ErrorCode: "InvalidInput", ErrorMessage: xss,
			CreatedAt: ts("2026-11-07T10:00:00Z"), CompletedAt: ts("2026-11-07T10:02:00Z")},
		{ID: "c-rejected", InputContainer: "arr-input", InputPath: "notes.txt", Status: arrops.ConversionRejected,
			ErrorCode: "UnsupportedFormat", ErrorMessage: ".txt is not a format ARR converts",
			Note: "not a convertible format", CreatedAt: ts("2026-11-08T10:00:00Z"), CompletedAt: ts("2026-11-08T10:00:00Z")},
		{ID: "event-0123456789abcdef01234567", Status: arrops.ConversionRejected,
			ErrorCode: "UndecodableEvent", ErrorMessage: "event grid: invalid character 'x' looking for beginning of value",
			CreatedAt: ts("2026-11-09T10:00:00Z"), CompletedAt: ts("2026-11-09T10:00:00Z")},
		{ID: "c-running", InputContainer: "arr-input", InputPath: "big.e57", Status: arrops.ConversionRunning,
			CreatedAt: ts("2026-11-23T11:00:00Z")},
	}
	return ss, cs
}

// seq turns a slice into the store's iterator shape.
func seq[T any](xs []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}

var testRates = Rates{Standard: 3, Premium: 12.5, Set: true, Currency: "USD"}

func novemberQuery(format Format, groupBy, tagKey string) Query {
	return Query{From: ts("2026-11-01T00:00:00Z"), To: ts("2026-11-23T00:00:00Z"), GroupBy: groupBy, TagKey: tagKey, Format: format}
}
