"""A positive control from the authors' own code: their MLP base and grokking ticket (claim C1) on this CPU.

Runs gouki510/Grokking-Tickets (the paper's code) unmodified, at a pinned commit, from a local copy
of it that this script never copies into this repository: their ``train.py`` trains the MLP base on
modular addition, their ``prune.py`` prunes its final weights by global magnitude to density 0.4
(their ``sparsity`` is the fraction KEPT: rate 0.6), rewinds the survivors to the base's θ0 and
retrains. Both are run as programs (``runpy.run_path(..., run_name="__main__")`` with their own
command-line flags) under run-time patches that leave their files as committed:

- CUDA -> CPU: ``Tensor.to`` / ``Module.to`` map a "cuda" device to "cpu", ``.cuda()`` is the identity;
- ``wandb`` is a fake module that records every ``wandb.log`` (test accuracy per step is read from it);
- the figures they log to wandb every 2,000 steps (``utils.visualize_weight_distribution``,
  ``visualize_weight``, ``visualize_embedding``) are no-ops: they draw only, and need seaborn and
  scikit-learn, which this environment lacks;
- modules they import but the MLP run never uses and this environment lacks (seaborn, plotly,
  scikit-learn, torchvision) are empty stubs; ``torcheval`` (their accuracy) is the real package
  when importable (``--deps``), else a stub computing the same micro top-1 accuracy, and the output says which;
- their config classes are instantiated as committed and then the fields named in the output are
  overridden (the pruning config's defaults describe a transformer: the MLP fields are set to the base's);
- ``torch.manual_seed(seed)`` before each script (their scripts seed only the split, via random.seed).
  tqdm bars are off (TQDM_DISABLE=1). One thread.

t_gen is the first evaluated step with test accuracy >= 0.95. Their loops evaluate every step (the
accuracy logged at step ``epoch`` is after ``epoch`` updates); ours every 100 steps, so theirs is also
given on the every-100-steps grid. "Ours" is read from a run store of the package (default the
published results/paper/summary.csv, experiment "tickets") and from results/c1-regime/c1_regime.csv.

    pip install --no-deps --target /tmp/authors-deps torcheval==0.0.6    # their pinned accuracy
    .venv/bin/python scripts/authors_control.py --repo PATH [--deps /tmp/authors-deps] [--seed 0]

PATH is a git checkout or a git directory of gouki510/Grokking-Tickets holding the pinned commit
(e.g. what the agent tool ``fetch`` returns); the commit is exported with ``git archive`` into a
temporary directory and run there. Writes results/authors-control/authors_control.csv (one row per run and seed),
authors_control.json (commit, settings, patches, timings) and curves.csv (accuracies every 100 steps);
a later call adds its seeds and runs to them, replacing only the rows of the runs it made.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ["TQDM_DISABLE"] = "1"  # read when tqdm is imported
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse
import csv
import importlib
import importlib.machinery
import io
import json
import math
import platform
import runpy
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import types
from pathlib import Path

import torch

torch.set_num_threads(1)

PINNED = "bd705c8c115412db46d9976b9191013027c024be"  # master HEAD of gouki510/Grokking-Tickets
THRESHOLD = 0.95
OUR_EVAL_EVERY = 100
ROOT = Path(__file__).resolve().parents[1]

# The MLP fields of their config/config.py, set in the pruning config (whose defaults are a
# 1-layer transformer with d_model 128) so that prune.py rebuilds and loads the MLP base.
MLP_ARCH = {"model": "mlp", "num_layers": 0, "d_model": 48, "d_emb": 500}

# Bases: overrides of config/config.py (Exp). "committed" is the file as committed (an L1
# experiment: weight_decay 0, lp_alpha 0.003, 10k steps, wandb project "grokking_lp_reg");
# "wd1" is the base prune.py loads (its weight path hard-codes "{1}WD" in the base's run name)
# and the paper's setting: weight decay 1, no L1 term, 30k steps. The int 1 keeps the run name's
# "1WD" (a float would write "1.0WD", which prune.py would not find).
BASES = {
    "committed": {},
    "wd1": {"weight_decay": 1, "lp_alpha": 0, "num_epochs": 30000},
}
# Tickets: (base, overrides of config/config_pruning.py). Both prune the base's final.pth with
# prune.py's defaults (-p 0.4 kept, -e final, -m mag; scope global, reinitialize True).
TICKETS = {
    "committed": ("wd1", dict(MLP_ARCH)),  # retrained as committed: lr 1e-3, weight_decay 0.0, 30k
    "wd1": ("wd1", {**MLP_ARCH, "weight_decay": 1}),  # the same, retrained at weight decay 1
}
LABELS = {
    ("base", "committed"): "theirs: base as committed (config.py: wd 0, L1 3e-3, 10k steps)",
    ("base", "wd1"): "theirs: base at wd 1 (config.py, weight_decay=1, lp_alpha=0, 30k steps)",
    ("ticket", "committed"): "theirs: ticket as committed (config_pruning.py: retrained at wd 0.0)",
    ("ticket", "wd1"): "theirs: ticket retrained at wd 1.0",
}
# Where their setting (the wd1 base and its tickets) differs from our mlp-modadd preset.
DIFFERS = [
    (
        "split: theirs random.seed(seed) + random.shuffle of the a<=b pairs, first int(0.4*2278)=911 train; "
        "ours torch.randperm with split_seed 0 (preset), 911 train: same sizes, different pairs"
    ),
    (
        "init: theirs unseeded in their code (seeded here with torch.manual_seed(seed)), "
        "N(0, 1/fan_in) on each matrix as ours, drawn in another order"
    ),
    (
        "loss: theirs autograd through a float64 log-softmax; ours the same loss with a float32 gradient form "
        "checked against it (train/loss.py); theirs evaluated every step, ours every 100"
    ),
    (
        "arithmetic: theirs here 1 thread with torch's defaults (denormals kept); ours 2 threads with denormals "
        "flushed (docs/arithmetic.md)"
    ),
    "ticket retraining as committed: weight decay 0.0 (ours 1.0); the wd 1.0 row matches ours",
]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def export_commit(repo: Path, commit: str, dest: Path) -> str:
    """Their tree at `commit` into `dest` (git archive: works on a checkout and on a bare git dir)."""
    try:
        full = git(repo, "rev-parse", "--verify", f"{commit}^{{commit}}")
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        sys.exit(f"--repo {repo}: not a git checkout or git dir holding commit {commit} ({e})")
    data = subprocess.run(["git", "-C", str(repo), "archive", full], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return full


# ---------------------------------------------------------------------------------------------
# run-time patches


class FakeWandb(types.ModuleType):
    """Stands in for wandb: keeps the scalars of every wandb.log call, per run."""

    def __init__(self):
        super().__init__("wandb")
        self.__spec__ = importlib.machinery.ModuleSpec("wandb", None)
        self.logs: list[dict] = []
        self.inits: list[dict] = []

    def init(self, **kw):
        self.inits.append({k: v for k, v in kw.items() if k != "config"})
        return self

    def log(self, data, *a, **k):
        row = {}
        for key, v in data.items():
            if isinstance(v, torch.Tensor) and v.numel() == 1:
                row[key] = v.item()
            elif isinstance(v, (int, float)):
                row[key] = v
        if row:
            self.logs.append(row)

    def Image(self, *a, **k):
        return None

    def finish(self, *a, **k):
        pass


class Stub(types.ModuleType):
    """A module whose every attribute is a no-op callable (for imports the MLP run never uses)."""

    def __init__(self, name):
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        self.__path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None


def _micro_accuracy(input, target, num_classes=None, average="micro", **_):
    """torcheval.metrics.functional.multiclass_accuracy(average="micro", k=1): argmax == target."""
    return (input.argmax(dim=1) == target).float().mean()


_CUDA_CALLS = {"n": 0}


def _cpu(a):
    if isinstance(a, str) and a.startswith("cuda"):
        _CUDA_CALLS["n"] += 1
        return "cpu"
    if isinstance(a, torch.device) and a.type == "cuda":
        _CUDA_CALLS["n"] += 1
        return torch.device("cpu")
    return a


def patch_cuda() -> None:
    t_to, m_to = torch.Tensor.to, torch.nn.Module.to

    def tensor_to(self, *a, **k):
        if "device" in k:
            k["device"] = _cpu(k["device"])
        return t_to(self, *(_cpu(x) for x in a), **k)

    def module_to(self, *a, **k):
        if "device" in k:
            k["device"] = _cpu(k["device"])
        return m_to(self, *(_cpu(x) for x in a), **k)

    torch.Tensor.to = tensor_to
    torch.nn.Module.to = module_to
    torch.Tensor.cuda = lambda self, *a, **k: self
    torch.nn.Module.cuda = lambda self, *a, **k: self


def install_modules(deps: str | None) -> dict[str, str]:
    """wandb fake; stubs for what is missing; returns {module: "real x.y" | "stub"}."""
    if deps:
        sys.path.insert(0, deps)
    what = {"wandb": "fake (records wandb.log)"}
    sys.modules["wandb"] = FakeWandb()
    try:
        import torcheval  # noqa: F401
        from torcheval.metrics.functional import multiclass_accuracy  # noqa: F401

        what["torcheval"] = "real " + getattr(importlib.import_module("torcheval"), "__version__", "?")
    except ImportError:
        tm = Stub("torcheval")
        for name in ("torcheval.metrics", "torcheval.metrics.functional"):
            sys.modules[name] = Stub(name)
        sys.modules["torcheval.metrics.functional"].multiclass_accuracy = _micro_accuracy
        sys.modules["torcheval"] = tm
        what["torcheval"] = "stub (argmax == target, micro)"
    groups = {
        "seaborn": [],
        "plotly": ["plotly.express", "plotly.io", "plotly.graph_objects"],
        "sklearn": ["sklearn.manifold"],
        "torchvision": ["torchvision.datasets", "torchvision.transforms"],
    }
    for top, subs in groups.items():
        try:
            for name in [top, *subs]:
                importlib.import_module(name)
            what[top] = "real"
        except ImportError:
            for name in [top, *subs]:
                sys.modules[name] = Stub(name)
            for name in subs:
                setattr(sys.modules[top], name.split(".")[-1], sys.modules[name])
            what[top] = "stub (unused by the MLP run)"
    return what


_ORIGINAL_INIT: dict[str, object] = {}


def set_config(modname: str, overrides: dict) -> None:
    """Their Exp() as committed, then `overrides` (every key must be a field it has)."""
    mod = importlib.import_module(modname)
    orig = _ORIGINAL_INIT.setdefault(modname, mod.Exp.__init__)

    def init(self):
        orig(self)
        for k, v in overrides.items():
            if not hasattr(self, k):
                raise AttributeError(f"{modname}.Exp has no field {k!r}")
            setattr(self, k, v)

    mod.Exp.__init__ = init


def committed_config(modname: str) -> dict:
    mod = importlib.import_module(modname)
    cfg = object.__new__(mod.Exp)
    _ORIGINAL_INIT.setdefault(modname, mod.Exp.__init__)(cfg)
    keep = (
        "lr",
        "weight_decay",
        "p",
        "d_emb",
        "d_model",
        "frac_train",
        "is_symmetric_input",
        "num_epochs",
        "seed",
        "model",
        "num_layers",
        "batch_style",
        "act_type",
        "weight_scale",
        "lp",
        "lp_alpha",
        "pruner",
        "sparsity",
        "schedule",
        "scope",
        "epochs",
        "reinitialize",
        "checkpoint",
        "weight_ratio",
    )
    return {
        k: (getattr(cfg, k) if not isinstance(getattr(cfg, k), Path) else str(getattr(cfg, k)))
        for k in keep
        if hasattr(cfg, k)
    }


# ---------------------------------------------------------------------------------------------


def run_script(src: Path, script: str, argv: list[str], seed: int) -> tuple[list[dict], float]:
    wb = sys.modules["wandb"]
    wb.logs, wb.inits = [], []
    sys.argv = [script, *argv]
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    runpy.run_path(str(src / script), run_name="__main__")
    return [r for r in wb.logs if "epoch" in r and "test_acc" in r], time.perf_counter() - t0


def t_gen(logs: list[dict], every: int = 1) -> int | None:
    for r in logs:
        if r["epoch"] % every == 0 and r["test_acc"] >= THRESHOLD:
            return int(r["epoch"])
    return None


def ours(seed: int, summary: Path) -> list[dict]:
    """Our runs of `seed` (experiment tickets): from a run store's summary.csv and from the committed
    c1-regime data; per arm its t_gen and the test accuracies the file has."""
    import pandas as pd

    def num(v, kind=float):
        return None if v is None or pd.isna(v) else kind(v)

    rows = []
    c1 = ROOT / "results" / "c1-regime" / "c1_regime.csv"
    for path, pick in ((summary, "experiment"), (c1, "variant")):
        if not path.exists():
            continue
        df = pd.read_csv(path)
        g = df[(df[pick] == ("tickets" if pick == "experiment" else "ours")) & (df.seed == seed)]
        got = {r.arm: r for r in g.itertuples()}
        if not {"base", "ticket"} <= set(got):
            continue
        row = {"source": f"ours ({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path})"}
        for arm, r in got.items():
            row[arm] = num(r.t_gen, int)
            row[f"{arm}_max_test_acc"] = num(getattr(r, "max_test_acc", None))
            row[f"{arm}_final_test_acc"] = num(getattr(r, "final_test_acc", None))
        rows.append(row)
    return rows


def _merge(old: list[dict], new: list[dict], key) -> list[dict]:
    """`old` with the rows of `new` in place of those with the same key, the others appended."""
    fresh = {key(r): r for r in new}
    out = [fresh.pop(key(r), r) for r in old]
    return out + [r for r in new if key(r) in fresh]


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_outputs(args, results, curves, settings, committed, modules, commit) -> list[dict]:
    """Writes this invocation's rows into --out, keeping the rows of other seeds and runs there."""
    our_rows = ours(args.seed, args.ours)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = list(results)
    for o in our_rows:
        for arm in ("base", "ticket"):
            rows.append(
                {
                    "source": o["source"],
                    "run": f"{arm}:ours",
                    "arm": arm,
                    "seed": args.seed,
                    "steps": 30000,
                    "eval_every": OUR_EVAL_EVERY,
                    "t_gen": o[arm],
                    "t_gen_every_100": o[arm],
                    "max_test_acc": o[f"{arm}_max_test_acc"],
                    "final_test_acc": o[f"{arm}_final_test_acc"],
                    "weight_decay": 1.0,
                    "commit": "",
                }
            )
    fields = list(results[0])
    key = lambda r: (r["source"], r["arm"], str(r["seed"]))
    path = args.out / "authors_control.csv"
    order = ["base:wd1", "ticket:committed", "ticket:wd1", "base:committed", "base:ours", "ticket:ours"]
    merged = _merge(_read_csv(path), [{f: r.get(f, "") for f in fields} for r in rows], key)
    merged.sort(key=lambda r: (int(r["seed"]), order.index(r["run"]), r["source"]))
    _write_csv(path, merged, fields)
    path = args.out / "curves.csv"
    ran = {(r["run"], str(r["seed"])) for r in results}
    kept = [r for r in _read_csv(path) if (r["run"], r["seed"]) not in ran]
    _write_csv(path, kept + curves, ["run", "seed", "step", "train_acc", "test_acc"])
    path = args.out / "authors_control.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    if old.get("commit", commit) != commit:
        sys.exit(f"{path} holds runs of commit {old['commit']}, not {commit}: use another --out")
    meta = {
        "repository": "https://github.com/gouki510/Grokking-Tickets",
        "commit": commit,
        "pinned": PINNED,
        "seeds": sorted(set(old.get("seeds", [])) | {args.seed}),
        "threshold": THRESHOLD,
        "their_eval_every": 1,
        "our_eval_every": OUR_EVAL_EVERY,
        "committed_configs": committed,
        "runs": {**old.get("runs", {}), **{f"{k}@seed{args.seed}": v for k, v in settings.items()}},
        "modules": modules,
        "patches": __doc__.split("under run-time patches that leave their files as committed:")[1]
        .split("t_gen is")[0]
        .strip(),
        "differs_from_ours": DIFFERS,
        "ours": {**old.get("ours", {}), str(args.seed): our_rows},
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "machine": _cpu_name(),
        "cpus": os.cpu_count(),
        "steps_override": args.steps,
    }
    path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return our_rows


