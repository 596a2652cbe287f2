"""Edge-popup (train/edge_popup.py): the score trainer against a textbook edge-popup loop, and the
guarantees every trainer gives, for every registered model's tiny configuration:

- the mask keeps exactly n − round((1 − density) · n) weights of every matrix, and is the mask
  ``mask_from_scores`` makes of |scores| (ties included);
- the frozen weights never change, bit for bit, and the effective weights are W ⊙ mask;
- over a trajectory of many steps the trainer follows a textbook loop: autograd through
  W ⊙ TopK(|S|) with a straight-through TopK, torch.optim.AdamW on the scores, float64;
- a population member computes what its run computes alone, bit for bit;
- a run interrupted and resumed ends with the numbers of an uninterrupted one;
- the ids of runs that are not edge-popup runs did not move; edge-popup runs never share a
  population with weight-training runs; bad input is refused before anything trains.
"""

from __future__ import annotations

import hashlib

import pytest
import torch
from conftest import assert_same_bits
from test_exactness import DEVICES, TINY, _cfg, _model
from test_trajectory import _textbook_loss

from grokking_tickets.config import Config, apply_overrides
from grokking_tickets.errors import UserError
from grokking_tickets.experiments import Context, Dense
from grokking_tickets.experiments.arms import EdgePopup
from grokking_tickets.pruning import mask_from_scores
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import EdgePopupSpec, InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store
from grokking_tickets.train import edge_popup
from grokking_tickets.train.edge_popup import ScoreMember, ScorePopulation, init_scores, n_kept, scored_names, top_mask

STEPS = 50


def _members(model, dtype=torch.float32) -> list[ScoreMember]:
    """Members that differ in frozen weights, seed (scores), density and weight decay."""
    cast = lambda p: {n: t.to(dtype) for n, t in p.items()}
    return [
        ScoreMember(cast(model.init(0)), init_scores(model, 0), 0.4, 0.0),
        ScoreMember(cast(model.init(1)), init_scores(model, 1), 0.6, 0.1),
        ScoreMember(cast(model.init(2)), init_scores(model, 3), 1.0, 0.0),
    ]


def _optim(cfg):
    return apply_overrides(cfg, ["optim.lr=0.01", "optim.weight_decay=0.0"]).optim


# -- masks ----------------------------------------------------------------------------------------------


def test_top_mask_is_mask_from_scores_with_ties():
    """Scores drawn from a handful of integers (many ties, zeros, signs): every member's mask is
    mask_from_scores(|S|, 1 − density, "layer") exactly, for each member's own density."""
    gen = torch.Generator().manual_seed(0)
    densities = [0.05, 0.4, 0.5, 0.6, 0.97, 1.0]
    for _ in range(50):
        s = torch.randint(-3, 4, (len(densities), 9, 7), generator=gen).float()
        pruned = torch.tensor([63 - n_kept(d, 63) for d in densities])
        m = top_mask(s, pruned)
        for k, d in enumerate(densities):
            assert torch.equal(m[k], mask_from_scores({"w": s[k].abs()}, round(1 - d, 12), "layer")["w"]), (k, d)


@pytest.mark.parametrize("name", sorted(TINY))
def test_kept_counts_are_exact_and_frozen_weights_never_change(name):
    cfg = _cfg(name)
    data, model = _model(cfg)
    members = _members(model)
    frozen = [{n: t.clone() for n, t in m.weights.items()} for m in members]
    pop = ScorePopulation(model, data, _optim(cfg), members, cfg.train.loss, "cpu")
    start = {n: s.clone() for n, s in pop.scores.items()}
    for _ in range(20):
        pop.step()
        for k, m in enumerate(members):
            w = pop.member_weights(k)
            for n in model.names:
                assert torch.equal(pop.weights[n][k], frozen[k][n]), (k, n)  # frozen, bit for bit
                mask = pop.member_mask(k)[n]
                assert torch.equal(w[n], frozen[k][n] * mask), (k, n)  # W ⊙ m
                if n in pop.scored:
                    assert int(mask.sum()) == n_kept(m.density, mask.numel()), (k, n)
                else:
                    assert mask.all(), (k, n)  # vectors are not scored
    assert [round(float(d), 2) for d in pop.density] == [round(_density(model, m.density), 2) for m in members]
    assert any(not torch.equal(pop.scores[n][0], start[n][0]) for n in pop.scored)  # scores did train


def _density(model, d: float) -> float:
    shapes = model.shapes()
    n = {k: torch.Size(s).numel() for k, s in shapes.items()}
    kept = sum(n_kept(d, n[k]) if len(s) >= 2 else n[k] for k, s in shapes.items())
    return kept / sum(n.values())


