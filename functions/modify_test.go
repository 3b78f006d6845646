package functions_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/store/memstore"
)

// modifyRecords is what the helper needs of a records driver, plus direct
// access for the racing writer.
type modifyRecords interface {
	functions.SessionRecords
	functions.ConversionRecords
}

// TestModify drives the one read-modify-write helper against both records
// drivers: the in-memory one (always, also under -short) and real Table
// Storage (Azurite), where the conflicts are real 412s from a second writer.
func TestModify(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { testModify(t, memstore.New(nil)) })
	t.Run("azurite", func(t *testing.T) {
		az := azuritetest.Start(t)
		testModify(t, functest.Store(t, az.ConnectionString, functest.FreshTables("Mod")))
	})
}

func testModify(t *testing.T, st modifyRecords) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var seq int
	newSession := func(t *testing.T) *arrops.Session {
		t.Helper()
		seq++
		s, _, err := st.CreateSession(ctx, &arrops.Session{ID: fmt.Sprintf("mod-%d", seq), Status: arrops.SessionReady, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// interfere writes the record through another copy, as a racing run does.
	interfere := func(t *testing.T, id, tag string) {
		t.Helper()
		other, err := st.GetSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if other.Tags == nil {
			other.Tags = map[string]string{}
		}
		other.Tags[tag] = "set"
		if err := st.UpdateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("conflict then success", func(t *testing.T) {
		s := newSession(t)
		calls := 0
		got, err := functions.ModifySession(ctx, st, s.ID, s, func(r *arrops.Session) (bool, error) {
			calls++
			if calls == 1 {
				interfere(t, s.ID, "racer")
			}
			r.StopReason = "mine"
			return true, nil
		})
		if err != nil || calls != 2 {
			t.Fatalf("err %v after %d calls, want nil after 2", err, calls)
		}
		if got != s {
			t.Error("the caller's record was not updated in place")
		}
		stored, _ := st.GetSession(ctx, s.ID)
		if stored.StopReason != "mine" || stored.Tags["racer"] != "set" || stored.ETag != s.ETag {
			t.Errorf("stored %+v, want both writes and the caller holding its ETag", stored)
		}
	})
	t.Run("runs out", func(t *testing.T) {
		s := newSession(t)
		calls := 0
		_, err := functions.ModifySession(ctx, st, s.ID, s, func(r *arrops.Session) (bool, error) {
			calls++
			interfere(t, s.ID, fmt.Sprint("racer", calls))
			r.StopReason = "mine"
			return true, nil
		})
		if calls != functions.MaxModifyAttempts {
			t.Errorf("fn called %d times, want %d", calls, functions.MaxModifyAttempts)
		}
		if !errors.Is(err, functions.ErrConcurrentUpdate) || arrops.ErrorCode(err) != arrops.EINTERNAL || arrops.Permanent(err) {
			t.Fatalf("err %v (class %q), want a transient error wrapping ErrConcurrentUpdate", err, arrops.ErrorCode(err))
		}
		if stored, _ := st.GetSession(ctx, s.ID); stored.StopReason != "" {
			t.Errorf("stored %+v after running out", stored)
		}
	})
	t.Run("no change writes nothing", func(t *testing.T) {
		s := newSession(t)
		etag := s.ETag
		got, err := functions.ModifySession(ctx, st, s.ID, nil, func(r *arrops.Session) (bool, error) { return false, nil })
		if err != nil || got == nil || got.ID != s.ID {
			t.Fatalf("got %+v, %v", got, err)
		}
		if stored, _ := st.GetSession(ctx, s.ID); stored.ETag != etag {
			t.Error("an unchanged record was written")
		}
	})
	t.Run("fn error", func(t *testing.T) {
		s := newSession(t)
		etag := s.ETag
		boom := arrops.Errorf(arrops.EINVALID, "boom")
		_, err := functions.ModifySession(ctx, st, s.ID, s, func(r *arrops.Session) (bool, error) {
			r.StopReason = "half done"
			return true, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v, want fn's error", err)
		}
		if stored, _ := st.GetSession(ctx, s.ID); stored.ETag != etag {
			t.Error("written despite fn's error")
		}
	})
	t.Run("missing record", func(t *testing.T) {
		_, err := functions.ModifySession(ctx, st, "mod-none", nil, func(*arrops.Session) (bool, error) {
			t.Error("fn called without a record")
			return false, nil
		})
		if arrops.ErrorCode(err) != arrops.ENOTFOUND {
			t.Fatalf("err %v, want ENOTFOUND", err)
		}
	})
	t.Run("conversion", func(t *testing.T) {
		c, _, err := st.CreateConversion(ctx, &arrops.Conversion{ID: "mod-conv", Status: arrops.ConversionRunning, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		_, err = functions.ModifyConversion(ctx, st, c.ID, c, func(r *arrops.Conversion) (bool, error) {
			calls++
			if calls == 1 {
				other, _ := st.GetConversion(ctx, c.ID)
				other.Note = "racer"
				if err := st.UpdateConversion(ctx, other); err != nil {
					t.Fatal(err)
				}
			}
			r.Status = arrops.ConversionSucceeded
			return true, nil
		})
		stored, _ := st.GetConversion(ctx, c.ID)
		if err != nil || calls != 2 || stored.Status != arrops.ConversionSucceeded || stored.Note != "racer" {
			t.Fatalf("err %v, %d calls, stored %+v", err, calls, stored)
		}
	})
}
