package stack

import (
	"maps"
	"slices"
	"testing"
)

func TestMergeSettings(t *testing.T) {
	file := map[string]string{"ARR_CURRENCY": "EUR", "ARR_RATE_STANDARD_PER_HOUR": "3", "CUSTOM_FLAG": "file", "AzureWebJobs.commands.Disabled": "true"}
	env := []string{"PATH=/usr/bin", "HOME=/root", "ARR_RATE_STANDARD_PER_HOUR=4", "SHUTDOWN_DRY_RUN=true", "CUSTOM_FLAG=env", "ARR_OUTPUT_PREFIX=", "noequals"}
	got, fromEnv := MergeSettings(file, env)
	want := map[string]string{"ARR_CURRENCY": "EUR", "ARR_RATE_STANDARD_PER_HOUR": "4", "CUSTOM_FLAG": "env", "SHUTDOWN_DRY_RUN": "true", "AzureWebJobs.commands.Disabled": "true"}
	if !maps.Equal(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
	if w := []string{"ARR_RATE_STANDARD_PER_HOUR", "CUSTOM_FLAG", "SHUTDOWN_DRY_RUN"}; !slices.Equal(fromEnv, w) {
		t.Errorf("from the environment %v, want %v", fromEnv, w)
	}
	if got, _ := MergeSettings(nil, nil); len(got) != 0 {
		t.Errorf("nothing set: %v", got)
	}
}
