"""Losses for populations: logits are [K, C, N] (members, classes, examples).

Training needs only the gradient of the loss, metrics need its value. The value is computed
with a float64 log-softmax, as the authors' code does. The gradient is computed in float32 in a
form without cancellation: for the true class c, softmax_c - 1 = -(sum_{j != c} e_j) / Z with
e_j = exp(x_j - max x). A float32 log-softmax rounds softmax_c to exactly 1 once the margin
passes ~17 nats, so the true-class gradient vanishes while the others do not (the loss spikes
the authors saw); float64 pushes that point to ~37 nats. The form here never cancels, so it
agrees with the float64 gradient to float32 rounding wherever float64 is itself accurate, and
costs a fraction of a float64 pass (a float64 log-softmax was 13 ms of a 27 ms step at K=32).
The tests check it against autograd through a float64 log-softmax, confident logits included.
"""

from __future__ import annotations

import torch


def ce_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d mean-CE / d logits. logits [K, C, N] float32, y [N] -> [K, C, N]. Consumes ``logits``."""
    K, _, N = logits.shape
    yi = y.view(1, 1, N).expand(K, 1, N)
    # [K, C, N], max entry 1. Exponents are clamped at -87 (e^-87 = 1.6e-38, float32's smallest
    # normal): below it exp takes a slow path on x86 (4-10x slower), and such terms are
    # negligible beside the true-class term anyway.
    # exp runs member by member: on a [K, C, N] block, where a member's elements fall in a
    # thread's scalar remainder (std::exp, not the SIMD exp) depends on K, and the two can
    # differ in the last bit. Per member, a member computes the same bits at any K.
    e = logits.sub_(logits.amax(1, keepdim=True)).clamp_min_(-87.0)
    for member in e:
        member.exp_()
    e_true = e.gather(1, yi)  # [K, 1, N]
    e.scatter_(1, yi, 0.0)
    others = e.sum(1, keepdim=True)  # [K, 1, N] sum of e_j over j != c, no cancellation
    e.scatter_(1, yi, others.neg())
    return e.div_((others + e_true).mul_(N))


def ce_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross entropy per member, float64 log-softmax. [K, C, N], [N] -> [K] float64."""
    K, _, N = logits.shape
    logp = logits.double().log_softmax(1)
    return -logp.gather(1, y.view(1, 1, N).expand(K, 1, N)).mean((1, 2))


def _target(y: torch.Tensor, C: int, dtype: torch.dtype) -> torch.Tensor:
    """[C, N]: one-hot rows for class ids; real targets (a regression task, C = 1) as they are."""
    if y.is_floating_point():
        return y.view(1, -1).to(dtype)
    return torch.nn.functional.one_hot(y, C).T.to(dtype)


def mse_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d MSE / d logits, against one-hot targets for class ids and against y itself for real
    targets; MSE = mean over examples and outputs (torch.nn.MSELoss, as Omnigrok and the
    authors' code use). Consumes ``logits``."""
    _, C, N = logits.shape  # (K, C, N)
    return logits.sub_(_target(y, C, logits.dtype)).mul_(2.0 / (N * C))


def mse_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    diff = logits.double() - _target(y, logits.shape[1], torch.float64)
    return diff.square().mean((1, 2))


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[K, C, N], [N] -> [K] float64 fraction of argmax hits (first index wins ties)."""
    return (logits.argmax(1) == y).double().mean(1)


def r_squared(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[K, 1, N], [N] real -> [K] float64 coefficient of determination 1 - SS_res / SS_tot,
    SS_tot about the mean of these targets. It is what a regression task reports where a
    classification task reports accuracy: 1 is a perfect fit, 0 is no better than predicting
    the mean, and t_gen is the first step with test R² >= train.threshold (a relative test
    error, MSE / Var(y), of at most 1 - threshold)."""
    yd = y.double()
    total = (yd - yd.mean()).square().sum()
    # member by member: a row of a [K, N] reduction may sum in another order than a lone vector
    residual = torch.stack([(member[0].double() - yd).square().sum() for member in logits])  # [K]
    return 1.0 - residual / total


GRADS = {"ce": ce_grad, "mse": mse_grad}
LOSSES = {"ce": ce_loss, "mse": mse_loss}
# What the accuracy columns of the metrics hold, by the task's target kind (tasks/base.py)
SCORES = {"class": accuracy, "real": r_squared}


def score_of(y: torch.Tensor):
    """The score of targets ``y``: R² for real (float) targets, accuracy for class ids; the rule
    the MSE's ``_target`` follows too."""
    return SCORES["real" if y.is_floating_point() else "class"]
