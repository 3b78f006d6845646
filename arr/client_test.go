package arr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
)

const (
	account = "30ea64bd-100f-4bf0-adc9-29fa45d4880c"
	// Test-only secrets, distinctive so that a leak is easy to find.
	accountKey = "S3CR3T-ACCOUNT-KEY-c2VjcmV0LWtleQ=="
	stsToken   = "eyJhbGciOiJub25lIn0.eyJleHAiOjIxNDc0ODM2NDd9.S3CR3T-STS-SIGNATURE"
	sasSig     = "S3CR3T-SAS-SIGNATURE"
)

// server is a tiny ARR stand-in for the external tests: it checks the
// Authorization header and answers from handler.
type server struct {
	*httptest.Server
	requests atomic.Int32
	handler  func(w http.ResponseWriter, r *http.Request)
}

func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *server {
	s := &server{handler: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("MS-CV", "cv-test.0")
		if strings.HasSuffix(r.URL.Path, "/token") {
			if r.Header.Get("Authorization") != "Bearer "+account+":"+accountKey {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"AccessToken":%q}`, stsToken)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+stsToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func newClient(t testing.TB, url string, key string, mod func(*arr.ClientOptions)) *arr.Client {
	t.Helper()
	cred, err := arr.NewAccountKeyCredential(key)
	if err != nil {
		t.Fatal(err)
	}
	o := &arr.ClientOptions{AccountDomain: "eastus.mixedreality.azure.com", STSEndpoint: url}
	o.Retry = policy.RetryOptions{RetryDelay: time.Millisecond}
	if mod != nil {
		mod(o)
	}
	c, err := arr.NewClient(url, account, cred, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func validSettings() arr.ConversionSettings {
	return arr.ConversionSettings{
		InputLocation: arr.InputLocation{
			StorageContainerURI: "https://acct.blob.core.windows.net/input", RelativeInputAssetPath: "models/box.fbx",
			StorageContainerReadListSAS: arr.SAS("?sv=2022-11-02&sr=c&sp=rl&sig=" + sasSig),
		},
		OutputLocation: arr.OutputLocation{
			StorageContainerURI:      "https://acct.blob.core.windows.net/output",
			StorageContainerWriteSAS: arr.SAS("sv=2022-11-02&sr=c&sp=rwl&sig=" + sasSig),
		},
	}
}

func TestValidationSendsNothing(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("request sent: %s %s", r.Method, r.URL) })
	c := newClient(t, s.URL, accountKey, nil)
	ctx := context.Background()
	long := strings.Repeat("a", 257)
	with := func(f func(*arr.ConversionSettings)) arr.ConversionSettings {
		cs := validSettings()
		f(&cs)
		return cs
	}
	tests := []struct {
		name  string
		field string
		call  func() error
	}{
		{"empty session id", "session id", func() error { _, err := c.GetSession(ctx, "", nil); return err }},
		{"long session id", "session id", func() error { _, err := c.GetSession(ctx, long, nil); return err }},
		{"slash in id", "session id", func() error { _, err := c.StopSession(ctx, "a/b", nil); return err }},
		{"dot in id", "session id", func() error { _, err := c.UpdateSession(ctx, "a.b", 10, nil); return err }},
		{"unicode id", "session id", func() error {
			_, err := c.CreateSession(ctx, "sé", arr.SessionSettings{MaxLeaseTimeMinutes: 5, Size: "Standard"}, nil)
			return err
		}},
		{"negative lease", "maxLeaseTimeMinutes", func() error {
			_, err := c.CreateSession(ctx, "s1", arr.SessionSettings{MaxLeaseTimeMinutes: -4, Size: "Standard"}, nil)
			return err
		}},
		{"lease over a day", "maxLeaseTimeMinutes", func() error {
			_, err := c.CreateSession(ctx, "s1", arr.SessionSettings{MaxLeaseTimeMinutes: 1441, Size: "Standard"}, nil)
			return err
		}},
		{"unknown size", "size", func() error {
			_, err := c.CreateSession(ctx, "s1", arr.SessionSettings{MaxLeaseTimeMinutes: 5, Size: "Huge"}, nil)
			return err
		}},
		{"empty size", "size", func() error {
			_, err := c.CreateSession(ctx, "s1", arr.SessionSettings{MaxLeaseTimeMinutes: 5}, nil)
			return err
		}},
		{"update to 0", "maxLeaseTimeMinutes", func() error { _, err := c.UpdateSession(ctx, "s1", 0, nil); return err }},
		{"update over a day", "maxLeaseTimeMinutes", func() error { _, err := c.UpdateSession(ctx, "s1", 1441, nil); return err }},
		{"conversion id", "conversion id", func() error { _, err := c.GetConversion(ctx, "x?y", nil); return err }},
		{"malformed container uri", "inputLocation.storageContainerUri", func() error {
			_, err := c.CreateConversion(ctx, "c1", with(func(s *arr.ConversionSettings) {
				s.InputLocation.StorageContainerURI = "('https://arrstorageaccount.blob.core.windows.net/test',)"
			}), nil)
			return err
		}},
		{"SAS in container uri", "outputLocation.storageContainerUri", func() error {
			_, err := c.CreateConversion(ctx, "c1", with(func(s *arr.ConversionSettings) {
				s.OutputLocation.StorageContainerURI = "https://a.blob.core.windows.net/o?sig=" + sasSig
			}), nil)
			return err
		}},
		{"ampersand in file name", "inputLocation.relativeInputAssetPath", func() error {
			_, err := c.CreateConversion(ctx, "c1", with(func(s *arr.ConversionSettings) { s.InputLocation.RelativeInputAssetPath = "a&b.fbx" }), nil)
			return err
		}},
		{"unsupported format", "inputLocation.relativeInputAssetPath", func() error {
			_, err := c.CreateConversion(ctx, "c1", with(func(s *arr.ConversionSettings) { s.InputLocation.RelativeInputAssetPath = "a.obj" }), nil)
			return err
		}},
		{"missing input path", "inputLocation.relativeInputAssetPath", func() error {
			_, err := c.CreateConversion(ctx, "c1", with(func(s *arr.ConversionSettings) { s.InputLocation.RelativeInputAssetPath = "" }), nil)
			return err
		}},
		{"SAS lost in a JSON round trip", "outputLocation.storageContainerWriteSas", func() error {
			b, _ := json.Marshal(validSettings())
			var back arr.ConversionSettings
			_ = json.Unmarshal(b, &back)
			back.InputLocation.StorageContainerReadListSAS = ""
			_, err := c.CreateConversion(ctx, "c1", back, nil)
			return err
		}},
		{"output file name with slash", "outputLocation.outputAssetFilename", func() error {
			n := "dir/out.arrAsset"
			_, err := c.CreateConversion(ctx, "c1", with(func(s *arr.ConversionSettings) { s.OutputLocation.OutputAssetFilename = &n }), nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ve *arr.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("got %v, want a ValidationError on %s", err, tt.field)
			}
			if strings.Contains(err.Error(), sasSig) {
				t.Errorf("validation error reveals the SAS: %v", err)
			}
			if arrops.ErrorCode(err) != arrops.EINVALID || !arrops.Permanent(err) {
				t.Errorf("arrops classifies %v as %q", err, arrops.ErrorCode(err))
			}
		})
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("%d requests were sent for invalid input", n)
	}
}

func TestSizeIsCanonicalised(t *testing.T) {
	for _, in := range []string{"standard", "STANDARD", "Standard", "premium", "PreMium"} {
		got, err := arr.ParseSessionSize(in)
		if err != nil || (got != arr.SessionSizeStandard && got != arr.SessionSizePremium) || !strings.EqualFold(string(got), in) {
			t.Errorf("ParseSessionSize(%q) = %q, %v", in, got, err)
		}
	}
	var body []byte
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body = readAll(r)
		w.WriteHeader(http.StatusOK) // an identical session already existed
		fmt.Fprint(w, `{"id":"s1","size":"Premium","status":"Starting","maxLeaseTimeMinutes":0}`)
	})
	c := newClient(t, s.URL, accountKey, nil)
	r, err := c.CreateSession(context.Background(), "s1", arr.SessionSettings{MaxLeaseTimeMinutes: 0, Size: "premium"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"maxLeaseTimeMinutes":0,"size":"Premium"}` {
		t.Errorf("body %s", body)
	}
	if r.Created {
		t.Error("200 reported as Created")
	}
}

func readAll(r *http.Request) []byte {
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	return b.Bytes()
}

func TestConversionSASOnTheWireOnly(t *testing.T) {
	var body []byte
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body = readAll(r)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"c1","status":"NotStarted","error":null,"creationTime":"2022-09-14T01:03:39.68713Z","settings":{"inputLocation":{"storageContainerUri":"https://acct.blob.core.windows.net/input","relativeInputAssetPath":"models/box.fbx"},"outputLocation":{"storageContainerUri":"https://acct.blob.core.windows.net/output","outputAssetFilename":"box.arrAsset"}}}`)
	})
	c := newClient(t, s.URL, accountKey, nil)
	r, err := c.CreateConversion(context.Background(), "c1", validSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Settings struct {
			InputLocation  map[string]string
			OutputLocation map[string]string
		}
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	// Both SAS forms (with and without '?') are sent as given.
	if sent.Settings.InputLocation["storageContainerReadListSas"] != "?sv=2022-11-02&sr=c&sp=rl&sig="+sasSig ||
		sent.Settings.OutputLocation["storageContainerWriteSas"] != "sv=2022-11-02&sr=c&sp=rwl&sig="+sasSig {
		t.Errorf("SAS not sent: %s", body)
	}
	if _, ok := sent.Settings.OutputLocation["blobPrefix"]; ok {
		t.Error("unset blobPrefix sent")
	}
	if !r.Created || r.Status != arr.ConversionStatusNotStarted || r.CreationTime == nil {
		t.Errorf("%+v", r)
	}
}

// TestSecretsNeverShown checks the key, the STS token and the SAS signature
// against every textual surface: credential and settings formatting, JSON of the
// models, errors (STS and ARR), and azcore's log output.
func TestSecretsNeverShown(t *testing.T) {
	var logMu sync.Mutex
	var logs strings.Builder
	azlog.SetListener(func(ev azlog.Event, msg string) {
		logMu.Lock()
		defer logMu.Unlock()
		logs.WriteString(msg + "\n")
	})
	t.Cleanup(func() { azlog.SetListener(nil) })

	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"code":"DelegatedResourceAccessError","message":"Storage account not linked"}}`)
	})
	cred, _ := arr.NewAccountKeyCredential(accountKey)
	settings := validSettings()
	var texts []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		texts = append(texts, fmt.Sprintf(verb, cred), fmt.Sprintf(verb, settings), fmt.Sprintf(verb, settings.InputLocation.StorageContainerReadListSAS))
	}
	js, _ := json.Marshal(settings)
	texts = append(texts, string(js), cred.String(), cred.GoString())

	c := newClient(t, s.URL, accountKey, func(o *arr.ClientOptions) {
		o.Logging = policy.LogOptions{IncludeBody: false}
	})
	_, err := c.CreateConversion(context.Background(), "c1", settings, nil)
	var re *arr.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != "DelegatedResourceAccessError" || re.MSCV != "cv-test.0" {
		t.Fatalf("got %v", err)
	}
	texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))

	bad := newClient(t, s.URL, "WRONG-"+accountKey, nil)
	_, err = bad.GetSession(context.Background(), "s1", nil)
	if err == nil {
		t.Fatal("wrong key accepted")
	}
	texts = append(texts, err.Error(), fmt.Sprintf("%#v", err))

	logMu.Lock()
	if !strings.Contains(logs.String(), "Authorization: REDACTED") {
		t.Errorf("azcore request logs were not captured: %q", logs.String())
	}
	texts = append(texts, logs.String())
	logMu.Unlock()
	for i, txt := range texts {
		for _, secret := range []string{accountKey, stsToken, "S3CR3T-STS-SIGNATURE", sasSig} {
			if strings.Contains(txt, secret) {
				t.Errorf("text %d reveals a secret: %s", i, txt)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(settings), "REDACTED") {
		t.Error("SAS not shown as REDACTED")
	}
}

func TestNewClientErrors(t *testing.T) {
	cred, _ := arr.NewAccountKeyCredential("k")
	tests := []struct {
		name, endpoint, account string
		cred                    arr.Credential
		opts                    *arr.ClientOptions
		want                    string
	}{
		{"nil credential", "https://remoterendering.eastus.mixedreality.azure.com", account, nil, nil, "nil credential"},
		{"bad account", "https://remoterendering.eastus.mixedreality.azure.com", "a/b", cred, nil, "account id"},
		{"relative endpoint", "remoterendering.eastus.mixedreality.azure.com", account, cred, nil, "absolute"},
		{"plain http to a remote host", "http://remoterendering.eastus.mixedreality.azure.com", account, cred, nil, "https"},
		{"underivable domain", "https://arr.example.com", account, cred, nil, "AccountDomain"},
		{"query in endpoint", "https://remoterendering.eastus.mixedreality.azure.com?x=1", account, cred, nil, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := arr.NewClient(tt.endpoint, tt.account, tt.cred, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := arr.NewAccountKeyCredential(""); err == nil {
		t.Error("empty key accepted")
	}
	if _, err := arr.NewTokenCredential(nil); err == nil {
		t.Error("nil token credential accepted")
	}
	c, err := arr.NewClient("https://remoterendering.westeurope.mixedreality.azure.com/", account, cred, nil)
	if err != nil || c.Endpoint() != "https://remoterendering.westeurope.mixedreality.azure.com" || c.AccountID() != account {
		t.Errorf("regional endpoint: %v", err)
	}
}

func TestPagersFollowNextLink(t *testing.T) {
	var srvURL string
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("api-version") != arr.APIVersion {
			t.Errorf("api-version missing on %s", r.URL)
		}
		switch {
		case r.URL.Path == "/accounts/"+account+"/sessions" && r.URL.Query().Get("page") == "":
			fmt.Fprint(w, `{"sessions":[{"id":"a","status":"Ready"}],"@nextLink":"/accounts/`+account+`/sessions?page=2"}`)
		case r.URL.Path == "/accounts/"+account+"/sessions":
			fmt.Fprint(w, `{"sessions":[{"id":"b","status":"Starting"}]}`)
		case r.URL.Path == "/accounts/"+account+"/conversions" && r.URL.Query().Get("page") == "":
			fmt.Fprintf(w, `{"conversions":[{"id":"c"}],"@nextLink":"%s/accounts/%s/conversions?page=2&api-version=2021-01-01"}`, srvURL, account)
		case r.URL.Path == "/accounts/"+account+"/conversions" && r.URL.Query().Get("page") == "2":
			fmt.Fprint(w, `{"conversions":[{"id":"d"}],"@nextLink":"https://evil.example.com/steal"}`)
		default:
			http.NotFound(w, r)
		}
	})
	srvURL = s.URL
	c := newClient(t, s.URL, accountKey, nil)
	ctx := context.Background()
	var ids []string
	for p := c.NewListSessionsPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Sessions {
			ids = append(ids, s.ID)
		}
	}
	p := c.NewListConversionsPager(nil)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if !strings.Contains(err.Error(), "another host") {
				t.Errorf("foreign @nextLink: %v", err)
			}
			break
		}
		for _, cv := range page.Conversions {
			ids = append(ids, cv.ID)
		}
	}
	if strings.Join(ids, ",") != "a,b,c,d" {
		t.Errorf("listed %v", ids)
	}
}

