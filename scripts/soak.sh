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
# Tiny memory model on the host path, a checkpoint every 2 steps, so that kills land in saves too.
args=(train --preset tiny --model memory --steps 40 --checkpoint-every 2)

echo "soak: $N kills, seed $seed, work dir $dir"
"$MEMLAB" "${args[@]}" --checkpoint-dir "$dir/straight-ckpt" --out "$dir/straight.json" >"$dir/straight.log" 2>&1

kills=0 finished=0
for i in $(seq 1 "$N"); do
  # A random moment between 0.2 s and ~4 s: compile, steps, saves and the final evaluation all get hit.
  delay=$(printf '0.%03d' $((RANDOM % 1000)))
  delay=$(awk -v d="$delay" -v s=$((RANDOM % 4)) 'BEGIN { printf "%.3f", s + d + 0.2 }')
  "$MEMLAB" "${args[@]}" --checkpoint-dir "$dir/soak-ckpt" --out "$dir/soak.json" --resume --overwrite \
    >>"$dir/soak.log" 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
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
echo "soak: $kills runs killed, $finished finished before their kill; logs in $dir"
if [ -z "${SOAK_DIR:-}" ]; then rm -rf "$dir"; fi