def fmt(t) -> str:
    return "—" if t is None or (isinstance(t, float) and math.isnan(t)) else f"{int(t):,}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True, type=Path, help="git checkout or git dir of gouki510/Grokking-Tickets")
    ap.add_argument("--commit", default=PINNED)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deps", default=None, help="extra sys.path entry for their missing packages (torcheval)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "authors-control")
    ap.add_argument("--ours", type=Path, default=ROOT / "results" / "paper" / "summary.csv")
    ap.add_argument(
        "--runs",
        default="base:wd1,ticket:committed,ticket:wd1,base:committed",
        help="which of base:committed, base:wd1, ticket:committed, ticket:wd1 (a ticket needs its base)",
    )
    ap.add_argument("--steps", type=int, default=None, help="override every run's steps (smoke tests only)")
    ap.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep their checkpoints and the recorded logs here (default: a temp dir)",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: a run whose recorded logs are there with the same overrides is not rerun",
    )
    args = ap.parse_args()
    wanted = [tuple(s.split(":")) for s in args.runs.split(",") if s]
    for kind, name in wanted:
        if (kind, name) not in LABELS:
            ap.error(f"unknown run {kind}:{name}")
    for kind, name in wanted:
        if kind == "ticket" and ("base", TICKETS[name][0]) not in wanted:
            ap.error(f"ticket:{name} needs base:{TICKETS[name][0]}")
    if args.commit != PINNED:
        print(f"NOTE: commit {args.commit} is not the pinned {PINNED}")

    tmp = tempfile.TemporaryDirectory(prefix="authors-control-")
    src = Path(tmp.name) / "src"
    src.mkdir()
    commit = export_commit(args.repo.resolve(), args.commit, src)
    work = (args.keep or Path(tmp.name) / "work").resolve()
    work.mkdir(parents=True, exist_ok=True)
    args.out = args.out.resolve()
    args.ours = args.ours.resolve()
    print(f"their code: gouki510/Grokking-Tickets @ {commit} (exported to {src}); checkpoints in {work}")

    patch_cuda()
    modules = install_modules(args.deps)
    sys.path.insert(0, str(src))
    their_utils = importlib.import_module("utils")
    assert Path(their_utils.__file__).parent == src, their_utils.__file__
    for fn in ("visualize_weight_distribution", "visualize_weight", "visualize_embedding"):
        setattr(their_utils, fn, lambda *a, **k: None)  # figures for wandb only
    cwd = os.getcwd()
    os.chdir(work)
    committed = {m: committed_config(m) for m in ("config.config", "config.config_pruning")}
    steps = {} if args.steps is None else {"num_epochs": args.steps}

    results, curves, settings = [], [], {}
    out = {
        "args": args,
        "results": results,
        "curves": curves,
        "settings": settings,
        "committed": committed,
        "modules": modules,
        "commit": commit,
    }
    for kind, name in wanted:
        seed = args.seed
        if kind == "base":
            over = {**BASES[name], **steps, "root": work / f"base-{name}"}
            set_config("config.config", over)
            script, argv = "train.py", ["-s", str(seed)]
        else:
            base, over = TICKETS[name]
            over = {**over, **steps, "root": work / f"ticket-{name}", "pre_root": work / f"base-{base}"}
            set_config("config.config_pruning", over)
            script, argv = "prune.py", ["-s", str(seed), "-p", "0.4", "-e", "final", "-m", "mag"]
        label = LABELS[(kind, name)]
        shown = {k: str(v) for k, v in over.items()}
        print(f"\n== {label}: {script} {' '.join(argv)}; overrides {json.dumps(shown)}", flush=True)
        saved = work / f"{kind}-{name}-seed{seed}.logs.json"
        n0 = _CUDA_CALLS["n"]
        if args.reuse and saved.exists() and json.loads(saved.read_text())["overrides"] == shown:
            old = json.loads(saved.read_text())
            logs, secs, error, n_cuda = old["logs"], old["seconds"], old["error"], old["cuda_calls_redirected"]
            print(f"   reused {saved}")
        else:
            try:
                logs, secs = run_script(src, script, argv, seed)
                error = None
            except Exception as e:  # noqa: BLE001  (report and go on: what cannot run is part of the result)
                logs, secs, error = [], float("nan"), f"{type(e).__name__}: {e}"
                print(f"   FAILED: {error}")
                traceback.print_exc()
            n_cuda = _CUDA_CALLS["n"] - n0
            saved.write_text(
                json.dumps(
                    {"overrides": shown, "logs": logs, "seconds": secs, "error": error, "cuda_calls_redirected": n_cuda}
                )
            )
        settings[f"{kind}:{name}"] = {
            "script": script,
            "argv": argv,
            "overrides": shown,
            "cuda_calls_redirected": n_cuda,
            "error": error,
        }
        row = {
            "source": label,
            "run": f"{kind}:{name}",
            "arm": kind,
            "seed": seed,
            "steps": len(logs),
            "eval_every": 1,
            "t_gen": t_gen(logs),
            "t_gen_every_100": t_gen(logs, OUR_EVAL_EVERY),
            "max_test_acc": max((r["test_acc"] for r in logs), default=None),
            "final_test_acc": logs[-1]["test_acc"] if logs else None,
            "final_train_acc": logs[-1]["train_acc"] if logs else None,
            "weight_decay": over.get(
                "weight_decay",
                committed["config.config_pruning" if kind == "ticket" else "config.config"]["weight_decay"],
            ),
            "seconds": round(secs, 1),
            "commit": commit,
            "error": error or "",
        }
        results.append(row)
        curves += [
            {
                "run": f"{kind}:{name}",
                "seed": seed,
                "step": r["epoch"],
                "train_acc": r["train_acc"],
                "test_acc": r["test_acc"],
            }
            for r in logs
            if r["epoch"] % OUR_EVAL_EVERY == 0
        ]
        print(
            f"   {len(logs):,} steps in {secs:.0f} s: t_gen {fmt(row['t_gen'])} (every step), "
            f"{fmt(row['t_gen_every_100'])} (every 100); best test acc {row['max_test_acc']}",
            flush=True,
        )
        write_outputs(**out)  # after every run: a later failure keeps the earlier ones
    os.chdir(cwd)
    our_rows = write_outputs(**out)

    # the table
    by = {r["run"]: r for r in results}
    print(
        f"\nt_gen = first evaluated step with test accuracy >= {THRESHOLD}; theirs evaluated every step "
        f"(every-100 grid in brackets), ours every {OUR_EVAL_EVERY}. Their commit: {commit}\n"
    )
    print("| source | seed | base t_gen | ticket t_gen | seconds (base / ticket) |")
    print("|---|---|---|---|---|")
    for name in TICKETS:
        b, t = by.get(f"base:{TICKETS[name][0]}"), by.get(f"ticket:{name}")
        if t is None:
            continue
        print(
            f"| {LABELS[('ticket', name)]} | {args.seed} | {fmt(b['t_gen'])} ({fmt(b['t_gen_every_100'])}) | "
            f"{fmt(t['t_gen'])} ({fmt(t['t_gen_every_100'])}) | {b['seconds']:.0f} / {t['seconds']:.0f} |"
        )
    if "base:committed" in by:
        b = by["base:committed"]
        print(
            f"| {LABELS[('base', 'committed')]} | {args.seed} | {fmt(b['t_gen'])} ({fmt(b['t_gen_every_100'])}) | "
            f"not run: prune.py loads a base named '1WD' | {b['seconds']:.0f} / – |"
        )
    for o in our_rows:
        print(f"| {o['source']} | {args.seed} | {fmt(o['base'])} | {fmt(o['ticket'])} | – |")
    print("\nSettings that differ between theirs (base at wd 1) and ours (preset mlp-modadd):")
    for d in DIFFERS:
        print(f"- {d}")
    print(f"\nmodules: {modules}\nwrote {args.out}/authors_control.csv, authors_control.json, curves.csv")
    print("\nPer run (as docs/investigations.md quotes it; minutes on this machine, its load included):\n")
    print(per_run_table(args.out / "authors_control.csv"))


def per_run_table(path: Path) -> str:
    """The CSV as the Markdown table of docs/investigations.md (tests/unit/test_investigations.py rebuilds it)."""
    import pandas as pd

    def tg(t):
        return "—" if pd.isna(t) else f"{int(t):,}"

    def acc(a):
        return "–" if pd.isna(a) else f"{a:.3f}"

    lines = [
        (
            "| source | arm | seed | t_gen (every step) | t_gen (every 100 steps) | best test acc | final test acc "
            "| minutes |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in pd.read_csv(path).itertuples():
        every = tg(r.t_gen) if r.eval_every == 1 else f"(every {r.eval_every})"
        minutes = "–" if pd.isna(r.seconds) else f"{r.seconds / 60:.0f}"
        lines.append(
            f"| {r.source} | {r.arm} | {r.seed} | {every} | {tg(r.t_gen_every_100)} | {acc(r.max_test_acc)} | "
            f"{acc(r.final_test_acc)} | {minutes} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
