"""The CPU's denormal mode for training commands (arithmetic.py): flushed by default, kept on
request, restored after, and a bad environment value refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from grokking_tickets.arithmetic import ENV, denormals

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
