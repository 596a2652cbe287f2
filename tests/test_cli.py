import subprocess
import sys

import pytest


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "grokking_tickets", *args], capture_output=True, text=True, **kw)


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--set", "task.p=1"], "task.p must be at least 2"),
        (["train", "--set", "train.stepz=5"], "did you mean 'train.steps'"),
        (["train", "--set", "optim.lr=fast"], "optim.lr must be of type float"),
        (["train", "--preset", "nope"], "valid presets: mlp-modadd"),
        (["train", "--config", "/nonexistent/c.toml"], "does not exist"),
        (["train", "--seeds", "x"], "--seeds expects"),
        (["train", "--device", "tpu"], "--device must be auto, cpu or cuda"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    r = run_cli(*args, "--out", str(tmp_path)) if args[0] == "train" else run_cli(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert message in lines[-1]
    assert "Traceback" not in r.stderr
    if args[0] == "train":
        assert len(lines) == 1


def test_module_and_presets_command():
    r = run_cli("presets")
    assert r.returncode == 0 and "mlp-modadd" in r.stdout
