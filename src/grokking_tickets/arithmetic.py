"""How a training process does its float arithmetic, and what a run records about it.

**Code paths, fixed before torch loads.** The same float32 program gives different last bits
on two CPUs when its libraries pick kernels by CPU: MKL (every GEMM of every model) chooses a
code branch and a blocking by CPU vendor, ISA and cache sizes, and ATen's vectorized kernels by
ISA. In float32 those last bits grow, after memorization, into different grokking times per
seed; and without MKL's conditional numerical reproducibility (CNR) mode a population member
need not compute its solo run's bits on every CPU (an AMD EPYC failed 6 exactness tests). So
importing ``grokking_tickets`` fixes the code paths first thing (:func:`pin`), before torch is
imported, in every process that trains: the CLI, ``python -m``, a Ray worker (it imports the
package to run its task, and inherits the driver's environment), the test suite, a notebook.

The arithmetics (``GROKKING_TICKETS_ARITHMETIC``; :data:`ARITHMETICS`):

- ``avx512`` (default): MKL's CNR branch AVX512, ATen's kernels at AVX2. On this project's
  Intel machines it gives exactly the bits of MKL's own dispatch (measured: every preset, and
  the stores trained before the pin), at no cost. MKL runs branches other than AUTO and
  COMPATIBLE only on Intel CPUs (its documentation); elsewhere it silently takes its AUTO
  branch, still in CNR mode (deterministic; members equal solo runs), whose bits depend on the
  CPU. The run record says which branch really ran.
- ``portable``: MKL's COMPATIBLE branch (SSE2 without approximate reciprocals), the one branch
  MKL documents as giving the same results on Intel and compatible (AMD) CPUs; ATen at AVX2.
  That branch's batched GEMM does not give each batch entry a single GEMM's bits, so under it
  every run trains alone (populations of one), which keeps a run's numbers independent of its
  cohort. The same bits on every x86-64 CPU with AVX2, at a cost (docs/arithmetic.md).
- ``native``: nothing fixed (the opt-out): each library dispatches for the CPU at hand.

In every case the bits also depend on the torch and MKL versions, the number of threads (a
GEMM splits its sums by thread) and the denormal mode, so a run records all of them
(:func:`identity`); :func:`key` is the one-line form that status and the report compare.

**Denormals flushed to zero by default.** Values below float32's smallest normal number
(1.2e-38) reach the Adam moments and the weights of units that stop receiving gradient, and
x86 computes on them in microcode: late in training a CPU step slows down 1.5-12x while nothing
about the model changes. Flushing them changes a value only where it would be denormal;
measured with ``scripts/denormal_check.py`` on every preset, the metrics stay bit-identical.
The flush mode is per thread, and the intra-op worker threads copy their creator's when they
start, so the CLI sets it first thing (:func:`denormals`), and a Ray worker on the variable below.

This module imports torch only inside functions: the package's ``__init__`` calls :func:`pin`
before anything has loaded torch.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import UserError

ENV = "GROKKING_TICKETS_ARITHMETIC"
DENORMALS_ENV = "GROKKING_TICKETS_DENORMALS"  # "flush" (default) or "keep"; child processes inherit it
DENORMAL_MODES = ("flush", "keep")


@dataclass(frozen=True)
class Arithmetic:
    """One choice of code paths: the value each library's own variable is given."""

    name: str
    mkl_cbwr: str | None  # MKL_CBWR: MKL's CNR branch
    aten: str | None  # ATEN_CPU_CAPABILITY: the ISA of ATen's vectorized kernels
    onednn: str | None  # ONEDNN_MAX_CPU_ISA (no oneDNN kernel runs in training; fixed all the same)
    promise: str
    # whether runs may share a population: a member computes its solo run's bits only where MKL's
    # batched GEMM gives each entry a single GEMM's result, which its COMPATIBLE branch does not
    # (measured: every paper model's members differ from their solo runs there)
    populations: bool = True

    def variables(self) -> dict[str, str]:
        values = (self.mkl_cbwr, self.aten, self.onednn)
        return {k: v for k, v in zip(LIBRARY_VARIABLES, values, strict=True) if v is not None}


