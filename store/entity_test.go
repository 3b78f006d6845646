package store

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

var t0 = time.Date(2026, 11, 24, 9, 30, 15, 123456700, time.UTC)

// fullSession has every field set, so a field the mapping forgets fails the
// round trip.
func fullSession() *arrops.Session {
	return &arrops.Session{
		ID: "s-full_1", Size: arrops.SizePremium, Status: arrops.SessionReady, Origin: arrops.OriginCommand,
		RequestedBy: "viewer-app", Tags: map[string]string{"project": "plant-7", "keepAlive": "true"},
		MaxLeaseMinutes: 120, CreatedAt: t0, ReadyAt: t0.Add(3 * time.Minute), StoppedAt: t0.Add(time.Hour),
		ElapsedMinutes: 57, Hostname: "abc.arr.eastus.mixedreality.azure.com", HandshakePort: 50051,
		InspectorPort: 8080, Teraflops: 31.5, StopReason: "maxAge: 60 min after Ready", ErrorCode: "E1",
		ErrorMessage: "boom", ReplyTo: "viewer-replies", CorrelationID: "msg-1", Announced: arrops.SessionStopped,
		AnnounceClaimedAt: t0.Add(61 * time.Minute), ExtendedUntil: t0.Add(2 * time.Hour),
		WarnedAt: t0.Add(50 * time.Minute), DeadlineAt: t0.Add(60 * time.Minute), ClaimedBy: "cmd-1", ClaimedAt: t0.Add(61 * time.Minute), StartAt: t0.Add(5 * time.Minute), FallbackOf: "a", FallbackID: "b", UpdatedAt: t0.Add(62 * time.Minute), ETag: "W/\"x\"",
	}
}

func fullConversion() *arrops.Conversion {
	return &arrops.Conversion{
		ID: "c-full", InputContainer: "arr-input", InputPath: "plant/pump.fbx", InputETag: "0x8D",
		InputSize: 5 << 32, OutputContainer: "arr-output", OutputPath: "plant/pump.arrAsset",
		OutputURI: "https://acct.blob.core.windows.net/arr-output/plant/pump.arrAsset",
		Status:    arrops.ConversionSucceeded, ErrorCode: "E", ErrorMessage: "m", Note: "n",
		CreatedAt: t0, CompletedAt: t0.Add(10 * time.Minute), Announced: arrops.ConversionSucceeded,
		AnnounceClaimedAt: t0.Add(11 * time.Minute), UpdatedAt: t0.Add(12 * time.Minute), ETag: "W/\"y\"",
		SettingsFile: "plant/pump.ConversionSettings.json", RequestedBy: "pipeline", ReplyTo: "pipeline-replies", CorrelationID: "msg-1",
		Details: &arrops.ConversionDetails{Result: arrops.ResultSucceededWithWarnings, Warnings: []string{"4004 Missing texture"}, WarningsTotal: 1,
			Statistics: &arrops.ConversionStatistics{Vertices: 245673, Triangles: 308306, Materials: 149,
				BoundingBox: &arrops.BoundingBox{Min: [3]float64{-1, -2, -3}, Max: [3]float64{1, 2, 3.5}}},
			Settings: json.RawMessage(`{"scaling":0.01}`)},
	}
}

func TestSessionEntityRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    *arrops.Session
	}{
		{"full", fullSession()},
		{"minimal", &arrops.Session{ID: "s1", Status: arrops.SessionStarting}},
		{"integral teraflops", &arrops.Session{ID: "s2", Teraflops: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeSession("20261124", tt.s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeSession(b, tt.s.ETag)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.s) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.s)
			}
		})
	}
}

