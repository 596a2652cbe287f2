"""How claims S1 and S2 are judged, on made-up numbers with known verdicts (no training)."""

import numpy as np
import pandas as pd
import pytest

from grokking_tickets.analysis.structure import LAYERS, S1_TOLERANCE, judge_s1, judge_s2

STEPS = np.arange(2000, 30001, 1000)  # JD(m_{t-2000}, m_t) at every checkpoint t from 2k to 30k


def _drift(peaks: dict[int, int]) -> pd.DataFrame:
    """Per seed, a Jaccard-distance curve of 0.1 with one peak of 0.5 at ``peaks[seed]``."""
    rows = []
    for seed, peak in peaks.items():
        for t in STEPS:
            jd = 0.5 if t == peak else 0.1
            rows.append({"seed": seed, "step": int(t), "from": int(t) - 2000, **dict.fromkeys(LAYERS, jd), "mean": jd})
    return pd.DataFrame(rows)


def _runs(t_gen: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame([{"arm": "base", "seed": s, "t_gen": t, "run_id": f"b{s}"} for s, t in t_gen.items()])


def test_s1_coincidence_and_its_chance():
    # every seed's peak within 25% of its t_gen = 20k; by chance a step lands within [15k, 25k]
    # with probability 11/29, so 3 seeds give p = (11/29)^3 ≈ 0.055 (not significant), 4 give 0.021
    assert S1_TOLERANCE == 0.25
    q = 11 / len(STEPS)
    row = judge_s1(_drift({0: 20000, 1: 18000, 2: 24000}), _runs({0: 20000, 1: 20000, 2: 20000}), 2000)
    assert row["id"] == "S1" and row["verdict"] == "not significant"
    assert row["measured"]["p"]["coincidence by chance"] == pytest.approx(q**3, rel=1e-3)
    assert row["measured"]["per seed"]["2"]["t_JD"] == 24000
    assert row["measured"]["per seed"]["2"]["|t_JD − t_gen| / t_gen"] == 0.2
    assert row["measured"]["per seed"]["2"]["post hoc: t_JD after step 4,000"] == 24000  # beside, not in, the verdict
    four = judge_s1(_drift(dict.fromkeys(range(4), 20000)), _runs(dict.fromkeys(range(4), 20000)), 2000)
    assert four["verdict"] == "holds" and four["measured"]["p"]["coincidence by chance"] == pytest.approx(q**4, rel=1e-3)


def test_s1_fails_where_a_seed_changes_most_away_from_its_jump():
    row = judge_s1(_drift({0: 20000, 1: 4000}), _runs({0: 20000, 1: 20000}), 2000)
    assert row["verdict"] == "does not hold"
    assert row["measured"]["seeds that coincide"] == "1 of 2 that grokked (of 2)"


def test_s1_under_the_authors_window_leaves_out_the_comparison_with_theta0():
    """The largest change at θ0 → 2k (every seed): S1 fails as we judge it; under the authors'
    window (steps t with t − δt > 0) the second peak, at the jump, decides."""
    drift = _drift({0: 2000, 1: 2000, 2: 2000, 3: 2000})
    at_jump = drift.step == 20000
    drift.loc[at_jump, [*LAYERS, "mean"]] = 0.3  # a second peak, at t_gen
    runs = _runs(dict.fromkeys(range(4), 20000))
    ours = judge_s1(drift, runs, 2000)
    theirs = judge_s1(drift, runs, 2000, authors_window=True)
    assert ours["id"] == "S1" and ours["verdict"] == "does not hold" and ours["protocol"] == "ours"
    assert theirs["id"] == "S1@authors-window" and theirs["protocol"] == "authors-window"
    assert theirs["verdict"] == "holds" and theirs["measured"]["per seed"]["0"]["t_JD"] == 20000


def test_s1_is_not_run_without_a_seed_that_grokked():
    row = judge_s1(_drift({0: 20000}), _runs({0: float("nan")}), 2000)
    assert row["verdict"] == "not run" and row["measured"]["per seed"]["0"]["t_gen"] is None


def _cmp(ticket_apl: float, ticket_cc: float) -> pd.DataFrame:
    rows = []
    for seed in range(3):
        rows.append({"seed": seed, "mask": "ticket", "group": "ticket", "avg_path_length": ticket_apl + 0.01 * seed,
                     "clustering": ticket_cc + 0.001 * seed, "spectral_gap": 1.0, "weighted_spectral_gap": 1.0,
                     "ramanujan_gap": 0.0})  # fmt: skip
        for draw in range(3):
            rows.append({"seed": seed, "mask": f"random ({draw})", "group": "random",
                         "avg_path_length": 3.0 + 0.01 * draw, "clustering": 0.2 + 0.001 * draw + 0.0001 * seed,
                         "spectral_gap": 1.0, "weighted_spectral_gap": 1.0, "ramanujan_gap": 0.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_s2_holds_when_the_ticket_is_longer_and_less_clustered_than_every_random_mask():
    row = judge_s2(_cmp(3.5, 0.1))
    assert row["verdict"] == "holds"
    # 3 ticket values above all 9 random ones: the exact one-sided p is 1 / C(12, 3)
    assert list(row["measured"]["p"].values()) == pytest.approx([1 / 220, 1 / 220], rel=1e-3)
    assert row["measured"]["n"] == {"ticket": 3, "random": 9}


@pytest.mark.parametrize("apl, cc", [(2.5, 0.1), (3.5, 0.3)])
def test_s2_does_not_hold_when_either_direction_fails(apl, cc):
    assert judge_s2(_cmp(apl, cc))["verdict"] == "does not hold"
