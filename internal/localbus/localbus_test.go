package localbus

import (
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
)

func sample() Envelope {
	return Envelope{
		MessageID:             "c0a8012e-4b7d-4f1a-9d3e-2b6c8f0e1a57",
		CorrelationID:         "req-2026-11-23-0001",
		ReplyTo:               "arr-replies",
		Subject:               "arr.command",
		ContentType:           "application/json",
		ApplicationProperties: map[string]any{"source": "arr-portal", "schemaVersion": "1"},
		Body:                  `{"action":"start","size":"Standard"}`,
	}
}

func TestRoundTrip(t *testing.T) {
	b64, err := EncodeBase64(sample())
	if err != nil {
		t.Fatal(err)
	}
	js, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"json": string(js), "base64": b64, "padded": "  " + string(js) + "\n"} {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, sample()) {
				t.Fatalf("got %+v, want %+v", got, sample())
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"plain text", "start arr session please"},
		{"json array", `[{"messageId":"x"}]`},
		{"no message id", `{"body":"x"}`},
		{"base64 of text", base64.StdEncoding.EncodeToString([]byte("hello"))},
		{"broken json", `{"messageId":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.text))
			if !errors.Is(err, ErrNotEnvelope) {
				t.Fatalf("Decode(%q) error = %v, want ErrNotEnvelope", tt.text, err)
			}
		})
	}
}

func TestEncodeRequiresMessageID(t *testing.T) {
	if _, err := Encode(Envelope{Body: "x"}); err == nil {
		t.Fatal("Encode without messageId succeeded")
	}
}

func FuzzDecode(f *testing.F) {
	js, _ := Encode(sample())
	b64, _ := EncodeBase64(sample())
	f.Add(js)
	f.Add([]byte(b64))
	f.Add([]byte(`"start"`))
	f.Fuzz(func(t *testing.T, text []byte) {
		e, err := Decode(text)
		if err != nil {
			return
		}
		again, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded envelope does not encode: %v", err)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if back.MessageID != e.MessageID || back.Body != e.Body {
			t.Fatalf("round trip changed envelope: %+v vs %+v", back, e)
		}
	})
}
