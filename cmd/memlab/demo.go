package main

import (
	"context"
	"fmt"
	"io"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/recall"
)

func init() {
	register("demo", "train a small memory layer on a toy associative-recall task", runDemo)
}

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	c := recall.DefaultConfig()
	fs := newFlagSet("demo", "Memorise random (pattern → label) pairs with a memory layer and print accuracy as it learns,\n"+
		"then the same task without the memory layer (the control).", stdout)
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/path/plugin.so (env GOMLX_BACKEND)")
	fs.IntVar(&c.Pairs, "pairs", c.Pairs, "number of pairs to memorise")
	fs.IntVar(&c.Classes, "classes", c.Classes, "number of labels (chance = 1/classes)")
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps")
	fs.IntVar(&c.Memory.NKeys, "n-keys", c.Memory.NKeys, "half-keys: the memory has n-keys² slots")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "random seed")
	control := fs.Bool("control", true, "also train the no-memory control")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return usagef("%v", err)
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintf(stdout, "backend: %s\n", backend.Describe(b).Description)
	res, err := recall.Run(ctx, b, c, stdout)
	if err != nil {
		return err
	}
	if !*control {
		return nil
	}
	c.NoMemory = true
	base, err := recall.Run(ctx, b, c, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nsummary: memory layer %.1f%% vs no-memory control %.1f%% (chance %.1f%%)\n",
		100*res.Final, 100*base.Final, 100*res.Chance)
	return nil
}
