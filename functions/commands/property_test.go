package commands_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions/commands"
	"github.com/arrops/arrops/trigger"
)

// genCommand returns a random command body whose fields are, each at random,
// absent, ordinary, exactly at one of arrops.Limits or one past it (and now
// and then not a command at all), and whether it is a valid command: the
// generator's own account, independent of the code under test. n makes
// explicit session ids unique.
func genCommand(r *rand.Rand, n int) (body string, valid bool) {
	valid = true
	invalid := func() { valid = false }
	str := func(c string, k int) string { return strings.Repeat(c, k) }
	// text of k characters, ASCII or not (limits count characters).
	text := func(k int) string {
		if r.IntN(2) == 0 {
			return str("x", k)
		}
		return str("é", k)
	}
	m := map[string]any{}
	var action string
	switch r.IntN(8) {
	case 0, 1, 2:
		action = "start"
	case 3:
		action = "stop"
	case 4:
		action = "extend"
	case 5:
		action = "START" // any casing
	case 6:
		action = "reboot"
		invalid()
	default:
		action = str("a", 5000)
		invalid()
	}
	m["action"] = action
	start, extend := strings.EqualFold(action, "start"), action == "extend"
	if r.IntN(3) > 0 {
		prefix := fmt.Sprintf("p%d-", n)
		switch r.IntN(4) {
		case 0:
			m["sessionId"] = prefix + "s"
		case 1: // at the limit
			m["sessionId"] = prefix + str("s", arrops.MaxIDLength-len(prefix))
		case 2: // one past
			m["sessionId"] = prefix + str("s", arrops.MaxIDLength-len(prefix)+1)
			invalid()
		default: // a forbidden character
			m["sessionId"] = prefix + "a/b"
			invalid()
		}
	} else if !start {
		invalid() // stop and extend need one
	}
	if r.IntN(2) == 0 {
		switch r.IntN(3) {
		case 0:
			m["size"] = "Standard"
		case 1:
			m["size"] = "premium"
		default:
			m["size"] = "Huge"
			if start {
				invalid()
			}
		}
	}
	if r.IntN(2) == 0 {
		lease := []int{0, arrops.MinLeaseMinutes, 30, arrops.MaxLeaseMinutes, arrops.MaxLeaseMinutes + 1, -1}[r.IntN(6)]
		m["maxLeaseTimeMinutes"] = lease
		if (start || extend) && (lease < arrops.MinLeaseMinutes || lease > arrops.MaxLeaseMinutes) {
			invalid()
		}
	} else if extend {
		invalid() // extend needs a lease
	}
	if r.IntN(2) == 0 {
		switch r.IntN(3) {
		case 0:
			m["requestedBy"] = "app"
		case 1:
			m["requestedBy"] = text(arrops.MaxRequestedByChars)
		default:
			m["requestedBy"] = text(arrops.MaxRequestedByChars + 1)
			invalid()
		}
	}
	if r.IntN(2) == 0 {
		tags := map[string]string{}
		over := false
		switch r.IntN(8) {
		case 0:
			tags["project"] = "p7"
		case 1, 2: // count at or one past the limit
			k := arrops.MaxTags + r.IntN(2)
			for i := range k {
				tags[fmt.Sprintf("t%02d", i)] = "v"
			}
			over = k > arrops.MaxTags
		case 3: // key at or one past
			k := arrops.MaxTagKeyLength + r.IntN(2)
			tags[text(k)] = "v"
			over = k > arrops.MaxTagKeyLength
		case 4: // value at or one past
			k := arrops.MaxTagValueLength + r.IntN(2)
			tags["k"] = text(k)
			over = k > arrops.MaxTagValueLength
		case 5, 6: // total JSON at or one past (ASCII: one byte per character)
			want := arrops.MaxTagsBytes + r.IntN(2)
			for i := 0; arrops.TagsBytes(tags) < want; i++ {
				k := fmt.Sprintf("t%02d", i)
				tags[k] = ""
				tags[k] = str("v", min(arrops.MaxTagValueLength, want-arrops.TagsBytes(tags)))
			}
			over = want > arrops.MaxTagsBytes
		case 7: // an empty key
			tags[""] = "v"
			over = true
		}
		if over && start {
			invalid() // only a start reads its tags
		}
		m["tags"] = tags
	}
	b, _ := json.Marshal(m)
	switch r.IntN(20) {
	case 0: // padded to the body limit, or one past
		if pad := arrops.MaxCommandBytes - len(b) + r.IntN(2); pad > 0 {
			b = append(b, str(" ", pad)...)
			if len(b) > arrops.MaxCommandBytes {
				invalid()
			}
		}
	case 1: // cut short
		return strings.ToValidUTF8(string(b[:r.IntN(len(b))]), ""), false
	case 2: // an unknown field
		b = append(b[:len(b)-1], `,"colour":"red"}`...)
		invalid()
	}
	return string(b), valid
}

