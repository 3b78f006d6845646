package devhost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops/internal/localbus"
)

// Keys whose values are per-delivery ids or times: compared by shape. A "!" entry
// drops the shape check too: Azurite stores insertion times to the second, where
// Service Bus has milliseconds.
var volatile = []string{"UtcNow", "RandGuid", "PopReceipt", "ExpirationTime", "InsertionTime", "NextVisibleTime",
	"LockToken", "EnqueuedTimeUtc", "EnqueuedTime", "SequenceNumber", "Identifier", "Last", "Next", "LastUpdated",
	"!EnqueuedTimeUtc", "!EnqueuedTime"}

func queueClient(t testing.TB, conn, name string) *azqueue.QueueClient {
	t.Helper()
	svc, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient(name)
	if err := createQueue(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	return q
}

func enqueue(t testing.TB, q *azqueue.QueueClient, text string) {
	t.Helper()
	if _, err := q.EnqueueMessage(context.Background(), text, nil); err != nil {
		t.Fatal(err)
	}
}

// fixtureText returns the message text carried (double-encoded) in Data.<binding>.
func fixtureText(t testing.TB, fix []byte, binding string) string {
	t.Helper()
	var inv struct{ Data map[string]json.RawMessage }
	if err := json.Unmarshal(fix, &inv); err != nil {
		t.Fatal(err)
	}
	var quoted, text string
	if err := json.Unmarshal(inv.Data[binding], &quoted); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(quoted), &text); err != nil {
		t.Fatal(err)
	}
	return text
}

// uniqueQueue makes a queue name valid for Azure and unique per test.
func uniqueQueue(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(NewUUID(), "-", "")[:12]
}

