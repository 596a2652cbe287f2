"""`grokking-tickets publish STORE DEST`: a run store's evidence without its weights.

What a reader needs to re-judge every claim without training, small enough to commit: the
claims table (claims.json), summary.csv, which runs make up each arm (experiments/*.json),
every registered run's spec.json, done.json and metrics.parquet, the figures and, where the
store has one, the sensitivity grid. No weights, θ0, masks or resume states. ``report DEST``
rebuilds the report from it and ``sensitivity --no-train --out DEST`` re-judges every claim of
every experiment from its metrics. The analyses that read weights (C10, S1, S2, P1) cannot run
on it: their claims.json rows and figures are kept as published, and the report says so.

A published folder carries :data:`~grokking_tickets.store.PUBLISHED` with where it came from,
the arithmetics that trained its runs, and the sha256 of every file, so ``publish --check DEST``
(and a test) can tell that nothing in it changed since.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from .analysis.tables import build_tables
from .errors import UserError
from .files import atomic_write
from .store import PUBLISHED, Store, write_json

RUN_FILES = ("spec.json", "done.json", "metrics.parquet")
ROOT_FILES = ("claims.json", "sensitivity.json")  # copied; summary.csv is built from the runs published
FOLDERS = ("experiments", "figures")  # copied whole (JSON, PNG)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(source: str | Path, dest: str | Path, experiments: list[str] | None = None) -> dict[str, Any]:
    """Copy the evidence of the store at ``source`` into ``dest`` (created, or replaced if it is
    an earlier published folder); returns the marker written there. ``experiments`` (default:
    every one the store files) leaves the others out, with their runs, summary rows and figures:
    an experiment still training has registered its first stage's runs and must not be
    published half done. claims.json is copied whole (an unjudged experiment has no rows)."""
    src, out = Path(source), Path(dest)
    if not (src / "claims.json").exists() or not (src / "runs").is_dir():
        raise UserError(f"{src} is not a run store with judged claims (no claims.json); run an experiment there first")
    if (src / PUBLISHED).exists():
        raise UserError(f"{src} is itself a published folder; publish the store it came from")
    if out.exists() and any(out.iterdir()) and not (out / PUBLISHED).exists():
        raise UserError(f"{out} exists and is not a published folder; give a new or empty folder")
    if out.resolve() == src.resolve():
        raise UserError("the destination is the store itself")
    store = Store(src)
    members = store.members()
    filed = {m["experiment"] for m in members}
    if experiments is not None:
        unknown = sorted(set(experiments) - filed)
        if unknown:
            raise UserError(f"{src} files no experiment {', '.join(unknown)}; it files: {', '.join(sorted(filed))}")
        members = [m for m in members if m["experiment"] in experiments]
    left_out = filed - {m["experiment"] for m in members}
    runs = sorted({m["run_id"] for m in members if store.is_done(m["run_id"])})
    if not runs:
        raise UserError(f"{src} has no finished run registered in an experiment")
    if out.exists():  # an earlier publication: replaced whole, so no run it held lingers
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ROOT_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, out / name)
    for folder in FOLDERS:
        if (src / folder).is_dir():  # what an experiment left out wrote: its registration, its figure
            shutil.copytree(src / folder, out / folder, ignore=lambda _, names: [n for n in names if Path(n).stem in left_out])
    # summary.csv from the runs it publishes, as `report` rebuilds it there: the store's own can
    # predate its last runs (a sensitivity variant's training does not rewrite it)
    summary, _ = build_tables(store, experiments={m["experiment"] for m in members})
    atomic_write(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    arithmetics = {}
    for rid in runs:
        (out / "runs" / rid).mkdir(parents=True)
        for name in RUN_FILES:
            shutil.copy2(store.run_dir(rid) / name, out / "runs" / rid / name)
        done = json.loads((store.run_dir(rid) / "done.json").read_text())
        ident = done.get("arithmetic")
        if ident:
            arithmetics[json.dumps(ident, sort_keys=True)] = ident
    files = {rel: _sha256(p) for p in sorted(out.rglob("*")) if p.is_file() and not _rebuilt(rel := str(p.relative_to(out)))}
    marker = {
        "published from": str(src),
        "runs": len(runs),
        "experiments": sorted({m["experiment"] for m in members}),
        "arithmetics": list(arithmetics.values()),
        "files": files,
    }
    write_json(out / PUBLISHED, marker)
    return marker


def check(dest: str | Path) -> list[str]:
    """The files of a published folder that changed, appeared or went missing since it was
    published (new files that `report` writes, :data:`REBUILT`, excepted)."""
    out = Path(dest)
    path = out / PUBLISHED
    if not path.exists():
        raise UserError(f"{out} is not a published folder (no {PUBLISHED})")
    files = json.loads(path.read_text())["files"]
    problems = [f"missing: {f}" for f in files if not (out / f).exists()]
    problems += [f"changed: {f}" for f, h in files.items() if (out / f).exists() and _sha256(out / f) != h]
    present = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    problems += [f"not published: {f}" for f in sorted(present - set(files) - {PUBLISHED}) if not _rebuilt(f)]
    return problems


# What `report` adds to a folder it reads (the long metrics table, the report, its locks, the
# figures the analyses draw from the tables alone): not evidence, and not in the manifest. The
# files it rewrites (summary.csv, claims.json) must come out as published.
REBUILT = ("metrics.parquet", "report.md", "report.html")


def _rebuilt(rel: str) -> bool:
    return rel in REBUILT or rel in _redrawn() or rel.startswith(".locks/")


@functools.cache
def _redrawn() -> frozenset[str]:
    """The figures of the analyses that read the tables alone (`report` redraws them on a published folder)."""
    from .analysis.registry import registered

    return frozenset(f"figures/{f}.png" for _, a in registered().items() if not a.reads_weights for f in a.figures)
