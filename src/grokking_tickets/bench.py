"""``grokking-tickets bench``: population throughput against a reference loop, same process.

The reference loop trains one model the way the paper authors' code does: the model's textbook
forward pass (``Model.forward``: one-hot inputs for the MLP, every position for the
transformer) with autograd, torch.optim.AdamW, a float64 log-softmax, and after every step a
full train and test evaluation plus the L1/L2 weight norms, each read back to the host. No
algebraic shortcuts. The population trainer runs as ``train`` runs it (metrics every 100
steps). Both run here, now, on the same machine, so their ratio is robust to a noisy host;
the reference is timed before and after the populations and its faster timing is used,
which can only lower the reported speedup.
"""

from __future__ import annotations

import math
import platform
import time
from pathlib import Path

import torch
from torch import nn

from .arithmetic import identity
from .arithmetic import key as arithmetic_key
from .config import Config
from .errors import UserError
from .models import build_model
from .tasks import build_dataset
from .train.population import Member, Population


def _loss64(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The run's loss in float64, as torch.nn.functional defines it (the authors' MNIST MLP
    trains on the MSE to one-hot targets; the modular models on the cross entropy)."""
    if loss == "mse":
        return nn.functional.mse_loss(logits.double(), nn.functional.one_hot(y, logits.shape[-1]).double())
    return nn.functional.nll_loss(logits.double().log_softmax(-1), y)


def reference_steps_per_s(cfg: Config, steps: int, warmup: int = 5, device: str = "cpu") -> float:
    data = build_dataset(cfg.task).to(device)
    model = build_model(cfg.model, data)
    params = {n: t.to(device).requires_grad_() for n, t in model.init(0).items()}
    tr, te = (data.train_x, data.train_y), (data.test_x, data.test_y)
    o = cfg.optim
    opt = torch.optim.AdamW(params.values(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay)
    log = []
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        _loss64(model.forward(params, tr[0]), tr[1], cfg.train.loss).backward()
        opt.step()
        with torch.no_grad():
            for x, y in (tr, te):
                logits = model.forward(params, x)
                log.append((_loss64(logits, y, cfg.train.loss).item(), (logits.argmax(-1) == y).float().mean().item()))
            flat = torch.cat([w.flatten() for w in params.values()])
            log.append((flat.abs().sum().item(), flat.norm().item()))
    return steps / (time.perf_counter() - t0)


def population_steps_per_s(cfg: Config, K: int, steps: int, device: str = "cpu", start=None) -> float:
    """Model-steps/s of a K-member dense population, evaluating every ``train.eval_every`` steps.
    ``start``, where given, is called after the warm-up, just before the clock starts (a barrier
    that makes several processes time the same interval)."""
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    members = [Member(model.init(s), None, cfg.optim.weight_decay) for s in range(K)]
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, device)
    buf = []
    for _ in range(3):  # warm-up: allocator, Adam state
        pop.step()
    _sync(device)
    if start is not None:
        start()
    t0 = time.perf_counter()
    for i in range(steps):
        pop.step()
        if (i + 1) % cfg.train.eval_every == 0:
            buf.append(pop.evaluate())
    if buf:  # the bulk host transfer the runner does at a checkpoint, timed too
        torch.stack(buf).cpu()
    _sync(device)
    return K * steps / (time.perf_counter() - t0)


def _worker_rate(preset: str, K: int, steps: int, barrier, results) -> None:
    """In a spawned worker: one torch thread, a K-member population of ``preset``, timed from a
    start shared with the other workers (``barrier``); puts its model-steps/s on ``results``."""
    from .arithmetic import apply_from_environment
    from .config import load_preset

    torch.set_num_threads(1)
    apply_from_environment()
    results.put(population_steps_per_s(load_preset(preset), K, steps, "cpu", start=barrier.wait))


def workers_steps_per_s(preset: str, K: int, steps: int, workers: int) -> float:
    """Model-steps/s of ``workers`` single-threaded processes training a K-member population each
    at the same time (the layout of ``--executor processes``): the sum of their rates."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker_rate, args=(preset, K, steps, barrier, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    rates = [results.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def flops_per_model_step(cfg: Config) -> float:
    """Matmul FLOPs of one training step of one member, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    # Two members, halved: a population of one runs its products as a batch of two (models/ops.py)
    members = [Member(model.init(s), None, cfg.optim.weight_decay) for s in range(2)]
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, "cpu")
    with FlopCounterMode(display=False) as counter:
        pop.step()
    return float(counter.get_total_flops()) / 2


def matmul_gflops(n: int = 1024, reps: int = 10, device: str = "cpu") -> float:
    """Best observed float32 GEMM rate of this machine (or GPU), GFLOP/s."""
    n = n if torch.device(device).type == "cpu" else 8192
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = math.inf
    for _ in range(reps):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


# What `bench --models` can time; mnist needs the data file (`make setup`). The MNIST net
# is the FLOP-bound one (1,000 training images through 784 x 200 x 200 x 10 every step, and an
# evaluation on 60,000 test images every 500 steps), so its row's GEMM share says how near
# the machine's ceiling it runs.
PRESETS = {"mlp": "mlp-modadd", "transformer": "transformer-modadd", "mnist": "mnist-mlp"}
DEFAULT_MODELS = ("mlp", "transformer")


def _population_or_oom(cfg: Config, K: int, steps: int, device: str) -> float | None:
    """None where K members do not fit the device's memory (the curve ends there)."""
    try:
        return population_steps_per_s(cfg, K, steps, device)
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        return None