func TestQueuePayloadsMatchFixtures(t *testing.T) {
	conn := needStorage(t)
	tests := []struct {
		fixture, function string
		// enqueue turns the fixture's message text into what a producer puts on the queue.
		enqueue   func(text string) string
		failBelow int
		volatile  []string // beyond the common ones
	}{
		{fixture: "queue-trigger-blobcreated-eventgrid.json", function: "ArrBlobCreated", enqueue: b64},
		{fixture: "queue-trigger-blobcreated-cloudevents.json", function: "ArrBlobCreated", enqueue: b64},
		{fixture: "queue-trigger-adls-flushwithclose.json", function: "ArrBlobCreated", enqueue: b64},
		// The producer base64-encoded text that was already base64: the handler
		// sees base64 text, no body properties, and the real queue Id.
		{fixture: "queue-trigger-blobcreated-base64.json", function: "ArrBlobCreated", enqueue: b64, volatile: []string{"Id"}},
		// Captured by a real host on the fifth delivery: fail four times first.
		{fixture: "queue-trigger-captured-gewoscout.json", function: "scraperResultTrigger", enqueue: b64, failBelow: 5, volatile: []string{"Id"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			fix := fixture(t, tt.fixture)
			queue := uniqueQueue("in")
			root := app(t, baseHost, map[string]string{tt.function: `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in","queueName":"%IN_QUEUE%","connection":"AzureWebJobsStorage"}]}`},
				map[string]string{"AzureWebJobsStorage": conn})
			env := map[string]string{"IN_QUEUE": queue}
			if tt.failBelow > 0 {
				env["ECHO_FAIL_BELOW"] = string(rune('0' + tt.failBelow))
			}
			r := start(t, root, env, nil)
			enqueue(t, queueClient(t, conn, queue), tt.enqueue(fixtureText(t, fix, "msg")))
			want := max(tt.failBelow, 1)
			recs := r.waitRecords(t, want, 20*time.Second)
			last := recs[want-1]
			if last.Path != "/"+tt.function {
				t.Fatalf("invoked %s, want /%s", last.Path, tt.function)
			}
			assertPayload(t, last.Body, fix, append(volatile, tt.volatile...)...)
			checkInvocationHeaders(t, last.Headers)
			waitEmpty(t, queueClient(t, conn, queue))
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func checkInvocationHeaders(t testing.TB, h map[string][]string) {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if id := get("X-Azure-Functions-Invocationid"); len(id) != 36 {
		t.Errorf("X-Azure-Functions-InvocationId = %q, want a uuid", id)
	}
	if get("X-Azure-Functions-Hostversion") == "" || !strings.HasPrefix(get("User-Agent"), "Azure-Functions-Host/4") {
		t.Errorf("host headers missing: %v", h)
	}
	if get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", get("Content-Type"))
	}
}

// waitEmpty waits until the queue has no message, visible or not.
func waitEmpty(t testing.TB, q *azqueue.QueueClient) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := q.GetProperties(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.ApproximateMessagesCount != nil && *p.ApproximateMessagesCount == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %d messages", *p.ApproximateMessagesCount)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peekAll returns the texts of the visible messages of q.
func peekAll(t testing.TB, q *azqueue.QueueClient) []string {
	t.Helper()
	resp, err := q.PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range resp.Messages {
		out = append(out, *m.MessageText)
	}
	return out
}

func TestServiceBusLocalPayloadsMatchFixtures(t *testing.T) {
	conn := needStorage(t)
	tests := []struct {
		fixture   string
		failBelow int
	}{
		{fixture: "servicebus-trigger-start-command.json"},
		{fixture: "servicebus-trigger-malformed.json"},
		{fixture: "servicebus-trigger-redelivery.json", failBelow: 3},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			fix := fixture(t, tt.fixture)
			var inv struct{ Metadata map[string]json.RawMessage }
			if err := json.Unmarshal(fix, &inv); err != nil {
				t.Fatal(err)
			}
			str := func(k string) string {
				var quoted, s string
				_ = json.Unmarshal(inv.Metadata[k], &quoted)
				_ = json.Unmarshal([]byte(quoted), &s)
				return s
			}
			var props map[string]any
			_ = json.Unmarshal(inv.Metadata["ApplicationProperties"], &props)
			env, err := localbus.EncodeBase64(localbus.Envelope{MessageID: str("MessageId"), CorrelationID: str("CorrelationId"),
				ReplyTo: str("ReplyTo"), Subject: str("Subject"), ContentType: str("ContentType"),
				ApplicationProperties: props, Body: fixtureText(t, fix, "cmd")})
			if err != nil {
				t.Fatal(err)
			}
			queue := uniqueQueue("cmd")
			root := app(t, baseHost, map[string]string{"commands": `{"bindings":[{"name":"cmd","type":"serviceBusTrigger","direction":"in","queueName":"%CMD_QUEUE%","connection":"ServiceBusConnection"}]}`},
				map[string]string{"AzureWebJobsStorage": conn, "ServiceBusConnection__fullyQualifiedNamespace": "arr-bus.servicebus.windows.net"})
			senv := map[string]string{"CMD_QUEUE": queue}
			if tt.failBelow > 0 {
				senv["ECHO_FAIL_BELOW"] = string(rune('0' + tt.failBelow))
			}
			r := start(t, root, senv, nil)
			enqueue(t, queueClient(t, conn, queue), env)
			want := max(tt.failBelow, 1)
			recs := r.waitRecords(t, want, 20*time.Second)
			assertPayload(t, recs[want-1].Body, fix, volatile...)
			if want > 1 && metaString(t, recs[0].Body, "SequenceNumber") != metaString(t, recs[want-1].Body, "SequenceNumber") {
				t.Error("SequenceNumber changed across redeliveries")
			}
			waitEmpty(t, queueClient(t, conn, queue))
		})
	}
}

func TestTimerPayloadsMatchFixtures(t *testing.T) {
	tests := []struct {
		fixture, function, schedule string
		fires                       int // the fixture is the payload of this admin-triggered run
	}{
		// After a first run the status holds Last/Next/LastUpdated.
		{fixture: "timer-trigger.json", function: "ArrWatch", schedule: "0 */5 * * * *", fires: 2},
		// Schedules firing more than once a minute keep no status: null.
		{fixture: "timer-trigger-schedulestatus-null.json", function: "azure", schedule: "*/10 * * * * *", fires: 1},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			root := app(t, baseHost, map[string]string{tt.function: `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"%WATCH_SCHEDULE%"}]}`}, nil)
			r := start(t, root, map[string]string{"WATCH_SCHEDULE": tt.schedule}, nil)
			for range tt.fires {
				adminFire(t, r, tt.function, "")
			}
			recs := r.waitRecords(t, tt.fires, 30*time.Second)
			assertPayload(t, recs[tt.fires-1].Body, fixture(t, tt.fixture), volatile...)
		})
	}
}

