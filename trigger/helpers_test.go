package trigger

import (
	"reflect"
	"testing"
)

func TestHelpers(t *testing.T) {
	t.Run("BlobURLOrURL", func(t *testing.T) {
		tests := []struct {
			d    BlobEventData
			want string
		}{
			{BlobEventData{URL: "https://a.dfs.core.windows.net/c/p", BlobURL: "https://a.blob.core.windows.net/c/p"}, "https://a.blob.core.windows.net/c/p"},
			{BlobEventData{URL: "https://a.blob.core.windows.net/c/p"}, "https://a.blob.core.windows.net/c/p"},
		}
		for _, tt := range tests {
			if got := tt.d.BlobURLOrURL(); got != tt.want {
				t.Errorf("BlobURLOrURL() = %q, want %q", got, tt.want)
			}
		}
	})
	t.Run("http DecodeBody and header forms", func(t *testing.T) {
		inv, err := DecodeInvocation([]byte(`{"Data":{"req":{"Method":"POST","Url":"http://h/api/x","Headers":{"Content-Type":"application/json","X-N":["a","b"],"X-Num":7},"Query":{"n":3,"z":null},"Body":{"a":[1,2]}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		r, err := inv.HTTPRequest("req")
		if err != nil {
			t.Fatal(err)
		}
		if r.Header("content-type") != "application/json" || !reflect.DeepEqual(r.HeaderValues("x-n"), []string{"a", "b"}) || r.Header("X-Num") != "7" {
			t.Errorf("headers %v", r.Headers)
		}
		if !reflect.DeepEqual(r.Query, map[string]string{"n": "3"}) {
			t.Errorf("query %v", r.Query)
		}
		var v struct{ A []int }
		if err := r.DecodeBody(&v); err != nil || !reflect.DeepEqual(v.A, []int{1, 2}) {
			t.Errorf("DecodeBody = %v, %v", v, err)
		}
		if err := (&HTTPRequest{}).DecodeBody(&v); err == nil {
			t.Error("DecodeBody without body succeeded")
		}
		if _, err := (&HTTPRequest{URL: "http://h/%zz"}).ParsedURL(); err == nil {
			t.Error("ParsedURL accepted a bad URL")
		}
	})
	t.Run("queue DecodeBody", func(t *testing.T) {
		m, err := decodeFixture(t, "queue-trigger-captured-gewoscout.json").QueueMessage("msg")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			ScraperID string `json:"scraperId"`
			Listings  []struct{ RoomCount int }
		}
		if err := m.DecodeBody(&v); err != nil || v.ScraperID != "viennaHousingScraper002" || len(v.Listings) != 1 || v.Listings[0].RoomCount != 3 {
			t.Errorf("DecodeBody = %+v, %v", v, err)
		}
		bad := QueueMessage{Body: []byte("nope"), ID: "q1"}
		if err := bad.DecodeBody(&v); err == nil {
			t.Error("DecodeBody of text succeeded")
		}
	})
	t.Run("application properties", func(t *testing.T) {
		m := ServiceBusMessage{ApplicationProperties: map[string]any{"n": 3.0, "big": 1e21, "b": true, "s": "x", "null": nil}}
		for k, want := range map[string]string{"n": "3", "big": "1000000000000000000000", "b": "true", "s": "x", "null": "", "missing": ""} {
			if got := m.AppString(k); got != want {
				t.Errorf("AppString(%q) = %q, want %q", k, got, want)
			}
		}
		if v, ok := m.AppProperty("n"); !ok || v != 3.0 {
			t.Errorf("AppProperty = %v %v", v, ok)
		}
		if _, ok := m.AppProperty("missing"); ok {
			t.Error("AppProperty found a missing key")
		}
		// Properties serialised as a string are accepted too.
		inv, _ := DecodeInvocation([]byte(`{"Data":{"cmd":"\"x\""},"Metadata":{"UserProperties":"{\"k\":\"v\"}"}}`))
		got, err := inv.ServiceBusMessage("cmd")
		if err != nil || got.AppString("k") != "v" {
			t.Errorf("UserProperties as string: %v %v", got.ApplicationProperties, err)
		}
	})
}
