package config

import (
	"strings"
	"testing"
)

func TestNameValidators(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		s               string
		uuid, container bool
	}{
		{"", false, false},
		{"ab", false, false},
		{"abc", false, true},
		{"a-b", false, true},
		{"a--b", false, false},
		{"-ab", false, false},
		{"ab-", false, false},
		{"ABC", false, false},
		{"arr_input", false, false},
		{"a.b", false, false},
		{long, false, true},
		{long + "a", false, false},
		{"11111111-2222-4333-8444-555555555555", true, true},
		{"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", true, false},
		{"11111111-2222-4333-8444-55555555555g", false, true},
		{"11111111-2222-4333-8444_555555555555", false, false},
		{"11111111222243338444555555555555", false, true},
		{" 1111111-2222-4333-8444-555555555555", false, false},
	}
	for _, tt := range tests {
		if got := isUUID(tt.s); got != tt.uuid {
			t.Errorf("isUUID(%q) = %v, want %v", tt.s, got, tt.uuid)
		}
		if got := isContainerName(tt.s); got != tt.container {
			t.Errorf("isContainerName(%q) = %v, want %v", tt.s, got, tt.container)
		}
	}
}
