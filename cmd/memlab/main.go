// Command memlab runs the memlayers experiments: the recall demo, training and
// evaluation of tiny language models with memory layers, sweeps, plots and
// benchmarks. Every user mistake ends with one line on stderr and exit
// status 2; an interrupted run saves what it can and exits with status 130.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// startProfile writes a CPU profile to path (MEMLAB_CPUPROFILE) until the
// returned function is called; "" does nothing.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "memlab: MEMLAB_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "memlab: MEMLAB_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// command is one memlab subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(context.Context, []string, io.Writer) error) {
	commands[name] = command{summary: summary, run: run}
}

// warnings receives the one-line warnings of the command being run (run points it at its stderr).
var warnings io.Writer = os.Stderr

// warnf prints one warning line: something memlab changed or skipped that the user should know about.
func warnf(cmd, format string, args ...any) {
	fmt.Fprintf(warnings, "memlab %s: warning: %s\n", cmd, firstLine(fmt.Sprintf(format, args...)))
}

// usageError marks mistakes in how memlab was called (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ensureNoAsyncPreemption()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startProfile(os.Getenv("MEMLAB_CPUPROFILE"))
	status := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(status)
}

// run executes one command line and returns the exit status. Panics (GoMLX's
// graph-building convention) become one-line errors, never stack traces.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "memlab: internal error: %v\n", firstLine(fmt.Sprint(r)))
			status = 1
		}
	}()
	warnings = stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "memlab: unknown command %q; run 'memlab help' for the list (%s)\n", args[0], strings.Join(names(), ", "))
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "memlab %s: %s\n", args[0], firstLine(err.Error()))
		return 130
	}
	fmt.Fprintf(stderr, "memlab %s: %s\n", args[0], firstLine(err.Error()))
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func names() []string {
	var n []string
	for name := range commands {
		n = append(n, name)
	}
	sort.Strings(n)
	return n
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "memlab: product-key memory layers (Berges et al. 2024) at CPU scale, on GoMLX.")
	fmt.Fprintln(w, "\nUsage: memlab <command> [flags]   (memlab <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range names() {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nBackend: --backend or GOMLX_BACKEND (default: the pure-Go backend; xla:cuda for NVIDIA GPUs).")
}

// newFlagSet returns a flag set that reports errors instead of exiting, so
// that a bad flag becomes one line and exit status 2.
func newFlagSet(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("memlab "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage: memlab %s [flags]\n\n%s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and refusing
// stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error; we print it for --help only
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		return usagef("%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return nil
}