# the libraries' own variables that pin() sets, in Arithmetic's field order
LIBRARY_VARIABLES = ("MKL_CBWR", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")


def child_environment(name: str) -> dict[str, str]:
    """This process's environment for a child that is to compute with arithmetic ``name``: the
    library variables this process's pin() set are left out, so the child pins its own."""
    env = {k: v for k, v in os.environ.items() if k not in LIBRARY_VARIABLES}
    return {**env, ENV: name}


ARITHMETICS = {
    a.name: a
    for a in (
        Arithmetic("avx512", "AVX512", "avx2", "AVX2",
                   "the same bits on every Intel CPU with AVX-512 (MKL's CNR branch AVX512)"),
        Arithmetic("portable", "COMPATIBLE", "avx2", "AVX2",
                   "the same bits on every x86-64 CPU with AVX2, Intel or AMD (MKL's COMPATIBLE branch; "
                   "every run trains alone)", populations=False),
        Arithmetic("native", None, None, None, "no promise across CPUs: each library dispatches for this one"),
    )
}  # fmt: skip
DEFAULT = "avx512"

# MKL's named constants for CNR (mkl_cbwr_get/set), from its developer reference
MKL_BRANCHES = {
    0: "OFF", 1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2",
    9: "AVX", 10: "AVX2", 11: "AVX512_MIC", 12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1",
}  # fmt: skip
_MKL_BRANCH = 1  # MKL_CBWR_BRANCH: ask for the branch alone (not the STRICT bit)
_ISA_FLAG = {"AVX2": "avx2", "AVX512": "avx512f", "AVX512_E1": "avx512_vnni"}


def promises_exact_populations() -> bool:
    """Whether a population member must compute its solo run's bits here: under a pinned
    arithmetic that trains populations, with MKL (x86) to pin. Elsewhere (native, an ARM
    machine) it holds on some CPUs and not others, so the tests hold it to float32 rounding."""
    return chosen().populations and chosen().mkl_cbwr is not None and _mkl() is not None


def chosen() -> Arithmetic:
    """The arithmetic this process asks for (``GROKKING_TICKETS_ARITHMETIC``; default avx512)."""
    name = os.environ.get(ENV, DEFAULT)
    if name not in ARITHMETICS:
        raise UserError(f"{ENV} must be one of {', '.join(ARITHMETICS)}; got {name!r}")
    return ARITHMETICS[name]


def pin() -> None:
    """Fix the code paths of :func:`chosen` for this process. Before torch is imported, through
    the libraries' own variables (a variable the user set stays theirs; :func:`identity` reports
    what ran). After (a notebook that imported torch first), MKL's branch can still be set until
    its first call; ATen's ISA cannot, and :func:`identity` says so. A bad value of the variable
    is left for the CLI to report (an import must not fail)."""
    try:
        arith = chosen()
    except UserError:
        return
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return  # no MKL and no AVX there (an ARM machine): nothing to fix; identity() says what ran
    if "torch" not in sys.modules:
        for var, value in arith.variables().items():
            os.environ.setdefault(var, value)
    elif arith.mkl_cbwr is not None and "MKL_CBWR" not in os.environ:
        code = {v: k for k, v in MKL_BRANCHES.items() if k > 0}[arith.mkl_cbwr]
        lib = _mkl()
        if lib is not None and lib.mkl_serv_cbwr_set(code) != 0:  # refused once MKL has computed
            warnings.warn(
                f"torch computed before grokking_tickets was imported, so MKL keeps its own dispatch in this "
                f"process (runs record it); import grokking_tickets before torch for the {arith.name} arithmetic",
                stacklevel=3,
            )


@cache
def _mkl() -> ctypes.CDLL | None:
    """torch's statically linked MKL, through the CNR functions it exports under their internal
    names (``mkl_serv_cbwr_get``, ...). Private: tests/unit/test_arithmetic.py holds them to
    what MKL_CBWR sets. None where torch has no MKL (ARM, a build with OpenBLAS)."""
    import torch

    lib_dir = Path(torch.__file__).parent / "lib"
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib"):
        try:
            lib = ctypes.CDLL(str(lib_dir / name))
            lib.mkl_serv_cbwr_get, lib.mkl_serv_cbwr_get_auto_branch  # noqa: B018  (both present?)
            return lib
        except (OSError, AttributeError):
            continue
    return None


@cache
def cpu() -> dict[str, Any]:
    """{'vendor', 'model', 'flags'} of this CPU, from /proc/cpuinfo where there is one."""
    info = {"vendor": platform.machine(), "model": platform.processor() or platform.machine(), "flags": set()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = (s.strip() for s in line.partition(":"))
        if key == "vendor_id":
            info["vendor"] = value
        elif key == "model name":
            info["model"] = value
        elif key == "flags":
            info["flags"] = set(value.split())
            break  # the first processor tells
    return info


def mkl_branch() -> str:
    """The MKL code branch that runs GEMMs in this process, as MKL's documented rules make it.

    A fixed branch (COMPATIBLE, AVX2, AVX512, ...) gives the same bits on every CPU that runs it;
    'AUTO=X on CPU' and 'dispatch on CPU' are CPU-dependent, so they name the CPU."""
    lib = _mkl()
    if lib is None:
        return f"no MKL ({platform.machine()}, {cpu()['model']})"
    name = MKL_BRANCHES.get(lib.mkl_serv_cbwr_get(_MKL_BRANCH), "unknown")
    where = f"{cpu()['vendor']} {cpu()['model']}"
    if name == "OFF":
        return f"dispatch (CNR off) on {where}"
    if name not in ("AUTO", "COMPATIBLE"):
        flag = _ISA_FLAG.get(name)
        # MKL honours a branch other than AUTO and COMPATIBLE only on an Intel CPU that has its ISA,
        # and otherwise takes AUTO without a word (MKL developer guide, "Specifying Code Branches")
        if cpu()["vendor"] != "GenuineIntel" or (flag is not None and flag not in cpu()["flags"]):
            name = "AUTO"
    if name == "AUTO":
        return f"AUTO={MKL_BRANCHES.get(lib.mkl_serv_cbwr_get_auto_branch(), '?')} on {where}"
    return name


def _flushing() -> bool:
    """Whether this thread flushes float32 denormals (torch has no getter): 1e-39 survives a
    multiplication only with denormals kept."""
    import torch

    return bool((torch.tensor([1e-39], dtype=torch.float32) * 2.0)[0] == 0)


def identity(device: Any = "cpu") -> dict[str, Any]:
    """What made this process's numbers: everything that changes a trained run's bits, and the
    arithmetic asked for. Recorded in each run's spec.json and done.json."""
    import torch

    dev = torch.device(device)
    out: dict[str, Any] = {"arithmetic": os.environ.get(ENV, DEFAULT), "torch": torch.__version__}
    if dev.type == "cuda":
        out.update(device=f"cuda: {torch.cuda.get_device_name(dev)}", cuda=torch.version.cuda)
        return out
    out.update(
        device="cpu",
        blas=_blas(),
        mkl_branch=mkl_branch(),
        aten_capability=torch.backends.cpu.get_cpu_capability(),
        threads=torch.get_num_threads(),
        denormals="flush" if _flushing() else "keep",
    )
    return out


def _blas() -> str:
    lib = _mkl()
    if lib is None:
        return "not MKL"
    buf = ctypes.create_string_buffer(256)
    lib.MKL_Get_Version_String(buf, len(buf))
    text = buf.value.decode(errors="replace")  # "Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build ..."
    return "MKL " + text.split("Version", 1)[-1].split("-")[0].split()[0] if "Version" in text else text


# the fields that decide the bits, in the order key() writes them ('arithmetic' is only the request)
BIT_FIELDS = ("device", "torch", "cuda", "blas", "mkl_branch", "aten_capability", "threads", "denormals")


def key(ident: dict[str, Any] | None) -> str:
    """The one-line form of an identity: two runs whose keys are equal were computed with the
    same arithmetic. A run recorded before identities existed has the key 'unrecorded'."""
    if not ident:
        return "unrecorded"
    parts = [f"{f}={ident[f]}" for f in BIT_FIELDS if f in ident]
    return "; ".join(parts)


def short(ident: dict[str, Any] | None) -> str:
    """An 8-character name for an identity's key (summary.csv's ``arithmetic`` column)."""
    return "unrecorded" if not ident else hashlib.sha256(key(ident).encode()).hexdigest()[:8]


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The bit-deciding fields that differ, as 'field: expected X, here Y'."""
    return [
        f"{f}: expected {expected.get(f)!r}, here {actual.get(f)!r}"
        for f in BIT_FIELDS
        if expected.get(f) != actual.get(f)
    ]


# -- denormals --------------------------------------------------------------------------------


def denormal_mode() -> str:
    value = os.environ.get(DENORMALS_ENV, "flush")
    if value not in DENORMAL_MODES:
        raise UserError(f"{DENORMALS_ENV} must be flush or keep; got {value!r}")
    return value


@contextmanager
def denormals(keep: bool) -> Iterator[None]:
    """Flush float32/float64 denormals to zero on this process's CPU while the block runs,
    unless ``keep`` or the environment says keep. After it, flushing is off (PyTorch's default)
    and the environment variable is as it was found."""
    import torch

    before = os.environ.get(DENORMALS_ENV)
    mode = "keep" if keep else denormal_mode()
    os.environ[DENORMALS_ENV] = mode  # what a Ray worker started from here reads
    torch.set_flush_denormal(mode == "flush")
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        if before is None:
            del os.environ[DENORMALS_ENV]
        else:
            os.environ[DENORMALS_ENV] = before


def apply_from_environment() -> None:
    """In a worker process (Ray): the driver's denormal mode."""
    import torch

    torch.set_flush_denormal(denormal_mode() == "flush")
