package commands_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
)

// TestConvertAction covers the convert action's answers that need no
// storage: a malformed convert is rejected at parsing, and a deployment
// without a converter answers rejected rather than dropping the command.
// The accepted path (a second conversion, its reply and events) runs end to
// end in e2e.TestConversionPipelineEndToEnd over Azurite and the simulator.
func TestConvertAction(t *testing.T) {
	e := newCmdEnv(t)
	for _, tc := range []struct{ id, body, reason string }{
		{"conv-bad", `{"action":"convert","input":"models/plant.txt"}`, "not a format ARR converts"},
		{"conv-none", `{"action":"convert","input":"models/plant.fbx","requestedBy":"pipeline"}`, "convert is not available"},
	} {
		if code, _ := e.deliver(tc.id, tc.body, 1, "pipeline-replies"); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d\n%s", tc.id, code, e.stdout)
		}
		a := e.audit(tc.id)
		if len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || a[0].Action != arrops.ActionConvert || !strings.Contains(a[0].Reason, tc.reason) {
			t.Errorf("%s: audit %+v, want one rejected convert saying %q", tc.id, a, tc.reason)
		}
	}
	rs := replies(t, e.bus.To("pipeline-replies"), "CommandReply")
	if len(rs) != 2 || rs[0].Outcome != arrops.OutcomeRejected || rs[1].Outcome != arrops.OutcomeRejected {
		t.Errorf("replies %+v, want two rejected", rs)
	}
	if n := len(e.bus.To(config.EventsTopic)); n != 0 {
		t.Errorf("%d events for rejected commands", n)
	}
}
