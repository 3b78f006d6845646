package arrops

import (
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string // substring; "" means valid
		want       Command
	}{
		{"start full", `{"action":"start","sessionId":"s-1","size":"premium","maxLeaseTimeMinutes":60,"requestedBy":"viewer","tags":{"p":"7"}}`, "",
			Command{Action: ActionStart, SessionID: "s-1", Size: "Premium", RequestedBy: "viewer"}},
		{"start minimal", `{"action":"start"}`, "", Command{Action: ActionStart}},
		{"action casing", `{"action":" STOP ","sessionId":"a"}`, "", Command{Action: ActionStop, SessionID: "a"}},
		{"extend", `{"action":"extend","sessionId":"a","maxLeaseTimeMinutes":120}`, "", Command{Action: ActionExtend, SessionID: "a"}},
		{"not json", `start arr please`, "not a valid command", Command{}},
		{"empty", ``, "not a valid command", Command{}},
		{"no action", `{"sessionId":"a"}`, "no action", Command{}},
		{"unknown action", `{"action":"reboot"}`, "unknown action", Command{}},
		{"unknown field", `{"action":"start","colour":"red"}`, "unknown field", Command{}},
		{"bad size", `{"action":"start","size":"Huge"}`, "size", Command{}},
		{"negative lease", `{"action":"start","maxLeaseTimeMinutes":-1}`, "outside 1..1440", Command{}},
		{"lease too long", `{"action":"start","maxLeaseTimeMinutes":1441}`, "outside 1..1440", Command{}},
		{"lease wrong type", `{"action":"start","maxLeaseTimeMinutes":"60"}`, "not a valid command", Command{}},
		{"stop without id", `{"action":"stop"}`, "needs a sessionId", Command{}},
		{"extend without lease", `{"action":"extend","sessionId":"a"}`, "needs maxLeaseTimeMinutes", Command{}},
		{"extend zero", `{"action":"extend","sessionId":"a","maxLeaseTimeMinutes":0}`, "outside 1..1440", Command{}},
		{"bad id", `{"action":"stop","sessionId":"a&b"}`, "sessionId", Command{}},
		{"trailing data", `{"action":"start"}{}`, "after the command", Command{}},
		{"array", `[{"action":"start"}]`, "not a valid command", Command{}},
		// Tags a Table property would refuse: rejected before ARR is called
		// (exactly at and one past each tag limit: TestValidateTags).
		{"tag value too long", `{"action":"start","tags":{"notes":"` + strings.Repeat("x", MaxTagsBytes) + `"}}`, "value of tag notes is 8192 characters, the limit is 256", Command{}},
		{"convert", `{"action":"convert","input":"/models/plant.fbx","requestedBy":"pipeline"}`, "",
			Command{Action: ActionConvert, Input: "models/plant.fbx", RequestedBy: "pipeline"}},
		{"convert with output", `{"action":"convert","input":"models/plant.fbx","output":"assets/plant-low.arrAsset"}`, "",
			Command{Action: ActionConvert, Input: "models/plant.fbx", Output: "assets/plant-low.arrAsset"}},
		{"convert without input", `{"action":"convert"}`, "needs an input", Command{}},
		{"convert a side file", `{"action":"convert","input":"models/plant.ConversionSettings.json"}`, "not a format ARR converts", Command{}},
		{"convert output not an asset", `{"action":"convert","input":"m/p.glb","output":"assets/p.glb"}`, "ending in <name>.arrAsset", Command{}},
		{"convert output without a name", `{"action":"convert","input":"m/p.glb","output":"assets/.arrAsset"}`, "ending in <name>.arrAsset", Command{}},
		{"convert with session fields", `{"action":"convert","input":"m/p.glb","sessionId":"s"}`, "not session fields", Command{}},
		{"start pool false", `{"action":"start","pool":false}`, "", Command{Action: ActionStart}},
		{"reserve", `{"action":"reserve","startAt":"2026-12-07T09:00:00+01:00","size":"premium","maxLeaseTimeMinutes":120,"requestedBy":"v"}`, "",
			Command{Action: ActionReserve, Size: "Premium", RequestedBy: "v"}},
		{"reserve without startAt", `{"action":"reserve"}`, "needs startAt", Command{}},
		{"reserve bad startAt", `{"action":"reserve","startAt":"tomorrow"}`, "not a valid command", Command{}},
		{"reserve bad size", `{"action":"reserve","startAt":"2026-12-07T09:00:00Z","size":"Huge"}`, "size", Command{}},
		{"reserve with pool", `{"action":"reserve","startAt":"2026-12-07T09:00:00Z","pool":true}`, "only for start", Command{}},
		{"startAt on a start", `{"action":"start","startAt":"2026-12-07T09:00:00Z"}`, "only for reserve", Command{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if !Permanent(err) {
					t.Fatalf("parse error %v must be permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.StartAt != nil && got.StartAt.Location() != time.UTC {
				t.Fatalf("startAt %s not in UTC", got.StartAt)
			}
			if got.Action != tt.want.Action || got.SessionID != tt.want.SessionID || got.Size != tt.want.Size || got.RequestedBy != tt.want.RequestedBy ||
				got.Input != tt.want.Input || got.Output != tt.want.Output {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{`{"action":"reserve","startAt":"2026-12-07T09:00:00+01:00"}`, `{"action":"start","size":"Standard","maxLeaseTimeMinutes":60}`, `{"action":"stop","sessionId":"x"}`, `"start"`, `{}`,
		`{"action":"convert","input":"models/plant.fbx","output":"a/p.arrAsset"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("error %v has code %q", err, ErrorCode(err))
			}
			return
		}
		if c.Action != ActionStart && c.Action != ActionStop && c.Action != ActionExtend && c.Action != ActionConvert && c.Action != ActionReserve {
			t.Fatalf("accepted action %q", c.Action)
		}
		if (c.Action == ActionReserve) != (c.StartAt != nil) {
			t.Fatalf("%s with startAt %v", c.Action, c.StartAt)
		}
		if c.Action == ActionConvert && (!IsInputFormat(c.Input) || c.Output != "" && !strings.HasSuffix(c.Output, ".arrAsset")) {
			t.Fatalf("accepted convert of %q to %q", c.Input, c.Output)
		}
		if c.SessionID != "" && ValidateID(c.SessionID) != nil {
			t.Fatalf("accepted bad id %q", c.SessionID)
		}
	})
}

func TestValidateID(t *testing.T) {
	for id, ok := range map[string]bool{"a": true, "A-b_9": true, "": false, "a b": false, "é": false,
		strings.Repeat("x", 256): true, strings.Repeat("x", 257): false, "a/b": false} {
		if err := ValidateID(id); (err == nil) != ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

func TestBilledMinutes(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	now := t0.Add(3 * time.Hour)
	tests := []struct {
		name string
		s    Session
		want float64
	}{
		{"never ready", Session{Status: SessionStopped, StoppedAt: t0}, 0},
		{"stopped across month end", Session{Status: SessionStopped, ReadyAt: t0, StoppedAt: t0.Add(90 * time.Minute)}, 90},
		{"expired", Session{Status: SessionExpired, ReadyAt: t0, StoppedAt: t0.Add(60 * time.Minute)}, 60},
		{"running counts to now", Session{Status: SessionReady, ReadyAt: t0}, 180},
		{"stop before ready clamps", Session{Status: SessionStopped, ReadyAt: t0, StoppedAt: t0.Add(-time.Minute)}, 0},
	}
	for _, tt := range tests {
		if got := tt.s.BilledMinutes(now); got != tt.want {
			t.Errorf("%s: got %v want %v", tt.name, got, tt.want)
		}
	}
}

func TestKeepAliveAndSizes(t *testing.T) {
	s := Session{Tags: map[string]string{"KeepAlive": " TRUE"}}
	if !s.KeepAlive() {
		t.Fatal("keepAlive tag not honoured")
	}
	if _, err := ParseSessionSize("tiny"); err == nil {
		t.Fatal("bad size accepted")
	}
	if !IsInputFormat("Models/Plant.GLB") || IsInputFormat("x.obj") {
		t.Fatal("input format check wrong")
	}
	if !IsPointCloud("scans/Site.E57") || !IsPointCloud("a.laz") || IsPointCloud("a.fbx") || IsPointCloud("e57") {
		t.Fatal("point cloud check wrong")
	}
}
