package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSeeds: a seed list is refused with a usage error that quotes it, or gives positive seeds that
// print back to an equivalent list.
func FuzzParseSeeds(f *testing.F) {
	for _, s := range []string{"1,2", " 3 ", "1,,2", "0", "-1", "9223372036854775807", "9223372036854775808", "1e3", "+4", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seeds, err := parseSeeds(s)
		if err != nil {
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), "--seeds=") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("parseSeeds(%q): error %q is not a one-line usage error", s, err)
			}
			return
		}
		parts := make([]string, len(seeds))
		for i, v := range seeds {
			if v < 1 {
				t.Fatalf("parseSeeds(%q) accepted seed %d", s, v)
			}
			parts[i] = strconv.FormatInt(v, 10)
		}
		back, err := parseSeeds(strings.Join(parts, ","))
		if err != nil || len(back) != len(seeds) {
			t.Fatalf("parseSeeds(%q) = %v does not print back: %v", s, seeds, err)
		}
	})
}
