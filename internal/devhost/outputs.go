package devhost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/arrops/arrops/internal/localbus"
)

// invokeWithOutputs invokes fn and, on success, writes its queue and Service Bus
// output bindings. A failed output write fails the invocation, as a failing
// binding flush does in the host, so the trigger message is retried.
func (h *Host) invokeWithOutputs(ctx context.Context, fn *Function, trigger string, payload []byte) (*Response, error) {
	resp, err := h.inv.Invoke(ctx, fn.Name, trigger, payload)
	if err != nil {
		return nil, err
	}
	for _, o := range fn.Outputs {
		if o.Type != TypeQueueOut && o.Type != TypeServiceBusOut {
			continue
		}
		raw := outputValue(resp, o.Name)
		texts, decoded, err := outputTexts(raw)
		if err != nil {
			return nil, fmt.Errorf("function %s output %s: %w", fn.Name, o.Name, err)
		}
		if decoded > 0 {
			h.log.Warn("output strings were valid base64 and were decoded, as the host does; return objects instead",
				"function", fn.Name, "binding", o.Name, "count", decoded)
		}
		for _, text := range texts {
			if err := h.writeOutput(ctx, o, text); err != nil {
				return nil, fmt.Errorf("function %s output %s: %w", fn.Name, o.Name, err)
			}
		}
	}
	return resp, nil
}

// outputValue finds an output binding's value; "$return" is the ReturnValue.
func outputValue(resp *Response, name string) json.RawMessage {
	if name == "$return" {
		return resp.ReturnValue
	}
	if v, ok := resp.Outputs[name]; ok {
		return v
	}
	for k, v := range resp.Outputs {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// outputTexts turns an output value into message texts: an array is one message
// per element, an object or number its JSON text, and a string its text, except
// that a string which is valid base64 is decoded first; the host does that too,
// which is why handlers should return objects for queue outputs.
func outputTexts(raw json.RawMessage) (texts []string, decoded int, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, 0, nil
	}
	var items []json.RawMessage
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, 0, err
		}
	} else {
		items = []json.RawMessage{raw}
	}
	var out []string
	for _, it := range items {
		it = bytes.TrimSpace(it)
		switch {
		case string(it) == "null":
		case it[0] == '"':
			var s string
			if err := json.Unmarshal(it, &s); err != nil {
				return nil, 0, err
			}
			if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(s) > 0 && utf8.Valid(b) {
				s = string(b)
				decoded++
			}
			out = append(out, s)
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, it); err != nil {
				return nil, 0, err
			}
			out = append(out, buf.String())
		}
	}
	return out, decoded, nil
}

func (h *Host) writeOutput(ctx context.Context, o Binding, text string) error {
	switch o.Type {
	case TypeQueueOut:
		svc, err := h.queueService(orDefault(o.Connection, "AzureWebJobsStorage"))
		if err != nil {
			return err
		}
		return enqueueCreating(ctx, svc.NewQueueClient(strings.ToLower(o.QueueName)),
			encodeQueueText(text, h.app.Host.Queues.MessageEncoding))
	case TypeServiceBusOut:
		svc, err := h.queueService("AzureWebJobsStorage")
		if err != nil {
			return err
		}
		e := localbus.Envelope{MessageID: NewUUID(), Body: text}
		if json.Valid([]byte(text)) {
			e.ContentType = "application/json"
		}
		env, err := localbus.EncodeBase64(e)
		if err != nil {
			return err
		}
		return enqueueCreating(ctx, svc.NewQueueClient(strings.ToLower(o.QueueName)), env)
	}
	return nil
}
