"""The score optimizer sweep behind the `edge-popup` experiment's settings (docs/results.md, edge-popup).

Edge-popup on θ_mem (the MLP's weights at step 2,000) at density 0.4 with AdamW, β (0.9, 0.98),
at several learning rates and weight decays of the scores; prints the test accuracy at steps
600 / 1,000 / 1,400 / 2,000 (v3 Table 1's columns), mean ± std over seeds, and the final train
accuracy. Runs are stored (and reused) like any other:

    PYTHONPATH=src python scripts/edge_popup_lr_sweep.py --out runs/ep-sweep --seeds 0,1,2 --lrs 0.001,0.01,0.1 --wds 0,1

The dense base trains only to step 2,000 here (train.steps=2000; no schedule, so its weights
there are those of the 30k-step run).
"""

from __future__ import annotations

import argparse

import torch

from grokking_tickets.config import apply_overrides, from_dict, load_preset, parse_seeds
from grokking_tickets.experiments import Context, Dense
from grokking_tickets.experiments.arms import EdgePopup
from grokking_tickets.experiments.edge_popup import MEM_STEP, SCORE_OPTIM, TABLE_STEPS
from grokking_tickets.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/ep-sweep")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--lrs", default="0.001,0.01,0.1")
    ap.add_argument("--wds", default="0")
    ap.add_argument("--density", type=float, default=0.4)
    a = ap.parse_args()
    cfg = apply_overrides(load_preset("mlp-modadd"), [f"train.steps={MEM_STEP}", f"ticket.step={MEM_STEP}"])
    cfg = from_dict({"seeds": parse_seeds(a.seeds, 1024)}, cfg)
    ctx = Context(cfg, Store(a.out), torch.device("cpu"), "edge-popup-lr-sweep", progress=False)
    grid = [(float(lr), float(wd)) for wd in a.wds.split(",") for lr in a.lrs.split(",")]
    name = lambda lr, wd: f"lr={lr:g} wd={wd:g}"
    arms = [Dense("base")] + [
        EdgePopup(
            name(lr, wd),
            a.density,
            step=MEM_STEP,
            overrides=(*SCORE_OPTIM, f"optim.lr={lr}", f"optim.weight_decay={wd}"),
        )
        for lr, wd in grid
    ]
    ctx.train_arms(arms)
    _, metrics = ctx.results()
    print(f"edge-popup on θ_mem (step {MEM_STEP:,}), density {a.density}, seeds {list(cfg.seeds)}")
    print(f"{'lr':>8} {'wd':>4}  test acc at " + " / ".join(f"{s:,}" for s in TABLE_STEPS) + "   final train acc")
    for lr, wd in grid:
        m = metrics[metrics.arm == name(lr, wd)]
        cells = []
        for s in TABLE_STEPS:
            v = m[m.step == s].test_acc
            cells.append(f"{v.mean():.2f} ± {v.std(ddof=1):.2f}")
        final = m[m.step == m.step.max()].train_acc.mean()
        print(f"{lr:>8g} {wd:>4g}  " + " / ".join(cells) + f"   {final:.2f}")


if __name__ == "__main__":
    main()
