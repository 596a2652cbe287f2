"""Two-sample comparisons for the claims: per-seed values, an effect with a bootstrap 95%
confidence interval, and a one-sided rank test. Everything statistical is SciPy's
(:func:`scipy.stats.mannwhitneyu`, :class:`scipy.stats.PermutationMethod`,
:func:`scipy.stats.bootstrap`); this module only chooses the method and says which one it used.

**Censoring.** A run that never reaches the threshold has no t_gen; the claims enter it at its
budget + 1 step. For the rank test that is exact, not an approximation: a Mann–Whitney test
reads only the order of the values, and "later than every measured t_gen" is all we know
about such a run, which is what budget + 1 says (every t_gen measured is at most the budget).
Two such runs tie, as they should: their order is unknown. With ties the p-value comes from an
exact permutation test of the same U statistic (SciPy's plain ``method='exact'`` ignores
ties). The effect (a ratio of means) is another matter: a censored value is a lower bound, so
where the claimed-larger arm has censored runs, the effect and its interval are lower bounds too.

**Small n.** With 3 seeds against 3 the smallest one-sided p a rank test can reach is
1 / C(6, 3) = 0.05; with 8 against 8 it is 1 / C(16, 8) ≈ 7.8e-5.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 0.05  # the significance level of every verdict: p < ALPHA, strictly
N_RESAMPLES = 9_999  # bootstrap resamples
BOOTSTRAP_SEED = 0  # fixed, so a report rebuilt from the same runs prints the same intervals
MAX_EXACT_PERMUTATIONS = 100_000  # with ties: exact enumeration up to this many splits, else random
ALTERNATIVES = ("greater", "less", "two-sided")
STATISTICS = ("ratio", "difference")


def rank_test(a: Sequence[float], b: Sequence[float], alternative: str = "greater") -> tuple[float | None, str]:
    """Mann–Whitney U of ``a`` against ``b``: (p, the method used).

    ``alternative='greater'``: H1 is that ``a`` is stochastically greater than ``b``. Without
    ties the exact distribution of U (``method='exact'``); with ties (censored runs, equal
    steps on the evaluation grid) a permutation test of U, exact when there are at most
    MAX_EXACT_PERMUTATIONS splits of the pooled values (always, up to 9 against 9), else
    99,999 random permutations with a fixed seed (a sample of one value: see below). p is None
    when a sample is empty.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}; got {alternative!r}")
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not len(a) or not len(b):
        return None, "none (an empty sample)"
    pooled = np.concatenate([a, b])
    if len(np.unique(pooled)) == len(pooled):
        res = stats.mannwhitneyu(a, b, alternative=alternative, method="exact")
        return float(res.pvalue), "exact"
    if min(len(a), len(b)) < 2 and alternative != "two-sided":
        # SciPy's permutation test wants two values per sample. With one, break every tie against
        # the alternative (a's tied values just below b's for 'greater') and take the exact p:
        # an upper bound of the tied p, so never a claim the data do not support.
        toward = -np.inf if alternative == "greater" else np.inf
        res = stats.mannwhitneyu(np.nextafter(a, toward), b, alternative=alternative, method="exact")
        return float(res.pvalue), "exact, ties broken against the alternative (a sample of 1)"
    splits = math.comb(len(pooled), len(a))
    exact = splits <= MAX_EXACT_PERMUTATIONS
    method = stats.PermutationMethod(
        n_resamples=MAX_EXACT_PERMUTATIONS if exact else 99_999, rng=np.random.default_rng(BOOTSTRAP_SEED)
    )
    res = stats.mannwhitneyu(a, b, alternative=alternative, method=method)
    return float(res.pvalue), "exact permutation, ties" if exact else "99,999 random permutations (seed 0), ties"


def significant(p: float | None) -> bool:
    """p < ALPHA, strictly: 3 seeds against 3, completely separated, give p = 1/20 = 0.05, which
    is *not* significant (a relative tolerance keeps a p computed as 0.05000000000000001 or
    0.04999999999999999 on the side of its exact value)."""
    return p is not None and p < ALPHA * (1 - 1e-9)


