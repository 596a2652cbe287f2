"""``grokking-tickets bench``: population throughput against a reference loop, same process.

The reference loop trains one model the way the paper authors' code does: an ``nn.Module``
fed one-hot inputs, torch.optim.AdamW, a float64 log-softmax, and after every step a full
train and test evaluation plus the L1/L2 weight norms, each read back to the host. No
algebraic shortcuts. The population trainer runs as ``train`` runs it (metrics every 100
steps). Both run here, now, on the same machine, so their ratio is robust to a noisy host;
the reference is timed before and after the populations and its faster timing is used,
which can only lower the reported speedup.
"""

from __future__ import annotations

import math
import platform
import time

import torch
from torch import nn

from .config import Config
from .models import build_model
from .tasks import build_dataset
from .train.population import Member, Population


class _ReferenceMLP(nn.Module):
    def __init__(self, p: int, d: int, H: int, C: int):
        super().__init__()
        self.emb = nn.Linear(p, d, bias=False)
        self.inp = nn.Linear(d, H, bias=False)
        self.out = nn.Linear(H, d, bias=False)
        self.unemb = nn.Linear(d, C, bias=False)

    def forward(self, onehot_a: torch.Tensor, onehot_b: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(self.emb(onehot_a) + self.emb(onehot_b)))
        return self.unemb(self.out(h))


def _ce64(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.nll_loss(logits.double().log_softmax(-1), y)


def reference_steps_per_s(cfg: Config, steps: int, warmup: int = 5) -> float:
    data = build_dataset(cfg.task)
    p = data.n_tokens
    oh = lambda x: nn.functional.one_hot(x, p).float()  # noqa: E731
    tr = (oh(data.train_x[:, 0]), oh(data.train_x[:, 1]), data.train_y)
    te = (oh(data.test_x[:, 0]), oh(data.test_x[:, 1]), data.test_y)
    torch.manual_seed(0)
    model = _ReferenceMLP(p, cfg.model.d_emb, cfg.model.d_hidden, data.n_classes)
    o = cfg.optim
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay)
    log = []
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        _ce64(model(tr[0], tr[1]), tr[2]).backward()
        opt.step()
        with torch.no_grad():
            for a, b, y in (tr, te):
                logits = model(a, b)
                log.append((_ce64(logits, y).item(), (logits.argmax(-1) == y).float().mean().item()))
            flat = torch.cat([w.flatten() for w in model.parameters()])
            log.append((flat.abs().sum().item(), flat.norm().item()))
    return steps / (time.perf_counter() - t0)


def population_steps_per_s(cfg: Config, K: int, steps: int, device: str = "cpu") -> float:
    """Model-steps/s of a K-member dense population, evaluating every ``train.eval_every`` steps."""
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    members = [Member(model.init(s), None, cfg.optim.weight_decay) for s in range(K)]
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, device)
    buf = []
    for _ in range(3):  # warm-up: allocator, Adam state
        pop.step()
    t0 = time.perf_counter()
    for i in range(steps):
        pop.step()
        if (i + 1) % cfg.train.eval_every == 0:
            buf.append(pop.evaluate())
    torch.stack(buf).cpu() if buf else None
    if pop.device.type == "cuda":
        torch.cuda.synchronize()
    return K * steps / (time.perf_counter() - t0)


def mlp_flops_per_step(cfg: Config) -> float:
    """FLOPs of one factorized training step of one member (matmuls only; 2 per multiply-add)."""
    data = build_dataset(cfg.task)
    p, C, N = data.n_tokens, data.n_classes, len(data.train_y)
    d, H = cfg.model.d_emb, cfg.model.d_hidden
    forward = 2 * H * d * p + 2 * C * d * H + 2 * H * p * N + 2 * C * H * N
    backward = 2 * C * N * H + 2 * H * C * N + 2 * H * N * p + 2 * (2 * d * H * p) + 2 * (2 * C * d * H)
    return float(forward + backward)


def matmul_gflops(n: int = 1024, reps: int = 10) -> float:
    """Best observed float32 GEMM rate of this machine, GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def run_bench(quick: bool = False, sizes: tuple[int, ...] = (1, 8, 32)) -> dict:
    from .config import load_preset

    cfg = load_preset("mlp-modadd")
    ref_steps = 60 if quick else 200
    pop_steps = 100 if quick else 300
    gflops = matmul_gflops()
    ref = [reference_steps_per_s(cfg, ref_steps)]
    pops = {str(K): population_steps_per_s(cfg, K, pop_steps) for K in sizes}
    ref.append(reference_steps_per_s(cfg, ref_steps))
    reference = max(ref)
    best_k = max(pops, key=pops.get)
    flops = mlp_flops_per_step(cfg)
    return {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "matmul_gflops": round(gflops, 1),
        },
        "mlp": {
            "reference_steps_per_s": round(reference, 1),
            "reference_runs_steps_per_s": [round(r, 1) for r in ref],
            "population_model_steps_per_s": {k: round(v, 1) for k, v in pops.items()},
            "best_K": int(best_k),
            "speedup_vs_reference": round(pops[best_k] / reference, 2),
            "flops_per_model_step": flops,
            "flop_share_of_matmul_peak": round(pops[best_k] * flops / (gflops * 1e9), 3),
        },
    }


def format_table(r: dict) -> str:
    m = r["mlp"]
    lines = [
        f"machine: {r['machine']['threads']} threads, torch {r['machine']['torch']}, "
        f"float32 GEMM {r['machine']['matmul_gflops']} GFLOP/s",
        "",
        f"{'trainer':<28}{'model-steps/s':>14}{'vs reference':>14}",
        f"{'reference loop (K=1)':<28}{m['reference_steps_per_s']:>14.1f}{1.0:>13.1f}x",
    ]
    for k, v in m["population_model_steps_per_s"].items():
        lines.append(f"{'population K=' + k:<28}{v:>14.1f}{v / m['reference_steps_per_s']:>13.1f}x")
    lines += [
        "",
        f"mlp.speedup_vs_reference = {m['speedup_vs_reference']}x (K={m['best_K']}); "
        f"{m['flop_share_of_matmul_peak']:.1%} of the GEMM peak",
    ]
    return "\n".join(lines)
