package recall

import (
	"context"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/memlayers/memlayers/memlayer"
)

func TestMemoryLayerLearnsRecall(t *testing.T) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Pairs: 256, Classes: 8, Dim: 16, Steps: 150, Batch: 64, LR: 1e-2, EvalEvery: 50, Seed: 3,
		Memory: memlayer.Config{Heads: 2, KNN: 4, NKeys: 16, KDim: 16}}
	var log strings.Builder
	res, err := Run(context.Background(), backend, c, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	// 256 pairs in 8 classes: chance is 12.5%; a 16-dim linear read-out alone
	// cannot memorise 256 random labels, the memory layer must.
	if res.Final < 0.9 {
		t.Fatalf("final accuracy %.2f, want >= 0.9 (chance %.3f)", res.Final, res.Chance)
	}
	c.NoMemory = true
	control, err := Run(context.Background(), backend, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if control.Final > 0.6 {
		t.Fatalf("the no-memory control reached %.2f: the task does not need the memory", control.Final)
	}
	t.Logf("memory %.3f vs no-memory control %.3f", res.Final, control.Final)
	if res.Usage.Touched == 0 || !strings.Contains(log.String(), "step  150/150") {
		t.Fatalf("missing usage or progress: %+v\n%s", res.Usage, log.String())
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Batch = c.Pairs + 1
	c.Memory.KNN = 0
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "batch=") || !strings.Contains(err.Error(), "knn=0") {
		t.Fatalf("got %v", err)
	}
}
