package results

import (
	"context"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"
)

// Unknown marks provenance that could not be determined (e.g. no git, or not a checkout).
const Unknown = "unknown"

// Git identifies the code a run was produced with. Dirty means uncommitted changes were present, so the
// commit alone does not reproduce the run.
type Git struct {
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty"`
}

// CurrentGit reports the commit checked out in repoDir and whether the tree has uncommitted changes.
// Without git, or outside a repository, Commit is "unknown".
func CurrentGit(repoDir string) Git {
	commit, err := gitOutput(repoDir, "rev-parse", "HEAD")
	if err != nil || commit == "" {
		return Git{Commit: Unknown}
	}
	status, err := gitOutput(repoDir, "status", "--porcelain")
	return Git{Commit: commit, Dirty: err != nil || status != ""}
}

func gitOutput(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// BuildGit is the commit this program was built from, from Go's VCS stamp; nil when the binary has none.
func BuildGit() *Git {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return buildGit(info.Settings)
}

func buildGit(settings []debug.BuildSetting) *Git {
	var g Git
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			g.Commit = s.Value
		case "vcs.modified":
			g.Dirty = s.Value == "true"
		}
	}
	if g.Commit == "" {
		return nil
	}
	return &g
}
