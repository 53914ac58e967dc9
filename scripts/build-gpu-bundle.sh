#!/usr/bin/env bash
# build-gpu-bundle.sh: build what scripts/gpu-check.sh runs on a GPU machine that has no Go toolchain and
# no network, into gpu-bundle/ (a build output: keep /gpu-bundle/ in .gitignore and carry it to the device):
#
#   gpu-bundle/memlayer.test           go test -c ./memlayer
#   gpu-bundle/memlab                  go build ./cmd/memlab (with cgo, so that the XLA backend is in)
#   gpu-bundle/torch_memory_layer.py   our PyTorch version of the layer
#   gpu-bundle/torch_setup.py          what it imports: thread setup and the BLAS facts it reports
#   gpu-bundle/gpu-check.sh            the device script (a copy; scripts/gpu-check.sh travels too)
#   gpu-bundle/BUILD-INFO              commit, Go version, build settings
#
#   bash scripts/build-gpu-bundle.sh            # then, on the device: bash scripts/gpu-check.sh
#
# The binaries are built with the project's settings (see Makefile): GOEXPERIMENT=simd GOAMD64=v3, and are
# stripped (-s -w; stack traces keep function names). The bundle must stay under 60 MiB, because the whole
# working tree that travels to the device is limited to 64 MiB.
set -euo pipefail

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "build-gpu-bundle: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
BUNDLE=${BUNDLE:-gpu-bundle}
MAX_BYTES=$((60 * 1024 * 1024))
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export GOEXPERIMENT=simd GOAMD64=v3 GODEBUG=asyncpreemptoff=1 CGO_ENABLED=1
command -v go >/dev/null || { echo "build-gpu-bundle: go not found on PATH nor in /usr/local/go/bin" >&2; exit 1; }
command -v gcc >/dev/null || command -v cc >/dev/null ||
  { echo "build-gpu-bundle: no C compiler: the XLA backend needs cgo (apt-get install gcc)" >&2; exit 1; }

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE"
flags=(-trimpath -ldflags='-s -w')
echo "build-gpu-bundle: go test -c ./memlayer"
go test -c "${flags[@]}" -o "$BUNDLE/memlayer.test" ./memlayer
echo "build-gpu-bundle: go build ./cmd/memlab"
go build "${flags[@]}" -o "$BUNDLE/memlab" ./cmd/memlab
cp scripts/torch_memory_layer.py scripts/torch_setup.py scripts/gpu-check.sh "$BUNDLE/"

# Without cgo the binary silently lacks the XLA backend and every GPU step would fail on the device.
if ! go version -m "$BUNDLE/memlab" | grep -q 'CGO_ENABLED=1'; then
  echo "build-gpu-bundle: $BUNDLE/memlab was built without cgo: it has no XLA backend" >&2
  exit 1
fi

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$([ -n "$(git status --porcelain 2>/dev/null)" ] && echo yes || echo no)
{
  echo "commit: $commit (uncommitted changes: $dirty)"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "go: $(go version)"
  echo "env: GOEXPERIMENT=$GOEXPERIMENT GOAMD64=$GOAMD64 CGO_ENABLED=$CGO_ENABLED; run with GODEBUG=asyncpreemptoff=1"
  echo "glibc: $(ldd --version 2>/dev/null | head -n1)"
} >"$BUNDLE/BUILD-INFO"

total=$(du -cb "$BUNDLE"/* | tail -n1 | cut -f1)
ls -l "$BUNDLE"
printf 'build-gpu-bundle: %s holds %.1f MiB (limit %d MiB)\n' "$BUNDLE" "$(awk -v b="$total" 'BEGIN { print b / 1048576 }')" $((MAX_BYTES / 1048576))
if [ "$total" -ge "$MAX_BYTES" ]; then
  echo "build-gpu-bundle: $BUNDLE is too large to travel to the device (>= 60 MiB)" >&2
  exit 1
fi