func adminFire(t testing.TB, r *running, function, input string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"input": input})
	resp, err := http.Post(r.url+"/admin/functions/"+function+"?code="+DevMasterKey, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("admin invoke %s: %d %s", function, resp.StatusCode, b)
	}
}

func TestTimerRunOnStartup(t *testing.T) {
	root := app(t, baseHost, map[string]string{"ArrWatch": `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 0 0 1 1 *","runOnStartup":true}]}`}, nil)
	r := start(t, root, nil, nil)
	recs := r.waitRecords(t, 1, 30*time.Second)
	if recs[0].Path != "/ArrWatch" {
		t.Fatalf("path %s", recs[0].Path)
	}
}

func TestHTTPPayloadsMatchFixtures(t *testing.T) {
	tests := []struct {
		fixture, function, binding, url string
		headers                         [][2]string
	}{
		{
			fixture: "http-trigger-get.json", function: "Report",
			binding: `{"name":"req","type":"httpTrigger","direction":"in","authLevel":"function","methods":["get"],"route":"report"}`,
			url:     "/api/report?from=2026-11-01&format=csv",
			headers: [][2]string{{"Accept", "text/csv"}, {"Connection", "keep-alive"}, {"User-Agent", "curl/8.5.0"},
				{"Accept-Encoding", "gzip, deflate, br"}, {"x-functions-key", "REDACTED"},
				{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		},
		{
			fixture: "http-trigger-get-captured.json", function: "SimpleHttpTrigger",
			binding: `{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["get","post"]}`,
			url:     "/api/SimpleHttpTrigger",
			headers: [][2]string{{"Accept", "*/*"}, {"Connection", "keep-alive"}, {"User-Agent", "PostmanRuntime/7.37.3"},
				{"Accept-Encoding", "gzip, deflate, br"}, {"Cache-Control", "no-cache"},
				{"Postman-Token", "f7cc026e-5cb0-4b7a-8f70-ed394a0e97ef"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			root := app(t, baseHost, map[string]string{tt.function: `{"bindings":[` + tt.binding + `,{"name":"res","type":"http","direction":"out"}]}`}, nil)
			// The fixture's key is the placeholder REDACTED: use it as the key.
			r := start(t, root, nil, func(o *Options) { o.FunctionKey = "REDACTED" })
			req, err := http.NewRequest(http.MethodGet, r.url+tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "localhost:7071" // as in the captures
			for _, h := range tt.headers {
				req.Header.Set(h[0], h[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
				resp.Header.Get("Cache-Control") != "no-store" || string(body) != "site,date,bytes\nsite-42,2026-11-23,18234\n" {
				t.Fatalf("response %d %v %q", resp.StatusCode, resp.Header, body)
			}
			recs := r.waitRecords(t, 1, 30*time.Second)
			assertPayload(t, recs[0].Body, fixture(t, tt.fixture), volatile...)
		})
	}
}

func TestHTTPAuthAndMethods(t *testing.T) {
	root := app(t, baseHost, map[string]string{"Report": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","methods":["get"],"route":"report/{site}"},{"name":"res","type":"http","direction":"out"}]}`}, nil)
	r := start(t, root, nil, nil)
	tests := []struct {
		name, method, path string
		header             string
		want               int
	}{
		{"no key", "GET", "/api/report/42", "", 401},
		{"wrong key", "GET", "/api/report/42?code=nope", "", 401},
		{"code query", "GET", "/api/report/42?code=" + DevFunctionKey, "", 200},
		{"key header", "GET", "/api/report/42", DevFunctionKey, 200},
		{"method not allowed", "POST", "/api/report/42?code=" + DevFunctionKey, "", 405},
		{"unknown route", "GET", "/api/nothing?code=" + DevFunctionKey, "", 404},
		{"no prefix", "GET", "/report/42?code=" + DevFunctionKey, "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, r.url+tt.path, strings.NewReader(""))
			if tt.header != "" {
				req.Header.Set("x-functions-key", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	recs := r.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d invocations, want 2", len(recs))
	}
	var inv struct {
		Data struct {
			Req struct {
				Params map[string]string
				Body   *string
			} `json:"req"`
		}
	}
	if err := json.Unmarshal(recs[0].Body, &inv); err != nil {
		t.Fatal(err)
	}
	if inv.Data.Req.Params["site"] != "42" || inv.Data.Req.Body != nil {
		t.Fatalf("Params %v Body %v", inv.Data.Req.Params, inv.Data.Req.Body)
	}
}

func TestQueueRetryPoisonAndDelete(t *testing.T) {
	conn := needStorage(t)
	queue, out := uniqueQueue("in"), uniqueQueue("out")
	root := app(t, baseHost, map[string]string{"ArrBlobCreated": `{"bindings":[
		{"name":"msg","type":"queueTrigger","direction":"in","queueName":"%IN_QUEUE%","connection":"AzureWebJobsStorage"},
		{"name":"outQueue","type":"queue","direction":"out","queueName":"%OUT_QUEUE%","connection":"AzureWebJobsStorage"}]}`},
		map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, map[string]string{"IN_QUEUE": queue, "OUT_QUEUE": out}, nil)
	q := queueClient(t, conn, queue)
	enqueue(t, q, b64(`{"action":"FAIL"}`))
	enqueue(t, q, "not base64 at all!")
	enqueue(t, q, b64(`{"action":"OUT"}`))

	recs := r.waitRecords(t, 6, 20*time.Second) // 5 failures + 1 success
	var counts []string
	successes := 0
	for _, rec := range recs {
		if strings.Contains(string(rec.Body), "FAIL") {
			counts = append(counts, metaString(t, rec.Body, "DequeueCount"))
		} else {
			successes++
		}
	}
	if strings.Join(counts, ",") != "1,2,3,4,5" || successes != 1 {
		t.Fatalf("failing message dequeue counts %v, successes %d", counts, successes)
	}
	poison := queueClient(t, conn, queue+"-poison")
	deadline := time.Now().Add(15 * time.Second)
	var got []string
	for len(got) < 2 && time.Now().Before(deadline) {
		got = peekAll(t, poison)
		time.Sleep(50 * time.Millisecond)
	}
	want := map[string]bool{b64(`{"action":"FAIL"}`): true, "not base64 at all!": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Fatalf("poison queue holds %q", got)
	}
	waitEmpty(t, q)
	if n := len(r.records(t)); n != 6 {
		t.Fatalf("%d invocations, want 6 (the undecodable message must never reach the handler)", n)
	}
	if !strings.Contains(r.out.String(), "[handler:stderr] failing on purpose") {
		t.Error("handler stderr not forwarded with its prefix")
	}
	outs := peekAll(t, queueClient(t, conn, out))
	if len(outs) != 2 || outs[0] != b64(`{"action":"ingest","n":1}`) || outs[1] != b64(`{"action":"ingest","n":2}`) {
		t.Fatalf("output queue holds %q", outs)
	}
}

func TestServiceBusDeadLetter(t *testing.T) {
	conn := needStorage(t)
	queue := uniqueQueue("cmd")
	root := app(t, baseHost, map[string]string{"commands": `{"bindings":[{"name":"cmd","type":"serviceBusTrigger","direction":"in","queueName":"%CMD_QUEUE%","connection":"ServiceBusConnection"}]}`},
		map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, map[string]string{"CMD_QUEUE": queue}, nil)
	env, _ := localbus.Encode(localbus.Envelope{MessageID: "m-1", Body: `{"action":"FAIL"}`})
	enqueue(t, queueClient(t, conn, queue), string(env))
	recs := r.waitRecords(t, DefaultMaxDeliveryCount, 30*time.Second)
	for i, rec := range recs {
		if got := metaString(t, rec.Body, "DeliveryCount"); got != string(rune('0'+i+1)) && i < 9 {
			t.Fatalf("delivery %d has DeliveryCount %s", i+1, got)
		}
	}
	dl := queueClient(t, conn, queue+"-deadletter")
	deadline := time.Now().Add(10 * time.Second)
	for len(peekAll(t, dl)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("message not dead-lettered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := peekAll(t, dl); got[0] != string(env) {
		t.Fatalf("dead-letter text %q", got[0])
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(r.records(t)); n != DefaultMaxDeliveryCount {
		t.Fatalf("%d deliveries, want %d", n, DefaultMaxDeliveryCount)
	}
}

func TestHandlerKilledMidInvocationIsRestartedAndMessageRedelivered(t *testing.T) {
	conn := needStorage(t)
	queue := uniqueQueue("in")
	root := app(t, baseHost, map[string]string{"ArrBlobCreated": `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in","queueName":"%IN_QUEUE%"}]}`},
		map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, map[string]string{"IN_QUEUE": queue}, nil)
	q := queueClient(t, conn, queue)
	enqueue(t, q, b64(`{"action":"HANG"}`))
	first := r.waitRecords(t, 1, 10*time.Second)[0]
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	recs := r.waitRecords(t, 2, 20*time.Second)
	if recs[1].PID == first.PID || metaString(t, recs[1].Body, "DequeueCount") != "2" {
		t.Fatalf("redelivery pid %d (killed %d), DequeueCount %s", recs[1].PID, first.PID, metaString(t, recs[1].Body, "DequeueCount"))
	}
	waitEmpty(t, q)
	if n := r.h.Supervisor().Starts(); n != 2 {
		t.Fatalf("handler started %d times, want 2", n)
	}
}

func TestFunctionTimeoutRestartsHandler(t *testing.T) {
	conn := needStorage(t)
	queue := uniqueQueue("in")
	host := strings.Replace(baseHost, `"version":"2.0"`, `"version":"2.0","functionTimeout":"00:00:01"`, 1)
	root := app(t, host, map[string]string{"ArrBlobCreated": `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in","queueName":"%IN_QUEUE%"}]}`},
		map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, map[string]string{"IN_QUEUE": queue}, nil)
	q := queueClient(t, conn, queue)
	enqueue(t, q, b64(`{"action":"HANG"}`))
	recs := r.waitRecords(t, 2, 20*time.Second)
	if recs[0].PID == recs[1].PID {
		t.Fatal("handler was not restarted after the timeout")
	}
	waitEmpty(t, q)
	if !strings.Contains(r.out.String(), "functionTimeout") {
		t.Error("timeout not logged")
	}
}

func TestAdminInvoke(t *testing.T) {
	conn := needStorage(t)
	root := app(t, baseHost, map[string]string{
		"convert":  `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in","queueName":"%IN_QUEUE%"}]}`,
		"commands": `{"bindings":[{"name":"cmd","type":"serviceBusTrigger","direction":"in","queueName":"%IN_QUEUE%-sb","connection":"ServiceBusConnection"}]}`,
		"report":   `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in"},{"name":"res","type":"http","direction":"out"}]}`,
	}, map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, map[string]string{"IN_QUEUE": uniqueQueue("in")}, nil)
	adminFire(t, r, "CONVERT", `{"action":"x","id":"e-1"}`)
	adminFire(t, r, "commands", `{"action":"stop","sessionId":"s-1"}`)
	recs := r.waitRecords(t, 2, 30*time.Second)
	if got := metaString(t, recs[0].Body, "Id"); got != `"e-1"` {
		t.Errorf("queue admin invocation Id %s, want the shadowing body id", got)
	}
	if got := metaString(t, recs[1].Body, "SessionId"); got != `"s-1"` || metaString(t, recs[1].Body, "DeliveryCount") != "1" {
		t.Errorf("service bus admin invocation metadata: SessionId %s", got)
	}
	if resp, err := http.Get(r.url + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET / = %v, %v; want 200 once the handler runs", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, tt := range []struct {
		name string
		want int
		key  string
	}{{"nothing", http.StatusNotFound, DevMasterKey}, {"report", http.StatusBadRequest, DevMasterKey},
		{"watch", http.StatusUnauthorized, DevFunctionKey}, {"watch", http.StatusUnauthorized, ""}} {
		resp, err := http.Post(r.url+"/admin/functions/"+tt.name+"?code="+tt.key, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("admin %s with key %q: %d, want %d", tt.name, tt.key, resp.StatusCode, tt.want)
		}
	}
}

func TestServeFailsWhenHandlerCannotStart(t *testing.T) {
	root := app(t, baseHost, map[string]string{"watch": `{"bindings":[{"name":"t","type":"timerTrigger","schedule":"0 0 * * * *"}]}`}, nil)
	h, err := New(Options{Root: root, Handler: root + "/no-such-handler"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Serve(ctx, ln); err == nil || !strings.Contains(err.Error(), "start handler") {
		t.Fatalf("Serve error %v, want start handler failure", err)
	}
}

func TestNewNeedsStorageSetting(t *testing.T) {
	root := app(t, baseHost, map[string]string{"convert": `{"bindings":[{"name":"msg","type":"queueTrigger","queueName":"q"}]}`}, nil)
	_, err := New(Options{Root: root})
	if err == nil || !strings.Contains(err.Error(), "function convert: storage connection: setting AzureWebJobsStorage") {
		t.Fatalf("New error %v", err)
	}
	root = app(t, baseHost, map[string]string{"commands": `{"bindings":[{"name":"cmd","type":"serviceBusTrigger","queueName":"q","connection":"SB"}]}`},
		map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "SB": "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=secret"})
	_, err = New(Options{Root: root})
	if err == nil || !strings.Contains(err.Error(), "-sb-local") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("New error %v", err)
	}
	if _, err := New(Options{Root: root, ServiceBusLocal: true}); err != nil {
		t.Fatalf("with -sb-local: %v", err)
	}
}

func TestTimerPastDueAfterRestart(t *testing.T) {
	conn := needStorage(t)
	store := &statusStore{}
	var err error
	if store.c, err = azblob.NewClientFromConnectionString(conn, nil); err != nil {
		t.Fatal(err)
	}
	// devhost was down over the 10:00 occurrence: the status still expects it.
	now := time.Now().UTC()
	next := now.Add(-3 * time.Hour).Truncate(5 * time.Minute)
	last := next.Add(-5*time.Minute + 9331100*time.Nanosecond)
	ctx := context.Background()
	if err := store.save(ctx, "ArrWatch", TimerStatus{Last: last, Next: next, LastUpdated: last}); err != nil {
		t.Fatal(err)
	}
	root := app(t, baseHost, map[string]string{"ArrWatch": `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 */5 * * * *"}]}`},
		map[string]string{"AzureWebJobsStorage": conn})
	r := start(t, root, nil, nil)
	recs := r.waitRecords(t, 1, 10*time.Second)
	assertPayload(t, recs[0].Body, fixture(t, "timer-trigger-pastdue.json"), volatile...)
	var inv struct {
		Data struct {
			Timer struct{ ScheduleStatus statusJSON } `json:"timer"`
		}
	}
	if err := json.Unmarshal(recs[0].Body, &inv); err != nil {
		t.Fatal(err)
	}
	if got := inv.Data.Timer.ScheduleStatus.Next; got != next.Format(layoutOffset) {
		t.Errorf("past-due run reports Next %s, want the missed %s", got, next.Format(layoutOffset))
	}
	// The run was recorded: a later start is not past due.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := store.load(ctx, "ArrWatch")
		if err != nil {
			t.Fatal(err)
		}
		if st != nil && st.Next.After(now) && !st.Last.Before(now.Truncate(time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored status not updated: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
