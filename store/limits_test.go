package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/arrops/arrops"
)

// TestCheckEntity holds encoded entities to Table Storage's limits, at and
// one past each, without a service: the check runs before any write.
func TestCheckEntity(t *testing.T) {
	withTags := func(tags map[string]string) *arrops.Session {
		s := fullSession()
		s.Tags = tags
		return s
	}
	// One tag whose JSON ({"k":"…"}) is exactly n UTF-16 bytes.
	tagJSON := func(n int) map[string]string {
		return map[string]string{"k": strings.Repeat("v", n/2-len(`{"k":""}`))}
	}
	tests := []struct {
		name    string
		s       *arrops.Session
		wantErr string
	}{
		{"full session", fullSession(), ""},
		{"string property at limit", withTags(tagJSON(arrops.TableMaxStringBytes)), ""},
		{"string property one character past", withTags(tagJSON(arrops.TableMaxStringBytes + 2)), "property Tags is 65538 bytes (UTF-16), the Table Storage limit is 65536"},
		{"non-BMP characters count twice", withTags(map[string]string{"k": strings.Repeat("😀", arrops.TableMaxStringBytes/4)}), "property Tags"},
		{"id with a forbidden character", func() *arrops.Session {
			s := withTags(tagJSON(arrops.TableMaxStringBytes))
			s.ID = "a#b"
			return s
		}(), "forbid"},
		{"three full string properties fit 1 MiB", func() *arrops.Session {
			s := withTags(tagJSON(arrops.TableMaxStringBytes))
			s.ErrorMessage = strings.Repeat("e", arrops.TableMaxStringBytes/2)
			s.StopReason = strings.Repeat("r", arrops.TableMaxStringBytes/2)
			return s
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := encodeSession("20261124", tt.s)
			if err != nil {
				t.Fatal(err)
			}
			err = checkEntity("session", tt.s.ID, body)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || arrops.ErrorCode(err) != arrops.EINVALID {
				t.Fatalf("err = %v (code %s), want EINVALID containing %q", err, arrops.ErrorCode(err), tt.wantErr)
			}
		})
	}
}

// TestCheckEntityTotals covers the entity size and property count, which no
// session can reach, on raw entities at and one past the limits.
func TestCheckEntityTotals(t *testing.T) {
	entity := func(props int, each int) []byte {
		var b strings.Builder
		b.WriteString(`{"PartitionKey":"p","RowKey":"r"`)
		for i := range props {
			fmt.Fprintf(&b, `,"P%03d":"%s"`, i, strings.Repeat("x", each))
		}
		b.WriteString("}")
		return []byte(b.String())
	}
	// Size = 4 + keys (2+2) + per property 8 + name (4 chars: 8) + 4 + 2*each.
	perProp := func(each int) int { return 8 + 8 + 4 + 2*each }
	const props = 20
	fixed := 4 + 2 + 2
	each := (arrops.TableMaxEntityBytes - fixed) / props / 2 // about 26 KiB characters per property
	for perProp(each)*props+fixed > arrops.TableMaxEntityBytes {
		each--
	}
	under := entity(props, each)
	over := entity(props, each+2000)
	tests := []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{"properties at limit", entity(arrops.TableMaxCustomProperties, 200), ""},
		{"properties one past", entity(arrops.TableMaxCustomProperties+1, 200), "entity has 253 properties, the Table Storage limit is 252"},
		{"size under limit", under, ""},
		{"size over limit", over, "the Table Storage limit is 1048576"},
		{"type annotations are not properties", []byte(`{"PartitionKey":"p","RowKey":"r","T":"2026-01-01T00:00:00Z","T@odata.type":"Edm.DateTime"}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEntity("x", "id", tt.body)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || arrops.ErrorCode(err) != arrops.EINVALID {
				t.Fatalf("err = %v, want EINVALID containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuditRowKeyBounded(t *testing.T) {
	for _, id := range []string{strings.Repeat("m", arrops.BusMaxMessageIDLength), strings.Repeat("/", arrops.BusMaxMessageIDLength), strings.Repeat("#", 5000)} {
		k := AuditRowKey(id, 9999, strings.Repeat("i", 5000))
		if err := arrops.ValidateTableKey("RowKey", k); err != nil {
			t.Errorf("AuditRowKey(%d chars): %v", len(id), err)
		}
	}
	if a, b := AuditRowKey(strings.Repeat("m", 200)+"a", 1, ""), AuditRowKey(strings.Repeat("m", 200)+"b", 1, ""); a == b {
		t.Error("long ids that differ at the end map to one key")
	}
}

// BenchmarkCheckEntity reports what the limits check adds to a write's
// encoding (the baseline, in the same run).
//
//	baseline=encode: encodeSession of a full record
//	encode+check:    the same, then checkEntity
func BenchmarkCheckEntity(b *testing.B) {
	s := fullSession()
	b.Run("baseline=encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeSession("20261124", s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode+check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body, err := encodeSession("20261124", s)
			if err != nil {
				b.Fatal(err)
			}
			if err := checkEntity("session", s.ID, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
