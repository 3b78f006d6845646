package trigger

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

func TestDecodeServiceBusFixtures(t *testing.T) {
	const command = `{"action":"start","sessionId":"sess-7f3a9c","size":"Standard","maxLeaseTimeMinutes":60,"requestedBy":"viewer-app","tags":{"project":"plant-7"}}`
	props := map[string]any{"source": "arr-portal", "schemaVersion": "1"}
	tests := []struct {
		fixture string
		want    ServiceBusMessage
	}{
		{"servicebus-trigger-start-command.json", ServiceBusMessage{
			Body: []byte(command), MessageID: "c0a8012e-4b7d-4f1a-9d3e-2b6c8f0e1a57",
			CorrelationID: "req-2026-11-23-0001", ReplyTo: "arr-replies", ContentType: "application/json",
			Subject: "arr.command", DeliveryCount: 1, SequenceNumber: 1042,
			LockToken:    "5d2b7e4a-91c3-4f0e-a6d8-3c1b9e7f2a40",
			EnqueuedTime: mustTime(t, "2026-11-23T12:39:58.713Z"), ExpiresAt: NoExpiry,
			ApplicationProperties: props,
			// The body's sessionId is the ARR session; it leaked into SessionId.
			Shadowed: []string{"SessionId"},
			Sys:      Sys{MethodName: "commands", UtcNow: mustTime(t, "2026-11-23T12:39:58.9312875Z"), RandGuid: "e1d2c3b4-a5f6-4e7d-8c9b-0a1f2e3d4c5b"},
		}},
		{"servicebus-trigger-redelivery.json", ServiceBusMessage{
			Body: []byte(command), MessageID: "c0a8012e-4b7d-4f1a-9d3e-2b6c8f0e1a57",
			CorrelationID: "req-2026-11-23-0001", ReplyTo: "arr-replies", ContentType: "application/json",
			Subject: "arr.command", DeliveryCount: 3, SequenceNumber: 1042,
			LockToken:    "8a4c6e2f-0b1d-4a3c-9e5f-7d6b8a0c2e41",
			EnqueuedTime: mustTime(t, "2026-11-23T12:39:58.713Z"), ExpiresAt: NoExpiry,
			ApplicationProperties: props,
			Shadowed:              []string{"SessionId"},
			Sys:                   Sys{MethodName: "commands", UtcNow: mustTime(t, "2026-11-23T12:42:01.104553Z"), RandGuid: "4f5e6d7c-8b9a-4c0d-9e1f-2a3b4c5d6e7f"},
		}},
		{"servicebus-trigger-malformed.json", ServiceBusMessage{
			Body: []byte("start arr session please (not json)"), MessageID: "c0a8012e-4b7d-4f1a-9d3e-2b6c8f0e1a57",
			CorrelationID: "req-2026-11-23-0001", ReplyTo: "arr-replies", ContentType: "text/plain",
			Subject: "arr.command", DeliveryCount: 1, SequenceNumber: 1043,
			LockToken:    "1b3d5f7a-9c2e-4f6a-8b0d-2e4f6a8c0b13",
			EnqueuedTime: mustTime(t, "2026-11-23T12:39:58.713Z"), ExpiresAt: NoExpiry,
			ApplicationProperties: props,
			Sys:                   Sys{MethodName: "commands", UtcNow: mustTime(t, "2026-11-23T12:43:10.2208791Z"), RandGuid: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := decodeFixture(t, tt.fixture).ServiceBusMessage("cmd")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v\nbody %s", got, tt.want, got.Body)
			}
			if got.HasExpiry() {
				t.Error("HasExpiry() = true for a message without TTL")
			}
			if got.AppString("schemaVersion") != "1" || got.AppString("missing") != "" {
				t.Errorf("AppString: %q", got.AppString("schemaVersion"))
			}
		})
	}
}