def bench_model(
    name: str, quick: bool, sizes: tuple[int, ...], gflops: float, device: str = "cpu", workers: int = 0
) -> dict:
    from .config import load_preset

    cfg = load_preset(PRESETS[name])
    ref_steps = 40 if quick else 150
    # at least one evaluation in the timed window (MNIST evaluates every 500 steps)
    pop_steps = max(100 if quick else 300, cfg.train.eval_every)
    ref = [reference_steps_per_s(cfg, ref_steps, device=device)]
    pops = {str(K): _population_or_oom(cfg, K, pop_steps, device) for K in sizes}
    ref.append(reference_steps_per_s(cfg, ref_steps, device=device))
    reference = max(ref)
    fits = {k: v for k, v in pops.items() if v is not None}
    if not fits:
        raise UserError(f"bench: no population size in {list(pops)} fits the {device} memory for {name}")
    best_k = max(fits, key=fits.get)
    flops = flops_per_model_step(cfg)
    layout = {}
    if workers:  # the same sizes, each in every one of `workers` single-threaded processes at once
        rates = {str(K): round(workers_steps_per_s(PRESETS[name], K, pop_steps, workers), 1) for K in sizes}
        best_w = max(rates, key=rates.get)
        layout = {
            "workers": workers,
            "workers_model_steps_per_s": rates,
            "workers_best_K": int(best_w),
            "workers_vs_one_process": round(rates[best_w] / pops[best_k], 3),
        }
    return {
        "reference_steps_per_s": round(reference, 1),
        "reference_runs_steps_per_s": [round(r, 1) for r in ref],
        "population_model_steps_per_s": {k: round(v, 1) for k, v in fits.items()},
        "out_of_memory_at": [int(k) for k, v in pops.items() if v is None],
        "best_K": int(best_k),
        "speedup_vs_reference": round(pops[best_k] / reference, 2),
        "flops_per_model_step": flops,
        "flop_share_of_matmul_peak": round(pops[best_k] * flops / (gflops * 1e9), 3),
        **layout,
    }


def run_bench(
    quick: bool = False,
    sizes: tuple[int, ...] = (1, 8, 32),
    models: tuple[str, ...] = DEFAULT_MODELS,
    device: str = "cpu",
    workers: int = 0,
) -> dict:
    """Both loops on ``device`` (the reference loop too, so the ratio compares like with like);
    with ``workers``, also that many single-threaded processes at each size (CPU only)."""
    gflops = matmul_gflops(device=device)
    out = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "device": torch.cuda.get_device_name() if torch.device(device).type == "cuda" else "cpu",
            "torch": torch.__version__,
            "matmul_gflops": round(gflops, 1),
            "arithmetic": arithmetic_key(identity(device)),  # what the numbers were computed with
        }
    }
    for name in models:
        out[name] = bench_model(name, quick, sizes, gflops, device, workers)
    return out


def k_curve_figure(r: dict, path: str | Path) -> None:
    """Throughput against the population size K, one panel per model (log-log): the population's
    model-steps/s at every K benched, the reference loop as a line, the GEMM peak's share noted.
    Where the curve flattens, a larger population stops paying."""
    from .analysis.figures import new_figure
    from .files import atomic_write

    models = [k for k in r if k != "machine"]
    fig = new_figure(5 * len(models), 3.8)
    for ax, name in zip(fig.subplots(1, len(models), squeeze=False)[0], models):
        m = r[name]
        ks = [int(k) for k in m["population_model_steps_per_s"]]
        ax.plot(ks, list(m["population_model_steps_per_s"].values()), "o-", label="population trainer")
        ax.axhline(m["reference_steps_per_s"], color="0.5", ls="--", label="reference loop (K = 1)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("population size K")
        ax.set_ylabel("model-steps / s")
        ax.set_title(f"{name}: best {m['speedup_vs_reference']}x at K = {m['best_K']}", fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(f"{r['machine'].get('device', 'cpu')}, {r['machine']['threads']} threads, torch {r['machine']['torch']}", fontsize=9)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


def format_table(r: dict) -> str:
    lines = [
        (
            f"machine: {r['machine'].get('device', 'cpu')}, {r['machine']['threads']} threads, "
            f"torch {r['machine']['torch']}, float32 GEMM {r['machine']['matmul_gflops']} GFLOP/s"
        ),
        f"arithmetic: {r['machine'].get('arithmetic', 'unrecorded')}",
    ]
    for name in (k for k in r if k != "machine"):
        m = r[name]
        lines += [
            "",
            f"{name + ' trainer':<28}{'model-steps/s':>14}{'vs reference':>14}",
            f"{'reference loop (K=1)':<28}{m['reference_steps_per_s']:>14.1f}{1.0:>13.1f}x",
        ]
        for k, v in m["population_model_steps_per_s"].items():
            lines.append(f"{'population K=' + k:<28}{v:>14.1f}{v / m['reference_steps_per_s']:>13.1f}x")
        for k in m.get("out_of_memory_at", []):  # JSON written before the field existed has none
            lines.append(f"{'population K=' + str(k):<28}{'out of memory':>14}")
        for k, v in m.get("workers_model_steps_per_s", {}).items():
            row = f"{m['workers']} x 1-thread K={k}"
            lines.append(f"{row:<28}{v:>14.1f}{v / m['reference_steps_per_s']:>13.1f}x")
        if "workers_vs_one_process" in m:
            lines.append(
                f"{name}: {m['workers']} single-threaded processes (K={m['workers_best_K']} each) train "
                f"{m['workers_vs_one_process']}x the model-steps/s of one process at its best K"
            )
        lines.append(
            f"{name}.speedup_vs_reference = {m['speedup_vs_reference']}x (K={m['best_K']}); "
            f"{m['flops_per_model_step'] / 1e6:.0f} MFLOP per model-step, {m['flop_share_of_matmul_peak']:.1%} of the GEMM peak"
        )
    return "\n".join(lines)
