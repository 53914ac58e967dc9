# The project's build settings live here, so that the README's two commands,
# CI and a newcomer all build the same way.
#
# What each one does and what it was measured to do: docs/performance.md.
# GOEXPERIMENT=simd builds the AVX/AVX-512 kernels of GoMLX's pure-Go backend
# and of our host path; GOAMD64=v3 targets x86-64 with AVX2/FMA.
export GOEXPERIMENT ?= simd
export GOAMD64 ?= v3
# Go's asynchronous preemption signals slow the Go backend's scalar math after
# its AVX-512 kernels. memlab sets this itself when missing (it re-executes).
export GODEBUG ?= asyncpreemptoff=1

GO ?= go

.PHONY: memorize scaling demo test soak fuzz bench build vet

# The README's first command, the main job on the pure-Go backend: the paper's
# Figure 1 question at CPU scale. Random facts of exactly known information,
# each seen 100 times, stored by a dense base, by memory layers of 16^2, 64^2
# and 256^2 slots and Memory+ at the base's FLOPs, and by dense models with 2x
# and 4x its FLOPs (the memorize sweep's tiny preset, one seed; 19 minutes on
# 2 cores). It trains into runs/ so that the committed results stay as they
# are; its table and runs/plots/memorize-*.png compare with
# results/memorize/tiny and plots/memorize-*.png.
memorize:
	$(GO) run ./cmd/memlab sweep memorize --preset tiny --seeds 1 --results runs/results --plots runs/plots

# The scaling sweep in miniature (memory size 0 -> 128^2 on the tiny model, plus
# a dense model with 4x the FLOPs) on synthetic biographies; compare with
# results/scaling/tiny and plots/scaling.png.
scaling:
	$(GO) run ./cmd/memlab sweep scaling --preset tiny --seeds 1 --results runs/results --plots runs/plots

# A one-minute check that the layer learns: toy associative recall.
demo:
	$(GO) run ./cmd/memlab demo

# The README's second command: every test, each package bounded in time, and
# a short kill-and-resume soak (3 SIGKILLs; `make soak` runs 20).
test:
	$(GO) vet ./...
	$(GO) test -timeout 9m ./...
	bash scripts/soak.sh 3

SOAK_N ?= 20
soak:
	bash scripts/soak.sh $(SOAK_N)

# Every fuzz target for FUZZTIME each (go test runs their seed corpora as
# ordinary tests; this searches for new crashers, written to testdata/fuzz/).
FUZZTIME ?= 2m
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test $$pkg -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; \
	done

bench:
	$(GO) test ./memlayer -run XXX -bench . -benchtime 3x

BIN ?= bin/memlab
build:
	$(GO) build -o $(BIN) ./cmd/memlab
