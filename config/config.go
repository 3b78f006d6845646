// Package config reads and validates arrops' app settings once at start-up.
//
// Every setting the code reads is declared in Settings, with its default and a
// line of documentation; the README table, local.settings.json.example and the
// infra consistency tests are checked against that list. Load fails on the
// first missing or malformed setting with one line naming it, so a bad
// deployment stops at start instead of misbehaving at 3 a.m.
package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/policy"
	"github.com/arrops/arrops/pool"
	"github.com/arrops/arrops/report"
)

// Fixed entity names. They are part of the deployment contract (function.json
// bindings and Bicep declare the same names), so they are constants, not settings.
const (
	CommandsQueue    = arrops.CommandsQueue
	EventsTopic      = arrops.EventsTopic
	BlobCreatedQueue = arrops.BlobCreatedQueue
	DueQueue         = arrops.DueQueue
	SessionsTable    = arrops.SessionsTable
	ConversionsTable = arrops.ConversionsTable
	CommandsTable    = arrops.CommandsTable
)

// Storage access modes for conversions.
const (
	AccessLinked            = "linked"
	AccessUserDelegationSas = "userDelegationSas"
	AccessAccountSas        = "accountSas"
)

// Setting describes one app setting.
type Setting struct {
	Name     string
	Default  string // "" means no default
	Required bool   // must be set (directly or through one of its alternatives)
	Secret   bool   // never logged; prefer identity-based alternatives
	Doc      string
}

