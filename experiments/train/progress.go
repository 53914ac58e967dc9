package train

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// progress prints "step 120/600  loss 2.314  1,850 tok/s  ETA 4m10s" lines. The loss is the mean over
// the steps since the previous line; tok/s is measured over those steps' compute time only (evaluation
// and checkpoint time is left out), and the ETA extrapolates the session's mean step time.
type progress struct {
	out      io.Writer
	every    int
	interval time.Duration
	steps    int

	lastPrint    time.Time
	windowLoss   float64
	windowSteps  int
	windowTokens int
	windowTime   time.Duration

	sessionSteps int
	firstStep    time.Duration // includes compilation
	laterSteps   time.Duration
}

func newProgress(cfg Config, opts Options, out io.Writer) *progress {
	return &progress{out: out, every: opts.ProgressEvery, interval: opts.ProgressInterval, steps: cfg.Steps,
		lastPrint: time.Now()}
}

// resetWindow forgets the time since the last line (after an evaluation or a checkpoint).
func (p *progress) resetWindow() { p.lastPrint = time.Now() }

func (p *progress) step(step int, loss float64, tokens int, elapsed time.Duration) {
	p.windowLoss += loss
	p.windowSteps++
	p.windowTokens += tokens
	p.windowTime += elapsed
	p.sessionSteps++
	if p.sessionSteps == 1 {
		p.firstStep = elapsed
	} else {
		p.laterSteps += elapsed
	}
	if !(p.sessionSteps == 1 || step%p.every == 0 || step == p.steps || time.Since(p.lastPrint) >= p.interval) {
		return
	}
	rate := 0.0
	if p.windowTime > 0 {
		rate = float64(p.windowTokens) / p.windowTime.Seconds()
	}
	// The first step of a session includes compilation: leave it out of the ETA unless it is all we have.
	perStep := p.firstStep
	if p.sessionSteps > 1 {
		perStep = p.laterSteps / time.Duration(p.sessionSteps-1)
	}
	eta := perStep * time.Duration(p.steps-step)
	fmt.Fprintf(p.out, "step %d/%d  loss %.3f  %s tok/s  ETA %s\n",
		step, p.steps, p.windowLoss/float64(p.windowSteps), groupThousands(int64(rate+0.5)), formatETA(eta))
	p.windowLoss, p.windowSteps, p.windowTokens, p.windowTime = 0, 0, 0, 0
	p.lastPrint = time.Now()
}

// groupThousands formats n with commas: 1850 → "1,850".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// formatETA rounds to seconds: "4m10s", "0s".
func formatETA(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}
