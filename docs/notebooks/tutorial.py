# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Grokking tickets in ten minutes
#
# Train dense MLPs on modular addition until they grok, take the grokking ticket of each
# (prune the smallest 60% of the weights at the end, rewind the rest to their initial
# values), retrain it, and compare when the two generalize. The tutorial is the plain-text
# source of a notebook (jupytext): `jupytext --to ipynb docs/notebooks/tutorial.py`.
#
# Import `grokking_tickets` first: it fixes the CPU's code paths before torch computes
# (docs/arithmetic.md). `STEPS` and `P` are the paper's (30,000 steps, p = 67; ~2 min on a
# 2-core CPU); the test suite runs this notebook with a few hundred steps on p = 23.

# %%
import os

import matplotlib.pyplot as plt
import torch

import grokking_tickets  # noqa: F401  (first)
from grokking_tickets.analysis.grokking import grokking_times
from grokking_tickets.checkpoint import load_run
from grokking_tickets.config import apply_overrides, load_preset
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store

STEPS = int(os.environ.get("TUTORIAL_STEPS", "30000"))
P = int(os.environ.get("TUTORIAL_P", "67"))
OUT = os.environ.get("TUTORIAL_OUT", "runs/tutorial")
SEEDS = [0, 1]

# %% [markdown]
# ## 1. Dense runs
# A configuration is a preset with overrides (`grokking-tickets presets` lists them). Each seed
# is one run; runs of one shape train together as one population, and each computes exactly
# what it would alone. The store keeps every run; a second call trains nothing.

# %%
cfg = apply_overrides(load_preset("mlp-modadd"), [f"train.steps={STEPS}", f"task.p={P}",
                                                  f"train.checkpoint_every={STEPS}"])
store = Store(OUT)
dense = [RunSpec.dense(cfg, s) for s in SEEDS]
train_runs(dense, store, torch.device("cpu"), progress=False)

# %% [markdown]
# ## 2. Grokking tickets
# A ticket is a run whose initial weights are its base's θ0 under a magnitude mask of the
# base's weights at the last step (rate 0.6: 60% pruned).

# %%
tickets = [
    RunSpec(cfg.task, cfg.model, cfg.optim, cfg.train, d.seed,
            InitSpec(mask=MaskSpec("magnitude", 0.6, "global", d.run_id, STEPS)))
    for d in dense
]
train_runs(tickets, store, torch.device("cpu"), progress=False)

# %% [markdown]
# ## 3. Compare
# t_mem and t_gen: the first evaluated step with train / test accuracy at least 95%
# (None: not within the budget).

# %%
rows = []
for arm, specs in (("base", dense), ("ticket", tickets)):
    for s in specs:
        m = store.run_metrics(s.run_id)
        rows.append({"arm": arm, "seed": s.seed, **grokking_times(m.step, m.train_acc, m.test_acc)})
rows  # noqa: B018  (the cell shows it)

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for arm, specs, color in (("base", dense, "C0"), ("ticket", tickets, "C1")):
    for s in specs:
        m = store.run_metrics(s.run_id)
        ax.plot(m.step.clip(lower=1), m.test_acc, color=color, label=f"{arm}, seed {s.seed}")
ax.set_xscale("log")
ax.set_xlabel("step")
ax.set_ylabel("test accuracy")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## 4. A ticket as a module
# Any stored run at a saved step is a plain `torch.nn.Module` (textbook forward, mask as
# buffers): hook it, differentiate it, or evaluate it on your own inputs.

# %%
net, data = load_run(OUT, tickets[0].run_id)
with torch.no_grad():
    accuracy = (net(data.test_x).argmax(-1) == data.test_y).float().mean().item()
density = sum(net.mask(n).sum() for n in net.model.names) / sum(net.mask(n).numel() for n in net.model.names)
print(f"ticket seed 0: test accuracy {accuracy:.3f} with {density:.0%} of the weights")
