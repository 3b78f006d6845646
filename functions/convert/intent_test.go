package convert

import (
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/functest"
)

// TestIntentFaults fails each step of a conversion start (record insert,
// ARR create, record update) transiently and checks that the redelivery
// finishes it with one ARR conversion and one record, and that no ARR
// conversion ever exists without a record.
func TestIntentFaults(t *testing.T) {
	e := newEnv(t, nil, arrsim.Options{})
	faults := &functest.TableFaults{}
	faulty := functest.Store(t, e.az.ConnectionString, nil, faults)
	acc, err := NewAccess(e.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := New(Deps{Config: e.cfg, ARR: functions.Value(e.arr), Now: func() time.Time { return e.now },
		Records: functions.Value[functions.ConversionRecords](faulty),
		Bus:     functions.Value[functions.Publisher](e.bus), Access: functions.Value(acc)})
	e.fn = functions.Handle("convert", f, e.logs, slog.LevelDebug)

	tests := []struct {
		name       string
		arm        func()
		wantCreate int64 // ARR create calls over both deliveries
		afterFirst arrops.ConversionStatus
	}{
		{"record insert", func() {
			faults.Add(functest.TableFault{Table: "ArrConversions", Op: functest.OpInsert, Record: true, Times: 1, Status: 503, Code: "ServerBusy"})
		}, 1, ""},
		{"ARR create", func() { e.sim.SetFaults(arrsim.Faults{Error500Next: 2}) }, 3, arrops.ConversionRequested}, // the client retries once
		{"record update", func() {
			faults.Add(functest.TableFault{Table: "ArrConversions", Op: functest.OpUpdate, Times: 1, Status: 503, Code: "ServerBusy"})
		}, 2, arrops.ConversionRequested}, // the redelivery's create is answered 409 and followed
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fmt.Sprintf("intent/m%d.glb", i)
			ev := functest.BlobEvent{Container: "arr-input", Path: path, ETag: "0x1", Size: 5}
			id := ConversionID("arr-input", path, "0x1")
			before := e.sim.Stats().CreateConversion
			tt.arm()
			if code := e.deliver(ev.JSON(t)); code != http.StatusInternalServerError {
				t.Fatalf("first delivery: HTTP %d, want 500", code)
			}
			r := e.record(id)
			if (tt.afterFirst == "" && r != nil) || (tt.afterFirst != "" && (r == nil || r.Status != tt.afterFirst)) {
				t.Fatalf("after the failure: record %+v, want status %q", r, tt.afterFirst)
			}
			faults.Clear()
			e.sim.SetFaults(arrsim.Faults{})
			if code := e.deliver(ev.JSON(t)); code != http.StatusOK {
				t.Fatalf("redelivery: HTTP %d", code)
			}
			if r := e.record(id); r == nil || r.Status != arrops.ConversionNotStarted {
				t.Fatalf("after the redelivery: %+v, want NotStarted", r)
			}
			if n := e.sim.Stats().CreateConversion - before; n != tt.wantCreate {
				t.Errorf("%d ARR create calls, want %d", n, tt.wantCreate)
			}
			if _, err := e.arr.GetConversion(e.ctx, id, nil); err != nil {
				t.Errorf("ARR conversion: %v", err)
			}
		})
	}
}
