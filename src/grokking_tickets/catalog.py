"""What the registries hold, with a line on each: ``grokking-tickets list``, and the names the
README must document (tests/unit/test_docs.py)."""

from __future__ import annotations

import sys
from importlib import resources

from .analysis.registry import registered
from .config import preset_names
from .executors import EXECUTORS
from .experiments import EXPERIMENTS
from .experiments.sensitivity import VARIANTS
from .models import MODELS
from .pruning import SCORERS
from .tasks import TASKS


def _first_sentence(text: str, width: int = 90) -> str:
    """The first paragraph of ``text`` on one line, cut at a word to ``width`` characters."""
    para = " ".join(text.strip().split("\n\n")[0].split())
    return para if len(para) <= width else para[: para.rfind(" ", 0, width - 1)].rstrip(",;:") + " …"


def _summary(entry) -> str:
    """The first sentence of an entry's own docstring, else of its module's."""
    doc = entry.__doc__ if isinstance(entry, type) and "__doc__" in vars(entry) else None
    return _first_sentence(doc or sys.modules[entry.__module__].__doc__ or "")


def _preset_summary(name: str) -> str:
    """The first sentence of a preset's leading comment."""
    text = (resources.files("grokking_tickets") / "presets" / f"{name}.toml").read_text()
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# "))
    return _first_sentence("\n".join(lines))


def catalog() -> dict[str, dict[str, str]]:
    """kind -> {name: one-line description}, each kind in registration order."""
    return {
        "tasks (task.name)": {n: _summary(t) for n, t in TASKS.items()},
        "models (model.name)": {n: _summary(m) for n, m in MODELS.items()},
        "pruning methods (pai arms, ticket masks)": {n: _summary(s) for n, s in SCORERS.items()},
        "experiments (run NAME)": {n: e.description for n, e in EXPERIMENTS.items()},
        "analyses (of a store; reproduce and report run them)": {
            n: _first_sentence(sys.modules[a.run.__module__].__doc__ or "") for n, a in registered().items()
        },
        "sensitivity variants (sensitivity --variants)": {n: v.about for n, v in VARIANTS.items()},
        "executors (--executor)": {n: _summary(e) for n, e in EXECUTORS.items()},
        "presets (--preset)": {n: _preset_summary(n) for n in preset_names()},
    }
