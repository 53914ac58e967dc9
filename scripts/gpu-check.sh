#!/usr/bin/env bash
# gpu-check.sh: run the project's GPU checks on an NVIDIA machine with no Go toolchain and no network, from
# the binaries of scripts/build-gpu-bundle.sh. Run it from the repository root (or anywhere: it cds there):
#
#   bash scripts/gpu-check.sh        # everything goes under $OUT (default ./gpu-check-out)
#
# Steps, each bounded in time and tolerant (a failure is recorded and the next step runs):
#   1. nvidia-smi                          -> nvidia-smi.txt
#   2. find the CUDA PJRT plugin in the jax_plugins folder of $TORCH_PYTHON's site-packages
#   3. PyTorch memory layer on CUDA        -> torch-cuda.json (torch-cuda.log if it failed)
#   4. memlab bench on XLA/CUDA, --torch   -> bench-xla-cuda.json, bench.log
#   5. memlab train --preset gpu134m --steps 50 --model memory+   -> train-gpu134m-memoryplus.json, train.log
#   6. memlayer.test -test.v with GOMLX_BACKEND set                 -> memlayer-test.log
# and finally summary.txt, always (also when a step fails or the time budget runs out). The files are kept
# to at most 8, flat under $OUT (what a device run brings back); charts are redrawn off the device with
# `memlab bench --replot $OUT/bench-xla-cuda.json`.
#
# Settings (environment):
#   OUT               output folder (default ./gpu-check-out)
#   BUNDLE            folder of the binaries (default gpu-bundle)
#   TORCH_PYTHON      python whose site-packages hold jax_plugins and torch (default /opt/torch/.venv/bin/python3,
#                     else python3 on PATH)
#   PJRT_CUDA_PLUGIN  absolute path of the CUDA PJRT plugin, to skip the search
#   BUDGET_S          seconds for the whole script (default 540: one device call allows 600)
#   BENCH_ARGS        extra flags for memlab bench (e.g. "--tokens 8192 --repeats 10")
#   TRAIN_STEPS       steps of the training run (default 50)
#   SKIP              space-separated steps to skip: torch bench train memlayer
set -euo pipefail

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "gpu-check: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUNDLE=${BUNDLE:-gpu-bundle}
BUNDLE=$(cd "$BUNDLE" 2>/dev/null && pwd || echo "$ROOT/$BUNDLE")
BUDGET_S=${BUDGET_S:-540}
TRAIN_STEPS=${TRAIN_STEPS:-50}
SKIP=" ${SKIP:-} "
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))
export GODEBUG=${GODEBUG:-asyncpreemptoff=1} PYTHONUNBUFFERED=1

STEPS=()   # one line per step: "name | status | detail"
NOTES=()   # free-form findings for the summary

record() { STEPS+=("$(printf '%-14s %-22s %s' "$1" "$2" "${3:-}")"); echo "gpu-check: $1: $2 ${3:-}"; }
note() { NOTES+=("$*"); echo "gpu-check: $*"; }

