package arr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// replayResult is what the client made of one recording.
type replayResult struct {
	ops    []string // statuses / list sizes / error statuses, in call order
	errs   []string // "status:code" of *ResponseError, "200:status:code" of failed resources
	host   string   // first known hostname
	uri    string   // last outputAssetUri
	prefix string   // last output blobPrefix echoed
	lease  []int32  // maxLeaseTimeMinutes returned by PATCH
}

func runLength(xs []string) string {
	var b []string
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j] == xs[i] {
			j++
		}
		if n := j - i; n > 1 {
			b = append(b, fmt.Sprintf("%s*%d", xs[i], n))
		} else {
			b = append(b, xs[i])
		}
		i = j
	}
	return strings.Join(b, " ")
}

func newReplayClient(t *testing.T, rt *replayTransport, endpoint, account string) *Client {
	t.Helper()
	key, _ := NewAccountKeyCredential("replay-key")
	c, err := NewClient(endpoint, account, key, &ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: rt, Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReplayRecordings drives the client through every recorded exchange and checks
// the decoded results, field by field against the recorded JSON and against a
// summary table derived from the recordings.
func TestReplayRecordings(t *testing.T) {
	fx := fixturesDir(t)
	tests := []struct {
		file, ops string
		errs      []string
		host      string
		uri       string
		prefix    string
		lease     []int32
	}{
		{"dotnet-2021/TestFailedConversionsMissingAsset.json", "NotStarted*2 Running*3 Failed", []string{"200:Failed:ConversionProcessFailed"}, "", "", "Output/", nil},
		{"dotnet-2021/TestFailedConversionsMissingAssetAsync.json", "NotStarted*2 Running*3 Failed", []string{"200:Failed:ConversionProcessFailed"}, "", "", "Output/", nil},
		{"dotnet-2021/TestFailedConversionsNoAccess.json", "PUT:403", []string{"403:DelegatedResourceAccessError"}, "", "", "", nil},
		{"dotnet-2021/TestFailedConversionsNoAccessAsync.json", "PUT:403", []string{"403:DelegatedResourceAccessError"}, "", "", "", nil},
		{"dotnet-2021/TestFailedSessionRequest.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"dotnet-2021/TestFailedSessionRequestAsync.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"dotnet-2021/TestSimpleConversion.json", "NotStarted*3 Running*3 Succeeded listconversions:2", nil, "", "https://sdktest.blob.core.windows.net/test/Output/testBox.arrAsset", "Output/", nil},
		{"dotnet-2021/TestSimpleConversionAsync.json", "NotStarted*3 Running*3 Succeeded listconversions:4", nil, "", "https://sdktest.blob.core.windows.net/test/Output/testBox.arrAsset", "Output/", nil},
		{"dotnet-2021/TestSimpleSession.json", "Starting*18 Ready listsessions:1 POST:204 Stopped", nil, "977007394-13adf859-28b6-4b7f-a0c2-13f4497c15ef.remoterendering.vm.westeurope.mixedreality.azure.com", "", "", []int32{5}},
		{"dotnet-2021/TestSimpleSessionAsync.json", "Starting*19 Ready listsessions:1 POST:204 Stopped", nil, "977007394-f2c4e8e7-5068-49eb-83c3-8a3e61fd1795.remoterendering.vm.westeurope.mixedreality.azure.com", "", "", []int32{5}},
		{"dotnet-2024/TestFailedConversionsMissingAsset.json", "NotStarted Running*18 Failed", []string{"200:Failed:InputContainerError"}, "", "", "Output/", nil},
		{"dotnet-2024/TestFailedConversionsNoAccess.json", "PUT:403", []string{"403:LinkedStorageAccessFailure"}, "", "", "", nil},
		{"dotnet-2024/TestFailedSessionRequest.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"dotnet-2024/TestSimpleConversion.json", "NotStarted Running*17 Succeeded listconversions:13", nil, "", "https://chmanttest.blob.core.windows.net/test/Output/testBox.arrAsset", "Output/", nil},
		{"dotnet-2024/TestSimpleSession.json", "Starting*4 Ready listsessions:1 POST:204 Stopped", nil, "lb11.remoterendering.vm.northeurope.mixedreality.azure.com", "", "", []int32{5}},
		{"python-2021/test_client.test_failed_conversion_missing_asset.json", "NotStarted*2 Running*10 Failed", []string{"200:Failed:ConversionProcessFailed"}, "", "", "5147aa0f-485a-429f-8d04-bd0b2458cf79/", nil},
		{"python-2021/test_client.test_failed_conversion_no_access.json", "PUT:403", []string{"403:DelegatedResourceAccessError"}, "", "", "", nil},
		{"python-2021/test_client.test_failed_conversion_unauthorized.json", "", []string{"401:"}, "", "", "", nil},
		{"python-2021/test_client.test_failed_session_request.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"python-2021/test_client.test_simple_conversion.json", "NotStarted*2 Running*9 Succeeded listconversions:48", nil, "", "https://arrstorageaccount.blob.core.windows.net/test/11b5d55d-b228-4291-8883-df3865a32088/testBox.arrAsset", "11b5d55d-b228-4291-8883-df3865a32088/", nil},
		{"python-2021/test_client.test_simple_session.json", "Starting*36 Ready*2 listsessions:1 POST:204 Stopped", nil, "823736284-319ed84f-dfbd-4ec6-8ada-643fccd8f978.remoterendering.vm.eastus.mixedreality.azure.com", "", "", []int32{20}},
		{"python-2022/async_test_failed_conversion_missing_asset.json", "NotStarted*3 Running*9 Failed", []string{"200:Failed:ConversionProcessFailed"}, "", "", "rr-test-id/", nil},
		{"python-2022/async_test_failed_conversion_no_access.json", "PUT:403", []string{"403:DelegatedResourceAccessError"}, "", "", "", nil},
		{"python-2022/async_test_failed_conversion_unauthorized.json", "", []string{"401:"}, "", "", "", nil},
		{"python-2022/async_test_failed_session_request.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"python-2022/async_test_simple_conversion.json", "NotStarted*3 Running*5 Succeeded listconversions:3", nil, "", "https://arrstorageaccount.blob.storage_endpoint_suffix/test/rr-test-id/testBox.arrAsset", "rr-test-id/", nil},
		{"python-2022/async_test_simple_session.json", "Starting*3 Ready*2 listsessions:1 POST:204 Stopped", nil, "arrwu2standard3caf62e141184ae886b98670dc7836ed.remoterendering.vm.eastus.mixedreality.azure.com", "", "", []int32{20}},
		{"python-2022/test_failed_conversion_missing_asset.json", "NotStarted*3 Running*9 Failed", []string{"200:Failed:ConversionProcessFailed"}, "", "", "rr-test-id/", nil},
		{"python-2022/test_failed_conversion_no_access.json", "PUT:403", []string{"403:DelegatedResourceAccessError"}, "", "", "", nil},
		{"python-2022/test_failed_conversion_unauthorized.json", "", []string{"401:"}, "", "", "", nil},
		{"python-2022/test_failed_session_request.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"python-2022/test_simple_conversion.json", "NotStarted*3 Running*6 Succeeded listconversions:1", nil, "", "https://arrstorageaccount.blob.storage_endpoint_suffix/test/rr-test-id/testBox.arrAsset", "rr-test-id/", nil},
		{"python-2022/test_simple_session.json", "Starting*3 Ready*2 listsessions:1 POST:204 Stopped", nil, "arrwu2standard25246cf9a70f4d6dbd3be7af6dac6bf7.remoterendering.vm.eastus.mixedreality.azure.com", "", "", []int32{20}},
		{"python-2024/test_failed_conversion_missing_asset.json", "NotStarted Running*8 Failed", []string{"200:Failed:InputContainerError"}, "", "", "rr-test-id/", nil},
		{"python-2024/test_failed_conversion_no_access.json", "PUT:403", []string{"403:LinkedStorageAccessFailure"}, "", "", "", nil},
		{"python-2024/test_failed_conversion_unauthorized.json", "", []string{"401:"}, "", "", "", nil},
		{"python-2024/test_failed_session_request.json", "PUT:400", []string{"400:BadRequest"}, "", "", "", nil},
		{"python-2024/test_simple_conversion.json", "NotStarted Running*9 Succeeded listconversions:2", nil, "", "https://arrstorageaccount.blob.storage_endpoint_suffix/test/rr-test-id/testBox.arrAsset", "rr-test-id/", nil},
		{"python-2024/test_simple_session.json", "Starting*3 Ready*2 listsessions:1 POST:204 Stopped", nil, "lb11.remoterendering.vm.eastus.mixedreality.azure.com", "", "", []int32{20}},
	}
	files, _ := filepath.Glob(filepath.Join(fx, "recordings", "*", "*.json"))
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
	}
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join(fx, "recordings"), f)
		if !strings.HasPrefix(rel, "sts"+string(filepath.Separator)) && !covered[filepath.ToSlash(rel)] {
			t.Errorf("recording %s has no row in the table", rel)
		}
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := loadRecording(t, filepath.Join(fx, "recordings", filepath.FromSlash(tt.file)))
			got := replay(t, rec)
			if g := runLength(got.ops); g != tt.ops {
				t.Errorf("ops:\n got %q\nwant %q", g, tt.ops)
			}
			if !reflect.DeepEqual(got.errs, tt.errs) {
				t.Errorf("errors: got %q want %q", got.errs, tt.errs)
			}
			if got.host != tt.host || got.uri != tt.uri || got.prefix != tt.prefix {
				t.Errorf("host/uri/prefix: got %q %q %q want %q %q %q", got.host, got.uri, got.prefix, tt.host, tt.uri, tt.prefix)
			}
			if !reflect.DeepEqual(got.lease, tt.lease) {
				t.Errorf("PATCH leases: got %v want %v", got.lease, tt.lease)
			}
		})
	}
}

func replay(t *testing.T, rec recording) replayResult {
	t.Helper()
	var arrEntries []recEntry
	var endpoint, account string
	for _, e := range rec.Entries {
		u := e.url(t)
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 2 && strings.EqualFold(parts[0], "accounts") {
			account = parts[1]
		}
		if !e.isSTS() {
			arrEntries = append(arrEntries, e)
			endpoint = u.Scheme + "://" + u.Host
		}
	}
	if endpoint == "" {
		endpoint = "https://remoterendering.eastus.mixedreality.azure.com"
	}
	rt := newReplay(rec.Entries)
	c := newReplayClient(t, rt, endpoint, account)
	ctx := context.Background()
	var res replayResult

	noteErr := func(err error) {
		var re *ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("error is not a *ResponseError: %v", err)
		}
		var az *azcore.ResponseError
		if !errors.As(err, &az) || az.StatusCode != re.StatusCode {
			t.Errorf("error does not unwrap to the azcore.ResponseError: %v", err)
		}
		if re.MSCV == "" && re.StatusCode != 401 {
			t.Errorf("error lost the MS-CV header: %v", err)
		}
		if re.MSCV != "" && !strings.Contains(err.Error(), re.MSCV) {
			t.Errorf("MS-CV missing from message %q", err)
		}
		res.errs = append(res.errs, fmt.Sprintf("%d:%s", re.StatusCode, re.ErrorCode))
		res.ops = append(res.ops, "")
	}
	noteSession := func(e recEntry, s Session) {
		checkSession(t, e.ResponseBody, s)
		if h, ok := s.Host(); ok && res.host == "" {
			res.host = h
		}
		if s.Error != nil {
			res.errs = append(res.errs, fmt.Sprintf("200:%s:%s", s.Status, s.Error.Code))
		}
		res.ops = append(res.ops, string(s.Status))
	}
	noteConversion := func(e recEntry, cv Conversion) {
		checkConversion(t, e.ResponseBody, cv)
		if u, ok := cv.OutputAssetURI(); ok {
			res.uri = u
		}
		if p := cv.Settings.OutputLocation.BlobPrefix; p != nil {
			res.prefix = *p
		}
		if cv.Error != nil {
			res.errs = append(res.errs, fmt.Sprintf("200:%s:%s", cv.Status, cv.Error.Code))
		}
		res.ops = append(res.ops, string(cv.Status))
	}

	if len(arrEntries) == 0 {
		// STS-only recording (the unauthorized tests): any call must fail at STS.
		_, err := c.GetConversion(ctx, "probe", nil)
		if err == nil {
			t.Fatal("expected an STS failure")
		}
		var re *ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("STS failure is not a *ResponseError: %v", err)
		}
		if !strings.Contains(err.Error(), "STS rejected the credential") || strings.Contains(err.Error(), "replay-key") {
			t.Errorf("STS error message: %v", err)
		}
		res.errs = append(res.errs, fmt.Sprintf("%d:%s", re.StatusCode, re.ErrorCode))
		if n := rt.arrCalls.Load(); n != 0 {
			t.Errorf("ARR was called %d times after STS failed", n)
		}
		rt.check(t)
		return res
	}

	for _, e := range arrEntries {
		u := e.url(t)
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")[2:] // after accounts/{id}
		kind := parts[0]
		switch {
		case len(parts) == 1 && kind == "sessions":
			p := c.NewListSessionsPager(nil)
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Sessions []json.RawMessage `json:"sessions"`
			}
			_ = json.Unmarshal(e.ResponseBody, &raw)
			for i := range page.Sessions {
				checkSession(t, raw.Sessions[i], page.Sessions[i])
			}
			if p.More() {
				t.Error("pager wants more pages but the recording has no @nextLink")
			}
			res.ops = append(res.ops, fmt.Sprintf("listsessions:%d", len(page.Sessions)))
		case len(parts) == 1 && kind == "conversions":
			p := c.NewListConversionsPager(nil)
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Conversions []json.RawMessage `json:"conversions"`
			}
			_ = json.Unmarshal(e.ResponseBody, &raw)
			for i := range page.Conversions {
				checkConversion(t, raw.Conversions[i], page.Conversions[i])
			}
			if p.More() {
				t.Error("pager wants more pages but @nextLink is null")
			}
			res.ops = append(res.ops, fmt.Sprintf("listconversions:%d", len(page.Conversions)))
		case kind == "sessions" && len(parts) == 3 && parts[2] == ":stop":
			_, err := c.StopSession(ctx, parts[1], nil)
			if err != nil {
				t.Fatal(err)
			}
			res.ops = append(res.ops, "POST:204")
		case kind == "sessions":
			id := parts[1]
			switch e.RequestMethod {
			case "PUT":
				var body createSessionBody
				if err := json.Unmarshal(e.RequestBody, &body); err != nil {
					t.Fatal(err)
				}
				// The unexported call skips validation: the failed-session recordings
				// send a negative lease that CreateSession refuses (see TestValidation).
				r, err := c.createSession(ctx, id, body)
				if err != nil {
					noteErr(err)
					res.ops[len(res.ops)-1] = fmt.Sprintf("PUT:%d", e.StatusCode)
					continue
				}
				if !r.Created || r.MSCV == "" {
					t.Errorf("create: Created=%v MSCV=%q", r.Created, r.MSCV)
				}
				noteSession(e, r.Session)
			case "GET":
				r, err := c.GetSession(ctx, id, nil)
				if err != nil {
					t.Fatal(err)
				}
				noteSession(e, r.Session)
			case "PATCH":
				var body updateSessionBody
				if err := json.Unmarshal(e.RequestBody, &body); err != nil {
					t.Fatal(err)
				}
				r, err := c.UpdateSession(ctx, id, body.MaxLeaseTimeMinutes, nil)
				if err != nil {
					t.Fatal(err)
				}
				res.lease = append(res.lease, *r.MaxLeaseTimeMinutes)
				noteSession(e, r.Session)
			}
		case kind == "conversions":
			id := parts[1]
			switch e.RequestMethod {
			case "PUT":
				var body createConversionBody
				if err := json.Unmarshal(e.RequestBody, &body); err != nil {
					t.Fatal(err)
				}
				r, err := c.createConversion(ctx, id, body)
				if err != nil {
					noteErr(err)
					res.ops[len(res.ops)-1] = fmt.Sprintf("PUT:%d", e.StatusCode)
					continue
				}
				if !r.Created {
					t.Errorf("create conversion: Created=false for %d", e.StatusCode)
				}
				noteConversion(e, r.Conversion)
			case "GET":
				r, err := c.GetConversion(ctx, id, nil)
				if err != nil {
					t.Fatal(err)
				}
				noteConversion(e, r.Conversion)
			}
		default:
			t.Fatalf("unknown recorded call %s %s", e.RequestMethod, u.Path)
		}
	}
	rt.check(t)
	if n := rt.stsCalls.Load(); n != 1 {
		t.Errorf("STS called %d times, want 1 for the whole recording", n)
	}
	for _, a := range rt.authSeen {
		if a != "Bearer "+fakeSTSToken && a != "Bearer faketoken.eyJleHAiOjIxNDc0ODM2NDd9.faketoken" {
			t.Errorf("ARR request carried Authorization %q, want the STS token", a)
		}
	}
	return res
}