func TestConversionEntityRoundTrip(t *testing.T) {
	for _, c := range []*arrops.Conversion{fullConversion(), {ID: "c1", Status: arrops.ConversionRunning}} {
		b, err := encodeConversion("20261124", c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeConversion(b, c.ETag)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

// TestEntityProperties pins the documented property names and annotations:
// reports and operators query the tables by these names.
func TestEntityProperties(t *testing.T) {
	tests := []struct {
		name   string
		encode func() ([]byte, error)
		want   []string
	}{
		{"session full", func() ([]byte, error) { return encodeSession("20261124", fullSession()) }, []string{
			"AnnounceClaimedAt", "AnnounceClaimedAt@odata.type", "Announced", "ClaimedAt", "ClaimedAt@odata.type", "ClaimedBy", "CorrelationID", "CreatedAt", "CreatedAt@odata.type",
			"DeadlineAt", "DeadlineAt@odata.type", "ElapsedMinutes", "ErrorCode", "ErrorMessage", "ExtendedUntil", "ExtendedUntil@odata.type", "FallbackID", "FallbackOf", "HandshakePort", "Hostname",
			"InspectorPort", "MaxLeaseMinutes", "Origin", "PartitionKey", "ReadyAt", "ReadyAt@odata.type", "ReplyTo",
			"RequestedBy", "RowKey", "Size", "StartAt", "StartAt@odata.type", "Status", "StopReason", "StoppedAt", "StoppedAt@odata.type", "Tags", "Teraflops",
			"Teraflops@odata.type", "UpdatedAt", "UpdatedAt@odata.type", "WarnedAt", "WarnedAt@odata.type"}},
		{"session empty values omitted", func() ([]byte, error) {
			return encodeSession("20261124", &arrops.Session{ID: "s", Tags: map[string]string{}})
		}, []string{"PartitionKey", "RowKey"}},
		{"conversion full", func() ([]byte, error) { return encodeConversion("20261124", fullConversion()) }, []string{
			"AnnounceClaimedAt", "AnnounceClaimedAt@odata.type", "Announced", "CompletedAt", "CompletedAt@odata.type",
			"CorrelationID", "CreatedAt", "CreatedAt@odata.type", "Details", "ErrorCode", "ErrorMessage", "InputContainer", "InputETag", "InputPath",
			"InputSize", "InputSize@odata.type", "Note", "OutputContainer", "OutputPath", "OutputURI", "PartitionKey",
			"ReplyTo", "RequestedBy", "Result", "RowKey", "SettingsFile", "Status", "UpdatedAt", "UpdatedAt@odata.type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.encode()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.want) {
				t.Errorf("properties\n got %q\nwant %q", keys, tt.want)
			}
			for k, v := range m {
				if strings.HasSuffix(k, "@odata.type") {
					continue
				}
				if k == "CreatedAt" && v != "2026-11-24T09:30:15.1234567Z" {
					t.Errorf("CreatedAt = %v, want 100 ns UTC form", v)
				}
				if k == "InputSize" && v != "21474836480" {
					t.Errorf("InputSize = %v, want Edm.Int64 string", v)
				}
			}
		})
	}
}

func TestStoreTimeNormalizes(t *testing.T) {
	local := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	got, typ := storeTime(local)
	if want := time.Date(2026, 11, 24, 9, 0, 0, 123456700, time.UTC); !got.Equal(want) || got.Location() != time.UTC || typ != edmDateTime {
		t.Errorf("storeTime = %v %q", got, typ)
	}
	if got, typ := storeTime(time.Time{}); !got.IsZero() || typ != "" {
		t.Errorf("zero time stored as %v %q", got, typ)
	}
}

func TestAuditRowKey(t *testing.T) {
	tests := []struct {
		id   string
		n    int
		inv  string
		want string
	}{
		{"3f2a-77", 1, "", "3f2a-77~0001"},
		{"3f2a-77", 1, "9a1e-44", "3f2a-77~0001~9a1e-44"},
		{"a/b\\c#d?e%f", 12, "", "a%2Fb%5Cc%23d%3Fe%25f~0012"},
		{"tab\there\x7f", 3, "", "tab%09here%7F~0003"},
		{"é", 1, "", "%C3%A9~0001"},
		{"a~0001", 2, "x/y", "a%7E0001~0002~x%2Fy"},
	}
	for _, tt := range tests {
		if got := AuditRowKey(tt.id, tt.n, tt.inv); got != tt.want {
			t.Errorf("AuditRowKey(%q, %d, %q) = %q, want %q", tt.id, tt.n, tt.inv, got, tt.want)
		}
	}
	// Escaping is injective: distinct ids never share a row.
	if AuditRowKey("a%2F", 1, "") == AuditRowKey("a/", 1, "") {
		t.Error("escaped and literal ids collide")
	}
	if AuditRowKey("m", 1, "i1") == AuditRowKey("m", 1, "i2") {
		t.Error("two invocations of the same delivery share a row")
	}
}

func TestDayRange(t *testing.T) {
	day := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	tests := []struct {
		from, to time.Time
		want     string
	}{
		{day("2026-11-20"), day("2026-11-25"), "PartitionKey ge '20261120' and PartitionKey le '20261124'"},
		{day("2026-11-20"), day("2026-11-20").Add(time.Second), "PartitionKey ge '20261120' and PartitionKey le '20261120'"},
		{day("2026-11-20").Add(23 * time.Hour).In(time.FixedZone("JST", 9*3600)), day("2026-11-21").Add(time.Hour), "PartitionKey ge '20261120' and PartitionKey le '20261121'"},
		{day("2026-11-20"), day("2026-11-20"), ""},
	}
	for _, tt := range tests {
		got, ok := dayRange(tt.from, tt.to)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("dayRange(%v, %v) = %q, %v; want %q", tt.from, tt.to, got, ok, tt.want)
		}
	}
}

// FuzzDecodeSession feeds entity JSON (as the service returns it) to the
// decoders: they must never panic, and what they accept must survive a
// re-encode unchanged.
func FuzzDecodeSession(f *testing.F) {
	for _, s := range []*arrops.Session{fullSession(), {ID: "x"}} {
		b, _ := encodeSession("20261124", s)
		f.Add(b)
	}
	b, _ := encodeConversion("20261124", fullConversion())
	f.Add(b)
	f.Add([]byte(`{"PartitionKey":"20261124","RowKey":"s","odata.etag":"W/\"1\"","Timestamp":"2026-11-24T09:30:15.1234567Z","Timestamp@odata.type":"Edm.DateTime","Tags":"{\"a\":\"b\"}","Teraflops":5}`))
	f.Add([]byte(`{"Tags":"not json"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeConversion(b, ""); err == nil {
			if _, err := encodeConversion("20261124", c); err != nil {
				t.Fatalf("decoded conversion does not encode: %v", err)
			}
		}
		s, err := decodeSession(b, "")
		if err != nil {
			return
		}
		enc, err := encodeSession("20261124", s)
		if err != nil {
			t.Fatalf("decoded session does not encode: %v", err)
		}
		again, err := decodeSession(enc, s.ETag)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		// Times are normalized to 100 ns UTC on the first encode; compare the
		// normalized forms.
		enc2, _ := encodeSession("20261124", again)
		if string(enc) != string(enc2) {
			t.Fatalf("unstable round trip:\n%s\n%s", enc, enc2)
		}
	})
}
