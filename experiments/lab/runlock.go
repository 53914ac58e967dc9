package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Two sweeps started on the same results directory (say, one per core, or a second terminal) share its
// runs: each run is trained under an exclusive lock on a file next to its results file, so a sweep
// that finds a run locked trains the next one instead and picks the locked run's results up later. The
// lock is the operating system's (flock), so it is released when its process ends, even by SIGKILL; a
// lock file left behind by a killed sweep is simply locked again by the next.

// runLock is a held lock on one run.
type runLock struct {
	fl *flock.Flock
}

// lockPath is the lock file of the run whose results file is resultsPath: a hidden file next to it, so
// that results listings skip it.
func lockPath(resultsPath string) string {
	return filepath.Join(filepath.Dir(resultsPath), "."+filepath.Base(resultsPath)+".lock")
}

// tryLockRun takes the lock of the run whose results file is resultsPath without waiting. When another
// process holds it, it returns a nil lock and a non-empty description of the holder ("pid 123 on host
// since 10:04"). The results directory is created if missing.
func tryLockRun(resultsPath string) (*runLock, string, error) {
	path := lockPath(resultsPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", fmt.Errorf("lab: %w", err)
	}
	for {
		fl := flock.New(path)
		ok, err := fl.TryLock()
		if err != nil {
			return nil, "", fmt.Errorf("lab: locking %s: %w", path, err)
		}
		if !ok {
			holder, _ := os.ReadFile(path) // empty until the holder has written it
			if desc := strings.TrimSpace(string(holder)); desc != "" {
				return nil, desc, nil
			}
			return nil, "another process", nil
		}
		// The previous holder removes the file before unlocking it; if that happened between our open and
		// our lock, we hold a lock on a file that is no longer at path: try again.
		held, err1 := fl.Stat()
		now, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(held, now) {
			_ = fl.Close()
			continue
		}
		host, _ := os.Hostname()
		holder := fmt.Sprintf("pid %d on %s since %s", os.Getpid(), host, time.Now().Format("2006-01-02 15:04:05"))
		_ = os.WriteFile(path, []byte(holder+"\n"), 0o644)
		return &runLock{fl: fl}, "", nil
	}
}

// release removes the lock file, then unlocks it (in this order, see tryLockRun).
func (l *runLock) release() {
	_ = os.Remove(l.fl.Path())
	_ = l.fl.Close()
}