func TestDecodeServiceBusCommandBody(t *testing.T) {
	msg, err := decodeFixture(t, "servicebus-trigger-start-command.json").ServiceBusMessage("cmd")
	if err != nil {
		t.Fatal(err)
	}
	var cmd struct {
		Action              string
		SessionID           string `json:"sessionId"`
		Size                string
		MaxLeaseTimeMinutes int
		Tags                map[string]string
	}
	if err := msg.DecodeBody(&cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Action != "start" || cmd.SessionID != "sess-7f3a9c" || cmd.MaxLeaseTimeMinutes != 60 || cmd.Tags["project"] != "plant-7" {
		t.Errorf("command = %+v", cmd)
	}
	bad, err := decodeFixture(t, "servicebus-trigger-malformed.json").ServiceBusMessage("cmd")
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.DecodeBody(&cmd); err == nil || !strings.Contains(err.Error(), bad.MessageID) {
		t.Errorf("DecodeBody of plain text: %v", err)
	}
}

func TestDecodeQueueFixtures(t *testing.T) {
	tests := []struct {
		fixture  string
		want     QueueMessage
		bodyHas  string // a substring of the decoded body
		bodyLen  int
		shadowed bool
	}{
		{fixture: "queue-trigger-captured-gewoscout.json", want: QueueMessage{
			ID: "4434c659-815f-434e-a851-f1df7b701f27", DequeueCount: 5,
			InsertionTime: mustTime(t, "2024-05-10T16:13:45Z"), ExpirationTime: mustTime(t, "2024-05-17T16:13:45Z"),
			NextVisibleTime: mustTime(t, "2024-05-10T16:23:46Z"), PopReceipt: "AgAAAAMAAAAAAAAAVqQNb/ai2gE=",
			Sys: Sys{MethodName: "scraperResultTrigger", UtcNow: mustTime(t, "2024-05-10T16:13:47.1756352Z"), RandGuid: "828f9d97-f30d-46ff-a609-024f97f376d8"},
		}, bodyHas: `{"scraperId":"viennaHousingScraper002","timestamp":"2024-04-06T15:30:00Z","listings":[{"title"`},
		{fixture: "queue-trigger-blobcreated-eventgrid.json", want: QueueMessage{
			DequeueCount:  1,
			InsertionTime: mustTime(t, "2026-11-23T12:40:02Z"), ExpirationTime: mustTime(t, "2026-11-30T12:40:02Z"),
			NextVisibleTime: mustTime(t, "2026-11-23T12:50:03Z"), PopReceipt: "AgAAAAMAAAAAAAAA5nT0m0Jd2wE=",
			Shadowed: []string{"Id"},
			Sys:      Sys{MethodName: "ArrBlobCreated", UtcNow: mustTime(t, "2026-11-23T12:40:03.4417021Z"), RandGuid: "f0c1d2e3-a4b5-4c6d-8e7f-901a2b3c4d5e"},
		}, bodyHas: `"eTag":"\"0x8DD0BB4F2A3C7E1\""`, shadowed: true},
		{fixture: "queue-trigger-blobcreated-cloudevents.json", want: QueueMessage{
			DequeueCount:  1,
			InsertionTime: mustTime(t, "2026-11-23T12:41:08Z"), ExpirationTime: mustTime(t, "2026-11-30T12:41:08Z"),
			NextVisibleTime: mustTime(t, "2026-11-23T12:51:09Z"), PopReceipt: "AgAAAAMAAAAAAAAAq9Lr1UJd2wE=",
			Shadowed: []string{"Id"},
			Sys:      Sys{MethodName: "ArrBlobCreated", UtcNow: mustTime(t, "2026-11-23T12:41:08.9021187Z"), RandGuid: "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"},
		}, bodyHas: `"specversion":"1.0"`, shadowed: true},
		{fixture: "queue-trigger-adls-flushwithclose.json", want: QueueMessage{
			DequeueCount:  1,
			InsertionTime: mustTime(t, "2026-11-23T12:42:16Z"), ExpirationTime: mustTime(t, "2026-11-30T12:42:16Z"),
			NextVisibleTime: mustTime(t, "2026-11-23T12:52:17Z"), PopReceipt: "AgAAAAMAAAAAAAAA0x9bE0Nd2wE=",
			Shadowed: []string{"Id"},
			Sys:      Sys{MethodName: "ArrBlobCreated", UtcNow: mustTime(t, "2026-11-23T12:42:16.5530412Z"), RandGuid: "3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f"},
		}, bodyHas: `"api":"FlushWithClose"`, shadowed: true},
		{fixture: "queue-trigger-blobcreated-base64.json", want: QueueMessage{
			BodyBase64: true,
			// Base64 text is not JSON, so nothing leaked: this is the real id.
			ID: "6c5b4a39-2817-4f06-b5e4-d3c2b1a09f8e", DequeueCount: 1,
			InsertionTime: mustTime(t, "2026-11-23T12:40:02Z"), ExpirationTime: mustTime(t, "2026-11-30T12:40:02Z"),
			NextVisibleTime: mustTime(t, "2026-11-23T12:50:03Z"), PopReceipt: "AgAAAAMAAAAAAAAAc1hQ2EJd2wE=",
			Sys: Sys{MethodName: "ArrBlobCreated", UtcNow: mustTime(t, "2026-11-23T12:40:04.0172265Z"), RandGuid: "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"},
		}, bodyHas: `{"topic":"/subscriptions/`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := decodeFixture(t, tt.fixture).QueueMessage("msg")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got.Body), tt.bodyHas) {
				t.Errorf("body %s\nlacks %s", got.Body, tt.bodyHas)
			}
			got.Body = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if got.IDShadowed() != tt.shadowed {
				t.Errorf("IDShadowed() = %v", got.IDShadowed())
			}
		})
	}
}

