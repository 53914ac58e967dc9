package backend

import (
	"strings"
	"testing"
)

// FuzzResolve: a --backend value resolves to a spec naming the Go or XLA backend (blank values fall back
// to the environment or the default), or to a one-line error that quotes it; never a panic.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"go", "go:ops_sequential", "xla:cuda", "xla:/abs/plugin.so,notf32", " ", "tpu", "go:", ":", "xla"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, flagValue string) {
		t.Setenv(EnvVar, "")
		spec, err := Resolve(flagValue)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "backend: unknown backend") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Resolve(%q): error %q", flagValue, err)
			}
			return
		}
		name, _, err := splitSpec(spec)
		if err != nil || (name != GoName && name != XLAName) {
			t.Fatalf("Resolve(%q) = %q, which names no backend (%v)", flagValue, spec, err)
		}
		if strings.TrimSpace(flagValue) == "" && spec != DefaultGoSpec {
			t.Fatalf("blank flag resolved to %q, want the default %q", spec, DefaultGoSpec)
		}
	})
}
