"""torch_setup.py: set PyTorch up for a CPU benchmark and report which BLAS its matrix products ran on.

Imported by our PyTorch benchmark scripts (torch_memory_layer.py, torch_lm_bench.py). It decides nothing:
it reports facts, and `memlab bench` (experiments/bench/torch.go) judges them and refuses to compare against
a torch whose BLAS is the slow reference one. docs/pytorch-peer.md explains why this matters here.

    import torch_setup
    torch_setup.set_threads(2)
    facts = torch_setup.blas_facts()  # JSON-ready dicts
    runtime = torch_setup.runtime_facts()
"""
import ctypes
import os
import time

import torch

# Substrings of a shared library's path that say it provides BLAS or LAPACK (Debian keeps each vendor's
# libblas.so.3 in a directory named after it: blas/ for the reference, openblas-pthread/, blis-openmp/, ...).
_BLAS_WORDS = ("blas", "lapack", "mkl", "blis", "atlas")


def _mapped_paths():
    """Paths of the files mapped into this process (Linux /proc/self/maps; [] elsewhere)."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and fields[5].startswith("/"):
                    paths.add(fields[5])
    except OSError:
        pass
    return sorted(paths)


def blas_libraries():
    """Real paths of the BLAS/LAPACK shared libraries loaded in this process."""
    return sorted({os.path.realpath(p) for p in _mapped_paths()
                   if ".so" in os.path.basename(p) and any(w in p.lower() for w in _BLAS_WORDS)})


def _openblas():
    """The loaded OpenBLAS library through ctypes, or None when torch does not run OpenBLAS."""
    for path in blas_libraries():
        if "openblas" in os.path.basename(path).lower():
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_config.restype = ctypes.c_char_p
                lib.openblas_get_corename.restype = ctypes.c_char_p
                return lib
            except (OSError, AttributeError):
                return None
    return None


def set_threads(threads):
    """Use `threads` threads in torch's own kernels and, when torch runs OpenBLAS, in OpenBLAS too.

    Debian's OpenBLAS (libopenblas0-pthread) keeps its own thread pool, sized to all cores, whatever
    torch.set_num_threads says: the two pools would then compete for the same cores.
    """
    torch.set_num_threads(threads)
    lib = _openblas()
    if lib is not None:
        lib.openblas_set_num_threads(threads)


def gemm_probe(n=512, repeats=20):
    """GFLOP/s of a float32 n×n×n matrix product (torch.mm, so torch's BLAS) on one thread: the fastest of
    `repeats` calls. One thread, because the reference BLAS has no threads of its own and a shared machine
    slows threaded kernels unevenly. The caller's thread counts are restored afterwards."""
    torch_threads, lib = torch.get_num_threads(), _openblas()
    blas_threads = lib.openblas_get_num_threads() if lib is not None else 0
    set_threads(1)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
        return {"n": n, "threads": 1, "matmul_gflops": 2.0 * n * n * n / max(best, 1e-9) / 1e9}
    finally:
        torch.set_num_threads(torch_threads)
        if lib is not None:
            lib.openblas_set_num_threads(blas_threads)


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def sgemm_library():
    """Real path of the library that provides sgemm_ (the float32 matrix product) to libtorch_cpu, "" when
    it cannot be told (no libtorch_cpu, a statically linked BLAS such as MKL in pip wheels, no dladdr).

    Asking libtorch's own handle resolves the symbol the way torch's calls do: several BLAS libraries can be
    loaded at once (e.g. the reference libblas.so.3 with OpenBLAS's liblapack.so.3), and only this one
    multiplies.
    """
    try:
        torch_cpu = next(p for p in _mapped_paths() if os.path.basename(p).startswith("libtorch_cpu."))
        fn = ctypes.CDLL(torch_cpu).sgemm_
        info = _DlInfo()
        if ctypes.CDLL(None).dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(info.dli_fname.decode())
    except (StopIteration, OSError, AttributeError):
        pass
    return ""


def runtime_facts():
    """The malloc and OpenMP settings this process runs with: a preloaded jemalloc or tcmalloc ("" for glibc's
    malloc), jemalloc's MALLOC_CONF and OMP_WAIT_POLICY. On a shared VM both decide much of torch's speed
    (docs/pytorch-peer.md)."""
    libs = [p for p in _mapped_paths() if any(a in os.path.basename(p) for a in ("jemalloc", "tcmalloc"))]
    return {"allocator": os.path.realpath(libs[0]) if libs else "", "malloc_conf": os.environ.get("MALLOC_CONF", ""),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "")}


def blas_facts(probe=True):
    """What torch runs its matrix products on, as a JSON-ready dict: torch's build config (torch.__config__
    .show(); its BLAS_INFO says "generic" on Debian, where the BLAS is whichever libblas.so.3 the system links
    in), the library that provides sgemm_ and all BLAS libraries loaded, OpenBLAS's own description of
    itself, the OPENBLAS_* variables this process saw, and gemm_probe's speed. Call it after set_threads."""
    facts = {
        "torch_config": torch.__config__.show(),
        "sgemm_library": sgemm_library(),
        "libraries": blas_libraries(),
        "openblas": None,
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")},
        "probe": gemm_probe() if probe else None,
    }
    lib = _openblas()
    if lib is not None:
        facts["openblas"] = {"config": lib.openblas_get_config().decode(errors="replace"),
                             "core": lib.openblas_get_corename().decode(errors="replace"),
                             "threads": lib.openblas_get_num_threads()}
    return facts
