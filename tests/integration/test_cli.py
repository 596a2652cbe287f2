import subprocess
import sys

import pytest


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "grokking_tickets", *args], capture_output=True, text=True, check=False, **kw)


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--set", "task.p=1"], "task.p must be at least 2"),
        (["train", "--set", "train.stepz=5"], "did you mean 'train.steps'"),
        (["train", "--set", "optim.lr=fast"], "optim.lr must be of type float"),
        (["train", "--preset", "nope"], "valid presets: dense-mlp-mnist, mlp-modadd"),
        (["train", "--config", "/nonexistent/c.toml"], "does not exist"),
        (["train", "--seeds", "x"], "--seeds expects"),
        (["train", "--device", "tpu"], "--device must be auto, cpu or cuda"),
        (["frobnicate"], "invalid choice"),
        # cross-section combinations
        (["train", "--set", "task.name=mnist", "--set", "model.name=mlp"], "models for mnist: dense-mlp, mnist-mlp"),
        (["train", "--set", "model.name=mnist-mlp"], "models for modular: mlp, transformer"),
        (["train", "--seeds", "0-100000"], "asks for 100,001 seeds"),
        (["reproduce", "--seeds", "0-5000"], "needs --max-seeds 5001"),
        (["run", "tickets", "--set", "ticket.step=50000"], "never saves: it trains train.steps=30,000"),
        (["run", "tickets", "--set", "ticket.step=2500"], "dense weights at step 2,500"),
        (["run", "tickets", "--set", "ticket.rewind_step=500"], "(ticket.rewind_step=500)"),
        (["run", "ticket-timeline", "--set", "train.steps=20000"], "arm 'ticket@28000'"),
        (["run", "ticket-timeline", "--set", "ticket.rewind_step=500"], "ticket@2000' of ticket-timeline (ticket.rewind_step=500)"),
        (["run", "norm-control", "--set", "train.steps=20000"], "(ticket.step=30000)"),
        (["reproduce", "--mnist-dir", "/nonexistent"], "MNIST directory /nonexistent does not exist"),
        (["train", "--set", "task.train_frac=0.01", "--set", "task.p=5"], "leaves an empty train or test set"),
        (["run", "tickets", "--scale", "huge"], "--scale must be one of"),
        (["run", "nope"], "valid experiments: tickets"),
        (["run", "tickets", "--max-members", "0"], "--max-members must be at least 1; got 0"),
        (["reproduce", "--max-members", "-3"], "--max-members must be at least 1; got -3"),
        (["run", "tickets", "--executor", "processes", "--workers", "0"], "--workers must be at least 1; got 0"),
        (["run", "tickets", "--workers", "2"], "--workers is for --executor processes"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, tmp_path, capsys):
    """Each refused before any training: one line, exit code 2, no traceback, no run trained.
    In this process (cli.main, what the entry point calls): a subprocess per case would spend
    its seconds importing torch; the entry point itself is tested below."""
    from grokking_tickets import cli

    argv = [*args, "--out", str(tmp_path)] if args[0] in ("train", "run", "reproduce") else list(args)
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's own errors (an unknown command) exit from parse_args
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert message in lines[-1]
    assert "Traceback" not in err
    if args[0] in ("train", "run", "reproduce"):
        assert len(lines) == 1
        assert not list(tmp_path.glob("runs/*")), "a run was started"


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--set", "task.p=1", "--out"], "task.p must be at least 2"),  # a configuration error
        (["frobnicate"], "invalid choice"),  # argparse's
        (["run", "tickets", "--set", "ticket.step=2500", "--out"], "dense weights at step 2,500"),  # an experiment's check
    ],
)
def test_bad_input_at_the_entry_point_is_one_line_exit_2(args, message, tmp_path):
    """The same through `python -m grokking_tickets`, as a user meets it."""
    r = run_cli(*args, str(tmp_path)) if args[-1] == "--out" else run_cli(*args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr.strip().splitlines()[-1] and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("runs/*")), "a run was started"


def test_many_seeds_are_allowed_when_asked_for():
    from grokking_tickets.config import parse_seeds

    assert len(parse_seeds("0-1999", max_seeds=2000)) == 2000
    assert parse_seeds("3,5-7") == [3, 5, 6, 7]


def test_module_and_presets_command():
    r = run_cli("presets")
    assert r.returncode == 0 and "mlp-modadd" in r.stdout


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("train", "--out", str(blocker / "out"), "--set", "train.steps=10")
    assert r.returncode == 2 and "cannot create output folder" in r.stderr and "Traceback" not in r.stderr


def test_full_disk_is_one_line_and_keeps_finished_runs(tmp_path, monkeypatch, capsys):
    import errno

    from grokking_tickets import cli, store

    def args(seed):
        sets = ["task.p=11", "model.d_emb=8", "model.d_hidden=4", "train.steps=40", "train.eval_every=10",
                "train.checkpoint_every=20"]  # fmt: skip
        return ["train", "--out", str(tmp_path), "--no-progress", "--seeds", seed, *(x for s in sets for x in ("--set", s))]

    assert cli.main(args("0")) == 0
    finished = sorted(p.name for p in (tmp_path / "runs").iterdir())

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "save_file", full)
    assert cli.main(args("1")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    monkeypatch.undo()
    assert all((tmp_path / "runs" / r / "done.json").exists() for r in finished)  # nothing finished is lost


def test_version_and_a_help_that_says_what_the_tool_is():
    from grokking_tickets import __version__

    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"grokking-tickets {__version__}"
    r = run_cli("--help")
    text = " ".join(r.stdout.split())  # argparse wraps at the terminal's width
    assert r.returncode == 0 and "find grokking tickets" in text and "(arXiv 2310.19470)" in text
    assert "arithmetic" in text  # every command is listed
