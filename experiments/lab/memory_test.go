package lab

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
)

func part(t *testing.T, e MemoryEstimate, name string) int64 {
	t.Helper()
	for _, p := range e.Parts {
		if p.Name == name {
			return p.Bytes
		}
	}
	return -1
}

func estimate(t *testing.T, spec Spec, path string) MemoryEstimate {
	t.Helper()
	plan, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	e, err := EstimateMemory(plan, path)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMemoryEstimateGrowsWithTable: the value parts are n_keys² rows of v_dim floats (times the copies
// each part holds), so doubling n_keys multiplies them by 4; a dense model has none.
func TestMemoryEstimateGrowsWithTable(t *testing.T) {
	small := estimate(t, Spec{Model: lm.KindMemory, NKeys: 128}, "")
	large := estimate(t, Spec{Model: lm.KindMemory, NKeys: 256}, "")
	dim := int64(Presets()["tiny"].Model.Dim) // v_dim defaults to the model's dim
	if got, want := part(t, small, "value table"), int64(128*128)*dim*4; got != want {
		t.Errorf("value table %d bytes, want 128²·%d floats = %d", got, dim, want)
	}
	for _, name := range []string{"value table", "value optimizer state", "value gradient and update"} {
		if a, b := part(t, small, name), part(t, large, name); a <= 0 || b != 4*a {
			t.Errorf("%s: %d bytes at n_keys 128, %d at 256; want 4×", name, a, b)
		}
	}
	if small.Total() >= large.Total() || large.Total()-small.Total() < 3*(part(t, small, "value table")*8) {
		t.Errorf("totals %d → %d do not grow with the table", small.Total(), large.Total())
	}
	dense := estimate(t, Spec{Model: lm.KindDense}, "")
	if part(t, dense, "value table") != -1 || part(t, dense, "activations") <= 0 {
		t.Errorf("dense estimate %v", dense)
	}
}

// TestMemoryEstimateHostPath: the host path keeps the table and its moments but no dense gradient, 8
// bytes of lazy state per row, and a copy of the three while it writes a checkpoint; on an accelerator
// only those parts (and the program) are in host memory.
func TestMemoryEstimateHostPath(t *testing.T) {
	spec := Spec{Model: lm.KindMemory, NKeys: 256}
	graph, host := estimate(t, spec, train.PathGraph), estimate(t, spec, train.PathHost)
	if part(t, host, "value gradient and update") != -1 || part(t, host, "lazy update state") != 8*256*256 {
		t.Errorf("host path parts %v", host)
	}
	if part(t, host, "value table") != part(t, graph, "value table") || host.Total() >= graph.Total() {
		t.Errorf("host %v vs graph %v", host, graph)
	}
	onHost := host.HostParts()
	table := part(t, host, "value table")
	if part(t, host, "checkpoint copy of the table and its moments") != 3*table {
		t.Errorf("host path parts %v: want a checkpoint copy of 3 tables", host)
	}
	want := table + part(t, host, "value optimizer state") + 8*256*256 + 3*table + baseBytes
	if onHost.Total() != want {
		t.Errorf("host memory with an accelerator: %v, want %d bytes", onHost, want)
	}
	if _, err := EstimateMemory(&Plan{}, "disk"); err == nil || !strings.Contains(err.Error(), `memory_path="disk"`) {
		t.Errorf("unknown path: %v", err)
	}
}

// TestMemoryErrorNamesSizeAndFix: the error gives the size needed, what is available and what to lower.
func TestMemoryErrorNamesSizeAndFix(t *testing.T) {
	e := estimate(t, Spec{Model: lm.KindMemory, NKeys: 46000}, "")
	err := error(&MemoryError{Need: e, Available: 8 << 30})
	msg := err.Error()
	for _, want := range []string{"needs about 3.9 TiB", "value table 504.5 GiB", "8.0 GiB is available", "lower --n-keys"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var me *MemoryError
	if !errors.As(err, &me) || strings.Contains(msg, "\n") {
		t.Errorf("not one line or not a *MemoryError: %q", msg)
	}
	if avail, ok := AvailableMemory(); ok {
		plan, _ := Build(Spec{Model: lm.KindMemory, NKeys: 46000})
		if err := CheckMemory(plan, nil); !errors.As(err, &me) || me.Available <= 0 || me.Available > avail*2 {
			t.Errorf("CheckMemory of a 3 TiB run: %v", err)
		}
		plan, _ = Build(Spec{Model: lm.KindMemory})
		if err := CheckMemory(plan, nil); err != nil {
			t.Errorf("the tiny preset does not fit: %v", err)
		}
	}
}

func TestParseMemAvailable(t *testing.T) {
	meminfo := "MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n"
	if n, ok := parseMemAvailable(bufio.NewScanner(strings.NewReader(meminfo))); !ok || n != 20000000*1024 {
		t.Errorf("parsed %d, %v", n, ok)
	}
	for _, bad := range []string{"", "MemAvailable: lots kB\n", "MemAvailable: 12 MB\n"} {
		if _, ok := parseMemAvailable(bufio.NewScanner(strings.NewReader(bad))); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
