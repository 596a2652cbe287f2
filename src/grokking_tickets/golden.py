"""Golden trajectories: the SHA-256 of short runs of each paper model, committed per arithmetic.

A golden run is two seeds of a preset trained as one population by the real runner into a
throwaway store, for a few hundred steps, with 2 threads and denormals flushed (the CLI's
default), so that its bits depend on the arithmetic alone, not on the machine's core count. Its
digest covers every final weight and every metric the store recorded. ``golden.json`` holds,
per arithmetic (arithmetic.ARITHMETICS), the identity it was made under and the digests.

:func:`check` compares this process's run with the fixture of the arithmetic it runs: 'ok',
'differs' (the same arithmetic gave other bits: the code's numbers changed), or 'cannot check'
with the settings that differ (another torch, a CPU on which MKL cannot run the branch), never
a tensor dump. ``grokking-tickets arithmetic --check`` prints it; the test suite asserts it.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import torch

from .arithmetic import chosen, denormals, differences, identity
from .config import apply_overrides, load_preset
from .errors import UserError
from .runner import train_runs
from .spec import RunSpec
from .store import Store, write_json
from .tasks.mnist_data import find_mnist_file

FIXTURE = Path(__file__).with_name("golden.json")
THREADS = 2
SEEDS = (0, 1)
# model -> (preset, steps): a few seconds each, long enough for every step kind (Adam's bias
# correction, evaluation, a checkpoint) and for last-bit differences to show in the weights
CASES = {
    "mlp": ("mlp-modadd", 300),
    "transformer": ("transformer-modadd", 200),
    "mnist-mlp": ("mnist-mlp", 100),
}


def _specs(preset: str, steps: int) -> list[RunSpec]:
    cfg = apply_overrides(
        load_preset(preset), [f"train.steps={steps}", f"train.eval_every={steps // 2}", f"train.checkpoint_every={steps}"]
    )
    return [RunSpec.dense(cfg, s) for s in SEEDS]


def digest(model: str) -> str:
    """Train the golden case of ``model`` here and return the SHA-256 of its weights and metrics."""
    preset, steps = CASES[model]
    specs = _specs(preset, steps)
    h = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        train_runs(specs, store, torch.device("cpu"), progress=False)
        for s in specs:
            for name, w in sorted(store.weights(s.run_id, steps).items()):
                h.update(name.encode())
                h.update(w.contiguous().view(torch.uint8).numpy().tobytes())
            h.update(store.run_metrics(s.run_id).to_numpy(dtype="float64").tobytes())
    return h.hexdigest()


def available(model: str) -> str | None:
    """Why the golden case of ``model`` cannot run here, or None."""
    if CASES[model][0].startswith("mnist") and find_mnist_file() is None:
        return "the MNIST data file is not installed (make setup)"
    return None


def compute() -> dict[str, Any]:
    """This process's identity and digests, under the golden conditions (2 threads, flush)."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with denormals(keep=False):
            ident = identity("cpu")
            return {"identity": ident, "digests": {m: digest(m) for m in CASES if available(m) is None}}
    finally:
        torch.set_num_threads(before)


def fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}


def check() -> dict[str, Any]:
    """{'arithmetic', 'status': ok | differs | cannot check, 'reason', 'models': {model: status}}."""
    name = chosen().name
    expected = fixture().get(name)
    if expected is None:
        return {"arithmetic": name, "status": "cannot check", "reason": f"golden.json has no digests for {name}"}
    run = compute()
    diff = differences(expected["identity"], run["identity"])
    if diff:
        return {"arithmetic": name, "status": "cannot check",
                "reason": f"the {name} digests were made under other settings: " + "; ".join(diff)}  # fmt: skip
    got = run["digests"]
    models = {}
    for m, want in expected["digests"].items():
        models[m] = f"skipped: {available(m)}" if m not in got else "ok" if got[m] == want else "differs"
    bad = [m for m, st in models.items() if st == "differs"]
    status = "differs" if bad else "ok"
    reason = (
        f"under the same arithmetic ({name}), {', '.join(bad)} gave other bits than golden.json: the code's numbers "
        "changed (if that is intended and shown right, regenerate: grokking-tickets arithmetic --write-golden)"
        if bad else ""
    )  # fmt: skip
    return {"arithmetic": name, "status": status, "reason": reason, "models": models}


def write() -> dict[str, Any]:
    """Recompute this arithmetic's entry of golden.json (every case must be able to run)."""
    missing = {m: why for m in CASES if (why := available(m))}
    if missing:
        raise UserError(f"cannot write golden digests without every case: {missing}")
    entry = compute()
    data = fixture()
    data[chosen().name] = entry
    write_json(FIXTURE, data)
    return entry
