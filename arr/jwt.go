package arr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// jwtExpiry returns the exp claim of a JWT without verifying its signature: the
// client only needs to know when to refresh, the service verifies the token.
// STS and the recorded fakes show exp as a number or as a string ("1607978983"),
// and payload segments with or without base64 '=' padding, so all are accepted.
func jwtExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		return time.Time{}, errors.New("arr: access token is not a JWT")
	}
	seg := strings.TrimRight(parts[1], "=")
	payload, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		payload, err = base64.RawStdEncoding.DecodeString(seg)
		if err != nil {
			return time.Time{}, errors.New("arr: access token payload is not base64")
		}
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return time.Time{}, errors.New("arr: access token payload is not a JSON object")
	}
	raw := bytes.TrimSpace(claims.Exp)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, errors.New("arr: access token has no exp claim")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errors.New("arr: access token exp claim is malformed")
		}
	} else {
		s = string(raw)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, fmt.Errorf("arr: access token exp claim is not a plausible Unix time")
	}
	return time.Unix(int64(f), 0).UTC(), nil
}
