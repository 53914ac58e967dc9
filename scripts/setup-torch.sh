#!/usr/bin/env bash
# setup-torch.sh: install PyTorch for `memlab bench --torch` and scripts/torch_lm_bench.py on Debian 12
# (bookworm), then show what it will run on:
#
#   python3-torch          PyTorch 1.13 in /usr/bin/python3
#   libopenblas0-pthread   a tuned BLAS: without it torch multiplies with the reference BLAS, 30-60x slower,
#                          and memlab refuses to compare against it
#   libjemalloc2           memlab preloads it for the PyTorch command (pages kept between calls)
#
#   bash scripts/setup-torch.sh
#
# The check runs with the environment memlab gives the PyTorch command (OPENBLAS_* unset, OpenMP threads
# passive, jemalloc preloaded) and prints torch's BLAS facts; docs/pytorch-peer.md says why each matters.
# Safe to rerun. Needs root or sudo for apt-get.
set -euo pipefail

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "setup-torch: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-torch: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch libopenblas0-pthread libjemalloc2

preload=
for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
  if [ -e "$dir/libjemalloc.so.2" ]; then preload=$dir/libjemalloc.so.2; break; fi
done
env $(env | grep -o '^OPENBLAS_[A-Za-z0-9_]*' | sed 's/^/-u /') OMP_WAIT_POLICY=PASSIVE \
  ${preload:+LD_PRELOAD=$preload MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1} \
  /usr/bin/python3 - <<'EOF'
import sys
sys.path.insert(0, "scripts")
import torch
import torch_setup

torch_setup.set_threads(2)
b, r = torch_setup.blas_facts(), torch_setup.runtime_facts()
print(f"torch {torch.__version__}")
print(f"sgemm from  {b['sgemm_library'] or '(not found)'}")
if b["openblas"]:
    print(f"OpenBLAS    {b['openblas']['config']} (kernels: {b['openblas']['core']})")
print(f"probe       {b['probe']['matmul_gflops']:.0f} GFLOP/s on one thread (memlab refuses below 20)")
print(f"malloc      {r['allocator'] or 'glibc'}")
EOF