// Settings lists every app setting arrops reads, in documentation order.
var Settings = []Setting{
	{Name: "ARR_ACCOUNT_ID", Required: true, Doc: "Remote Rendering account id (a UUID)."},
	{Name: "ARR_ACCOUNT_DOMAIN", Required: true, Doc: "Account domain, e.g. eastus.mixedreality.azure.com."},
	{Name: "ARR_ENDPOINT", Doc: "Service endpoint; default https://remoterendering.<region>.mixedreality.azure.com from the account domain."},
	{Name: "ARR_ACCOUNT_KEY", Secret: true, Doc: "Account key; leave empty to use the app's managed identity (recommended)."},
	{Name: "ARR_STS_ENDPOINT", Doc: "Token service endpoint override (the simulator); default https://sts.<account domain>."},
	{Name: "ARR_DEFAULT_SIZE", Default: "Standard", Doc: "Session size when a start command names none: Standard or Premium."},
	{Name: "ARR_DEFAULT_LEASE_MINUTES", Default: "60", Doc: "Lease when a start command names none (1..1440)."},
	{Name: "ARR_FALLBACK_SIZE", Doc: "Standard or Premium: when a started or reserved session of the other size ends in Error before it was ever Ready (ARR reports a capacity shortage that way), start one replacement of this size for the same requester (empty: off)."},
	{Name: "AzureWebJobsStorage", Secret: true, Doc: "Storage connection string (Azurite locally). In Azure use the __tableServiceUri/__queueServiceUri/__blobServiceUri forms instead."},
	{Name: "AzureWebJobsStorage__tableServiceUri", Doc: "Table endpoint for identity-based access."},
	{Name: "AzureWebJobsStorage__queueServiceUri", Doc: "Queue endpoint for identity-based access."},
	{Name: "AzureWebJobsStorage__blobServiceUri", Doc: "Blob endpoint for identity-based access."},
	{Name: "ServiceBusConnection", Secret: true, Doc: "Service Bus connection string. Empty with no __fullyQualifiedNamespace: local mode, commands and events use Azurite queues of the same names."},
	{Name: "ServiceBusConnection__fullyQualifiedNamespace", Doc: "Service Bus namespace host for identity-based access, e.g. myns.servicebus.windows.net."},
	{Name: "WATCH_SCHEDULE", Default: "0 */1 * * * *", Doc: "NCRONTAB (six fields, with seconds) of the watch function."},
	{Name: "WATCH_CONCURRENCY", Default: "8", Doc: "Parallel ARR GETs during a watch sweep (1..64)."},
	{Name: "WATCH_FOLLOWUP_SECONDS", Default: "5", Doc: "While a session starts or stops or a conversion runs, sweep again this often (seconds, 1..60) through delayed messages on the arr-due queue; 0 turns follow-ups off (the watch timer alone then sees transitions)."},
	{Name: "SHUTDOWN_SCHEDULE", Default: "0 */5 * * * *", Doc: "NCRONTAB of the shutdown function."},
	{Name: "SHUTDOWN_MAX_READY_MINUTES", Doc: "Stop sessions this many minutes after Ready (empty: no limit)."},
	{Name: "SHUTDOWN_QUIET_HOURS", Doc: "Window in which sessions are stopped, HH:MM-HH:MM in SHUTDOWN_TIME_ZONE; may cross midnight (19:00-07:00)."},
	{Name: "SHUTDOWN_QUIET_WEEKENDS", Default: "false", Doc: "true: Saturdays and Sundays are quiet all day."},
	{Name: "SHUTDOWN_TIME_ZONE", Default: "UTC", Doc: "IANA time zone of the quiet hours and of the daily budget's day, e.g. Asia/Tokyo."},
	{Name: "SHUTDOWN_DAILY_BUDGET_MINUTES", Doc: "Session-minutes per requester per day (finished and running); over it, the requester's sessions stop."},
	{Name: "SHUTDOWN_ABSOLUTE_MAX_MINUTES", Doc: "Hard cap after Ready that applies even to keepAlive=true sessions (empty: none)."},
	{Name: "SHUTDOWN_WARNING_MINUTES", Default: "10", Doc: "Announce a SessionStopWarning this many minutes before a policy stop (0: no warning)."},
	{Name: "SHUTDOWN_DRY_RUN", Default: "false", Doc: "true: record and announce \"would stop\" without stopping."},
	{Name: "SHUTDOWN_CONCURRENCY", Default: "8", Doc: "Parallel stop calls in one sweep (1..64)."},
	{Name: "POOL_STANDARD", Default: "0", Doc: "Warm pool: Ready Standard sessions to keep during the pool window (0..100; 0: none). A start takes one at once."},
	{Name: "POOL_PREMIUM", Default: "0", Doc: "Warm pool: Ready Premium sessions to keep during the pool window (0..100)."},
	{Name: "POOL_HOURS", Doc: "Pool window, HH:MM-HH:MM in POOL_TIME_ZONE; may cross midnight (22:00-06:00); equal ends: a whole day. Required when a pool size is set."},
	{Name: "POOL_DAYS", Doc: "Days the pool window opens, e.g. Mon-Fri or Mon,Wed,Fri (empty: every day); a window crossing midnight runs into the next day."},
	{Name: "POOL_TIME_ZONE", Doc: "IANA time zone of POOL_HOURS and POOL_DAYS (empty: SHUTDOWN_TIME_ZONE)."},
	{Name: "POOL_LEASE_MINUTES", Default: "60", Doc: "Lease of an unclaimed pool session (15..1440); renewed while the window is open."},
	{Name: "ARR_INPUT_CONTAINER", Default: "arr-input", Doc: "Container whose uploads are converted."},
	{Name: "ARR_INPUT_PREFIX", Doc: "Only blobs under this prefix are converted (empty: all)."},
	{Name: "ARR_OUTPUT_CONTAINER", Default: "arr-output", Doc: "Container receiving .arrAsset files; the output mirrors the input path."},
	{Name: "ARR_OUTPUT_PREFIX", Doc: "Prefix prepended to output paths."},
	{Name: "ARR_STORAGE_ACCESS", Doc: "linked | userDelegationSas | accountSas. Default: accountSas with a connection string holding a key, else userDelegationSas."},
	{Name: "ARR_SAS_EXPIRY_MINUTES", Default: "240", Doc: "Lifetime of SAS tokens handed to ARR (15..1440)."},
	{Name: "ARR_RATE_STANDARD_PER_HOUR", Doc: "Price of a Standard session hour for cost estimates (empty: minutes only)."},
	{Name: "ARR_RATE_PREMIUM_PER_HOUR", Doc: "Price of a Premium session hour."},
	{Name: "ARR_CURRENCY", Default: "USD", Doc: "Currency label of the rates."},
	{Name: "ARROPS_LOG_LEVEL", Default: "info", Doc: "debug | info | warn | error."},
}

