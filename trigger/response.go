package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Response is the handler's reply to an invocation. Any non-2xx HTTP status
// fails the invocation and the host drops Outputs and Logs, so a Response is
// only meaningful with a 2xx status.
type Response struct {
	// Outputs maps output binding names to values. Queue outputs must be
	// objects (or arrays of objects, one message each), never strings: the
	// host base64-decodes output strings that happen to be valid base64.
	Outputs map[string]any `json:"Outputs"`
	// Logs are written by the host to the function's log as Information.
	Logs []string `json:"Logs"`
	// ReturnValue is bound to a "$return" output binding, if any.
	ReturnValue any `json:"ReturnValue"`
}

// HTTPResponse is the value of an http output binding.
type HTTPResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body"`
}

// ErrStringQueueMessage is returned by AddQueueMessage for string values.
var ErrStringQueueMessage = errors.New("queue output must be an object, not a string: the host base64-decodes strings that look like base64")

// SetOutput sets the value of an output binding.
func (r *Response) SetOutput(binding string, v any) {
	if r.Outputs == nil {
		r.Outputs = map[string]any{}
	}
	r.Outputs[binding] = v
}

// SetHTTP sets an http output binding (usually "res").
func (r *Response) SetHTTP(binding string, res HTTPResponse) { r.SetOutput(binding, res) }

// AddQueueMessage appends one message to a queue output binding. v is
// marshalled as JSON and must not be a string, []byte, or JSON string.
func (r *Response) AddQueueMessage(binding string, v any) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("trigger: queue output %s: nil message", binding)
	case string, *string, []byte:
		return fmt.Errorf("trigger: queue output %s: %w", binding, ErrStringQueueMessage)
	case json.RawMessage:
		t := bytes.TrimSpace(x)
		if !json.Valid(t) || len(t) == 0 || t[0] == '"' {
			return fmt.Errorf("trigger: queue output %s: %w", binding, ErrStringQueueMessage)
		}
	}
	if r.Outputs == nil {
		r.Outputs = map[string]any{}
	}
	msgs, _ := r.Outputs[binding].([]any)
	r.Outputs[binding] = append(msgs, v)
	return nil
}

// MarshalJSON writes Outputs as {} and Logs as [] when empty, as the host
// expects; ReturnValue null.
func (r Response) MarshalJSON() ([]byte, error) {
	type wire Response
	w := wire(r)
	if w.Outputs == nil {
		w.Outputs = map[string]any{}
	}
	if w.Logs == nil {
		w.Logs = []string{}
	}
	return marshalNoEscape(w)
}

// DecodeResponse decodes a handler reply (for the host emulator and tests).
func DecodeResponse(body []byte) (Response, error) {
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("trigger: decode response: %w", err)
	}
	return r, nil
}

// HTTPOutput returns the http output binding named binding, decoding keys
// case-insensitively as the host does; ok is false when it is not set.
func (r *Response) HTTPOutput(binding string) (res HTTPResponse, ok bool, err error) {
	v, found := r.Outputs[binding]
	if !found {
		for k, val := range r.Outputs {
			if strings.EqualFold(k, binding) {
				v, found = val, true
			}
		}
	}
	if !found || v == nil {
		return res, false, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return res, true, fmt.Errorf("trigger: http output %s: %w", binding, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return res, true, fmt.Errorf("trigger: http output %s is not an object: %w", binding, err)
	}
	for k, val := range m {
		switch strings.ToLower(k) {
		case "statuscode", "status":
			text, _ := metaText(val)
			n, err := strconv.Atoi(text)
			if err != nil {
				return res, true, fmt.Errorf("trigger: http output %s: statusCode %s is not an integer", binding, val)
			}
			res.StatusCode = n
		case "headers":
			var h map[string]json.RawMessage
			if err := json.Unmarshal(val, &h); err != nil {
				return res, true, fmt.Errorf("trigger: http output %s headers: %w", binding, err)
			}
			res.Headers = make(map[string]string, len(h))
			for hk, hv := range h {
				var text string
				if json.Unmarshal(hv, &text) != nil {
					text = string(bytes.TrimSpace(hv)) // a number or bool header value
				}
				res.Headers[hk] = text
			}
		case "body":
			var s string
			if json.Unmarshal(val, &s) == nil {
				res.Body = s
			} else if !isNull(val) {
				res.Body = string(val) // an object body is sent as its JSON
			}
		}
	}
	if res.StatusCode == 0 {
		res.StatusCode = 200
	}
	return res, true, nil
}