func TestWaitForSessionAndConversion(t *testing.T) {
	var gets atomic.Int32
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := gets.Add(1)
		switch {
		case strings.Contains(r.URL.Path, "/sessions/ok"):
			st := "Starting"
			if n >= 3 {
				st = "Ready"
			}
			fmt.Fprintf(w, `{"id":"ok","size":"Standard","status":%q,"arrInspectorPort":0,"handshakePort":0,"hostname":null}`, st)
		case strings.Contains(r.URL.Path, "/sessions/dies"):
			fmt.Fprint(w, `{"id":"dies","size":"Premium","status":"Error","error":{"code":"InternalServerError","message":"x"}}`)
		case strings.Contains(r.URL.Path, "/sessions/slow"):
			fmt.Fprint(w, `{"id":"slow","size":"Standard","status":"Starting"}`)
		case strings.Contains(r.URL.Path, "/conversions/cv"):
			st := "Running"
			if n >= 2 {
				st = "Failed"
			}
			fmt.Fprintf(w, `{"id":"cv","status":%q,"error":{"code":"ConversionProcessFailed","message":"Invalid input provided."},"settings":{"inputLocation":{},"outputLocation":{}}}`, st)
		}
	})
	c := newClient(t, s.URL, accountKey, func(o *arr.ClientOptions) {
		o.StandardSessionPollInterval = time.Millisecond
		o.PremiumSessionPollInterval = time.Millisecond
		o.ConversionPollInterval = time.Millisecond
	})
	ctx := context.Background()

	gets.Store(0)
	sess, err := c.WaitForSession(ctx, "ok", nil)
	if err != nil || sess.Status != arr.SessionStatusReady || gets.Load() != 3 {
		t.Errorf("ok: %v %q after %d GETs", err, sess.Status, gets.Load())
	}
	if _, _, ok := sess.Ports(); ok {
		t.Error("0 placeholder ports reported as known")
	}

	sess, err = c.WaitForSession(ctx, "dies", &arr.WaitForSessionOptions{Until: []arr.SessionStatus{arr.SessionStatusReady}})
	if !errors.Is(err, arr.ErrUnexpectedStatus) || sess.Error == nil || sess.Error.Code != "InternalServerError" {
		t.Errorf("dies: %v %+v", err, sess)
	}

	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	sess, err = c.WaitForSession(tctx, "slow", &arr.WaitForSessionOptions{Interval: 5 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || sess.Status != arr.SessionStatusStarting {
		t.Errorf("slow: %v %q", err, sess.Status)
	}

	gets.Store(0)
	cv, err := c.WaitForConversion(ctx, "cv", nil)
	if err != nil || cv.Status != arr.ConversionStatusFailed || cv.Error.Code != "ConversionProcessFailed" {
		t.Errorf("conversion: %v %+v", err, cv)
	}
	gets.Store(0)
	cv, err = c.WaitForConversion(ctx, "cv", &arr.WaitForConversionOptions{Until: []arr.ConversionStatus{arr.ConversionStatusSucceeded}})
	if !errors.Is(err, arr.ErrUnexpectedStatus) {
		t.Errorf("conversion until Succeeded: %v %q", err, cv.Status)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2022-09-14T01:03:39.68713Z", time.Date(2022, 9, 14, 1, 3, 39, 687130000, time.UTC), true},
		{"2021-03-22T17:11:23.214787+00:00", time.Date(2021, 3, 22, 17, 11, 23, 214787000, time.UTC), true},
		{"2022-09-14T01:05:32.4773534+00:00", time.Date(2022, 9, 14, 1, 5, 32, 477353400, time.UTC), true},
		{"2020-11-11T11:11:11.111Z", time.Date(2020, 11, 11, 11, 11, 11, 111000000, time.UTC), true},
		{"2021-01-01T11:11:11Z", time.Date(2021, 1, 1, 11, 11, 11, 0, time.UTC), true},
		{"2021-01-01T12:11:11+01:00", time.Date(2021, 1, 1, 11, 11, 11, 0, time.UTC), true},
		{"2021-01-01T11:11:11.1234567", time.Date(2021, 1, 1, 11, 11, 11, 123456700, time.UTC), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2021-13-01T00:00:00Z", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := arr.ParseTime(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) || (tt.ok && got.Location() != time.UTC) {
			t.Errorf("ParseTime(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestResponseErrorIsAzcoreCompatible(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"error":{"code":"Conflict","message":"A resource already exists under the given ID.","details":[],"target":null,"innerError":null}}`)
	})
	c := newClient(t, s.URL, accountKey, nil)
	_, err := c.CreateSession(context.Background(), "s1", arr.SessionSettings{MaxLeaseTimeMinutes: 10, Size: "Standard"}, nil)
	var re *arr.ResponseError
	var az *azcore.ResponseError
	if !errors.As(err, &re) || !errors.As(err, &az) {
		t.Fatalf("got %T %v", err, err)
	}
	if re.StatusCode != 409 || re.ErrorCode != "Conflict" || az.ErrorCode != "Conflict" || re.MSCV != "cv-test.0" {
		t.Errorf("%+v / %+v", re, az)
	}
	if !strings.Contains(err.Error(), "create session s1") || !strings.Contains(err.Error(), "A resource already exists") {
		t.Errorf("message %q", err)
	}
	if arrops.ErrorCode(err) != arrops.ECONFLICT || !arrops.Permanent(err) {
		t.Errorf("arrops classifies 409 as %q", arrops.ErrorCode(err))
	}
	if re.RawResponse() == nil || re.RawResponse().StatusCode != 409 {
		t.Error("raw response missing")
	}
}
