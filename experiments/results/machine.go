package results

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Machine describes where a run executed: timings are only comparable on the same hardware.
type Machine struct {
	CPUModel  string `json:"cpu_model"`
	Cores     int    `json:"cores"` // runtime.NumCPU: the cores this process may use
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
	Hostname  string `json:"hostname,omitempty"`
}

// CurrentMachine describes the machine this process runs on.
func CurrentMachine() Machine {
	host, _ := os.Hostname()
	return Machine{
		CPUModel:  cpuModel("/proc/cpuinfo"),
		Cores:     runtime.NumCPU(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		GoVersion: runtime.Version(),
		Hostname:  host,
	}
}

// cpuModel reads the first "model name" of a cpuinfo file (Linux), falling back to the architecture name
// where there is none (other OSes, some ARM kernels).
func cpuModel(cpuinfo string) string {
	f, err := os.Open(cpuinfo)
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			if v := strings.TrimSpace(value); v != "" {
				return v
			}
		}
	}
	return runtime.GOARCH
}
