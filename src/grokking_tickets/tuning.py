"""The population size the runner uses on this machine: measured by ``bench --save``, or the
model's own default.

How many runs one population holds (runner.cohort_jobs) changes no number (every member
computes what its run computes alone), only the speed, and the best size depends on the
machine: on the 2-core Intel Xeon the MLP peaked at K = 16, on the 2-core AMD EPYC at K = 4
(docs/performance.md). ``grokking-tickets bench --save`` writes each benched model's best K to
a small file in the user's cache folder, keyed by the machine it was measured on (device, CPU
model, torch threads, torch version); :func:`best_k` reads it back for the same machine and
says nothing for any other, where the model's ``cpu_max_members`` (or 1,024 on a GPU) stays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .arithmetic import cpu
from .files import atomic_write


def cache_path() -> Path:
    """$XDG_CACHE_HOME/grokking-tickets/population-sizes.json (default ~/.cache/...)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "grokking-tickets" / "population-sizes.json"


def machine(device) -> dict[str, Any]:
    """What a measured population size holds for: the device, this CPU, torch's threads and version."""
    import torch

    dev = torch.device(device)
    gpu = dev.type == "cuda" and torch.cuda.is_available()
    name = torch.cuda.get_device_name(dev) if gpu else f"{cpu()['vendor']} {cpu()['model']}"
    return {"device": dev.type, "name": name, "threads": torch.get_num_threads(), "torch": torch.__version__}


def save(device, best: dict[str, int]) -> Path:
    """Record ``best`` (model name -> best K) measured here on ``device``; other machines' entries stay."""
    path, here = cache_path(), machine(device)
    entries = [e for e in _entries(path) if e.get("machine") != here]
    entries.append({"machine": here, "best_K": dict(best)})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(entries, indent=2)))
    return path


def best_k(model: str, device) -> int | None:
    """The best K ``bench --save`` measured for ``model`` on this very machine, or None."""
    here = machine(device)
    for e in _entries(cache_path()):
        if e.get("machine") == here and isinstance(e.get("best_K", {}).get(model), int) and e["best_K"][model] >= 1:
            return e["best_K"][model]
    return None


def _entries(path: Path) -> list[dict[str, Any]]:
    """The file's entries; an unreadable or foreign file counts as none (it is only a speed hint)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
