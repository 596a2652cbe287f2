"""Progress in logs: a few plain lines, never a flood of bar refreshes."""

import io
import os
import subprocess
import sys

from grokking_tickets.progress import PlainProgress, duration


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_plain_progress_writes_a_line_per_tenth_or_interval_not_per_update():
    out, clock = io.StringIO(), _Clock()
    bar = PlainProgress(30000, desc="3 runs", every_s=30, stream=out, clock=clock)
    for _ in range(300):  # 300 updates of 100 steps, 0.1 s apart: 30 s in all
        clock.t += 0.1
        bar.update(100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10  # one per tenth (the 30 s interval is reached only at the end)
    assert lines[0] == "3 runs: 3,000/30,000 steps (10%), 1,000 steps/s, ETA 27 s"
    assert lines[-1].startswith("3 runs: 30,000/30,000 steps (100%)") and "done in 30 s" in lines[-1]


def test_plain_progress_writes_at_the_interval_when_tenths_are_slow():
    out, clock = io.StringIO(), _Clock()
    bar = PlainProgress(1000, stream=out, every_s=30, clock=clock)
    for _ in range(9):
        clock.t += 20
        bar.update(1)  # 9 steps in 180 s: never a tenth, so every 30 s (here every other update)
    assert len(out.getvalue().splitlines()) == 4


def test_duration():
    assert (duration(42), duration(210), duration(7200)) == ("42 s", "3.5 min", "2.0 h")


def test_a_run_written_to_a_pipe_logs_a_few_lines(tmp_path):
    """The whole command's stderr through a pipe: no carriage returns, a handful of lines."""
    sets = ["task.p=11", "model.d_emb=8", "model.d_hidden=4", "train.steps=2000", "train.eval_every=10",
            "train.checkpoint_every=100"]  # fmt: skip
    args = [sys.executable, "-m", "grokking_tickets", "train", "--out", str(tmp_path), "--seeds", "0,1"]
    env = {**os.environ, "GROKKING_TICKETS_ARITHMETIC": "avx512"}  # one population (portable trains runs alone)
    argv = args + [x for s in sets for x in ("--set", s)]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("2 runs:")]
    assert 1 <= len(lines) <= 11, r.stderr