// checkSession compares a decoded Session with the recorded JSON, field by field.
func checkSession(t *testing.T, raw json.RawMessage, s Session) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if s.ID != m["id"] || string(s.Status) != m["status"] || string(s.Size) != m["size"] {
		t.Errorf("session id/status/size: %q %q %q vs %v", s.ID, s.Status, s.Size, m)
	}
	checkTime(t, m["creationTime"], s.CreationTime)
	checkNum(t, "elapsedTimeMinutes", m, s.ElapsedTimeMinutes)
	checkNum(t, "maxLeaseTimeMinutes", m, s.MaxLeaseTimeMinutes)
	checkNum(t, "handshakePort", m, s.HandshakePort)
	checkNum(t, "arrInspectorPort", m, s.ArrInspectorPort)
	checkNum(t, "teraflops", m, s.Teraflops)
	hv, present := m["hostname"]
	switch {
	case !present || hv == nil:
		if s.Hostname != nil {
			t.Errorf("hostname should be nil, got %q", *s.Hostname)
		}
		if _, ok := s.Host(); ok {
			t.Error("Host() reports a host that is not known")
		}
	default:
		if s.Hostname == nil || *s.Hostname != hv {
			t.Errorf("hostname %v vs %v", s.Hostname, hv)
		}
	}
	// 0 placeholders (Jan 2021) and absent ports (later) both mean "not yet known".
	hp, _ := m["handshakePort"].(float64)
	ip, _ := m["arrInspectorPort"].(float64)
	h, i, ok := s.Ports()
	if want := hp > 0 && ip > 0; ok != want || (ok && (h != int(hp) || i != int(ip))) {
		t.Errorf("Ports() = %d %d %v for %v %v", h, i, ok, m["handshakePort"], m["arrInspectorPort"])
	}
	if s.Status == SessionStatusReady {
		if _, _, ok := s.Ports(); !ok {
			t.Error("Ready session without known ports")
		}
	}
	checkErrorObj(t, m["error"], s.Error)
}