// propertyChecker checks every delivery of a run against the properties of
// the commands path (see check).
type propertyChecker struct {
	e       *cmdEnv
	replyTo string
	mu      sync.Mutex
	started map[string]bool // session ids a start was accepted for
}

// check asserts, for the delivery of message id with body: the handler
// answered 200 or, when transient is allowed, 500 with nothing recorded; a
// 200 left exactly one audit row and exactly one reply, with the same
// outcome; an invalid command (valid is false; unknown is true for bodies the
// test did not generate) is rejected; a valid start of a new id is accepted;
// and ARR holds a session under the command's id only if a start for it was
// accepted (then its record is not Requested), and always holds one when this
// start was accepted.
func (p *propertyChecker) check(t *testing.T, id, body string, valid, unknown bool, code int, logs []string, transientOK bool) {
	t.Helper()
	e := p.e
	var rows []*arrops.CommandAudit
	for a, err := range e.st.AuditByDay(e.ctx, time.Now().Add(-48*time.Hour), time.Now().Add(48*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		if a.MessageID == id {
			rows = append(rows, a)
		}
	}
	var reps []arrops.CommandReply
	for _, m := range e.bus.To(p.replyTo) {
		if m.CorrelationID == id && m.Subject == "CommandReply" {
			var r arrops.CommandReply
			if err := json.Unmarshal(m.Body, &r); err != nil {
				t.Fatalf("reply body: %v", err)
			}
			reps = append(reps, r)
		}
	}
	switch {
	case code == http.StatusInternalServerError && transientOK:
		if len(rows) != 0 {
			t.Errorf("500 with %d audit rows for %.200q", len(rows), body)
		}
		return
	case code != http.StatusOK:
		t.Fatalf("status %d for %.200q: %v", code, body, logs)
	case len(rows) != 1 || len(reps) != 1:
		t.Fatalf("%d audit rows and %d replies for %.200q, want one of each", len(rows), len(reps), body)
	case rows[0].Outcome != reps[0].Outcome:
		t.Errorf("audit says %s, the reply %s", rows[0].Outcome, reps[0].Outcome)
	}
	outcome := rows[0].Outcome
	cmd, perr := arrops.ParseCommand([]byte(body))
	switch {
	case unknown:
	case !valid && outcome != arrops.OutcomeRejected:
		t.Errorf("invalid command %.200q answered %s %q", body, outcome, rows[0].Reason)
	case valid && perr != nil:
		t.Errorf("valid command %.200q refused: %v", body, perr)
	case valid && cmd.Action == arrops.ActionStart && outcome != arrops.OutcomeAccepted:
		t.Errorf("valid start %.200q of a new id answered %s %q", body, outcome, rows[0].Reason)
	}
	if len(rows[0].Reason) > arrops.MaxTextBytes*6 {
		t.Errorf("reason of %d bytes", len(rows[0].Reason))
	}
	sid := cmd.SessionID
	if perr == nil && cmd.Action == arrops.ActionStart && sid == "" {
		sid = commands.SessionIDFromMessage(id)
	}
	if perr != nil || sid == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cmd.Action == arrops.ActionStart && outcome == arrops.OutcomeAccepted {
		p.started[sid] = true
	}
	_, err := e.arrc.GetSession(e.ctx, sid, nil)
	inARR := err == nil
	if err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
		t.Fatalf("ARR get %s: %v", sid, err)
	}
	switch {
	case inARR && !p.started[sid]:
		t.Errorf("ARR holds session %s, but no start for it was accepted (this one: %s %q)", sid, outcome, rows[0].Reason)
	case !inARR && cmd.Action == arrops.ActionStart && outcome == arrops.OutcomeAccepted:
		t.Errorf("start of %s accepted, but ARR has no such session", sid)
	case inARR:
		if rec, err := e.st.GetSession(e.ctx, sid); err != nil || rec.Status == arrops.SessionRequested {
			t.Errorf("ARR holds session %s; its record: %+v %v", sid, rec, err)
		}
	}
}

