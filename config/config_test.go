package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func validEnv() map[string]string {
	return map[string]string{
		"ARR_ACCOUNT_ID":      "6e3b5a4c-1d2f-4f6a-9b8c-0a1b2c3d4e5f",
		"ARR_ACCOUNT_DOMAIN":  "eastus.mixedreality.azure.com",
		"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
	}
}

func load(env map[string]string) (*Config, error) {
	return Load(func(k string) string { return env[k] })
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(validEnv())
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "https://remoterendering.eastus.mixedreality.azure.com" || c.STSEndpoint != "https://sts.eastus.mixedreality.azure.com" {
		t.Errorf("endpoints %q %q", c.Endpoint, c.STSEndpoint)
	}
	if c.DefaultSize != "Standard" || c.DefaultLease != 60 || !c.LocalBus || c.StorageAccess != AccessAccountSas ||
		c.WatchSchedule != "0 */1 * * * *" || c.FollowUp != 5*time.Second || c.Shutdown.WarningMinutes != 10 || c.Shutdown.TimeZone != time.UTC || c.RatesSet {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFollowUpOff(t *testing.T) {
	env := validEnv()
	env["WATCH_FOLLOWUP_SECONDS"] = "0"
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.FollowUp != 0 {
		t.Errorf("WATCH_FOLLOWUP_SECONDS=0: FollowUp = %v, want 0 (off)", c.FollowUp)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, key, value, wantSetting string
	}{
		{"missing account", "ARR_ACCOUNT_ID", "", "ARR_ACCOUNT_ID"},
		{"account not uuid", "ARR_ACCOUNT_ID", "abc", "ARR_ACCOUNT_ID"},
		{"domain with scheme", "ARR_ACCOUNT_DOMAIN", "https://x", "ARR_ACCOUNT_DOMAIN"},
		{"bad endpoint", "ARR_ENDPOINT", "ftp://x", "ARR_ENDPOINT"},
		{"bad size", "ARR_DEFAULT_SIZE", "Huge", "ARR_DEFAULT_SIZE"},
		{"bad fallback size", "ARR_FALLBACK_SIZE", "Large", "ARR_FALLBACK_SIZE"},
		{"lease zero", "ARR_DEFAULT_LEASE_MINUTES", "0", "ARR_DEFAULT_LEASE_MINUTES"},
		{"lease text", "ARR_DEFAULT_LEASE_MINUTES", "an hour", "ARR_DEFAULT_LEASE_MINUTES"},
		{"no storage", "AzureWebJobsStorage", "", "AzureWebJobsStorage"},
		{"bad sb", "ServiceBusConnection", "nonsense", "ServiceBusConnection"},
		{"bad cron", "WATCH_SCHEDULE", "*/5 * * * *", "WATCH_SCHEDULE"},
		{"follow-up negative", "WATCH_FOLLOWUP_SECONDS", "-1", "WATCH_FOLLOWUP_SECONDS"},
		{"follow-up over a minute", "WATCH_FOLLOWUP_SECONDS", "61", "WATCH_FOLLOWUP_SECONDS"},
		{"follow-up with unit", "WATCH_FOLLOWUP_SECONDS", "5s", "WATCH_FOLLOWUP_SECONDS"},
		{"quiet 25:00", "SHUTDOWN_QUIET_HOURS", "19:00-25:00", "SHUTDOWN_QUIET_HOURS"},
		{"quiet no dash", "SHUTDOWN_QUIET_HOURS", "19:00", "SHUTDOWN_QUIET_HOURS"},
		{"quiet empty window", "SHUTDOWN_QUIET_HOURS", "07:00-07:00", "SHUTDOWN_QUIET_HOURS"},
		{"bad zone", "SHUTDOWN_TIME_ZONE", "Mars/Olympus", "SHUTDOWN_TIME_ZONE"},
		{"negative budget", "SHUTDOWN_DAILY_BUDGET_MINUTES", "-5", "SHUTDOWN_DAILY_BUDGET_MINUTES"},
		{"dry run word", "SHUTDOWN_DRY_RUN", "maybe", "SHUTDOWN_DRY_RUN"},
		{"bad container", "ARR_INPUT_CONTAINER", "Has_Caps", "ARR_INPUT_CONTAINER"},
		{"bad access", "ARR_STORAGE_ACCESS", "public", "ARR_STORAGE_ACCESS"},
		{"sas expiry too long", "ARR_SAS_EXPIRY_MINUTES", "5000", "ARR_SAS_EXPIRY_MINUTES"},
		{"rate negative", "ARR_RATE_STANDARD_PER_HOUR", "-1", "ARR_RATE_STANDARD_PER_HOUR"},
		{"one rate only", "ARR_RATE_STANDARD_PER_HOUR", "3", "ARR_RATE_PREMIUM_PER_HOUR"},
		{"log level", "ARROPS_LOG_LEVEL", "loud", "ARROPS_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv()
			env[tt.key] = tt.value
			_, err := load(env)
			var se *SettingError
			if !errors.As(err, &se) || se.Name != tt.wantSetting {
				t.Fatalf("err = %v, want a SettingError naming %s", err, tt.wantSetting)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestSecretsNotEchoed(t *testing.T) {
	env := validEnv()
	env["ServiceBusConnection"] = "SharedAccessKey=TOPSECRETKEY"
	_, err := load(env)
	if err == nil || strings.Contains(err.Error(), "TOPSECRETKEY") {
		t.Fatalf("err = %v", err)
	}
}

func TestWithLocalSettings(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/local.settings.json"
	if err := os.WriteFile(p, []byte(`{"IsEncrypted":false,"Values":{"A":"file","B":"file"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	get, err := WithLocalSettings(p, func(k string) string { return map[string]string{"A": "env"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if get("A") != "env" || get("B") != "file" || get("C") != "" {
		t.Fatalf("got %q %q %q", get("A"), get("B"), get("C"))
	}
	if _, err := WithLocalSettings(dir+"/missing.json", os.Getenv); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte(`{"IsEncrypted":true}`), 0o600)
	if _, err := WithLocalSettings(p, os.Getenv); err == nil {
		t.Fatal("encrypted file accepted")
	}
}

// TestLoadLimits checks the settings bounded by arrops.Limits at and one past
// each limit.
func TestLoadLimits(t *testing.T) {
	tests := []struct {
		key   string
		value string
		ok    bool
	}{
		{"ARR_DEFAULT_LEASE_MINUTES", "1440", true},
		{"ARR_DEFAULT_LEASE_MINUTES", "1441", false},
		{"ARR_INPUT_PREFIX", strings.Repeat("p", 1023), true},
		{"ARR_INPUT_PREFIX", strings.Repeat("p", 1024), false},
		{"ARR_OUTPUT_PREFIX", strings.Repeat("p", 1024-len(".arrAsset")-1), true},
		{"ARR_OUTPUT_PREFIX", strings.Repeat("p", 1024-len(".arrAsset")), false},
		{"ARR_CURRENCY", strings.Repeat("C", 16), true},
		{"ARR_CURRENCY", strings.Repeat("C", 17), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%d chars", tt.key, len(tt.value)), func(t *testing.T) {
			env := validEnv()
			env[tt.key] = tt.value
			_, err := load(env)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Name != tt.key || !strings.Contains(se.Problem, "the limit is") && !strings.Contains(se.Problem, "outside 1..1440") {
				t.Fatalf("err = %v, want a SettingError naming %s and its limit", err, tt.key)
			}
		})
	}
}

func TestPoolSettings(t *testing.T) {
	env := validEnv()
	env["POOL_STANDARD"] = "3"
	env["POOL_HOURS"] = "22:00-06:00"
	env["POOL_DAYS"] = "Mon-Fri"
	env["SHUTDOWN_TIME_ZONE"] = "Europe/Berlin"
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Pool
	if !p.Enabled() || p.Standard != 3 || p.Premium != 0 || p.LeaseMinutes != 60 || p.Window.Loc.String() != "Europe/Berlin" ||
		p.Window.String() != "22:00-06:00 Mon,Tue,Wed,Thu,Fri (Europe/Berlin)" {
		t.Errorf("pool: %+v, window %s", p, p.Window)
	}
	c, err = load(validEnv())
	if err != nil || c.Pool.Enabled() {
		t.Fatalf("default pool: %+v %v", c.Pool, err)
	}
}

// A bad pool setting, or a pool window the shutdown policies would stop,
// ends the handler at start with one line naming the settings.
func TestPoolRejects(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantSetting string
		wantText    string
	}{
		{"no hours", map[string]string{"POOL_PREMIUM": "1"}, "POOL_HOURS", "required"},
		{"days without hours", map[string]string{"POOL_DAYS": "Mon-Fri"}, "POOL_DAYS", "without POOL_HOURS"},
		{"bad hours", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "8-18"}, "POOL_HOURS", "HH:MM"},
		{"bad days", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "08:00-18:00", "POOL_DAYS": "weekdays"}, "POOL_DAYS", "day of the week"},
		{"bad zone", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "08:00-18:00", "POOL_TIME_ZONE": "Europe/Atlantis"}, "POOL_TIME_ZONE", "IANA"},
		{"size too large", map[string]string{"POOL_STANDARD": "101", "POOL_HOURS": "08:00-18:00"}, "POOL_STANDARD", "0..100"},
		{"size negative", map[string]string{"POOL_PREMIUM": "-1", "POOL_HOURS": "08:00-18:00"}, "POOL_PREMIUM", "0..100"},
		{"lease too short", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "08:00-18:00", "POOL_LEASE_MINUTES": "5"}, "POOL_LEASE_MINUTES", "15..1440"},
		{"overlaps quiet hours", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "08:00-20:00", "SHUTDOWN_QUIET_HOURS": "19:00-07:00"},
			"POOL_HOURS/POOL_DAYS", "overlaps SHUTDOWN_QUIET_HOURS"},
		{"across midnight into quiet hours", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "20:00-02:00", "SHUTDOWN_QUIET_HOURS": "01:00-05:00"},
			"POOL_HOURS/POOL_DAYS", "overlaps SHUTDOWN_QUIET_HOURS"},
		{"every day vs quiet weekends", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "08:00-18:00", "SHUTDOWN_QUIET_WEEKENDS": "true"},
			"POOL_HOURS/POOL_DAYS", "overlaps SHUTDOWN_QUIET_WEEKENDS"},
		{"other zone in summer", map[string]string{"POOL_STANDARD": "1", "POOL_HOURS": "08:00-18:00", "POOL_TIME_ZONE": "Europe/Berlin", "SHUTDOWN_QUIET_HOURS": "17:00-06:30"},
			"POOL_HOURS/POOL_DAYS", "overlaps SHUTDOWN_QUIET_HOURS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := load(env)
			var se *SettingError
			if !errors.As(err, &se) || se.Name != tt.wantSetting || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want a SettingError naming %s with %q", err, tt.wantSetting, tt.wantText)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
	// The same window beside quiet hours it does not touch is fine, as is a
	// weekday pool with quiet weekends.
	env := validEnv()
	env["POOL_STANDARD"], env["POOL_HOURS"], env["POOL_DAYS"] = "1", "08:00-18:00", "Mon-Fri"
	env["SHUTDOWN_QUIET_HOURS"], env["SHUTDOWN_QUIET_WEEKENDS"] = "19:00-07:00", "true"
	if _, err := load(env); err != nil {
		t.Fatal(err)
	}
}
