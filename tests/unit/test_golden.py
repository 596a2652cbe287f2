"""The golden trajectories (golden.py): short runs of every paper model, whose SHA-256 is
committed per arithmetic, give those bits here. Each arithmetic is checked in a fresh process
(its code paths are fixed before torch loads). A machine that cannot give an arithmetic's bits
(another torch, MKL's branch not runnable on this CPU) skips it saying which setting differs;
the same settings with other bits fail in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grokking_tickets import arithmetic, golden


@pytest.mark.parametrize("name", sorted(golden.fixture()))
def test_golden_digests_hold_under_each_arithmetic(name):
    r = subprocess.run([sys.executable, "-m", "grokking_tickets", "arithmetic", "--check", "--json"],
                       capture_output=True, text=True, env=arithmetic.child_environment(name), check=False)  # fmt: skip
    assert r.returncode in (0, 1), r.stderr.strip().splitlines()[-1:]
    g = json.loads(r.stdout)["golden"]
    if g["status"] == "cannot check":
        pytest.skip(g["reason"])
    skipped = {m: st for m, st in g["models"].items() if st.startswith("skipped")}
    assert g["status"] == "ok", g["reason"]
    assert len(skipped) < len(g["models"]), skipped  # at least one model was compared


def test_the_fixture_covers_every_paper_model_and_both_pinned_arithmetics():
    data = golden.fixture()
    assert set(data) == {"avx512", "portable"}
    for entry in data.values():
        assert set(entry["digests"]) == set(golden.CASES) == {"mlp", "transformer", "mnist-mlp"}
        assert entry["identity"]["threads"] == golden.THREADS and entry["identity"]["denormals"] == "flush"


def test_a_changed_number_is_reported_in_one_line(monkeypatch):
    """Same arithmetic, other bits: 'differs' naming the model, not a tensor dump."""
    name = arithmetic.chosen().name
    if name not in golden.fixture():
        pytest.skip(f"no golden digests for {name}")
    entry = golden.fixture()[name]
    fake = {**entry, "digests": {**entry["digests"], "mlp": "0" * 64}}
    monkeypatch.setattr(golden, "fixture", lambda: {name: fake})
    monkeypatch.setattr(golden, "compute", lambda: {"identity": entry["identity"], "digests": entry["digests"]})
    g = golden.check()
    assert g["status"] == "differs" and g["models"]["mlp"] == "differs" and "\n" not in g["reason"]
    assert "mlp gave other bits" in g["reason"]