func checkConversion(t *testing.T, raw json.RawMessage, c Conversion) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if c.ID != m["id"] || string(c.Status) != m["status"] {
		t.Errorf("conversion id/status %q %q vs %v %v", c.ID, c.Status, m["id"], m["status"])
	}
	checkTime(t, m["creationTime"], c.CreationTime)
	st, _ := m["settings"].(map[string]any)
	in, _ := st["inputLocation"].(map[string]any)
	out, _ := st["outputLocation"].(map[string]any)
	eqStr := func(name string, want any, got string) {
		if want == nil {
			want = ""
		}
		if got != want {
			t.Errorf("%s: got %q want %v", name, got, want)
		}
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	eqStr("input.storageContainerUri", in["storageContainerUri"], c.Settings.InputLocation.StorageContainerURI)
	eqStr("input.relativeInputAssetPath", in["relativeInputAssetPath"], c.Settings.InputLocation.RelativeInputAssetPath)
	eqStr("input.blobPrefix", in["blobPrefix"], deref(c.Settings.InputLocation.BlobPrefix))
	eqStr("output.storageContainerUri", out["storageContainerUri"], c.Settings.OutputLocation.StorageContainerURI)
	eqStr("output.blobPrefix", out["blobPrefix"], deref(c.Settings.OutputLocation.BlobPrefix))
	eqStr("output.outputAssetFilename", out["outputAssetFilename"], deref(c.Settings.OutputLocation.OutputAssetFilename))
	if c.Settings.InputLocation.StorageContainerReadListSAS != "" || c.Settings.OutputLocation.StorageContainerWriteSAS != "" {
		t.Error("the service never echoes a SAS, but one was decoded")
	}
	o, _ := m["output"].(map[string]any)
	u, ok := c.OutputAssetURI()
	if want, _ := o["outputAssetUri"].(string); want != u || ok != (want != "") {
		t.Errorf("outputAssetUri %q %v want %q", u, ok, want)
	}
	if ok && c.Status != ConversionStatusSucceeded {
		t.Errorf("output on a %s conversion", c.Status)
	}
	checkErrorObj(t, m["error"], c.Error)
}

func checkTime(t *testing.T, v any, got *time.Time) {
	t.Helper()
	s, _ := v.(string)
	if s == "" {
		if got != nil {
			t.Errorf("creationTime should be nil, got %v", got)
		}
		return
	}
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || got == nil || !got.Equal(want) {
		t.Errorf("creationTime %v, want %q", got, s)
	}
}

func checkNum[T int32 | float32](t *testing.T, name string, m map[string]any, got *T) {
	t.Helper()
	v, present := m[name]
	if !present || v == nil {
		if got != nil {
			t.Errorf("%s should be nil, got %v", name, *got)
		}
		return
	}
	if got == nil || float32(*got) != float32(v.(float64)) {
		t.Errorf("%s: got %v want %v", name, got, v)
	}
}

func checkErrorObj(t *testing.T, v any, got *ErrorDetails) {
	t.Helper()
	m, _ := v.(map[string]any)
	if m == nil {
		if got != nil {
			t.Errorf("error should be nil, got %+v", got)
		}
		return
	}
	if got == nil || got.Code != m["code"] || got.Message != m["message"] {
		t.Errorf("error %+v want %v", got, m)
	}
}