def _effect_fn(statistic: str):
    if statistic == "ratio":
        return lambda a, b, axis=-1: np.mean(a, axis=axis) / np.mean(b, axis=axis)
    if statistic == "difference":
        return lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis)
    raise ValueError(f"statistic must be one of {STATISTICS}; got {statistic!r}")


def bootstrap_ci(samples: tuple[np.ndarray, ...], fn, estimate: float) -> tuple[list[float] | None, str]:
    """A 95% bootstrap interval of ``fn(*samples)``: ([low, high], the method used).

    Each sample is resampled independently, N_RESAMPLES times, seed BOOTSTRAP_SEED. BCa first;
    where BCa is undefined (all resamples equal, or a degenerate jackknife: SciPy returns NaN
    then) or leaves out the estimate itself, the percentile interval. None when a sample has
    fewer than 2 values (nothing to resample) or the statistic is not finite on some resample.
    """
    if min(len(s) for s in samples) < 2:
        return None, "none (n < 2)"
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # SciPy warns where BCa is undefined; we fall back
            res = stats.bootstrap(
                samples, fn, n_resamples=N_RESAMPLES, method=method, vectorized=True,
                rng=np.random.default_rng(BOOTSTRAP_SEED),
            )  # fmt: skip
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            if method == "BCa":
                continue
            return None, "none (the statistic is not finite on some resample)"
        if method == "BCa" and not lo <= estimate <= hi:
            continue
        if lo == hi:
            method = f"{method} (every resample equal)"
        return [lo, hi], method
    return None, "none"  # not reached


def compare(
    a: Sequence[float], b: Sequence[float], alternative: str = "greater", statistic: str = "ratio"
) -> dict[str, Any]:
    """Compare sample ``a`` with sample ``b`` (one value per seed).

    Returns ``{"a", "b"`` (the values), ``"n"`` ([len a, len b]), ``"effect"`` (mean(a) / mean(b)
    for ``statistic='ratio'``, mean(a) − mean(b) for ``'difference'``), ``"ci95"`` ([low, high]
    or None) and ``"ci_method"``, ``"p"`` (one-sided by default: H1 is ``a`` greater than ``b``)
    and ``"p_method"``, ``"alternative"``, ``"direction"`` (whether the effect lies on the
    alternative's side: ratio > 1 or difference > 0 for 'greater'), ``"significant"``
    (direction and p < ALPHA)}.
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    fn = _effect_fn(statistic)
    with np.errstate(all="ignore"):
        effect = float(fn(x, y)) if len(x) and len(y) else math.nan
    ci, ci_method = bootstrap_ci((x, y), fn, effect) if math.isfinite(effect) else (None, "none")
    p, p_method = rank_test(x, y, alternative)
    null = 1.0 if statistic == "ratio" else 0.0
    direction = {"greater": effect > null, "less": effect < null, "two-sided": effect != null}[alternative]
    direction = bool(direction and math.isfinite(effect))
    return {
        "a": x.tolist(),
        "b": y.tolist(),
        "n": [len(x), len(y)],
        "statistic": statistic,
        "effect": effect if math.isfinite(effect) else None,
        "ci95": ci,
        "ci_method": ci_method,
        "alternative": alternative,
        "p": p,
        "p_method": p_method,
        "direction": direction,
        "significant": bool(direction and significant(p)),
    }


def mean_ci(values: Sequence[float]) -> dict[str, Any]:
    """One sample: its mean and a 95% bootstrap interval of the mean (same methods as compare)."""
    x = np.asarray(values, float)
    mean = float(np.mean(x)) if len(x) else math.nan
    ci, method = bootstrap_ci((x,), lambda v, axis=-1: np.mean(v, axis=axis), mean) if len(x) else (None, "none")
    return {"values": x.tolist(), "n": len(x), "mean": mean if len(x) else None, "ci95": ci, "ci_method": method}


def chance_p(successes: int, chances: Sequence[float]) -> float | None:
    """One-sided p of at least ``successes`` among independent trials that succeed by chance
    with probabilities ``chances`` (one per seed): the Poisson-binomial tail
    (:data:`scipy.stats.poisson_binom`). None without trials."""
    if not len(chances):
        return None
    if successes <= 0:
        return 1.0
    return float(stats.poisson_binom.sf(successes - 1, np.asarray(chances, float)))
