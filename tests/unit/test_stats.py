"""analysis/stats.py and the verdicts built on it, against cases small enough to check by hand."""

import math

import pytest

from grokking_tickets.analysis.claims import VERDICTS, ClaimDef, Sample, comparisons, decide, stats_brief, verdict_of
from grokking_tickets.analysis.stats import bootstrap_ci, compare, mean_ci, rank_test, significant

CENSORED = 30_001.0  # a run that never grokked, at budget + 1


def test_three_against_three_completely_separated_gives_exactly_one_in_twenty():
    r = compare([17_800, 20_800, 21_500], [300, 500, 800])
    assert r["p"] == pytest.approx(1 / 20) and r["p_method"] == "exact"  # 1 / C(6, 3): the smallest p at n = 3
    assert r["n"] == [3, 3] and r["direction"] and not r["significant"]  # p < 0.05 is strict
    assert r["effect"] == pytest.approx((17_800 + 20_800 + 21_500) / (300 + 500 + 800))


def test_four_against_four_can_be_significant():
    r = compare([5, 6, 7, 8], [1, 2, 3, 4])
    assert r["p"] == pytest.approx(1 / 70) and r["significant"]  # 1 / C(8, 4)
    assert compare([1, 2, 3, 4], [5, 6, 7, 8])["p"] == pytest.approx(1.0)  # the wrong side: p = 1


def test_ties_use_an_exact_permutation_of_u():
    # pooled {1, 2, 2, 2}; a = {2, 2} has U = 3, and 3 of the C(4, 2) = 6 splits reach U >= 3
    p, method = rank_test([2, 2], [1, 2])
    assert p == pytest.approx(0.5) and method == "exact permutation, ties"


def test_ties_with_a_single_seed_are_broken_against_the_claim():
    assert rank_test([CENSORED], [CENSORED])[0] == pytest.approx(1.0)  # 1 against 1, tied: no evidence
    p, method = rank_test([CENSORED], [100, CENSORED])
    assert p == pytest.approx(2 / 3) and "against the alternative" in method  # ranks as if below the tied run
    assert rank_test([100, CENSORED], [CENSORED], "less")[0] == pytest.approx(2 / 3)  # the tie as if above


def test_censored_runs_count_as_later_than_everything_measured():
    never = compare([CENSORED] * 3, [100, 200, 300])
    late = compare([29_000, 29_500, 29_900], [100, 200, 300])
    assert never["p"] == pytest.approx(late["p"]) == pytest.approx(0.05)  # only the order matters
    # one grokked late, two never: still completely above the other arm
    assert compare([CENSORED, 25_000, CENSORED], [100, 200, 300])["p"] == pytest.approx(0.05)


def test_all_censored_is_no_evidence_either_way():
    r = compare([CENSORED] * 3, [CENSORED] * 3)
    assert r["p"] == pytest.approx(1.0) and r["effect"] == 1.0 and not r["direction"]
    assert r["ci95"] == [1.0, 1.0] and r["ci_method"].startswith("percentile")  # BCa is undefined: every resample equal


def test_bootstrap_interval_holds_the_estimate_and_is_reproducible():
    a, b = [17_800, 20_800, 21_500, 19_000], [300, 500, 800, 450]
    r1, r2 = compare(a, b), compare(a, b)
    assert r1["ci95"] == r2["ci95"]  # fixed seed: a rebuilt report prints the same interval
    lo, hi = r1["ci95"]
    assert lo <= r1["effect"] <= hi and lo < hi and r1["ci_method"] == "BCa"
    d = compare(a, b, statistic="difference")
    assert d["effect"] == pytest.approx(sum(a) / 4 - sum(b) / 4) and d["ci95"][0] <= d["effect"] <= d["ci95"][1]


def test_too_few_values_for_an_interval():
    r = compare([5], [1])
    assert r["ci95"] is None and r["ci_method"] == "none (n < 2)" and r["p"] == pytest.approx(0.5)
    empty = compare([], [1, 2])
    assert empty["p"] is None and empty["effect"] is None and not empty["significant"]
    assert bootstrap_ci(([1.0],), lambda v, axis=-1: v.mean(axis=axis), 1.0) == (None, "none (n < 2)")


