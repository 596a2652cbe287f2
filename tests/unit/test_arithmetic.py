"""How a process computes (arithmetic.py): the CPU code paths fixed before torch loads in every
way into the package, what the run record says about them, and the denormal mode of training
commands (flushed by default, kept on request, restored after); bad values refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grokking_tickets.arithmetic import DENORMALS_ENV as ENV
from grokking_tickets.arithmetic import denormals

TINY = 1e-39  # a float32 denormal


def _halved() -> float:
    return (torch.tensor([TINY], dtype=torch.float32) * 0.5).item()


def test_denormals_are_flushed_inside_and_kept_after(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert _halved() > 0
    with denormals(keep=False):
        assert _halved() == 0.0
    assert _halved() > 0
    assert ENV not in os.environ  # the environment is left as it was found


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_keep_leaves_ieee_arithmetic(how, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    if how == "environment":
        monkeypatch.setenv(ENV, "keep")
    with denormals(keep=how == "argument"):
        assert _halved() > 0


def test_a_bad_mode_is_one_line_and_exit_2(tmp_path):
    env = {**os.environ, ENV: "sometimes"}
    r = subprocess.run([sys.executable, "-m", "grokking_tickets", "train", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert r.returncode == 2 and "GROKKING_TICKETS_DENORMALS must be flush or keep" in r.stderr
    assert "Traceback" not in r.stderr and not list(tmp_path.glob("runs/*"))


# -- the code paths (arithmetic.pin, identity) ---------------------------------------------------

from grokking_tickets import arithmetic

HAS_MKL = arithmetic._mkl() is not None
INTEL_AVX512 = arithmetic.cpu()["vendor"] == "GenuineIntel" and "avx512f" in arithmetic.cpu()["flags"]
needs_mkl = pytest.mark.skipif(not HAS_MKL, reason="this torch has no MKL (ARM or an OpenBLAS build): no MKL branch to pin")


def _identity_in(name: str, extra: dict[str, str] | None = None, code: str = "") -> dict:
    """arithmetic.identity() of a fresh interpreter asking for arithmetic ``name`` (with the
    variables ``extra`` set too), after running ``code``."""
    prog = f"{code}\nimport json, grokking_tickets.arithmetic as a\nprint(json.dumps(a.identity()))"
    env = {**arithmetic.child_environment(name), **(extra or {})}
    r = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


@needs_mkl
def test_this_test_process_runs_the_pinned_branch():
    """conftest imports the package before torch, so the suite tests the arithmetic users get."""
    want = arithmetic.chosen().mkl_cbwr
    if want is None:
        pytest.skip("GROKKING_TICKETS_ARITHMETIC=native: nothing is pinned")
    if want != "COMPATIBLE" and not INTEL_AVX512:
        pytest.skip(f"MKL runs the {want} branch only on Intel CPUs with its ISA; this is {arithmetic.cpu()['model']}")
    assert arithmetic.identity()["mkl_branch"] == want
    assert arithmetic.identity()["aten_capability"] == arithmetic.chosen().aten.upper()


@needs_mkl
@pytest.mark.parametrize("branch", ["COMPATIBLE", "AVX2"])
def test_the_private_mkl_symbols_read_what_mkl_cbwr_sets(branch):
    """identity() reads MKL's branch through mkl_serv_cbwr_get, an internal symbol of torch's
    MKL: it must report what MKL's public variable set (and the default: no CNR)."""
    if branch == "AVX2" and arithmetic.cpu()["vendor"] != "GenuineIntel":
        pytest.skip("MKL runs the AVX2 branch only on Intel CPUs")
    assert _identity_in("native", {"MKL_CBWR": branch})["mkl_branch"] == branch
    assert _identity_in("native")["mkl_branch"].startswith("dispatch (CNR off)")


