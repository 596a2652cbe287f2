"""Jaccard distance on known masks, and mask drift between checkpoints δt apart."""

import pytest
import torch

from grokking_tickets.analysis.masks import jaccard_distance, mask_drift
from grokking_tickets.errors import UserError


def _m(*bits):
    return torch.tensor(bits, dtype=torch.bool)


@pytest.mark.parametrize(
    "a, b, jd",
    [
        (_m(1, 1, 0, 0), _m(1, 1, 0, 0), 0.0),  # the same kept set
        (_m(1, 1, 0, 0), _m(0, 0, 1, 1), 1.0),  # disjoint
        (_m(1, 1, 1, 0), _m(0, 1, 1, 1), 0.5),  # |∩| = 2, |∪| = 4
        (_m(1, 0, 0, 0), _m(1, 1, 1, 0), 2 / 3),  # |∩| = 1, |∪| = 3
        (_m(0, 0), _m(0, 0), 0.0),  # two empty masks: nothing differs
    ],
)
def test_jaccard_distance_of_known_masks(a, b, jd):
    assert jaccard_distance(a, b) == pytest.approx(jd)
    assert jaccard_distance(b, a) == pytest.approx(jd)


def test_jaccard_distance_refuses_masks_that_do_not_match():
    with pytest.raises(UserError, match="one shape"):
        jaccard_distance(_m(1, 0), _m(1, 0, 1))
    with pytest.raises(UserError, match="boolean"):
        jaccard_distance(torch.ones(2), torch.ones(2))


def test_mask_drift_compares_masks_delta_apart():
    # one matrix of 4 weights; rate 0.5 keeps the 2 largest. The kept pair moves at step 3000 only.
    w = {
        0: torch.tensor([4.0, 3.0, 1.0, 0.0]),
        1000: torch.tensor([4.0, 3.0, 1.0, 0.0]),
        2000: torch.tensor([4.0, 3.0, 1.0, 0.0]),
        3000: torch.tensor([0.0, 3.0, 4.0, 1.0]),  # kept {1, 2} instead of {0, 1}
        4000: torch.tensor([0.0, 3.0, 4.0, 1.0]),
    }
    rows = mask_drift({s: {"W": v} for s, v in w.items()}, 0.5, "global", delta=2000)
    assert [(r["from"], r["step"]) for r in rows] == [(0, 2000), (1000, 3000), (2000, 4000)]
    assert [r["W"] for r in rows] == pytest.approx([0.0, 2 / 3, 2 / 3])
    consecutive = mask_drift({s: {"W": v} for s, v in w.items()}, 0.5)
    assert [r["W"] for r in consecutive] == pytest.approx([0.0, 0.0, 2 / 3, 0.0])
    with pytest.raises(UserError, match="positive"):
        mask_drift({s: {"W": v} for s, v in w.items()}, 0.5, delta=0)