// TestQueueBlobEventsEndToEnd decodes the queue fixtures down to blob events.
func TestQueueBlobEventsEndToEnd(t *testing.T) {
	tests := []struct {
		fixture string
		want    BlobEvent
	}{
		{"queue-trigger-blobcreated-eventgrid.json", BlobEvent{
			Schema: SchemaEventGrid, ID: "8f2b3c1e-601e-0061-3a7d-3e8d1f06a1b2", EventType: BlobCreatedType,
			Source:    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-arr/providers/Microsoft.Storage/storageAccounts/arringest",
			Subject:   "/blobServices/default/containers/arr-uploads/blobs/reports/2026/11/23/site-42.csv",
			EventTime: mustTime(t, "2026-11-23T12:40:01.2345678Z"), DataVersion: "",
			Container: "arr-uploads", BlobPath: "reports/2026/11/23/site-42.csv",
			Data: BlobEventData{API: "PutBlob", ClientRequestID: "4c5dd7fb-2c3c-4a1e-9b8e-0f0d7e1b9a11", RequestID: "8f2b3c1e-601e-0061-3a7d-3e8d1f000000",
				ETag: `"0x8DD0BB4F2A3C7E1"`, ContentType: "text/csv", ContentLength: 18234, BlobType: "BlockBlob",
				URL: "https://arringest.blob.core.windows.net/arr-uploads/reports/2026/11/23/site-42.csv", Sequencer: "00000000000000000000000000021F4A000000000004d1c3"},
		}},
		{"queue-trigger-blobcreated-base64.json", BlobEvent{
			Schema: SchemaEventGrid, ID: "8f2b3c1e-601e-0061-3a7d-3e8d1f06a1b2", EventType: BlobCreatedType,
			Source:    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-arr/providers/Microsoft.Storage/storageAccounts/arringest",
			Subject:   "/blobServices/default/containers/arr-uploads/blobs/reports/2026/11/23/site-42.csv",
			EventTime: mustTime(t, "2026-11-23T12:40:01.2345678Z"), DataVersion: "",
			Container: "arr-uploads", BlobPath: "reports/2026/11/23/site-42.csv",
			Data: BlobEventData{API: "PutBlob", ClientRequestID: "4c5dd7fb-2c3c-4a1e-9b8e-0f0d7e1b9a11", RequestID: "8f2b3c1e-601e-0061-3a7d-3e8d1f000000",
				ETag: `"0x8DD0BB4F2A3C7E1"`, ContentType: "text/csv", ContentLength: 18234, BlobType: "BlockBlob",
				URL: "https://arringest.blob.core.windows.net/arr-uploads/reports/2026/11/23/site-42.csv", Sequencer: "00000000000000000000000000021F4A000000000004d1c3"},
		}},
		{"queue-trigger-blobcreated-cloudevents.json", BlobEvent{
			Schema: SchemaCloudEvents, ID: "1d4e7a90-b01e-0032-6c2f-3e4a5b069f00", EventType: BlobCreatedType,
			Source:    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-arr/providers/Microsoft.Storage/storageAccounts/arringest",
			Subject:   "/blobServices/default/containers/arr-uploads/blobs/reports/2026/11/23/site-43.csv",
			EventTime: mustTime(t, "2026-11-23T12:41:07.7654321Z"), SpecVersion: "1.0",
			Container: "arr-uploads", BlobPath: "reports/2026/11/23/site-43.csv",
			Data: BlobEventData{API: "PutBlockList", ClientRequestID: "b7e3c2aa-1f0e-4c6b-8d2f-0a9e8c7d6b55", RequestID: "1d4e7a90-b01e-0032-6c2f-3e4a5b000000",
				ETag: `"0x8DD0BB51C9E40A2"`, ContentType: "text/csv", ContentLength: 5242880, BlobType: "BlockBlob",
				URL: "https://arringest.blob.core.windows.net/arr-uploads/reports/2026/11/23/site-43.csv", Sequencer: "00000000000000000000000000021F4A000000000004d2e8"},
		}},
		{"queue-trigger-adls-flushwithclose.json", BlobEvent{
			Schema: SchemaEventGrid, ID: "5a9c2e11-701f-0045-1b3c-3e6f7a06b7c8", EventType: BlobCreatedType,
			Source:    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-arr/providers/Microsoft.Storage/storageAccounts/arringest",
			Subject:   "/blobServices/default/containers/arr-lake/blobs/raw/2026/11/23/site-44.parquet",
			EventTime: mustTime(t, "2026-11-23T12:42:15.1020304Z"), DataVersion: "3",
			Container: "arr-lake", BlobPath: "raw/2026/11/23/site-44.parquet",
			Data: BlobEventData{API: "FlushWithClose", ClientRequestID: "e2f1d0c9-8b7a-4c3d-9e1f-2a3b4c5d6e7f", RequestID: "5a9c2e11-701f-0045-1b3c-3e6f7a000000",
				ETag: `"0x8DD0BB5377A1B9C"`, ContentType: "application/octet-stream", ContentLength: 115739, ContentOffset: 0, BlobType: "BlockBlob",
				URL:       "https://arringest.dfs.core.windows.net/arr-lake/raw/2026/11/23/site-44.parquet",
				BlobURL:   "https://arringest.blob.core.windows.net/arr-lake/raw/2026/11/23/site-44.parquet",
				Sequencer: "00000000000000000000000000021F4A000000000004d3f0"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			msg, err := decodeFixture(t, tt.fixture).QueueMessage("msg")
			if err != nil {
				t.Fatal(err)
			}
			evs, err := DecodeBlobEvents(msg.Body)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || !reflect.DeepEqual(evs[0], tt.want) {
				t.Errorf("got  %+v\nwant %+v", evs, tt.want)
			}
			// The raw Data value (one more JSON level) decodes to the same events.
			raw, _ := decodeFixture(t, tt.fixture).Binding("msg")
			evs2, err := DecodeBlobEvents(raw)
			if err != nil || !reflect.DeepEqual(evs2, evs) {
				t.Errorf("DecodeBlobEvents(Data.msg) = %+v, %v", evs2, err)
			}
		})
	}
}

func TestDecodeBlobEventsFixtures(t *testing.T) {
	data := BlobEventData{API: "PutBlockList", ClientRequestID: "6d79dbfb-0e37-4fc4-981f-442c9ca65760", RequestID: "831e1650-001e-001b-66ab-eeb76e000000",
		ETag: `"0x8D4BCC2E4835CD0"`, ContentType: "text/plain", ContentLength: 524288, BlobType: "BlockBlob",
		URL: "https://my-storage-account.blob.core.windows.net/testcontainer/new-file.txt", Sequencer: "00000000000004420000000000028963"}
	source := "/subscriptions/{subscription-id}/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/my-storage-account"
	tests := []struct {
		fixture string
		want    BlobEvent
	}{
		{"eventgrid-blobcreated-event.json", BlobEvent{Schema: SchemaEventGrid, ID: "831e1650-001e-001b-66ab-eeb76e069631", EventType: BlobCreatedType,
			Source: source, Subject: "/blobServices/default/containers/test-container/blobs/new-file.txt",
			EventTime: mustTime(t, "2017-06-26T18:41:00.9584103Z"), Container: "test-container", BlobPath: "new-file.txt", Data: data}},
		{"cloudevents-blobcreated-event.json", BlobEvent{Schema: SchemaCloudEvents, ID: "831e1650-001e-001b-66ab-eeb76e069631", EventType: BlobCreatedType,
			Source: source, Subject: "/blobServices/default/containers/test-container/blobs/new-file.txt", SpecVersion: "1.0",
			EventTime: mustTime(t, "2017-06-26T18:41:00.9584103Z"), Container: "test-container", BlobPath: "new-file.txt", Data: data}},
	}
	for _, tt := range tests {
		raw := readFixture(t, tt.fixture)
		for _, form := range []struct {
			name string
			body []byte
		}{
			{"array", raw},
			{"base64", []byte(base64Std(raw))},
			{"json-string", jsonString(string(raw))},
			{"base64-json-string", jsonString(base64Std(raw))},
		} {
			t.Run(tt.fixture+"/"+form.name, func(t *testing.T) {
				evs, err := DecodeBlobEvents(form.body)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 1 || !reflect.DeepEqual(evs[0], tt.want) {
					t.Errorf("got  %+v\nwant %+v", evs, tt.want)
				}
			})
		}
	}
}

func TestDecodeTimerFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    Timer
	}{
		{"timer-trigger.json", Timer{Schedule: Schedule{AdjustForDST: true},
			ScheduleStatus: &ScheduleStatus{Last: mustTime(t, "2026-11-23T12:35:00.0107264Z"), Next: mustTime(t, "2026-11-23T12:40:00Z"), LastUpdated: mustTime(t, "2026-11-23T12:35:00.0107264Z")},
			Sys:            Sys{MethodName: "ArrWatch", UtcNow: mustTime(t, "2026-11-23T12:40:00.0151123Z"), RandGuid: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"}}},
		{"timer-trigger-pastdue.json", Timer{Schedule: Schedule{AdjustForDST: true}, IsPastDue: true,
			ScheduleStatus: &ScheduleStatus{Last: mustTime(t, "2026-11-23T09:55:00.0093311Z"), Next: mustTime(t, "2026-11-23T10:00:00Z"), LastUpdated: mustTime(t, "2026-11-23T09:55:00.0093311Z")},
			Sys:            Sys{MethodName: "ArrWatch", UtcNow: mustTime(t, "2026-11-23T12:37:41.8826519Z"), RandGuid: "6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f"}}},
		{"timer-trigger-schedulestatus-null.json", Timer{Schedule: Schedule{AdjustForDST: true},
			Sys: Sys{MethodName: "azure", UtcNow: mustTime(t, "2023-09-07T11:40:45.004275Z"), RandGuid: "35e6e68c-5583-436c-a277-5aec2b416ba8"}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := decodeFixture(t, tt.fixture).Timer("timer")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.ScheduleStatus, tt.want, tt.want.ScheduleStatus)
			}
		})
	}
}

