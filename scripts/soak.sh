#!/usr/bin/env bash
# Kill-and-resume soak test: train a tiny memory model straight through, then train it again while
# killing it with SIGKILL at random moments (during steps, checkpoint saves, evaluations) N times,
# resuming each time with --resume, and check that the final metrics equal the uninterrupted run's.
#
#   scripts/soak.sh [N]        N kills (default 20); CI runs N=3 (make soak)
#
# Environment: MEMLAB (a built memlab binary; default: built here), SOAK_DIR (work directory; default a
# temporary one, removed on success), SOAK_SEED (seed of the random kill times; default: the clock).
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
export GODEBUG=${GODEBUG:-asyncpreemptoff=1}
dir=${SOAK_DIR:-$(mktemp -d)}
mkdir -p "$dir"
if [ -z "${MEMLAB:-}" ]; then
  MEMLAB="$dir/memlab"
  make --no-print-directory build BIN="$MEMLAB" >/dev/null
fi
seed=${SOAK_SEED:-$(date +%s)}
RANDOM=$seed
# A tiny memory model on the host path with a 128² table (4 MB of values, 12 MB with its moments, written
# at every checkpoint) and a checkpoint every 2 steps. Every other kill waits for a save to be under way
# (its temporary files to appear) and kills it there; the others come at a random moment.
args=(train --preset tiny --model memory --n-keys 128 --steps 40 --checkpoint-every 2)

echo "soak: $N kills, seed $seed, work dir $dir"
"$MEMLAB" "${args[@]}" --checkpoint-dir "$dir/straight-ckpt" --out "$dir/straight.json" >"$dir/straight.log" 2>&1

ckpt="$dir/soak-ckpt"
kills=0 in_save=0 finished=0
for i in $(seq 1 "$N"); do
  "$MEMLAB" "${args[@]}" --checkpoint-dir "$ckpt" --out "$dir/soak.json" --resume --overwrite >>"$dir/soak.log" 2>&1 &
  pid=$!
  if (( i % 2 == 0 )); then
    # Wait (up to 20 s) for this run to commit a checkpoint of its own and then to start its next save,
    # and kill it in the middle of that save.
    saved=$(ls "$ckpt"/checkpoint-*.json 2>/dev/null | tail -1 || true)
    for _ in $(seq 1 2000); do
      newest=$(ls "$ckpt"/checkpoint-*.json 2>/dev/null | tail -1 || true)
      [ "$newest" != "$saved" ] && compgen -G "$ckpt/.tmp-checkpoint-*" >/dev/null && break
      sleep 0.01
    done
  else
    # A random moment between 0.2 s and ~4 s: compile, steps, saves and the final evaluation all get hit.
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.2 + (r % 4000) / 1000 }')"
  fi
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    if compgen -G "$ckpt/.tmp-checkpoint-*" >/dev/null; then in_save=$((in_save + 1)); fi
  else
    finished=$((finished + 1)) # it finished before the kill: the next run resumes a finished run
  fi
  wait "$pid" 2>/dev/null || true
done
"$MEMLAB" "${args[@]}" --checkpoint-dir "$dir/soak-ckpt" --out "$dir/soak.json" --resume --overwrite >>"$dir/soak.log" 2>&1

python3 - "$dir/straight.json" "$dir/soak.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
timing = {"train_seconds", "tokens_per_second"}
fa = {k: v for k, v in a["final"].items() if k not in timing}
fb = {k: v for k, v in b["final"].items() if k not in timing}
diff = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
if diff:
    sys.exit("soak: final metrics differ from the uninterrupted run: " +
             ", ".join(f"{k} {fa.get(k)} vs {fb.get(k)}" for k in diff))
evals_a = [(e["step"], e["metrics"]) for e in a.get("evals", [])]
evals_b = [(e["step"], e["metrics"]) for e in b.get("evals", [])]
if evals_a != evals_b:
    sys.exit("soak: the evaluations along the run differ from the uninterrupted run's")
print(f"soak: final metrics equal the uninterrupted run's ({len(fa)} metrics, {len(evals_a)} evaluations)")
EOF
echo "soak: $kills runs killed ($in_save in the middle of a checkpoint save), $finished finished before their kill; logs in $dir"
if [ -z "${SOAK_DIR:-}" ]; then rm -rf "$dir"; fi