// Shutdown holds the shutdown settings: the policies (package policy's
// Options) and how the sweep runs.
type Shutdown struct {
	policy.Options
	Schedule    string
	Concurrency int
}

// Pool holds the warm-pool settings. Enabled is false when both sizes are 0.
type Pool struct {
	Standard, Premium int
	Window            pool.Window
	LeaseMinutes      int
}

// Enabled reports whether any pool session is kept.
func (p Pool) Enabled() bool { return p.Standard+p.Premium > 0 }

// Size returns the pool size for sz.
func (p Pool) Size(sz arrops.SessionSize) int {
	if sz == arrops.SizePremium {
		return p.Premium
	}
	return p.Standard
}

// Config is the validated configuration.
type Config struct {
	AccountID, AccountDomain, Endpoint, STSEndpoint string
	AccountKey                                      string // secret
	DefaultSize                                     arrops.SessionSize
	DefaultLease                                    int
	// FallbackSize replaces a session that failed before Ready ("" off).
	FallbackSize arrops.SessionSize

	StorageConnectionString                          string // secret
	TableServiceURL, QueueServiceURL, BlobServiceURL string

	ServiceBusConnectionString string // secret
	ServiceBusNamespace        string
	// LocalBus: no Service Bus configured; commands and events use Azurite
	// queues of the same names.
	LocalBus bool

	WatchSchedule    string
	WatchConcurrency int
	// FollowUp is the period of follow-up sweeps; 0: off.
	FollowUp time.Duration
	Shutdown Shutdown
	Pool     Pool

	InputContainer, InputPrefix, OutputContainer, OutputPrefix string
	StorageAccess                                              string
	SASExpiry                                                  time.Duration

	RateStandard, RatePremium float64
	RatesSet                  bool
	Currency                  string
	LogLevel                  string
}

// SettingError names the setting that failed validation.
type SettingError struct {
	Name, Problem string
}

func (e *SettingError) Error() string { return "setting " + e.Name + ": " + e.Problem }

type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = &SettingError{Name: name, Problem: fmt.Sprintf(format, args...)}
	}
}

func (r *reader) str(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		for _, s := range Settings {
			if s.Name == name {
				return s.Default
			}
		}
	}
	return v
}

func (r *reader) integer(name string, lo, hi int) int {
	v := r.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, "%q is not a whole number", v)
		return 0
	}
	if n < lo || n > hi {
		r.fail(name, "%d is outside %d..%d", n, lo, hi)
	}
	return n
}

// maxLen fails name when v has more than max characters; why names the limit.
func (r *reader) maxLen(name, v string, max int, why string) {
	if n := len([]rune(v)); n > max {
		r.fail(name, "is %d characters, the limit is %d (%s)", n, max, why)
	}
}

func (r *reader) boolean(name string) bool {
	v := r.str(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "%q is not true or false", v)
	}
	return b
}

func (r *reader) rate(name string) (float64, bool) {
	v := r.str(name)
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f != f {
		r.fail(name, "%q is not a non-negative number", v)
	}
	return f, true
}

func (r *reader) url(name string) string {
	v := r.str(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.fail(name, "%q is not an http(s) URL", redactURL(v))
	}
	return strings.TrimRight(v, "/")
}

var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

func (r *reader) schedule(name string) string {
	v := r.str(name)
	if _, err := cronParser.Parse(v); err != nil {
		r.fail(name, "%q is not a six-field NCRONTAB expression: %v", v, err)
	}
	return v
}