func TestDecodeHTTPFixtures(t *testing.T) {
	anon := Identity{NameClaimType: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", RoleClaimType: "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}
	keyed := anon
	keyed.AuthenticationType, keyed.IsAuthenticated = "WebJobsAuthLevel", true
	keyed.Claims = []Claim{
		{Type: "http://schemas.microsoft.com/2017/07/functions/claims/authlevel", Value: "Function", ValueType: "http://www.w3.org/2001/XMLSchema#string", Issuer: "LOCAL AUTHORITY", OriginalIssuer: "LOCAL AUTHORITY"},
		{Type: "http://schemas.microsoft.com/2017/07/functions/claims/keyid", Value: "default", ValueType: "http://www.w3.org/2001/XMLSchema#string", Issuer: "LOCAL AUTHORITY", OriginalIssuer: "LOCAL AUTHORITY"},
	}
	tests := []struct {
		fixture   string
		want      HTTPRequest
		authLevel string
	}{
		{"http-trigger-get-captured.json", HTTPRequest{
			URL: "http://localhost:7071/api/SimpleHttpTrigger", Method: "GET", Query: map[string]string{}, Params: map[string]string{},
			Headers: map[string][]string{"Accept": {"*/*"}, "Connection": {"keep-alive"}, "Host": {"localhost:7071"}, "User-Agent": {"PostmanRuntime/7.37.3"},
				"Accept-Encoding": {"gzip, deflate, br"}, "Cache-Control": {"no-cache"}, "Postman-Token": {"f7cc026e-5cb0-4b7a-8f70-ed394a0e97ef"}},
			Identities: []Identity{anon},
			Sys:        Sys{MethodName: "SimpleHttpTrigger", UtcNow: mustTime(t, "2024-05-14T15:14:15.128919Z"), RandGuid: "7a85f722-f6ba-4add-9a45-7ed862be02ae"},
		}, ""},
		{"http-trigger-get.json", HTTPRequest{
			URL: "http://localhost:7071/api/report?from=2026-11-01&format=csv", Method: "GET",
			Query: map[string]string{"from": "2026-11-01", "format": "csv"}, Params: map[string]string{},
			Headers: map[string][]string{"Accept": {"text/csv"}, "Connection": {"keep-alive"}, "Host": {"localhost:7071"}, "User-Agent": {"curl/8.5.0"},
				"Accept-Encoding": {"gzip, deflate, br"}, "x-functions-key": {"REDACTED"}, "traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
			Identities: []Identity{keyed},
			Sys:        Sys{MethodName: "Report", UtcNow: mustTime(t, "2026-11-23T12:44:12.5561902Z"), RandGuid: "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b"},
		}, "Function"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := decodeFixture(t, tt.fixture).HTTPRequest("req")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
			if got.HasBody || got.Body != nil {
				t.Error("GET has a body")
			}
			if got.AuthLevel() != tt.authLevel {
				t.Errorf("AuthLevel() = %q", got.AuthLevel())
			}
			if got.Header("user-agent") == "" || got.Header("HOST") != "localhost:7071" {
				t.Errorf("Header() is not case-insensitive: %q", got.Header("host"))
			}
			if got.Header("X-Missing") != "" || got.HeaderValues("x-missing") != nil {
				t.Error("missing header has a value")
			}
		})
	}
	req, _ := decodeFixture(t, "http-trigger-get.json").HTTPRequest("req")
	if req.QueryValue("FORMAT") != "csv" || req.QueryValue("to") != "" {
		t.Errorf("QueryValue: %q", req.QueryValue("format"))
	}
	if u, err := req.ParsedURL(); err != nil || u.Path != "/api/report" {
		t.Errorf("ParsedURL = %v, %v", u, err)
	}
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Run("response-http.json", func(t *testing.T) {
		r, err := DecodeResponse(readFixture(t, "response-http.json"))
		if err != nil {
			t.Fatal(err)
		}
		res, ok, err := r.HTTPOutput("res")
		want := HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store"},
			Body: "site,date,bytes\nsite-42,2026-11-23,18234\nsite-43,2026-11-23,5242880\n"}
		if err != nil || !ok || !reflect.DeepEqual(res, want) {
			t.Errorf("HTTPOutput = %+v, %v, %v", res, ok, err)
		}
		if !reflect.DeepEqual(r.Logs, []string{"report: from=2026-11-01 format=csv rows=2"}) || r.ReturnValue != nil {
			t.Errorf("Logs %q ReturnValue %v", r.Logs, r.ReturnValue)
		}
	})
	t.Run("response-queue-output.json", func(t *testing.T) {
		r, err := DecodeResponse(readFixture(t, "response-queue-output.json"))
		if err != nil {
			t.Fatal(err)
		}
		msgs, ok := r.Outputs["outQueue"].([]any)
		if !ok || len(msgs) != 2 {
			t.Fatalf("outQueue = %#v", r.Outputs["outQueue"])
		}
		// The fixture's strings are JSON text, which is never valid base64, so
		// the host would not mangle them; AddQueueMessage still refuses strings.
		for _, m := range msgs {
			s, _ := m.(string)
			if _, isB64 := decodeBase64([]byte(s)); !strings.HasPrefix(s, `{"action":"ingest"`) || isB64 {
				t.Errorf("message %q", s)
			}
		}
		if _, ok, _ := r.HTTPOutput("res"); ok {
			t.Error("HTTPOutput found in a queue-only response")
		}
		if !reflect.DeepEqual(r.Logs, []string{"queued 2 ingest messages"}) {
			t.Errorf("Logs %q", r.Logs)
		}
	})
	t.Run("response-empty.json", func(t *testing.T) {
		r, err := DecodeResponse(readFixture(t, "response-empty.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Outputs) != 0 || r.Outputs == nil || len(r.Logs) != 0 || r.ReturnValue != nil {
			t.Errorf("%+v", r)
		}
		out, err := r.MarshalJSON()
		if err != nil || string(out) != `{"Outputs":{},"Logs":[],"ReturnValue":null}` {
			t.Errorf("MarshalJSON = %s, %v", out, err)
		}
	})
}