# write_summary runs on every exit, so that summary.txt exists whatever happened.
write_summary() {
  local rc=$?
  {
    echo "gpu-check summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - START ))s of a ${BUDGET_S}s budget, exit $rc)"
    echo "host: $(hostname)  bundle: $BUNDLE"
    [ -f "$BUNDLE/BUILD-INFO" ] && sed 's/^/  /' "$BUNDLE/BUILD-INFO"
    echo "GOMLX_BACKEND=${GOMLX_BACKEND:-<unset>}"
    echo "PJRT_PLUGIN_LIBRARY_PATH=${PJRT_PLUGIN_LIBRARY_PATH:-<unset>}"
    echo
    echo "steps:"
    local s
    for s in "${STEPS[@]+"${STEPS[@]}"}"; do echo "  $s"; done
    if [ ${#NOTES[@]} -gt 0 ]; then
      echo
      echo "notes:"
      for s in "${NOTES[@]}"; do echo "  - $s"; done
    fi
    if [ -s "$OUT/nvidia-smi.txt" ]; then
      echo
      echo "nvidia-smi -L:"
      grep -E '^GPU [0-9]+:' "$OUT/nvidia-smi.txt" | sed 's/^/  /' || true
    fi
    local tables=""
    [ -s "$OUT/bench.log" ] && tables=$(sed -n '/^backend .* | /,$p' "$OUT/bench.log")
    if [ -n "$tables" ]; then
      echo
      echo "memlab bench (tables; full log in bench.log):"
      printf '%s\n' "$tables" | sed 's/^/  /'
    fi
    if [ -s "$OUT/torch-cuda.json" ]; then
      echo
      echo "PyTorch on CUDA (torch-cuda.json): tokens/s forward, forward+backward"
      local py
      py=$(command -v python3 || echo "${PYTHON:-python3}")
      "$py" - "$OUT/torch-cuda.json" <<'EOF' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  torch {r['torch_version']} on {r['device_name']}")
for p in ([r["ffn"]] if "ffn" in r else []) + r["memory"]:
    name = p["model"] + (f" n_keys={p['n_keys']}" if "n_keys" in p else "")
    print(f"  {name:20s} {p['forward_tokens_per_second']:14.0f} {p['forward_backward_tokens_per_second']:14.0f}")
EOF
    fi
    if [ -s "$OUT/train.log" ]; then
      echo
      echo "memlab train (last lines of train.log):"
      tail -n 4 "$OUT/train.log" | sed 's/^/  /'
    fi
    if [ -s "$OUT/memlayer-test.log" ]; then
      echo
      echo "memlayer tests: $(grep -c '^--- PASS' "$OUT/memlayer-test.log" || true) passed, $(grep -c '^--- FAIL' "$OUT/memlayer-test.log" || true) failed"
      grep -E '^(--- FAIL|FAIL|ok|PASS)' "$OUT/memlayer-test.log" | head -n 20 | sed 's/^/  /' || true
    fi
  } >"$OUT/summary.txt"
  echo "gpu-check: summary written to $OUT/summary.txt"
}
trap write_summary EXIT
trap 'exit 143' TERM # so that the EXIT trap writes the summary when the run is stopped
trap 'exit 130' INT

# step NAME LIMIT_S LOG COMMAND...: runs COMMAND with its output in LOG, within LIMIT_S and the budget.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  case "$SKIP" in *" $name "*) record "$name" "SKIPPED" "(SKIP)"; return 0 ;; esac
  local left=$((DEADLINE - $(date +%s)))
  if [ "$left" -lt 20 ]; then
    record "$name" "SKIPPED" "time budget spent (BUDGET_S=$BUDGET_S)"
    return 0
  fi
  [ "$limit" -gt $((left - 10)) ] && limit=$((left - 10))
  local t0 rc=0
  t0=$(date +%s)
  echo "gpu-check: $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
  local dt=$(( $(date +%s) - t0 ))
  if [ "$rc" -eq 0 ]; then
    record "$name" "OK" "${dt}s, $(basename "$log")"
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    record "$name" "TIMEOUT" "after ${limit}s, $(basename "$log"): $(tail -n 1 "$log" | cut -c1-200)"
  else
    record "$name" "FAILED (exit $rc)" "${dt}s, $(basename "$log"): $(tail -n 1 "$log" | cut -c1-200)"
  fi
  return 0
}

# 1. The GPU as the driver sees it.
if command -v nvidia-smi >/dev/null; then
  step nvidia-smi 30 "$OUT/nvidia-smi.txt" sh -c 'nvidia-smi -L; echo; nvidia-smi'
else
  record nvidia-smi "MISSING" "nvidia-smi is not on PATH: no NVIDIA driver here"
fi

# 2. Python (for torch and for finding JAX's CUDA plugin) and the plugin itself.
PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
if [ ! -x "$PYTHON" ]; then
  fallback=$(command -v python3 || true)
  note "no python at $PYTHON${fallback:+; using $fallback}"
  PYTHON=${fallback:-$PYTHON}
fi
PLUGIN=""
searched=""
if [ -n "${PJRT_CUDA_PLUGIN:-}" ]; then
  searched="PJRT_CUDA_PLUGIN=$PJRT_CUDA_PLUGIN"
  [ -f "$PJRT_CUDA_PLUGIN" ] && PLUGIN=$PJRT_CUDA_PLUGIN
elif [ -x "$PYTHON" ]; then
  site=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
  searched="$site/jax_plugins (site-packages of $PYTHON)"
  if [ -n "$site" ] && [ -d "$site/jax_plugins" ]; then
    for f in "$site"/jax_plugins/xla_cuda*/xla_cuda_plugin.so "$site"/jax_plugins/*/*cuda*plugin*.so; do
      if [ -f "$f" ]; then PLUGIN=$f; break; fi
    done
  fi
else
  searched="nowhere: no python to ask for its site-packages"
fi
if [ -n "$PLUGIN" ]; then
  export PJRT_PLUGIN_LIBRARY_PATH
  PJRT_PLUGIN_LIBRARY_PATH=$(dirname "$PLUGIN")
  export GOMLX_BACKEND="xla:$PLUGIN"
  record cuda-plugin "FOUND" "$PLUGIN"
else
  record cuda-plugin "MISSING" "no CUDA plugin found (looked in $searched)"
  note "no CUDA plugin found: the GoMLX GPU steps (bench, train, memlayer) are skipped"
fi

# 3. Our PyTorch layer on CUDA (needs no Go and no plugin).
if [ -f "$BUNDLE/torch_memory_layer.py" ]; then torch_script=$BUNDLE/torch_memory_layer.py; else torch_script=$ROOT/scripts/torch_memory_layer.py; fi
case "$SKIP" in
  *" torch "*) record torch "SKIPPED" "(SKIP)" ;;
  *)
    step torch 90 "$OUT/torch-cuda.log" "$PYTHON" "$torch_script" --device cuda
    # The JSON object is the script's last line; keep the log only when there is none (at most 8 files
    # come back from a device run).
    if [ -s "$OUT/torch-cuda.log" ] && tail -n 1 "$OUT/torch-cuda.log" | grep -q '^{'; then
      tail -n 1 "$OUT/torch-cuda.log" >"$OUT/torch-cuda.json"
      rm -f "$OUT/torch-cuda.log"
      STEPS[${#STEPS[@]}-1]=${STEPS[${#STEPS[@]}-1]/torch-cuda.log/torch-cuda.json}
    fi
    ;;
esac

missing_bundle=""
for f in memlab memlayer.test; do
  [ -x "$BUNDLE/$f" ] || missing_bundle="$missing_bundle $f"
done
[ -n "$missing_bundle" ] && note "missing in $BUNDLE:$missing_bundle (run scripts/build-gpu-bundle.sh where Go is installed, and carry $BUNDLE)"

gpu_step() { # gpu_step NAME LIMIT LOG BINARY ARGS...: a step that needs the plugin and a bundle binary
  local name=$1 binary=$4
  if [ -z "$PLUGIN" ]; then record "$name" "SKIPPED" "no CUDA plugin found"; return 0; fi
  if [ ! -x "$binary" ]; then record "$name" "SKIPPED" "$binary is missing"; return 0; fi
  step "$@"
}

# 4. The benchmark on XLA/CUDA, with our PyTorch layer side by side (charts are redrawn off the device).
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
gpu_step bench 240 "$OUT/bench.log" "$BUNDLE/memlab" bench --backend "xla:$PLUGIN" --name xla-cuda \
  --out "$OUT/bench-xla-cuda.json" --overwrite --plots "" \
  --torch --python "$PYTHON" --torch-script "$torch_script" --torch-device cuda ${BENCH_ARGS:-}

# 5. A short training run of the paper-sized model (checkpoints stay out of $OUT).
gpu_step train 240 "$OUT/train.log" "$BUNDLE/memlab" train --backend "xla:$PLUGIN" --preset gpu134m \
  --steps "$TRAIN_STEPS" --model memory+ --out "$OUT/train-gpu134m-memoryplus.json" --overwrite \
  --checkpoint-dir "$(mktemp -d /tmp/gpu-check-ckpt.XXXXXX)"

# 6. The library's tests on XLA/CUDA (memlayer/helpers_test.go takes its backend from GOMLX_BACKEND).
gpu_step memlayer 300 "$OUT/memlayer-test.log" "$BUNDLE/memlayer.test" -test.v -test.timeout 300s
