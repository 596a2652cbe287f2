"""The run store: everything a command writes under ``--out DIR``.

    DIR/
      summary.csv                one row per (experiment, arm, run)    (both built from the runs
      metrics.parquet            long format: one row per run per step  by analysis/tables.py)
      experiments/NAME.json      which runs make up each arm of an experiment
      runs/RUN_ID/
        spec.json                the resolved RunSpec (defaults included)
        theta0.safetensors       initial weights, as trained (masked and scaled)
        mask.safetensors         the mask, for masked runs
        weights/step-NNNNNNN.safetensors   weights every train.checkpoint_every steps and at the end
        state.safetensors        resume point: weights, Adam moments, Grokfast filter state, metrics so far
        state.prev.safetensors   the resume point before it (a fallback if the last is corrupt)
        metrics.parquet          this run's metrics, written when it finishes
        done.json                present once the run has finished

Every file is written to a temporary name in the same folder and renamed into place, so a
crash leaves either the old file or the new one, never half of one. Tensor files carry the
sha256 of their contents; a file that does not load or does not match is reported and not
trusted. The store keeps runs and reads nothing into their numbers: what they mean (grokking
times, the tables) is computed in analysis/.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from filelock import FileLock
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .arithmetic import key as arithmetic_key
from .errors import UserError
from .files import atomic_write
from .spec import RunSpec


def file_lock(lock_dir: Path, name: str) -> FileLock:
    """An inter-process lock (``lock_dir/.locks/name.lock``): several commands may share one store
    (two terminals, Ray, a shared file system); every read-modify-write of a shared file and
    every run being trained holds one. Not reentrant: take each once per process."""
    d = lock_dir / ".locks"
    d.mkdir(parents=True, exist_ok=True)
    return FileLock(str(d / f"{name}.lock"))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        h.update(k.encode())
        h.update(tensors[k].contiguous().view(torch.uint8).numpy().tobytes() if tensors[k].numel() else b"")
    return h.hexdigest()


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str] | None = None) -> None:
    """safetensors with the sha256 of its contents in the metadata, written atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = {**(meta or {}), "sha256": _digest(tensors)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata). A truncated, corrupt or altered file raises UserError, naming it:
    safetensors checks the layout, the stored sha256 checks every byte of the contents."""
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"{path} is corrupt or unreadable ({e})") from None
    if "sha256" in meta and _digest(tensors) != meta["sha256"]:
        raise UserError(f"{path} is corrupt: its contents do not match the checksum written with it")
    return tensors, meta


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    return read_tensors(path)[0]


# The marker of a published folder (publish.py): a store's evidence without weights.
PUBLISHED = "PUBLISHED.json"


class Store:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        try:
            (self.root / "runs").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create output folder {str(self.root)!r}: {e.strerror}") from None

    # -- paths -----------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def weights_path(self, run_id: str, step: int) -> Path:
        return self.run_dir(run_id) / "weights" / f"step-{step:07d}.safetensors"

    # -- runs ------------------------------------------------------------------------------------

    def run_lock(self, run_id: str) -> FileLock:
        """Held by the process training ``run_id``: no other process trains it meanwhile."""
        return file_lock(self.root, f"run-{run_id}")

    @property
    def published(self) -> bool:
        """A published folder (publish.py): metrics and specs only, no weights."""
        return (self.root / PUBLISHED).exists()

    def is_done(self, run_id: str) -> bool:
        return (self.run_dir(run_id) / "done.json").exists()

    def begin(
        self,
        spec: RunSpec,
        theta0: dict[str, torch.Tensor],
        mask: dict[str, torch.Tensor] | None,
        arithmetic: dict[str, Any] | None = None,
    ) -> None:
        """A new run: its spec (with the arithmetic identity of the process starting it), θ0, mask."""
        d = self.run_dir(spec.run_id)
        write_json(d / "spec.json", {"run_id": spec.run_id, **spec.to_dict(), "arithmetic": arithmetic})
        save_tensors(d / "theta0.safetensors", theta0)
        if mask is not None:
            save_tensors(d / "mask.safetensors", {k: v.to(torch.uint8) for k, v in mask.items()})

    def spec(self, run_id: str) -> RunSpec:
        d = json.loads((self.run_dir(run_id) / "spec.json").read_text())
        d.pop("run_id", None)
        d.pop("arithmetic", None)
        return RunSpec.from_dict(d)

    def theta0(self, run_id: str) -> dict[str, torch.Tensor]:
        return load_tensors(self.run_dir(run_id) / "theta0.safetensors")

    def mask(self, run_id: str) -> dict[str, torch.Tensor] | None:
        path = self.run_dir(run_id) / "mask.safetensors"
        return {k: v.bool() for k, v in load_tensors(path).items()} if path.exists() else None

    def save_weights(self, run_id: str, step: int, weights: dict[str, torch.Tensor]) -> None:
        save_tensors(self.weights_path(run_id, step), weights)

    def weight_steps(self, run_id: str) -> list[int]:
        """Steps at which this run's weights were saved (0 = θ0), ascending."""
        saved = [int(p.stem.split("-")[1]) for p in (self.run_dir(run_id) / "weights").glob("step-*.safetensors")]
        return sorted({0, *saved})

    def weights(self, run_id: str, step: int) -> dict[str, torch.Tensor]:
        path = self.weights_path(run_id, step)
        if step == 0 and not path.exists():
            return self.theta0(run_id)
        if not path.exists():
            raise UserError(f"run {run_id} has no weights at step {step}; saved steps: {self.weight_steps(run_id)}")
        return load_tensors(path)

    def save_state(self, run_id: str, step: int, state: dict[str, torch.Tensor], metrics: torch.Tensor) -> None:
        """metrics: [rows, 1 + n_metrics] float64, first column the step.

        The previous resume point is kept as state.prev.safetensors, so that a resume point
        found corrupt later still leaves a good one to restart from.
        """
        d = self.run_dir(run_id)
        if (d / "state.safetensors").exists():
            os.replace(d / "state.safetensors", d / "state.prev.safetensors")
        save_tensors(d / "state.safetensors", {**state, "metrics": metrics}, {"step": str(step)})

    def load_state(self, run_id: str) -> tuple[int, dict[str, torch.Tensor], torch.Tensor] | None:
        """(step, state, metrics) of the last good resume point, or None to start from scratch."""
        for name in ("state.safetensors", "state.prev.safetensors"):
            path = self.run_dir(run_id) / name
            if not path.exists():
                continue
            try:
                state, meta = read_tensors(path)
                step = int(meta["step"])
            except (UserError, KeyError, ValueError) as e:
                warnings.warn(f"run {run_id}: resume point {name} is unreadable ({e}); not trusting it", stacklevel=2)
                continue
            return step, state, state.pop("metrics")
        return None

    def finish(
        self,
        run_id: str,
        metrics: pd.DataFrame,
        density: float,
        status: str = "ok",
        arithmetic: dict[str, Any] | None = None,
        stopped_at: int | None = None,
    ) -> None:
        """metrics: one row per evaluated step; ``step`` (int64) first, then the metrics (float64).
        ``arithmetic``: the identity of the process finishing the run; where the process that began
        it recorded another (a run resumed on another machine or setting), done.json keeps both.
        ``stopped_at``: the step its stop rule ended it at (``train.stop_margin``), before its budget."""
        done: dict[str, Any] = {"density": density, "status": status, "arithmetic": arithmetic}
        if stopped_at is not None:
            done["stopped_at"] = stopped_at
        began = json.loads((self.run_dir(run_id) / "spec.json").read_text()).get("arithmetic")
        if began and arithmetic and arithmetic_key(began) != arithmetic_key(arithmetic):
            done["arithmetic_began"] = began
        atomic_write(self.run_dir(run_id) / "metrics.parquet", lambda tmp: metrics.to_parquet(tmp, index=False))
        write_json(self.run_dir(run_id) / "done.json", done)
        for name in ("state.safetensors", "state.prev.safetensors"):
            (self.run_dir(run_id) / name).unlink(missing_ok=True)

    def last_step(self, spec: RunSpec) -> int:
        """The last step of a finished run: its budget, or the step its stop rule ended it at."""
        if not spec.train.stop_margin:
            return spec.train.steps
        done = json.loads((self.run_dir(spec.run_id) / "done.json").read_text())
        return int(done.get("stopped_at", spec.train.steps))

    def run_metrics(self, run_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.run_dir(run_id) / "metrics.parquet")

    # -- experiments -----------------------------------------------------------------------------

    def register(self, experiment: str, rows: list[dict[str, Any]], one_per_seed: bool = False) -> None:
        """Record which runs make up an experiment: rows of {arm, run_id, seed}. Runs accumulate
        (``train``: a sweep of settings keeps every run); with ``one_per_seed`` (experiments) an
        arm has one run per seed, the one registered last: a run whose settings, so id, changed
        since an earlier command replaces the earlier one in the experiment (its files stay in the
        store), so that an experiment never counts one seed of an arm twice."""
        path = self.root / "experiments" / f"{experiment}.json"
        with file_lock(self.root, f"experiments-{experiment}"):
            old = json.loads(path.read_text()) if path.exists() else []
            key = (lambda r: (r["arm"], int(r["seed"]))) if one_per_seed else (lambda r: (r["arm"], r["run_id"]))
            keep = {key(r): r for r in old + rows}
            write_json(path, sorted(keep.values(), key=lambda r: (r["arm"], r["seed"], r["run_id"])))

    def members(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted((self.root / "experiments").glob("*.json")):
            out += [{"experiment": path.stem, **r} for r in json.loads(path.read_text())]
        return out