@needs_mkl
@pytest.mark.parametrize("name", ["avx512", "portable"])
def test_every_way_in_pins_before_torch_loads(name, tmp_path):
    """The console script, `python -m` and an import (a notebook) all compute with the branch."""
    want = arithmetic.ARITHMETICS[name].mkl_cbwr
    if want != "COMPATIBLE" and not INTEL_AVX512:
        pytest.skip(f"MKL runs the {want} branch only on Intel CPUs with AVX-512")
    env = arithmetic.child_environment(name)
    script = Path(sys.executable).with_name("grokking-tickets")
    for cmd in ([str(script)], [sys.executable, "-m", "grokking_tickets"]):
        r = subprocess.run([*cmd, "arithmetic", "--json"], capture_output=True, text=True, env=env, check=True)
        assert json.loads(r.stdout)["identity"]["mkl_branch"] == want, cmd
    assert _identity_in(name, code="import grokking_tickets")["mkl_branch"] == want
    # a notebook that imported torch first: MKL's branch is still set at its first call
    assert _identity_in(name, code="import torch\nimport grokking_tickets")["mkl_branch"] == want


@needs_mkl
def test_too_late_to_pin_is_said_and_recorded():
    """torch computed before the import: MKL keeps its dispatch, a warning says so, and the
    identity (what runs record) says what really ran."""
    code = "import warnings; warnings.simplefilter('error')\nimport torch; torch.ones(9, 9) @ torch.ones(9, 9)\n"
    with pytest.raises(subprocess.CalledProcessError) as e:
        _identity_in("avx512", code=code + "import grokking_tickets")
    assert "import grokking_tickets before torch" in e.value.stderr
    late = _identity_in("avx512", code=code.replace("warnings.simplefilter('error')", "") + "import grokking_tickets")
    assert late["mkl_branch"].startswith("dispatch (CNR off)")


def test_a_branch_mkl_cannot_run_here_is_recorded_as_its_auto_branch(monkeypatch):
    """MKL runs branches other than AUTO and COMPATIBLE on Intel CPUs only, silently taking AUTO
    elsewhere (its documentation): on an AMD EPYC the record must name AUTO and the CPU."""
    if not HAS_MKL or arithmetic.identity()["mkl_branch"] != "AVX512":
        pytest.skip("needs the AVX512 branch running here")
    amd = {"vendor": "AuthenticAMD", "model": "AMD EPYC 9R14", "flags": arithmetic.cpu()["flags"]}
    monkeypatch.setattr(arithmetic, "cpu", lambda: amd)
    assert arithmetic.mkl_branch().startswith("AUTO=") and arithmetic.mkl_branch().endswith("AuthenticAMD AMD EPYC 9R14")


def test_no_onednn_kernel_runs_in_training():
    """oneDNN picks its kernels by CPU too; none runs in a training step or an evaluation of any
    model (ONEDNN_VERBOSE prints a line per executed primitive), so pinning MKL and ATen suffices."""
    code = """
import grokking_tickets, torch
from grokking_tickets.config import from_dict
from grokking_tickets.models import build_model
from grokking_tickets.tasks import build_dataset
from grokking_tickets.train.population import Member, Population
for d in ({"model": {"name": "mlp", "d_emb": 16, "d_hidden": 8}},
          {"model": {"name": "transformer", "d_model": 16, "d_mlp": 16}},
          {"task": {"name": "parity", "n_features": 8, "parity_k": 2, "n_train": 32, "n_test": 32},
           "model": {"name": "dense-mlp", "widths": [12]}}):
    cfg = from_dict({"task": {"name": "modular", "p": 11}, **d})
    data = build_dataset(cfg.task); model = build_model(cfg.model, data)
    pop = Population(model, data, cfg.optim, [Member(model.init(0), None, 1.0)], cfg.train.loss, "cpu")
    pop.step(); pop.evaluate()
print("trained")
"""
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "trained" in r.stdout
    assert ",exec," not in r.stdout + r.stderr


def test_a_bad_arithmetic_is_one_line_and_exit_2(tmp_path):
    env = {**os.environ, arithmetic.ENV: "fastest"}
    r = subprocess.run([sys.executable, "-m", "grokking_tickets", "train", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "GROKKING_TICKETS_ARITHMETIC must be one of avx512, portable, native" in r.stderr
    assert not list(tmp_path.glob("runs/*"))
