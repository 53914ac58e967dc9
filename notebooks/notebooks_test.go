//go:build unix

// Executes every notebook in this folder headless, as CI does, and checks what it printed.
//
//	bash scripts/setup-notebooks.sh                  # once: Jupyter (nbconvert) + the GoNB kernel
//	go test ./notebooks -run Notebooks -v            # GOEXPERIMENT etc. come from the kernelspec
//
// Without Jupyter or the gonb kernel the test is skipped, unless MEMLAB_REQUIRE_NOTEBOOKS=1 (CI), which
// turns a missing installation into a failure. It is also skipped with -short.
//
// Notebooks write their results and charts under $MEMLAB_NOTEBOOK_OUTPUT (see experiments/nbhelp); the
// test points it at a temporary folder holding a copy of the repository's results/, so that notebooks
// which reuse saved results still find them and the working tree is left untouched.
package notebooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireEnv makes a missing Jupyter or GoNB installation a failure instead of a skip.
const requireEnv = "MEMLAB_REQUIRE_NOTEBOOKS"

// kernelName is the kernelspec every notebook must use (installed by scripts/setup-notebooks.sh).
const kernelName = "gonb"

// notebook is the part of nbformat 4 that the checks read.
type notebook struct {
	Cells []struct {
		CellType       string   `json:"cell_type"`
		ID             string   `json:"id"`
		ExecutionCount *int     `json:"execution_count"`
		Outputs        []output `json:"outputs"`
	} `json:"cells"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

type output struct {
	OutputType string                     `json:"output_type"`
	Name       string                     `json:"name"` // stream: stdout or stderr
	Text       multiline                  `json:"text"`
	Data       map[string]json.RawMessage `json:"data"`
	EName      string                     `json:"ename"`
	EValue     string                     `json:"evalue"`
	Traceback  []string                   `json:"traceback"`
}

// multiline is nbformat's text: one string or a list of lines.
type multiline string

func (m *multiline) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*m = multiline(s)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(data, &lines); err != nil {
		return err
	}
	*m = multiline(strings.Join(lines, ""))
	return nil
}

// failureLine matches stderr lines that report a failure. GoNB prints compile errors and panics as
// "error" outputs (kernel started with --raw_error), but shell cells (`!cmd`) only write to stderr and the
// cell still counts as successful, so nbconvert exits 0: their failures must be found in the text.
var failureLine = regexp.MustCompile(`(?i)\b(error|panic|fatal|failed|failure|cannot|undefined|not found|no such file|exit status|traceback)\b`)

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

func TestNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("executing the notebooks takes about a minute each; skipped with -short")
	}
	paths, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no notebooks/*.ipynb found")
	}
	if why := missingTools(); why != "" {
		msg := why + "; to install: bash scripts/setup-notebooks.sh"
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s (%s=1 requires the notebooks to run)", msg, requireEnv)
		}
		t.Skipf("%s (set %s=1 to make this a failure)", msg, requireEnv)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(path, ".ipynb"), func(t *testing.T) { runNotebook(t, repo, path) })
	}
}

// missingTools says what is missing to execute notebooks, or "" when nothing is.
func missingTools() string {
	if _, err := exec.LookPath("jupyter"); err != nil {
		return "jupyter is not on PATH"
	}
	if err := exec.Command("jupyter", "nbconvert", "--version").Run(); err != nil {
		return "jupyter nbconvert does not run (" + err.Error() + ")"
	}
	out, err := exec.Command("jupyter", "kernelspec", "list", "--json").Output()
	if err != nil {
		return "jupyter kernelspec list failed (" + err.Error() + ")"
	}
	var specs struct {
		Kernelspecs map[string]json.RawMessage `json:"kernelspecs"`
	}
	if err := json.Unmarshal(out, &specs); err != nil {
		return "jupyter kernelspec list --json printed no JSON"
	}
	if _, ok := specs.Kernelspecs[kernelName]; !ok {
		return "the " + kernelName + " (GoNB) Jupyter kernel is not installed"
	}
	return ""
}

func runNotebook(t *testing.T, repo, path string) {
	var source notebook
	readJSON(t, path, &source)
	if got := source.Metadata.Kernelspec.Name; got != kernelName {
		t.Fatalf("%s: kernelspec %q, want %q (save it with the Go (gonb) kernel)", path, got, kernelName)
	}

	outDir := t.TempDir()
	workDir := t.TempDir()
	if err := os.CopyFS(filepath.Join(workDir, "results"), os.DirFS(filepath.Join(repo, "results"))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("copying results/: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout(t))
	defer cancel()
	// --allow-errors: a failing cell does not stop nbconvert, which then still writes the executed notebook,
	// so that the checks below can report the failing cell with its own error and stderr.
	cmd := exec.CommandContext(ctx, "jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
		"--ExecutePreprocessor.timeout=600", "--output-dir", outDir, path)
	cmd.Env = append(os.Environ(), "MEMLAB_NOTEBOOK_OUTPUT="+workDir)
	// Own process group, so that a timeout also ends the kernel and the cell's program.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("jupyter nbconvert --execute %s failed after %s: %v\n%s", path, elapsed.Round(time.Second), err, logTail(log.String()))
	}
	t.Logf("%s executed in %s", path, elapsed.Round(100*time.Millisecond))

	var executed notebook
	readJSON(t, filepath.Join(outDir, filepath.Base(path)), &executed)
	images := 0
	for i, cell := range executed.Cells {
		if cell.CellType != "code" {
			continue
		}
		where := fmt.Sprintf("%s cell %d (id %s)", path, i, cell.ID)
		if cell.ExecutionCount == nil {
			t.Errorf("%s was not executed", where)
		}
		for _, o := range cell.Outputs {
			switch o.OutputType {
			case "error":
				t.Errorf("%s raised %s: %s\n%s", where, o.EName, o.EValue, ansi.ReplaceAllString(strings.Join(o.Traceback, "\n"), ""))
			case "stream":
				if o.Name != "stderr" {
					continue
				}
				for line := range strings.Lines(string(o.Text)) {
					if failureLine.MatchString(line) {
						t.Errorf("%s wrote a failure to stderr: %s\n(full stderr:)\n%s", where, strings.TrimSpace(line), o.Text)
						break
					}
				}
			case "display_data", "execute_result":
				if _, ok := o.Data["image/png"]; ok {
					images++
				}
			}
		}
	}
	if images == 0 {
		t.Errorf("%s displayed no image/png output (each notebook shows at least one chart)", path)
	}
	t.Logf("%s: %d code cells, %d PNG charts", path, countCode(executed), images)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s is not a notebook: %v", path, err)
	}
}

func countCode(nb notebook) int {
	n := 0
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			n++
		}
	}
	return n
}

// timeout leaves a minute of the test's own deadline for reporting; without a deadline, 15 minutes.
func timeout(t *testing.T) time.Duration {
	if d, ok := t.Deadline(); ok {
		return max(time.Until(d)-time.Minute, time.Minute)
	}
	return 15 * time.Minute
}

// logTail keeps nbconvert's log readable: GoNB's informational klog lines (I1129 ...) are dropped and
// only the last 80 lines kept.
func logTail(log string) string {
	var keep []string
	for line := range strings.Lines(log) {
		if len(line) > 5 && line[0] == 'I' && line[1] >= '0' && line[1] <= '9' {
			continue
		}
		keep = append(keep, strings.TrimRight(ansi.ReplaceAllString(line, ""), "\n"))
	}
	if len(keep) > 80 {
		keep = keep[len(keep)-80:]
	}
	return strings.Join(keep, "\n")
}
