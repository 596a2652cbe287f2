"""Flush-to-zero against the default float32 arithmetic, for one preset's population.

Trains seeds 0-2 of PRESET (no masks, the preset's weight decay and loss) for STEPS steps twice,
once with the default arithmetic and once with denormals flushed to zero
(torch.set_flush_denormal), each in its own process; prints the time per step of every
1,000-step block, the denormal entries left in Adam's moments, and whether the two runs' metrics
(every 1,000 steps) and weights are bit-identical (docs/performance.md, float32 denormals).

    python scripts/denormal_check.py mlp-modadd 20000
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

FLOAT32_TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32, 1.18e-38


def train(preset: str, steps: int, flush: bool, out: str) -> None:
    from grokking_tickets.config import load_preset
    from grokking_tickets.models import build_model
    from grokking_tickets.tasks import build_dataset
    from grokking_tickets.train.population import Member, Population

    torch.set_flush_denormal(flush)
    cfg = load_preset(preset)
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    members = [Member(model.init(s), None, cfg.optim.weight_decay) for s in range(3)]
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, "cpu")
    times, evals = [], []
    for _ in range(steps // 1000):
        t = time.perf_counter()
        for _ in range(1000):
            pop.step()
        times.append(time.perf_counter() - t)
        evals.append(pop.evaluate())
    denormal = sum(int(((t != 0) & (t.abs() < FLOAT32_TINY)).sum()) for m in (pop.opt.m, pop.opt.v) for t in m.values())
    print(f"{'flush-to-zero' if flush else 'default'}: ms/step per 1k block", " ".join(f"{x:.2f}" for x in times),
          f"| denormal Adam entries at the end: {denormal}")  # fmt: skip
    torch.save({"params": pop.params, "evals": torch.stack(evals)}, out)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _, _, preset, steps, flush_out = sys.argv
        flush, out = flush_out.split(":", 1)
        train(preset, int(steps), flush == "1", out)
        return
    preset, steps = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "20000"
    with tempfile.TemporaryDirectory() as tmp:
        outs = [str(Path(tmp) / f"{flag}.pt") for flag in ("0", "1")]
        for flag, out in zip(("0", "1"), outs):
            subprocess.run([sys.executable, __file__, "--child", preset, steps, f"{flag}:{out}"], check=True)
        a, b = (torch.load(o) for o in outs)
    same_w = all(torch.equal(a["params"][n], b["params"][n]) for n in a["params"])
    print(f"metrics bit-identical: {torch.equal(a['evals'], b['evals'])}; weights bit-identical: {same_w}")
    for n in a["params"]:
        diff = a["params"][n] != b["params"][n]
        if diff.any():
            print(f"  {n}: {int(diff.sum())} entries differ, |w| <= {float(a['params'][n][diff].abs().max()):.3g} in the default run")


if __name__ == "__main__":
    main()