// TestCommandsProperty sends random commands within and beyond every limit
// through the whole commands path (records in memory, the simulator over
// HTTP, the bus) and checks the properties of propertyChecker.check on each.
func TestCommandsProperty(t *testing.T) {
	e := newCmdEnv(t)
	p := &propertyChecker{e: e, replyTo: "pt-replies", started: map[string]bool{}}
	r := rand.New(rand.NewPCG(17, 2026))
	n := 300
	if testing.Short() {
		n = 60
	}
	before := e.sim.Stats().CreateSession
	accepted := 0
	for i := range n {
		id := fmt.Sprintf("pt-%d", i)
		body, valid := genCommand(r, i)
		code, resp := e.deliver(id, body, 1, p.replyTo)
		p.check(t, id, body, valid, false, code, resp.Logs, false)
		if a := e.audit(id); len(a) == 1 && a[0].Action == arrops.ActionStart && a[0].Outcome == arrops.OutcomeAccepted {
			accepted++
		}
	}
	// ARR was asked only for what was accepted: one create per accepted
	// start (ids are unique), none for anything rejected.
	if got := e.sim.Stats().CreateSession - before; got != int64(accepted) {
		t.Errorf("%d ARR creates for %d accepted starts", got, accepted)
	}
	t.Logf("%d commands, %d starts accepted", n, accepted)
}

// FuzzCommandsBody sends arbitrary message bodies through the whole commands
// path (envelope, command decoding, ARR, records, reply). Whatever the body,
// the handler answers 200 with exactly one audit row and one reply of the
// same outcome, an ARR session only for an accepted start (see
// propertyChecker.check), or 500 (transient: nothing recorded); never
// anything else, and never panics. Seeds: the captured Service Bus bodies,
// the command forms, and commands at and one past every limit (genCommand).
func FuzzCommandsBody(f *testing.F) {
	for _, s := range fixtureBodies(f) {
		f.Add(s)
	}
	for _, s := range []string{`{"action":"stop","sessionId":"fz"}`, `{"action":"extend","sessionId":"fz","maxLeaseTimeMinutes":90}`,
		`{"action":"START","size":"premium","maxLeaseTimeMinutes":0}`, `{"action":"start","tags":{"a":"b"}}`, `null`, `"start"`, "\xff\xfe"} {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(1, 17))
	for i := range 40 {
		body, _ := genCommand(r, 100000+i)
		f.Add(body)
	}
	e := newCmdEnv(f)
	p := &propertyChecker{e: e, replyTo: "fz-replies", started: map[string]bool{}}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body string) {
		id := fmt.Sprintf("fz-%d", n.Add(1))
		b, err := trigger.EncodeServiceBusInvocation(commands.Binding, trigger.ServiceBusMessage{
			Body: []byte(body), BodyBase64: !utf8.ValidString(body), MessageID: id, DeliveryCount: 1, ReplyTo: p.replyTo})
		if err != nil {
			t.Skip(err)
		}
		code, resp := e.postAs(t, b)
		p.check(t, id, body, false, true, code, resp.Logs, true)
	})
}