func TestDecodeMalformed(t *testing.T) {
	sbMeta := `"Metadata":{"DeliveryCount":"1","MessageId":"\"m1\""}`
	tests := []struct {
		name    string
		body    string
		decode  func(*Invocation) error
		wantErr string
	}{
		{"not json", `{"Data":`, nil, "decode invocation"},
		{"no Data", `{"Metadata":{}}`, nil, "no Data object"},
		{"array", `[]`, nil, "decode invocation"},
		{"missing binding", `{"Data":{"other":"\"x\""}}`, func(inv *Invocation) error { _, err := inv.ServiceBusMessage("cmd"); return err }, "Data.cmd: binding not present"},
		{"null binding", `{"Data":{"msg":null}}`, func(inv *Invocation) error { _, err := inv.QueueMessage("msg"); return err }, "binding not present"},
		{"bad DeliveryCount", `{"Data":{"cmd":"\"{}\""},"Metadata":{"DeliveryCount":"three","MessageId":"\"m1\""}}`,
			func(inv *Invocation) error { _, err := inv.ServiceBusMessage("cmd"); return err }, `service bus message "m1": Metadata.DeliveryCount "three" is not an integer`},
		{"bad EnqueuedTime", `{"Data":{"cmd":"\"{}\""},` + sbMeta[:len(sbMeta)-1] + `,"EnqueuedTime":"yesterday"}}`,
			func(inv *Invocation) error { _, err := inv.ServiceBusMessage("cmd"); return err }, `Metadata.EnqueuedTime "yesterday" is not a timestamp`},
		{"bad ApplicationProperties", `{"Data":{"cmd":"\"{}\""},` + sbMeta[:len(sbMeta)-1] + `,"ApplicationProperties":[1]}}`,
			func(inv *Invocation) error { _, err := inv.ServiceBusMessage("cmd"); return err }, `Metadata.ApplicationProperties`},
		{"bad DequeueCount", `{"Data":{"msg":"\"x\""},"Metadata":{"DequeueCount":"1.5"}}`,
			func(inv *Invocation) error { _, err := inv.QueueMessage("msg"); return err }, `Metadata.DequeueCount "1.5" is not an integer`},
		{"bad InsertionTime", `{"Data":{"msg":"\"x\""},"Metadata":{"InsertionTime":"05/10/2024 16:13:45"}}`,
			func(inv *Invocation) error { _, err := inv.QueueMessage("msg"); return err }, `Metadata.InsertionTime "05/10/2024 16:13:45" is not a timestamp`},
		{"bad sys", `{"Data":{"msg":"\"x\""},"Metadata":{"sys":{"UtcNow":"soon"}}}`,
			func(inv *Invocation) error { _, err := inv.QueueMessage("msg"); return err }, `Metadata.sys.UtcNow`},
		{"timer not object", `{"Data":{"timer":[1]}}`,
			func(inv *Invocation) error { _, err := inv.Timer("timer"); return err }, `timer Data.timer`},
		{"timer bad Next", `{"Data":{"timer":{"ScheduleStatus":{"Next":"noon"}}}}`,
			func(inv *Invocation) error { _, err := inv.Timer("timer"); return err }, `ScheduleStatus.Next "noon" is not a timestamp`},
		{"http not object", `{"Data":{"req":"GET /"}}`,
			func(inv *Invocation) error { _, err := inv.HTTPRequest("req"); return err }, `http Data.req`},
		{"http no method", `{"Data":{"req":{"Url":"http://x/"}}}`,
			func(inv *Invocation) error { _, err := inv.HTTPRequest("req"); return err }, `no Method`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := DecodeInvocation([]byte(tt.body))
			if err == nil && tt.decode != nil {
				err = tt.decode(inv)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := (&Invocation{Data: map[string]json.RawMessage{}}).Binding("x"); !errors.Is(err, ErrNoBinding) {
		t.Errorf("Binding error %v is not ErrNoBinding", err)
	}
}

func TestDecodeBlobEventsMalformed(t *testing.T) {
	tests := []struct{ name, body, wantErr string }{
		{"empty", ``, "empty body"},
		{"text", `hello world`, "neither JSON nor base64"},
		{"empty array", `[]`, "empty array"},
		{"no id", `{"eventType":"Microsoft.Storage.BlobCreated"}`, "no id"},
		{"no type", `{"id":"e1"}`, "no event type"},
		{"bad time", `{"id":"e1","eventType":"X","eventTime":"now"}`, `time "now"`},
		{"bad subject", `{"id":"e1","eventType":"Microsoft.Storage.BlobCreated","subject":"/containers/c/blobs/p"}`, "is not /blobServices"},
		{"bad data", `{"id":"e1","eventType":"X","data":"str"}`, "data:"},
		{"deep", `"\"\\\"\\\\\\\"x\\\\\\\"\\\"\""`, "too many encoding layers"},
		{"bad json", `{"id":`, "decode blob events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBlobEvents([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseBlobSubject(t *testing.T) {
	tests := []struct {
		subject, container, path string
		ok                       bool
	}{
		{"/blobServices/default/containers/c/blobs/a/b.glb", "c", "a/b.glb", true},
		{"/blobServices/default/containers/c/blobs/x/blobs/y", "c", "x/blobs/y", true},
		{"/blobServices/default/containers/c/blobs/", "", "", false},
		{"/blobServices/default/containers//blobs/p", "", "", false},
		{"/blobServices/default/containers/c", "", "", false},
		{"/fileServices/default/shares/c/files/p", "", "", false},
	}
	for _, tt := range tests {
		c, p, ok := ParseBlobSubject(tt.subject)
		if c != tt.container || p != tt.path || ok != tt.ok {
			t.Errorf("ParseBlobSubject(%q) = %q, %q, %v", tt.subject, c, p, ok)
		}
	}
}

// TestUnwrapBodyLevels covers the encodings the host may use for a body.
func TestUnwrapBodyLevels(t *testing.T) {
	const text = `{"action":"stop","sessionId":"s1"}`
	tests := []struct {
		name string
		data string // Data.<binding> as it appears in the request
		want string
		b64  bool
	}{
		{"double-encoded", string(quoteTwice(text)), text, false},
		{"string holding JSON", string(jsonString(text)), text, false},
		{"object", text, text, false},
		{"plain text twice", string(quoteTwice("hello")), "hello", false},
		{"plain text once", `"hello"`, "hello", false},
		{"base64 of JSON", string(quoteTwice(base64Std([]byte(text)))), text, true},
		{"base64-looking text that is not JSON", string(quoteTwice("test")), "test", false},
		{"number", `42`, "42", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := DecodeInvocation([]byte(`{"Data":{"msg":` + tt.data + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			m, err := inv.QueueMessage("msg")
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != tt.want || m.BodyBase64 != tt.b64 {
				t.Errorf("Body %q base64 %v, want %q %v", m.Body, m.BodyBase64, tt.want, tt.b64)
			}
		})
	}
}

// TestShadowing pins down the rule for built-in keys a body can overwrite.
func TestShadowing(t *testing.T) {
	tests := []struct {
		name      string
		meta      string
		sessionID string
		shadowed  []string
	}{
		{"shadowed by body", `"SessionId":"\"s1\""`, "", []string{"SessionId"}},
		{"numbers accepted unquoted", `"SessionId":"s1"`, "", []string{"SessionId"}},
		{"real value differs from body", `"SessionId":"\"real\""`, "real", nil},
		{"absent", ``, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"Data":{"cmd":` + string(quoteTwice(`{"action":"stop","sessionId":"s1"}`)) + `},"Metadata":{` + tt.meta + `}}`
			inv, err := DecodeInvocation([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			m, err := inv.ServiceBusMessage("cmd")
			if err != nil {
				t.Fatal(err)
			}
			if m.SessionID != tt.sessionID || !reflect.DeepEqual(m.Shadowed, tt.shadowed) {
				t.Errorf("SessionID %q Shadowed %v", m.SessionID, m.Shadowed)
			}
		})
	}
}

func TestServiceBusOctetStream(t *testing.T) {
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	msg := ServiceBusMessage{Body: bin, BodyBase64: true, MessageID: "m1", ContentType: "application/octet-stream", DeliveryCount: 1, Sys: Sys{UtcNow: mustTime(t, "2026-11-23T12:00:00Z")}}
	enc, err := EncodeServiceBusInvocation("cmd", msg)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := DecodeInvocation(enc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := inv.ServiceBusMessage("cmd")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, msg) {
		t.Errorf("got %+v\nwant %+v", got, msg)
	}
	msg.BodyBase64 = false
	if _, err := EncodeServiceBusInvocation("cmd", msg); err == nil {
		t.Error("binary body without BodyBase64 encoded")
	}
}

func TestHTTPBodies(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		wantData                string // Data.req.Body on the wire
	}{
		{"json", "application/json", `{"a": 1}`, `{"a":1}`},
		{"text", "text/plain", `hello`, `"hello"`},
		{"json text that is invalid", "application/json", `{oops`, `"{oops"`},
		{"binary", "application/octet-stream", "\x00\x01\xff", `"AAH/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := HTTPRequest{URL: "http://localhost:7071/api/x", Method: "POST", HasBody: true, Body: []byte(tt.body),
				Headers: map[string][]string{"Content-Type": {tt.contentType}}}
			enc, err := EncodeHTTPInvocation("req", req)
			if err != nil {
				t.Fatal(err)
			}
			inv, _ := DecodeInvocation(enc)
			var wire struct{ Body json.RawMessage }
			_ = json.Unmarshal(inv.Data["req"], &wire)
			if string(wire.Body) != tt.wantData {
				t.Errorf("Data.req.Body = %s, want %s", wire.Body, tt.wantData)
			}
			got, err := inv.HTTPRequest("req")
			if err != nil {
				t.Fatal(err)
			}
			want := tt.body
			if tt.name == "json" {
				want = tt.wantData // the host re-serialises JSON bodies
			}
			if !got.HasBody || string(got.Body) != want {
				t.Errorf("Body %q, want %q", got.Body, want)
			}
		})
	}
}

func TestHTTPRedaction(t *testing.T) {
	req := HTTPRequest{Method: "GET", URL: "https://app.azurewebsites.net/api/report?code=s3cr3tKey&format=csv&sig=abc",
		Headers: map[string][]string{"x-functions-key": {"s3cr3tKey"}, "Authorization": {"Bearer tok3n"}}}
	var sb strings.Builder
	logger := NewLogger(&sb, nil)
	logger.Info("request", "req", req)
	for _, out := range []string{req.String(), sb.String(), req.RedactedURL()} {
		for _, secret := range []string{"s3cr3tKey", "tok3n", "sig=abc"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
	if !strings.Contains(req.RedactedURL(), "format=csv") || !strings.Contains(req.RedactedURL(), "code=REDACTED") {
		t.Errorf("RedactedURL = %q", req.RedactedURL())
	}
}