// isUUID reports whether s is 8-4-4-4-12 hex digits. (Hand-written rather
// than a regexp: compiling regexps at init shows in the handler's cold start.)
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Load reads and validates all settings through getenv.
func Load(getenv func(string) string) (*Config, error) {
	r := &reader{getenv: getenv}
	c := &Config{}
	c.AccountID = r.str("ARR_ACCOUNT_ID")
	if c.AccountID == "" {
		r.fail("ARR_ACCOUNT_ID", "is required")
	} else if !isUUID(c.AccountID) {
		r.fail("ARR_ACCOUNT_ID", "%q is not a UUID", c.AccountID)
	}
	c.AccountDomain = r.str("ARR_ACCOUNT_DOMAIN")
	if c.AccountDomain == "" {
		r.fail("ARR_ACCOUNT_DOMAIN", "is required (e.g. eastus.mixedreality.azure.com)")
	} else if strings.ContainsAny(c.AccountDomain, "/: ") {
		r.fail("ARR_ACCOUNT_DOMAIN", "%q must be a host name like eastus.mixedreality.azure.com", c.AccountDomain)
	}
	c.Endpoint = r.url("ARR_ENDPOINT")
	if c.Endpoint == "" && c.AccountDomain != "" {
		c.Endpoint = "https://remoterendering." + c.AccountDomain
	}
	c.STSEndpoint = r.url("ARR_STS_ENDPOINT")
	if c.STSEndpoint == "" && c.AccountDomain != "" {
		c.STSEndpoint = "https://sts." + c.AccountDomain
	}
	c.AccountKey = r.str("ARR_ACCOUNT_KEY")
	if sz, err := arrops.ParseSessionSize(r.str("ARR_DEFAULT_SIZE")); err != nil {
		r.fail("ARR_DEFAULT_SIZE", "%s", arrops.ErrorMessage(err))
	} else {
		c.DefaultSize = sz
	}
	c.DefaultLease = r.integer("ARR_DEFAULT_LEASE_MINUTES", arrops.MinLeaseMinutes, arrops.MaxLeaseMinutes)
	if v := r.str("ARR_FALLBACK_SIZE"); v != "" {
		if sz, err := arrops.ParseSessionSize(v); err != nil {
			r.fail("ARR_FALLBACK_SIZE", "%s", arrops.ErrorMessage(err))
		} else {
			c.FallbackSize = sz
		}
	}

	c.StorageConnectionString = r.str("AzureWebJobsStorage")
	c.TableServiceURL = r.url("AzureWebJobsStorage__tableServiceUri")
	c.QueueServiceURL = r.url("AzureWebJobsStorage__queueServiceUri")
	c.BlobServiceURL = r.url("AzureWebJobsStorage__blobServiceUri")
	if c.StorageConnectionString == "" && c.TableServiceURL == "" {
		r.fail("AzureWebJobsStorage", "is required (a connection string, or AzureWebJobsStorage__tableServiceUri/__queueServiceUri/__blobServiceUri)")
	} else if c.StorageConnectionString != "" && !strings.Contains(c.StorageConnectionString, "=") && c.StorageConnectionString != "UseDevelopmentStorage=true" {
		r.fail("AzureWebJobsStorage", "is not a storage connection string")
	}
	if c.StorageConnectionString == "" {
		if c.QueueServiceURL == "" {
			r.fail("AzureWebJobsStorage__queueServiceUri", "is required with identity-based storage")
		}
		if c.BlobServiceURL == "" {
			r.fail("AzureWebJobsStorage__blobServiceUri", "is required with identity-based storage")
		}
	}

	c.ServiceBusConnectionString = r.str("ServiceBusConnection")
	c.ServiceBusNamespace = r.str("ServiceBusConnection__fullyQualifiedNamespace")
	if c.ServiceBusConnectionString != "" && !strings.Contains(strings.ToLower(c.ServiceBusConnectionString), "endpoint=") {
		r.fail("ServiceBusConnection", "is not a Service Bus connection string (Endpoint=sb://...)")
	}
	if strings.ContainsAny(c.ServiceBusNamespace, "/: ") {
		r.fail("ServiceBusConnection__fullyQualifiedNamespace", "%q must be a host name like myns.servicebus.windows.net", c.ServiceBusNamespace)
	}
	c.LocalBus = c.ServiceBusConnectionString == "" && c.ServiceBusNamespace == ""

	c.WatchSchedule = r.schedule("WATCH_SCHEDULE")
	c.WatchConcurrency = r.integer("WATCH_CONCURRENCY", 1, 64)
	c.FollowUp = time.Duration(r.integer("WATCH_FOLLOWUP_SECONDS", 0, 60)) * time.Second

	sd := &c.Shutdown
	sd.Schedule = r.schedule("SHUTDOWN_SCHEDULE")
	sd.MaxReadyMinutes = r.integer("SHUTDOWN_MAX_READY_MINUTES", 1, 100000)
	if q := r.str("SHUTDOWN_QUIET_HOURS"); q != "" {
		qh, err := policy.ParseQuietHours(q)
		if err != nil {
			r.fail("SHUTDOWN_QUIET_HOURS", "%v", err)
		}
		sd.Quiet = qh
	}
	sd.QuietWeekends = r.boolean("SHUTDOWN_QUIET_WEEKENDS")
	tz := r.str("SHUTDOWN_TIME_ZONE")
	if loc, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		r.fail("SHUTDOWN_TIME_ZONE", "%q is not an IANA time zone name (e.g. Europe/Berlin)", tz)
	} else {
		sd.TimeZone = loc
	}
	if r.str("SHUTDOWN_DAILY_BUDGET_MINUTES") != "" {
		sd.DailyBudget = r.integer("SHUTDOWN_DAILY_BUDGET_MINUTES", 0, 1440*7)
		sd.BudgetSet = true
	}
	sd.AbsoluteMaxMinute = r.integer("SHUTDOWN_ABSOLUTE_MAX_MINUTES", 1, 100000)
	sd.WarningMinutes = r.integer("SHUTDOWN_WARNING_MINUTES", 0, 120)
	sd.DryRun = r.boolean("SHUTDOWN_DRY_RUN")
	sd.Concurrency = r.integer("SHUTDOWN_CONCURRENCY", 1, 64)

	r.pool(c, time.Now())

	c.InputContainer = r.container("ARR_INPUT_CONTAINER")
	c.InputPrefix = strings.TrimLeft(r.str("ARR_INPUT_PREFIX"), "/")
	c.OutputContainer = r.container("ARR_OUTPUT_CONTAINER")
	c.OutputPrefix = strings.TrimLeft(r.str("ARR_OUTPUT_PREFIX"), "/")
	r.maxLen("ARR_INPUT_PREFIX", c.InputPrefix, arrops.BlobMaxNameLength-1, "a blob name has at most 1024 characters and the prefix must leave room for a file")
	r.maxLen("ARR_OUTPUT_PREFIX", c.OutputPrefix, arrops.BlobMaxNameLength-len(".arrAsset")-1, "the output blob name (prefix, input path, .arrAsset) has at most 1024 characters")
	c.StorageAccess = r.str("ARR_STORAGE_ACCESS")
	switch c.StorageAccess {
	case "":
		if strings.Contains(c.StorageConnectionString, "AccountKey=") || c.StorageConnectionString == "UseDevelopmentStorage=true" {
			c.StorageAccess = AccessAccountSas
		} else {
			c.StorageAccess = AccessUserDelegationSas
		}
	case AccessLinked, AccessUserDelegationSas:
	case AccessAccountSas:
		if !strings.Contains(c.StorageConnectionString, "AccountKey=") && c.StorageConnectionString != "UseDevelopmentStorage=true" {
			r.fail("ARR_STORAGE_ACCESS", "accountSas needs AzureWebJobsStorage to be a connection string with an AccountKey")
		}
	default:
		r.fail("ARR_STORAGE_ACCESS", "%q is not linked, userDelegationSas or accountSas", c.StorageAccess)
	}
	c.SASExpiry = time.Duration(r.integer("ARR_SAS_EXPIRY_MINUTES", 15, 1440)) * time.Minute

	var okS, okP bool
	c.RateStandard, okS = r.rate("ARR_RATE_STANDARD_PER_HOUR")
	c.RatePremium, okP = r.rate("ARR_RATE_PREMIUM_PER_HOUR")
	if okS != okP {
		if okS {
			r.fail("ARR_RATE_PREMIUM_PER_HOUR", "is required when ARR_RATE_STANDARD_PER_HOUR is set")
		} else {
			r.fail("ARR_RATE_STANDARD_PER_HOUR", "is required when ARR_RATE_PREMIUM_PER_HOUR is set")
		}
	}
	c.RatesSet = okS && okP
	c.Currency = r.str("ARR_CURRENCY")
	r.maxLen("ARR_CURRENCY", c.Currency, 16, "a currency label")
	c.LogLevel = strings.ToLower(r.str("ARROPS_LOG_LEVEL"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		r.fail("ARROPS_LOG_LEVEL", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// poolOverlapHorizon is how far ahead a pool window is checked against the
// quiet hours: a year and a week covers every weekday in both DST seasons
// when the two zones differ.
const poolOverlapHorizon = 372 * 24 * time.Hour

// pool reads the POOL_* settings. A window that overlaps the quiet hours
// (or quiet weekends) is refused: the pool would start sessions the
// shutdown policies stop.
func (r *reader) pool(c *Config, now time.Time) {
	p := &c.Pool
	p.Standard = r.integer("POOL_STANDARD", 0, 100)
	p.Premium = r.integer("POOL_PREMIUM", 0, 100)
	p.LeaseMinutes = r.integer("POOL_LEASE_MINUTES", 15, arrops.MaxLeaseMinutes)
	loc := c.Shutdown.TimeZone
	if tz := r.str("POOL_TIME_ZONE"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			r.fail("POOL_TIME_ZONE", "%q is not an IANA time zone name (e.g. Europe/Berlin)", tz)
			return
		}
		loc = l
	}
	hours, days := r.str("POOL_HOURS"), r.str("POOL_DAYS")
	if hours == "" {
		if p.Enabled() {
			r.fail("POOL_HOURS", "is required when POOL_STANDARD or POOL_PREMIUM is set (e.g. 08:00-18:00)")
		} else if days != "" {
			r.fail("POOL_DAYS", "is set without POOL_HOURS")
		}
		return
	}
	if loc == nil { // SHUTDOWN_TIME_ZONE failed and was reported
		return
	}
	if _, err := pool.ParseDays(days); err != nil {
		r.fail("POOL_DAYS", "%v", err)
		return
	}
	w, err := pool.ParseWindow(hours, days, loc)
	if err != nil {
		r.fail("POOL_HOURS", "%v", err)
		return
	}
	p.Window = w
	if !p.Enabled() {
		return
	}
	sd := c.Shutdown
	type quietWindow struct {
		setting string
		w       pool.Window
	}
	var quiet []quietWindow
	if sd.Quiet.Set {
		quiet = append(quiet, quietWindow{"SHUTDOWN_QUIET_HOURS",
			pool.Window{Start: pool.Clock(sd.Quiet.Start), End: pool.Clock(sd.Quiet.End), Days: pool.EveryDay, Loc: sd.TimeZone}})
	}
	if sd.QuietWeekends {
		weekend, _ := pool.ParseDays("Sat-Sun")
		quiet = append(quiet, quietWindow{"SHUTDOWN_QUIET_WEEKENDS", pool.Window{Days: weekend, Loc: sd.TimeZone}})
	}
	for _, q := range quiet {
		if at, ok := pool.Overlap(w, q.w, now, now.Add(poolOverlapHorizon)); ok {
			r.fail("POOL_HOURS/POOL_DAYS", "pool window %s overlaps %s (first at %s): the shutdown policies would fight the pool",
				w, q.setting, at.In(loc).Format("Mon 2006-01-02 15:04 MST"))
			return
		}
	}
}

// isContainerName reports whether s is a valid blob container name: 3 to 63
// lower-case letters, digits and single hyphens, starting and ending with a
// letter or digit.
func isContainerName(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

func (r *reader) container(name string) string {
	v := r.str(name)
	if !isContainerName(v) {
		r.fail(name, "%q is not a valid blob container name (3-63 lower-case letters, digits, single hyphens)", v)
	}
	return v
}

// ReportRates are the report's prices (REPORT_* settings).
func (c *Config) ReportRates() report.Rates {
	return report.Rates{Standard: c.RateStandard, Premium: c.RatePremium, Set: c.RatesSet, Currency: c.Currency}
}

// redactURL drops a query string (it may hold a SAS) before a URL is echoed
// in an error.
func redactURL(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?REDACTED"
	}
	return s
}
