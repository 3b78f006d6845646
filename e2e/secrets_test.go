package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// Recognisable fake secrets. The storage key is valid base64 (Azurite and
// the SDK decode it) made only of letters and digits, so it reads the same
// raw, URL-escaped and JSON-escaped.
const (
	secretAccount    = "arrsecretscan"
	secretARRKey     = "ArrOpsSecretScanAccountKeyQ7v9Xz2Lm4Np"
	secretStorageKey = "ArrOpsSecretScanStorageKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// secretScanner finds secrets in text: exact known values (keys, issued
// tokens) and shapes no output should ever carry (JWTs, SAS signatures,
// connection-string keys), whatever their value.
type secretScanner struct {
	known map[string]string // value -> what it is
}

var secretShapes = []struct {
	what string
	re   *regexp.Regexp
}{
	{"JWT (STS or Entra token)", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)},
	{"SAS signature", regexp.MustCompile(`(?i)sig(=|%3D)[A-Za-z0-9%+/]{8,}`)},
	{"connection-string key", regexp.MustCompile(`(?i)(AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{8,}`)},
	{"bearer credential", regexp.MustCompile(`(?i)Bearer [A-Za-z0-9._:-]{12,}`)},
}

// finding is one secret found in one place.
type finding struct {
	where, what, excerpt string
}

func (f finding) String() string { return fmt.Sprintf("%s: %s in %q", f.where, f.what, f.excerpt) }

// scan reports every secret in text, naming where the text came from. The
// excerpt masks the secret itself so the test output does not repeat it.
func (sc *secretScanner) scan(where, text string) []finding {
	var out []finding
	add := func(what string, start, end int) {
		lo, hi := max(0, start-40), min(len(text), end+20)
		ex := text[lo:start] + "[" + what + "]" + text[end:hi]
		out = append(out, finding{where, what, strings.ToValidUTF8(ex, "?")})
	}
	for v, what := range sc.known {
		for i := 0; v != ""; {
			j := strings.Index(text[i:], v)
			if j < 0 {
				break
			}
			add(what, i+j, i+j+len(v))
			i += j + len(v)
		}
	}
	for _, s := range secretShapes {
		for _, m := range s.re.FindAllStringIndex(text, -1) {
			add(s.what, m[0], m[1])
		}
	}
	return out
}

// TestSecretScanner shows the scanner catches each kind of secret once it
// reaches a log line, and passes clean output.
func TestSecretScanner(t *testing.T) {
	token := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhaWQiOiIxMTExIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
	sc := &secretScanner{known: map[string]string{secretARRKey: "ARR account key", secretStorageKey: "storage account key", "tok-issued-by-sts-42": "STS token"}}
	cases := []struct {
		name, text, want string
	}{
		{"clean", `{"level":"INFO","msg":"command","sessionId":"s-1","outcome":"accepted","url":"https://a.blob.core.windows.net/c/b?se=2026&sp=r"}`, ""},
		{"account key", `{"msg":"sts","auth":"11111111-2222:` + secretARRKey + `"}`, "ARR account key"},
		{"storage key", `err="store: ` + secretStorageKey + `"`, "storage account key"},
		{"connection string", `AzureWebJobsStorage=DefaultEndpointsProtocol=http;AccountName=x;AccountKey=REDACTEDfakeKEY+/==;`, "connection-string key"},
		{"issued token", `token tok-issued-by-sts-42 expired`, "STS token"},
		{"any JWT", `authorization failed for ` + token, "JWT (STS or Entra token)"},
		{"SAS", `GET https://a.blob.core.windows.net/c/b?sv=2021&sig=REDACTED0FAKE0SIGNATURE%2B%3D&se=1`, "SAS signature"},
		{"escaped SAS", `"url":"https://a/c/b?sv=2021\u0026sig%3DREDACTED0FAKE0SIGNATURE"`, "SAS signature"},
		{"bearer", `Authorization: Bearer 11111111-2222-4333:somekeyvalue`, "bearer credential"},
	}
	for _, c := range cases {
		got := sc.scan(c.name, c.text)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: false positives %v", c.name, got)
		case c.want != "" && (len(got) == 0 || got[0].what != c.want):
			t.Errorf("%s: found %v, want %s", c.name, got, c.want)
		}
		for _, f := range got {
			if strings.Contains(f.excerpt, secretARRKey) || strings.Contains(f.excerpt, secretStorageKey) {
				t.Errorf("%s: the finding repeats the secret: %s", c.name, f)
			}
		}
	}
}