def test_alternatives():
    assert compare([1, 2, 3, 4], [5, 6, 7, 8], alternative="less")["significant"]
    assert compare([1, 2, 3, 4], [5, 6, 7, 8], alternative="two-sided")["p"] == pytest.approx(2 / 70)
    with pytest.raises(ValueError, match="alternative"):
        compare([1], [2], alternative="bigger")


def test_mean_ci():
    m = mean_ci([0.81, 0.86, 0.79])
    assert m["mean"] == pytest.approx(0.82) and m["ci95"][0] <= 0.82 <= m["ci95"][1] and m["n"] == 3
    assert mean_ci([0.8])["ci95"] is None and mean_ci([])["mean"] is None


def test_significance_is_strict_at_0_05():
    assert not significant(0.05) and not significant(1 / 20) and not significant(None)
    assert significant(0.0499) and significant(1 / 70)


def test_verdicts():
    assert decide(None, [0.01]) == "not run"
    assert decide(False, [0.001]) == "does not hold"  # direction first
    assert decide(True, [0.01, 0.02]) == "holds"
    assert decide(True, [0.01, 0.05]) == "not significant"  # every comparison must be significant
    assert decide(True, [0.01, None]) == "not significant"
    assert decide(True) == "holds"  # a claim judged without a test (C10)
    defn = ClaimDef("C99", "s", "p", "rule {x}")
    row = defn.row("", {"a": 1}, decide(True, [0.05]), x=1)
    assert row["verdict"] == "not significant" and row["holds"] is False and row["measured"]["rule"] == "rule 1"
    assert defn.row("", {}, True, x=0)["verdict"] == "holds" and defn.row("", {}, None, x=0)["holds"] is None
    # rows written before the verdict field: from holds
    assert [verdict_of({"holds": h}) for h in (True, False, None)] == ["holds", "does not hold", "not run"]
    assert {verdict_of(defn.row("", {}, v, x=0)) for v in VERDICTS} == set(VERDICTS)


def test_comparisons_fill_measured_and_brief():
    base = Sample("base", (0, 1, 2), (20_000.0, 21_000.0, CENSORED), (20_000, 21_000, None))
    ticket = Sample("ticket", (0, 1, 2), (500.0, 600.0, 700.0), (500, 600, 700))
    measured, ps = comparisons([("ticket < base", base, ticket)])
    assert measured["n"] == {"base": 3, "ticket": 3}
    assert measured["per-seed t_gen"]["base"] == {"0": 20_000, "1": 21_000, "2": None}
    assert measured["p"] == {"ticket < base": 0.05} and ps == [pytest.approx(0.05)]
    lo, hi = measured["ci95"]["ticket < base"]
    assert lo <= measured["effect"]["ticket < base"] <= hi
    assert "budget + 1" in measured["statistics"] and "exact" in measured["statistics"]
    assert stats_brief({"measured": measured}) == "n = 3, p = 0.05"
    assert stats_brief({"measured": {"rule": "x"}}) == "" and stats_brief({"measured": "text"}) == ""
    two, _ = comparisons([("a", base, ticket), ("b", base, ticket)])
    assert stats_brief({"measured": two}) == "n = 3, largest of 2 p = 0.05"
    assert not math.isnan(two["effect"]["a"])


def test_chance_p_is_the_poisson_binomial_tail():
    from grokking_tickets.analysis.stats import chance_p

    assert chance_p(3, [0.4, 0.4, 0.4]) == pytest.approx(0.4**3)
    assert chance_p(2, [0.5, 0.2]) == pytest.approx(0.5 * 0.2)
    assert chance_p(1, [0.5, 0.2]) == pytest.approx(1 - 0.5 * 0.8)
    assert chance_p(0, [0.5]) == 1.0 and chance_p(1, []) is None
