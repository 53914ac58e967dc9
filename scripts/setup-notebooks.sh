#!/usr/bin/env bash
# setup-notebooks.sh: install what notebooks/*.ipynb need on Debian 12 (bookworm):
# Jupyter (headless: nbconvert + jupyter-client) and the GoNB Go kernel, with the
# project's build settings in the kernel's environment.
#
#   bash scripts/setup-notebooks.sh                # headless (CI): enough for `go test ./notebooks`
#   bash scripts/setup-notebooks.sh --interactive  # also the Jupyter Notebook UI and gopls
#
# Safe to rerun: installed pieces are kept, the kernelspec is rewritten.
#
# Settings (environment):
#   INTERACTIVE=1     same as --interactive
#   SKIP_GOPLS=0|1    1 skips gopls (GoNB's autocompletion and hover; a ~80 s build). Default: 0
#                     with --interactive, else 1 (headless runs don't need it).
#   GONB_VERSION, XTOOLS_VERSION, GOPLS_VERSION   pinned tool versions (see below)
#   JUPYTER_DATA_DIR  where the kernelspec goes (default ~/.local/share/jupyter)
#   VERBOSE=1         show apt/go output
#
# Needs Go >= 1.26 on PATH or at /usr/local/go/bin, and root or sudo for apt-get.
set -euo pipefail

GONB_VERSION=${GONB_VERSION:-v0.11.5}      # exact: the module proxy we use refuses gonb's @v/list (no @latest)
XTOOLS_VERSION=${XTOOLS_VERSION:-v0.52.0}  # goimports (GoNB runs it on every cell)
GOPLS_VERSION=${GOPLS_VERSION:-v0.23.0}    # v0.24.0 needs go >= 1.27
INTERACTIVE=${INTERACTIVE:-0}
for arg in "$@"; do
  case "$arg" in
    --interactive) INTERACTIVE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-notebooks: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$INTERACTIVE" = 1 ]; then SKIP_GOPLS=${SKIP_GOPLS:-0}; else SKIP_GOPLS=${SKIP_GOPLS:-1}; fi

# The project's build settings (see Makefile): GoNB runs `go build` and then the
# binary for every cell, so GOEXPERIMENT/GOAMD64 shape the build and GODEBUG the run.
KERNEL_GOEXPERIMENT=simd
KERNEL_GOAMD64=v3
KERNEL_GODEBUG=asyncpreemptoff=1

log() { echo "setup-notebooks: $*"; }
quiet() { # run "$@" silently; show its output only if it fails (or VERBOSE=1)
  if [ "${VERBOSE:-0}" = 1 ]; then "$@"; return; fi
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" != 0 ]; then printf '%s\n' "$out" >&2; echo "setup-notebooks: failed ($rc): $*" >&2; fi
  return "$rc"
}

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "setup-notebooks: go not found on PATH nor in /usr/local/go/bin" >&2; exit 1; }

# 1) Jupyter from Debian's packages: jupyter-core, jupyter-client (kernelspecs),
#    nbconvert + nbclient (headless execution). GoNB is its own kernel: no ipykernel needed.
pkgs=(jupyter-nbconvert jupyter-client)
[ "$INTERACTIVE" = 1 ] && pkgs+=(jupyter-notebook)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  quiet $SUDO apt-get update -qq
  quiet $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}"
else
  log "Debian packages present: ${pkgs[*]}"
fi

# 2) Go tools, each skipped when the installed binary already has the pinned version.
GOBIN_DIR="$(go env GOBIN)"; [ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
has_version() { # has_version <binary> <module path> <version>
  [ -x "$GOBIN_DIR/$1" ] && go version -m "$GOBIN_DIR/$1" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}
if ! has_version goimports golang.org/x/tools "$XTOOLS_VERSION"; then
  log "go install goimports@$XTOOLS_VERSION"
  quiet go install "golang.org/x/tools/cmd/goimports@$XTOOLS_VERSION"
fi
if [ "$SKIP_GOPLS" != 1 ] && ! has_version gopls golang.org/x/tools/gopls "$GOPLS_VERSION"; then
  log "go install gopls@$GOPLS_VERSION (takes a minute or two)"
  quiet go install "golang.org/x/tools/gopls@$GOPLS_VERSION"
fi
if ! has_version gonb github.com/janpfeifer/gonb "$GONB_VERSION"; then
  # `go install github.com/janpfeifer/gonb@vX` fails behind our module proxy (it looks up
  # deprecations through @v/list), so build it inside a throwaway module that requires it.
  log "building gonb $GONB_VERSION"
  tools=$(mktemp -d)
  trap 'rm -rf "$tools"' EXIT
  (cd "$tools" && quiet go mod init gonbtools && quiet go get "github.com/janpfeifer/gonb@$GONB_VERSION" \
    && quiet go install github.com/janpfeifer/gonb)
  rm -rf "$tools"; trap - EXIT
fi

# 3) Kernelspec (kernel name "gonb") in ${JUPYTER_DATA_DIR:-~/.local/share/jupyter}/kernels/gonb.
#    --raw_error: compile errors become plain-text error outputs, readable in CI logs and
#    detectable by notebooks/notebooks_test.go. --force_deps: don't insist on gopls.
FORCE=(); [ "$SKIP_GOPLS" = 1 ] && FORCE=(--force_deps)
quiet "$GOBIN_DIR/gonb" --install --raw_error "${FORCE[@]}"
KDIR="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/gonb"
[ -f "$KDIR/kernel.json" ] || { echo "setup-notebooks: gonb --install wrote no $KDIR/kernel.json" >&2; exit 1; }
# Pin PATH (the kernel must find go and goimports whatever PATH Jupyter was started with;
# jupyter_client expands ${PATH}) and the build settings.
/usr/bin/python3 - "$KDIR/kernel.json" "$(go env GOROOT)/bin:$GOBIN_DIR" \
  "$KERNEL_GOEXPERIMENT" "$KERNEL_GOAMD64" "$KERNEL_GODEBUG" <<'EOF'
import json, sys
path, extra, goexp, goamd64, godebug = sys.argv[1:]
with open(path) as f:
    k = json.load(f)
env = k.setdefault("env", {})
env["PATH"] = extra + ":${PATH}"
env["GOEXPERIMENT"] = goexp
env["GOAMD64"] = goamd64
env["GODEBUG"] = godebug
with open(path, "w") as f:
    json.dump(k, f, indent=1)
    f.write("\n")
EOF

log "kernel gonb $GONB_VERSION in $KDIR"
log "kernel env: GOEXPERIMENT=$KERNEL_GOEXPERIMENT GOAMD64=$KERNEL_GOAMD64 GODEBUG=$KERNEL_GODEBUG"
if [ "$INTERACTIVE" = 1 ]; then
  log "open the notebooks with: jupyter notebook notebooks/"
else
  log "run the notebooks with: go test ./notebooks  (interactive UI: rerun with --interactive)"
fi
