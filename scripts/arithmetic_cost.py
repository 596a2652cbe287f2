"""The cost of each arithmetic (GROKKING_TICKETS_ARITHMETIC), from `grokking-tickets bench`.

An arithmetic is fixed before torch loads, so one process cannot time two: this runs
`bench --quick` once per arithmetic per round, rounds interleaved (native, avx512, portable,
native, ...) so that a drift of the shared host hits them alike, and prints each population
throughput as the median over rounds, with its ratio to native's (the same K, the same
round's neighbours). Nothing else should run meanwhile.

    .venv/bin/python scripts/arithmetic_cost.py [--rounds 3] [--out runs/arithmetic-cost]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from grokking_tickets.arithmetic import child_environment

ARITHMETICS = ("native", "avx512", "portable")
MODELS = "mlp,transformer,mnist"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="1,16")
    ap.add_argument("--out", default="runs/arithmetic-cost")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).with_name("grokking-tickets")
    rates: dict[tuple[str, str, str], list[float]] = {}
    for r in range(args.rounds):
        for name in ARITHMETICS:
            path = out / f"{name}-{r}.json"
            env = child_environment(name)
            subprocess.run([str(cli), "bench", "--quick", "--models", MODELS, "--sizes", args.sizes, "--out", str(path)],
                           env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            result = json.loads(path.read_text())
            print(f"round {r} {name}: {result['machine']['arithmetic']}", flush=True)
            for model in MODELS.split(","):
                for k, v in result[model]["population_model_steps_per_s"].items():
                    rates.setdefault((model, k, name), []).append(v)
    print(f"\nmodel-steps/s, median of {args.rounds} interleaved rounds (ratio to native)")
    print(f"{'model':<12}{'K':>4}" + "".join(f"{a:>20}" for a in ARITHMETICS))
    for model in MODELS.split(","):
        for k in args.sizes.split(","):
            base = statistics.median(rates[(model, k, "native")])
            cells = []
            for a in ARITHMETICS:
                med = statistics.median(rates[(model, k, a)])
                cells.append(f"{med:>11,.0f} ({med / base:.2f}x)")
            print(f"{model:<12}{k:>4}" + "".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