def test_scores_are_kaiming_uniform_and_independent_of_theta0():
    cfg = _cfg("mlp")
    _, model = _model(cfg)
    s0, s0b, s1 = init_scores(model, 0), init_scores(model, 0), init_scores(model, 1)
    for n, shape in model.shapes().items():
        bound = 1 / shape[1] ** 0.5
        assert s0[n].abs().max() <= bound and s0[n].abs().max() > 0.9 * bound
        assert torch.equal(s0[n], s0b[n]) and not torch.equal(s0[n], s1[n])
    # not drawn from θ0's generator stream: no correlation with the same seed's θ0
    theta0 = model.init(0)
    a, b = torch.cat([s0[n].flatten() for n in s0]), torch.cat([theta0[n].flatten() for n in s0])
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 0.05
    assert scored_names(model) == model.names


# -- the textbook loop ----------------------------------------------------------------------------------


class _StraightThroughTopK(torch.autograd.Function):
    """Keep the ``kept`` largest of ``a`` (a stable sort; earlier positions dropped first on
    ties); the backward pass is the identity, as Ramanujan et al. define it."""

    @staticmethod
    def forward(ctx, a, kept):
        order = torch.sort(a.flatten(), stable=True).indices
        out = torch.ones(a.numel(), dtype=a.dtype)
        out[order[: a.numel() - kept]] = 0
        return out.view(a.shape)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _textbook_edge_popup(cfg, data, model, member: ScoreMember, optim, steps: int, learn_weights: bool = False):
    """One member by the book: the model's plain forward pass, autograd, torch.optim.AdamW on
    the scores (and, with ``learn_weights``, on the weights too: one optimizer over both, as the
    authors' train_slth.py). Returns the scores (and weights) after each step and the losses
    before each."""
    x = data.train_x
    dtype = member.weights[model.names[0]].dtype
    x = x.to(dtype) if x.is_floating_point() else x
    W = {n: w.clone().requires_grad_(learn_weights) for n, w in member.weights.items()}
    S = {n: member.scores[n].to(dtype).clone().requires_grad_() for n in member.scores}
    params = list(S.values()) + (list(W.values()) if learn_weights else [])
    opt = torch.optim.AdamW(
        params, lr=optim.lr, betas=(optim.beta1, optim.beta2), eps=optim.eps, weight_decay=member.weight_decay
    )
    kept = {n: n_kept(member.density, s.numel()) for n, s in S.items()}
    trail, losses = [], []
    for _ in range(steps):
        masks = {n: _StraightThroughTopK.apply(S[n].abs(), kept[n]) for n in S}
        eff = {n: W[n] * masks[n] if n in S else W[n] for n in model.names}
        loss = _textbook_loss(model.forward(eff, x), data.train_y, cfg.train.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        trail.append({**{n: s.detach().clone() for n, s in S.items()},
                      **({f"weight.{n}": w.detach().clone() for n, w in W.items()} if learn_weights else {})})  # fmt: skip
    return trail, torch.tensor(losses, dtype=torch.float64)


@pytest.mark.parametrize("learn_weights", [False, True], ids=["frozen", "weight-learning"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(TINY))
def test_trainer_follows_the_textbook_edge_popup_loop(name, device, learn_weights):
    """float64, STEPS steps, every member of a population of three (densities 0.4, 0.6, 1.0;
    weight decay on the scores 0 and 0.1): scores within 1e-10 (relative to their range) and the
    same masks at every step, losses within 1e-10; where the weights learn, they too."""
    cfg = _cfg(name)
    data, model = _model(cfg)
    optim = _optim(cfg)
    members = _members(model, torch.float64)
    # the textbook loop runs on the CPU
    pop = ScorePopulation(model, data, optim, members, cfg.train.loss, device, learn_weights=learn_weights)
    trails, pop_losses = [[] for _ in members], []
    for _ in range(STEPS):
        pop_losses.append(pop.evaluate()[:, 0].cpu())
        pop.step()
        for k in range(len(members)):
            trails[k].append({n: pop.scores[n][k].to("cpu", copy=True) for n in pop.scored})
            if learn_weights:
                trails[k][-1].update({f"weight.{n}": pop.weights[n][k].to("cpu", copy=True) for n in model.names})
    pop_losses = torch.stack(pop_losses, 1)  # [K, STEPS]
    for k, m in enumerate(members):
        book, losses = _textbook_edge_popup(cfg, data, model, m, optim, STEPS, learn_weights)
        torch.testing.assert_close(pop_losses[k], losses, rtol=1e-10, atol=1e-12)
        for t in range(STEPS):
            for n in (f"weight.{n}" for n in model.names) if learn_weights else ():
                ours, theirs = trails[k][t][n], book[t][n]
                assert (ours - theirs).abs().max() <= 1e-10 * theirs.abs().max(), (k, t, n)
            for n in pop.scored:
                ours, theirs = trails[k][t][n], book[t][n]
                scale = theirs.abs().max()
                assert (ours - theirs).abs().max() <= 1e-10 * scale, (k, t, n)
                kept = n_kept(m.density, ours.numel())
                assert torch.equal(
                    top_mask(ours[None], torch.tensor([ours.numel() - kept]))[0],
                    _StraightThroughTopK.apply(theirs.abs(), kept).bool(),
                ), (k, t, n)
        assert (book[-1][pop.scored[0]] != m.scores[pop.scored[0]].double()).any()  # far from the start
        if learn_weights:  # the weights moved
            assert not torch.equal(book[-1][f"weight.{model.names[0]}"], m.weights[model.names[0]])


# -- populations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TINY))
def test_member_equals_its_solo_run_bit_for_bit(name):
    cfg = _cfg(name)
    data, model = _model(cfg)
    optim = _optim(cfg)
    members = _members(model)
    pop = ScorePopulation(model, data, optim, members, cfg.train.loss, "cpu")
    solos = [ScorePopulation(model, data, optim, [m], cfg.train.loss, "cpu") for m in members]
    for _ in range(20):
        for p in (pop, *solos):
            p.step()
    evals = pop.evaluate()
    for k, solo in enumerate(solos):
        assert_same_bits(evals[k], solo.evaluate()[0], f"member {k}'s metrics against its solo run's")
        for n in pop.scored:
            assert_same_bits(pop.scores[n][k], solo.scores[n][0], f"member {k}'s scores of {n} against its solo run's")
        for n in model.names:
            assert_same_bits(pop.params[n][k], solo.params[n][0], f"member {k}'s {n} against its solo run's")


def _popup_specs(cfg, learn: bool | None = None) -> tuple[list[RunSpec], list[RunSpec]]:
    """Dense source runs (seeds 0, 1) and edge-popup runs of them: θ0 and step 10, densities 0.4 and 0.6."""
    dense = [RunSpec.dense(cfg, s) for s in cfg.seeds]
    ep_cfg = apply_overrides(cfg, ["optim.lr=0.01", "optim.weight_decay=0.0"])
    popups = [
        RunSpec(ep_cfg.task, ep_cfg.model, ep_cfg.optim, ep_cfg.train, d.seed,
                InitSpec(edge_popup=EdgePopupSpec(d.run_id, step, dens, learn)))
        for d in dense
        for step, dens in ((0, 0.4), (10, 0.6))
    ]  # fmt: skip
    return dense, popups


@pytest.mark.parametrize("learn", [None, True], ids=["frozen", "weight-learning"])
@pytest.mark.parametrize("name", sorted(TINY))
def test_resume_equals_uninterrupted(name, learn, tmp_path, monkeypatch):
    """Edge-popup runs crashed at step 17 (resume points at 10) and resumed: the metrics and
    final weights of an uninterrupted training (the scores and their moments are the state;
    where the weights learn, the weights and theirs too)."""
    cfg = _cfg(name)
    dense, popups = _popup_specs(cfg, learn)
    assert len({s.cohort_key() for s in popups}) == 1

    def train(out, specs):
        train_runs(specs, Store(out), torch.device("cpu"), progress=False)

    for out in ("clean", "crashed"):
        train(tmp_path / out, dense)
    train(tmp_path / "clean", popups)

    class Crash(Exception):
        pass

    real = ScorePopulation.step

    def crashing(self):
        if self.step_count == 17:
            raise Crash
        real(self)

    monkeypatch.setattr(edge_popup.ScorePopulation, "step", crashing)
    with pytest.raises(Crash):
        train(tmp_path / "crashed", popups)
    monkeypatch.setattr(edge_popup.ScorePopulation, "step", real)
    crashed = Store(tmp_path / "crashed")
    assert crashed.load_state(popups[0].run_id)[0] == 10 and set(crashed.load_state(popups[0].run_id)[1]) >= {
        f"score.{n}" for n in scored_names(_model(cfg)[1])
    }
    train(tmp_path / "crashed", popups)
    clean = Store(tmp_path / "clean")
    steps = cfg.train.steps
    for s in popups:
        assert clean.run_metrics(s.run_id).equals(crashed.run_metrics(s.run_id)), s.run_id
        for n, w in clean.weights(s.run_id, steps).items():
            assert torch.equal(w, crashed.weights(s.run_id, steps)[n])
        # checkpoints are the effective weights: the source's weights where kept (frozen), 0 elsewhere
        src = clean.weights(s.init.edge_popup.source, s.init.edge_popup.step)
        for n, w in clean.weights(s.run_id, steps).items():
            kept = w != 0
            assert torch.equal(w[kept], src[n][kept]) == (not learn), n


# -- identities and refusals ------------------------------------------------------------------------------


def test_ids_of_existing_runs_did_not_move():
    """Golden ids and cohort keys computed before edge-popup existed (main at 69e57c0)."""
    c = Config()
    src = "4fb516afc327f44d"
    mask = MaskSpec("magnitude", 0.6, "global", src, 30000)
    specs = {
        "4fb516afc327f44d": RunSpec.dense(c, 0),
        "9bd5b3dd310fa53f": RunSpec(c.task, c.model, c.optim, c.train, 1, InitSpec(mask=mask)),
        "67f30ece6872aba6": RunSpec(c.task, c.model, c.optim, c.train, 2, InitSpec(scale=0.5)),
        "95964602181d2637": RunSpec(c.task, c.model, c.optim, c.train, 0, InitSpec(mask=mask, rewind_source=src, rewind_step=1000)),
        "20499b0ca395486e": RunSpec.dense(apply_overrides(c, ["optim.grad_filter=ema"]), 0),
    }  # fmt: skip
    for run_id, s in specs.items():
        assert s.run_id == run_id
        assert hashlib.sha256(s.cohort_key().encode()).hexdigest()[:16] == "7b3437b0e0ad92ed"


def test_weight_learning_moves_no_frozen_run_id():
    """``learn_weights`` None (frozen) leaves the spec as it was before the field existed; True
    is another run, in another population."""
    c = Config()
    frozen = RunSpec(c.task, c.model, c.optim, c.train, 0, InitSpec(edge_popup=EdgePopupSpec("4fb516afc327f44d", 2000, 0.4)))
    learning = RunSpec(c.task, c.model, c.optim, c.train, 0,
                       InitSpec(edge_popup=EdgePopupSpec("4fb516afc327f44d", 2000, 0.4, True)))  # fmt: skip
    assert set(frozen.to_dict()["init"]["edge_popup"]) == {"source", "step", "density"}
    assert learning.run_id != frozen.run_id and learning.cohort_key() != frozen.cohort_key()
    assert RunSpec.from_dict(learning.to_dict()) == learning


def test_edge_popup_runs_never_share_a_population_with_weight_runs():
    c = Config()
    ep = RunSpec(
        c.task, c.model, c.optim, c.train, 0, InitSpec(edge_popup=EdgePopupSpec("4fb516afc327f44d", 2000, 0.4))
    )
    assert ep.cohort_key() != RunSpec.dense(c, 0).cohort_key()
    assert RunSpec.from_dict(ep.to_dict()) == ep  # the store's spec.json reads back
    other = RunSpec(c.task, c.model, c.optim, c.train, 1, InitSpec(edge_popup=EdgePopupSpec("x", 0, 0.6)))
    assert ep.cohort_key() == other.cohort_key() and ep.run_id != other.run_id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"density": 0.0}, "density (fraction kept) must lie in (0, 1]"),
        ({"density": 1.5}, "density (fraction kept) must lie in (0, 1]"),
        ({"density": 0.4, "step": -10}, "must be an integer >= 0"),
        ({"density": 0.4, "step": 2.5}, "must be an integer >= 0"),
    ],
)
def test_a_bad_density_or_step_is_refused(kwargs, message):
    with pytest.raises(
        UserError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")
    ):
        EdgePopup("popup", **kwargs)


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        (EdgePopup("popup", 0.4, step=15), "needs the dense weights at step 15"),
        (EdgePopup("popup", 0.4, step=40), "needs the dense weights at step 40"),
        (EdgePopup("popup", 0.4, step=10, overrides=("optim.grad_filter=ema",)), "optim.grad_filter=none"),
    ],
)
def test_a_step_never_saved_or_a_filter_is_refused_before_training(arm, message, tmp_path):
    cfg = _cfg("mlp")  # 30 steps, checkpoints every 10
    ctx = Context(cfg, Store(tmp_path), torch.device("cpu"), "t", progress=False)
    with pytest.raises(UserError, match=message):
        ctx.train_arms([Dense("base"), arm])
    assert not list(tmp_path.glob("runs/*"))  # nothing trained


def test_status_keeps_the_frozen_weights_an_edge_popup_run_reads(tmp_path):
    """`status --prune` must not delete the source checkpoint an edge-popup run is frozen at."""
    from grokking_tickets.status import needed_checkpoints

    c = Config()
    ep = RunSpec(
        c.task, c.model, c.optim, c.train, 0, InitSpec(edge_popup=EdgePopupSpec("4fb516afc327f44d", 2000, 0.4))
    )
    Store(tmp_path).begin(ep, {"W": torch.zeros(2, 2)}, None)
    assert needed_checkpoints(tmp_path) == {"4fb516afc327f44d": {2000}}