// TestNoSecretsEscape runs a session start/stop, a rejected command, a
// conversion with an account SAS and report requests over the real processes
// with recognisable secrets, then scans every process's output (which holds
// the handler's invocation logs, as devhost prints them), every table entity,
// every queued message (events, replies, commands, poison queues) and the
// report bodies. Nothing may carry a secret.
func TestNoSecretsEscape(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	began := time.Now()
	// Azurite gets a second account with a recognisable key, next to the
	// well-known development account the harness uses; arrops runs on the
	// second one only (all its data lands there).
	ports := secretFreePorts(t, 3)
	t.Setenv("AZURITE_ACCOUNTS", azurite.AccountName+":"+azurite.AccountKey+";"+secretAccount+":"+secretStorageKey)
	endpoint := func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/%s", port, secretAccount) }
	cs := "DefaultEndpointsProtocol=http;AccountName=" + secretAccount + ";AccountKey=" + secretStorageKey +
		";BlobEndpoint=" + endpoint(ports[0]) + ";QueueEndpoint=" + endpoint(ports[1]) + ";TableEndpoint=" + endpoint(ports[2]) + ";"
	s := startSystem(t, stack.Options{
		AzuriteOptions: azurite.Options{BlobPort: ports[0], QueuePort: ports[1], TablePort: ports[2]},
		SimArgs:        []string{"-account-key", secretARRKey, "-ready-after", "1s", "-conversion-after", "1s"},
		Settings: map[string]string{
			"ARR_ACCOUNT_KEY": secretARRKey, "AzureWebJobsStorage": cs, "ARR_STORAGE_ACCESS": "accountSas",
			"WATCH_SCHEDULE": "*/1 * * * * *", "ARROPS_LOG_LEVEL": "debug",
			"ARR_INPUT_CONTAINER": "arr-input", "ARR_OUTPUT_CONTAINER": "arr-output",
		},
	})
	t.Logf("system up after %s", time.Since(began).Round(time.Millisecond))
	ctx := s.ctx
	st, err := store.NewFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	qs, err := notify.QueueService(cs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	bus := notify.NewLocal(qs, config.CommandsQueue)
	// The requester's reply queue: arrops never creates one.
	if _, err := qs.CreateQueue(ctx, "secret-replies", nil); err != nil {
		t.Fatal(err)
	}
	blobs, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	session := func(id string) *arrops.Session {
		rec, err := st.GetSession(ctx, id)
		if arrops.ErrorCode(err) == arrops.ENOTFOUND {
			return nil
		}
		if err != nil {
			t.Fatalf("read session %s: %v", id, err)
		}
		return rec
	}
	waitStatus := func(id string, want arrops.SessionStatus) {
		s.eventually(20*time.Second, "session "+id+" "+string(want), func() error {
			if rec := session(id); rec == nil || rec.Status != want {
				return fmt.Errorf("record %v", rec)
			}
			return nil
		})
	}
	command := func(id, body string) {
		if err := bus.Publish(ctx, config.CommandsQueue, notify.Message{MessageID: id, ReplyTo: "secret-replies", Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}

	// Sessions: start, Ready, a conflicting start (ARR error text in the
	// audit row and reply), stop. One transient 500 on the way.
	s.setFaults(`{"error500Next":1}`)
	command("sec-start", `{"action":"start","sessionId":"sec-1","requestedBy":"secret-scan","maxLeaseTimeMinutes":30}`)
	waitStatus("sec-1", arrops.SessionReady)
	command("sec-conflict", `{"action":"start","sessionId":"sec-1","maxLeaseTimeMinutes":90}`)
	command("sec-stop", `{"action":"stop","sessionId":"sec-1","requestedBy":"secret-scan"}`)
	waitStatus("sec-1", arrops.SessionStopped)

	// A conversion through an account SAS signed with the storage key. The
	// stack creates arr-input and arr-output in the default account; this
	// test's account is its own.
	for _, c := range []string{"arr-input", "arr-output"} {
		if _, err := blobs.CreateContainer(ctx, c, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			t.Fatal(err)
		}
	}
	glbModel := append([]byte("glTF\x02\x00\x00\x00\x4c\x00\x00\x00"), []byte(strings.Repeat(" ", 64))...)
	up, err := blobs.UploadBuffer(ctx, "arr-input", "secret/plant.glb", glbModel, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := secretBlobEvent(t, "arr-input", "secret/plant.glb", string(*up.ETag), len(glbModel))
	q := qs.NewQueueClient(config.BlobCreatedQueue)
	if _, err := q.Create(ctx, nil); err != nil && !strings.Contains(err.Error(), "QueueAlreadyExists") {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString(ev), nil); err != nil {
		t.Fatal(err)
	}
	s.eventually(30*time.Second, "conversion succeeded", func() error {
		now := time.Now().UTC()
		for c, err := range st.ConversionsByDay(ctx, now.Add(-24*time.Hour), now.Add(time.Hour)) {
			if err != nil {
				return err
			}
			if c.InputPath == "secret/plant.glb" && c.Status == arrops.ConversionSucceeded {
				return nil
			}
			if c.InputPath == "secret/plant.glb" && c.Status.Terminal() {
				t.Fatalf("conversion ended %s: %s %s", c.Status, c.ErrorCode, c.ErrorMessage)
			}
		}
		return fmt.Errorf("not yet")
	})

	// Reports in every format.
	texts := map[string]string{}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, f := range []string{"json", "csv", "html"} {
		code, _, body := s.get("/api/report?from=" + today + "&to=" + today + "&format=" + f)
		if code != http.StatusOK || !strings.Contains(string(body), "sec-1") && f != "html" {
			t.Errorf("report %s: %d %.200s", f, code, body)
		}
		texts["report "+f] = string(body)
	}

	// An STS token of the account, fetched as the handler does: the exact
	// value must not show up anywhere (nor may any other JWT).
	token := secretFetchToken(t, s.stack.SimURL)
	sc := &secretScanner{known: map[string]string{
		secretARRKey: "ARR account key", secretStorageKey: "storage account key", token: "STS token",
		url.QueryEscape(secretARRKey): "ARR account key (escaped)",
	}}
	// Two more watch runs (every second) finish, so the sweeps after the
	// stop and the conversion are in the logs scanned below.
	mark := len(s.logs.String())
	s.eventually(30*time.Second, "two more watch runs logged", func() error {
		n := 0
		for _, line := range strings.Split(s.logs.String()[mark:], "\n") {
			if strings.Contains(line, "invocation succeeded") && strings.Contains(line, "function=watch ") {
				n++
			}
		}
		if n < 2 {
			return fmt.Errorf("%d watch runs since the reports", n)
		}
		return nil
	})

	// Positive control: the session id is in every kind of output, so a
	// scanner looking for it must find it in each; an empty source or a
	// scan that reads nothing would otherwise pass silently.
	control := &secretScanner{known: map[string]string{"sec-1": "marker"}}
	seen := map[string]bool{}
	var findings []finding
	// Process output: devhost (with the handler's stdout/stderr and
	// invocation logs), arrsim, Azurite.
	sasLines := 0
	for i, line := range strings.Split(s.logs.String(), "\n") {
		fs := sc.scan(fmt.Sprintf("process output line %d", i+1), line)
		if strings.HasPrefix(line, "devhost | [handler]") && len(control.scan("", line)) > 0 {
			seen["handler log"] = true
		}
		// Azurite's access log is the storage service's own log, not arrops
		// output: it shows the simulator reading the input and writing the
		// output through the SAS it was handed (Azure Storage logs such
		// requests itself), and convert's own probe of the write SAS (a
		// one-blob listing of the output container before ARR gets it).
		// Only those lines may show a signature.
		if strings.HasPrefix(line, "azurite") && (strings.Contains(line, `"GET /`+secretAccount+`/arr-input/`) ||
			strings.Contains(line, `"PUT /`+secretAccount+`/arr-output/`) ||
			strings.Contains(line, `"GET /`+secretAccount+`/arr-output?comp=list&maxresults=1&restype=container&`)) {
			kept := fs[:0]
			for _, f := range fs {
				if f.what != "SAS signature" {
					kept = append(kept, f)
				} else {
					sasLines++
				}
			}
			fs = kept
		}
		findings = append(findings, fs...)
	}
	if sasLines == 0 {
		t.Error("no SAS-authorised storage request seen: the conversion did not use the account SAS")
	}
	for where, text := range texts {
		findings = append(findings, sc.scan(where, text)...)
		seen[where] = len(control.scan(where, text)) > 0 || where == "report html"
	}
	// Every entity of every table, raw.
	nEntities := 0
	for name, ents := range secretTables(t, ctx, cs) {
		for i, e := range ents {
			nEntities++
			findings = append(findings, sc.scan(fmt.Sprintf("table %s entity %d", name, i), e)...)
			seen["table "+name] = seen["table "+name] || len(control.scan("", e)) > 0
		}
	}
	// Every message of every queue, raw and base64-decoded.
	nMsgs := 0
	queues := secretQueues(t, ctx, qs)
	for name, msgs := range queues {
		for i, m := range msgs {
			nMsgs++
			findings = append(findings, sc.scan(fmt.Sprintf("queue %s message %d", name, i), m)...)
			seen["queue "+name] = seen["queue "+name] || len(control.scan("", m)) > 0
		}
	}
	if len(queues[config.EventsTopic]) < 3 || len(queues["secret-replies"]) < 3 {
		t.Errorf("too few events (%d) or replies (%d) to mean anything", len(queues[config.EventsTopic]), len(queues["secret-replies"]))
	}
	if nEntities < 6 {
		t.Errorf("only %d table entities scanned", nEntities)
	}
	for _, src := range []string{"handler log", "report json", "report csv", "table ArrSessions", "table ArrCommands",
		"queue " + config.EventsTopic, "queue secret-replies"} {
		if !seen[src] {
			t.Errorf("positive control: %s was not scanned or does not hold the session id", src)
		}
	}
	sort.Slice(findings, func(i, j int) bool { return findings[i].where < findings[j].where })
	for _, f := range findings {
		t.Errorf("secret escaped: %s", f)
	}
	t.Logf("scanned %d bytes of process output, %d table entities, %d queue messages, %d report bodies in %s",
		len(s.logs.String()), nEntities, nMsgs, len(texts), time.Since(began).Round(time.Millisecond))
}

// secretFreePorts picks n distinct free loopback ports.
func secretFreePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// secretFetchToken gets an STS token for the stack's account with the key.
func secretFetchToken(t *testing.T, simURL string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, simURL+"/accounts/"+stack.AccountID+"/token?api-version=2019-12-02-preview", nil)
	req.Header.Set("Authorization", "Bearer "+stack.AccountID+":"+secretARRKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tok struct{ AccessToken string }
	if err := json.Unmarshal(b, &tok); err != nil || !strings.HasPrefix(tok.AccessToken, "eyJ") {
		t.Fatalf("STS token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// secretTables returns every entity of every table as raw JSON.
func secretTables(t *testing.T, ctx context.Context, cs string) map[string][]string {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	tables := svc.NewListTablesPager(nil)
	for tables.More() {
		page, err := tables.NextPage(ctx)
		if err != nil {
			t.Fatalf("list tables: %v", err)
		}
		for _, tb := range page.Tables {
			name := *tb.Name
			ents := svc.NewClient(name).NewListEntitiesPager(nil)
			for ents.More() {
				p, err := ents.NextPage(ctx)
				if err != nil {
					t.Fatalf("list %s: %v", name, err)
				}
				for _, e := range p.Entities {
					out[name] = append(out[name], string(e))
				}
			}
		}
	}
	if len(out) < 3 {
		t.Errorf("tables %v: expected the sessions, conversions and commands tables", len(out))
	}
	return out
}

// secretQueues drains every queue and returns each message's text, followed
// by its base64 decoding when it is base64.
func secretQueues(t *testing.T, ctx context.Context, qs *azqueue.ServiceClient) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	pager := qs.NewListQueuesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list queues: %v", err)
		}
		for _, q := range page.Queues {
			name := *q.Name
			qc := qs.NewQueueClient(name)
			for range 20 {
				resp, err := qc.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: secretI32(32), VisibilityTimeout: secretI32(300)})
				if err != nil {
					t.Fatalf("dequeue %s: %v", name, err)
				}
				if len(resp.Messages) == 0 {
					break
				}
				for _, m := range resp.Messages {
					text := *m.MessageText
					if b, err := base64.StdEncoding.DecodeString(text); err == nil {
						text += "\n" + string(b)
					}
					out[name] = append(out[name], text)
				}
			}
		}
	}
	return out
}

func secretI32(v int32) *int32 { return &v }

// secretBlobEvent is a BlobCreated event in the Event Grid schema of the
// captured example (fixtures/functions/eventgrid-blobcreated-event.json).
func secretBlobEvent(t *testing.T, container, path, etag string, size int) []byte {
	t.Helper()
	ev := map[string]any{
		"topic":     "/subscriptions/0000/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/" + secretAccount,
		"subject":   "/blobServices/default/containers/" + container + "/blobs/" + path,
		"eventType": "Microsoft.Storage.BlobCreated", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"id": "secret-scan-" + strings.Trim(etag, `"`),
		"data": map[string]any{
			"api": "PutBlob", "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca65760", "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
			"eTag": `"` + strings.Trim(etag, `"`) + `"`, "contentType": "model/gltf-binary", "contentLength": size, "blobType": "BlockBlob",
			"url":       "https://" + secretAccount + ".blob.core.windows.net/" + container + "/" + path,
			"sequencer": "00000000000004420000000000028963", "storageDiagnostics": map[string]any{"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
		},
		"dataVersion": "", "metadataVersion": "1",
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
