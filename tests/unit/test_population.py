import torch
from conftest import assert_same_bits

from grokking_tickets.analysis.grokking import grokking_times
from grokking_tickets.config import from_dict
from grokking_tickets.models import build_model
from grokking_tickets.tasks import build_dataset
from grokking_tickets.train.population import Member, Population


def _setup(cfg):
    data = build_dataset(cfg.task)
    return data, build_model(cfg.model, data)


def _train(cfg, members, steps):
    data, model = _setup(cfg)
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, "cpu")
    evals = []
    for _ in range(steps):
        pop.step()
        evals.append(pop.evaluate())
    return pop, torch.stack(evals)  # [steps, K, metrics]


def _random_mask(model, seed, keep=0.5):
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.rand(s, generator=gen) < keep for n, s in model.shapes().items()}


def test_member_equals_the_same_run_alone():
    """Members differ in seed, mask and weight decay; each must match its solo run exactly.

    Bit-exact at the paper's shapes: MKL's batched GEMM gives every batch entry the result of a
    single GEMM there. (For toy shapes, a batch of one can take another kernel and differ in
    the last bit.)
    """
    tiny_cfg = from_dict({"train": {"steps": 25}})
    _, model = _setup(tiny_cfg)
    members = [
        Member(model.init(0), None, 1.0),
        Member(model.init(1), _random_mask(model, 7), 0.3),
        Member(model.init(2), None, 0.0),
    ]
    pop, evals = _train(tiny_cfg, members, 25)
    for k, m in enumerate(members):
        solo, solo_evals = _train(tiny_cfg, [m], 25)
        assert_same_bits(evals[:, k], solo_evals[:, 0], f"member {k}'s metrics against its solo run's")
        for n in model.names:
            assert_same_bits(pop.params[n][k], solo.params[n][0], f"member {k}'s {n} against its solo run's")


def test_pruned_weights_and_adam_state_stay_zero(tiny_cfg):
    _, model = _setup(tiny_cfg)
    mask = _random_mask(model, 3, keep=0.3)
    pop, _ = _train(tiny_cfg, [Member(model.init(0), mask, 1.0)], 30)
    for n in model.names:
        pruned = ~mask[n]
        assert (pop.params[n][0][pruned] == 0).all()
        assert (pop.opt.m[n][0][pruned] == 0).all() and (pop.opt.v[n][0][pruned] == 0).all()
        assert (pop.params[n][0][mask[n]] != 0).all()  # survivors do train
    total = sum(m.numel() for m in mask.values())
    assert float(pop.density[0]) == sum(int(m.sum()) for m in mask.values()) / total


def test_weight_decay_is_decoupled_like_torch_adamw(tiny_cfg):
    """One member against torch.optim.AdamW on the same gradients."""
    data, model = _setup(tiny_cfg)
    theta = model.init(5)
    pop = Population(model, data, tiny_cfg.optim, [Member(theta, None, 0.7)], "ce", "cpu")
    ref = {n: theta[n].clone().unsqueeze(0).requires_grad_() for n in model.names}
    o = tiny_cfg.optim
    opt = torch.optim.AdamW(list(ref.values()), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=0.7)
    from grokking_tickets.train.loss import ce_grad

    for _ in range(10):
        grads = model.grads({n: p.detach() for n, p in ref.items()}, pop.train_prep, data.train_y, ce_grad)
        for n, p in ref.items():
            p.grad = grads[n]
        opt.step()
        pop.step()
    for n in model.names:
        torch.testing.assert_close(pop.params[n], ref[n].detach(), rtol=1e-5, atol=1e-7)


def test_metrics_columns_are_sane(tiny_cfg):
    _, model = _setup(tiny_cfg)
    pop, evals = _train(tiny_cfg, [Member(model.init(0), None, 1.0)], 3)
    row = evals[-1, 0]
    assert 0 <= row[1] <= 1 and 0 <= row[3] <= 1  # accuracies
    flat = torch.cat([p[0].flatten() for p in pop.params.values()]).double()
    assert row[4].item() == __import__("pytest").approx(flat.abs().sum().item(), rel=1e-6)
    assert row[5].item() == __import__("pytest").approx(flat.norm().item(), rel=1e-6)
    # the authors' definition: the mean over matrices of each matrix's L1 / Frobenius norm
    mats = [p[0].double() for p in pop.params.values()]
    assert row[6].item() == __import__("pytest").approx(sum(m.abs().sum().item() for m in mats) / len(mats), rel=1e-9)
    assert row[7].item() == __import__("pytest").approx(sum(m.norm().item() for m in mats) / len(mats), rel=1e-9)
    assert row[7] < row[5]  # four matrices: the mean of their norms is below the norm of all of them


def test_metrics_of_an_older_resume_point_gain_the_later_columns_as_nan():
    from grokking_tickets.cohort import _with_all_columns
    from grokking_tickets.train.population import METRICS

    old = torch.arange(14, dtype=torch.float64).view(2, 7)  # step + the six columns of the first version
    new = _with_all_columns(old)
    assert new.shape == (2, 1 + len(METRICS)) and torch.equal(new[:, :7], old) and new[:, 7:].isnan().all()
    assert _with_all_columns(new) is new


def test_grokking_times():
    steps = [0, 100, 200, 300]
    assert grokking_times(steps, [0.1, 0.96, 1, 1], [0, 0.2, 0.5, 0.95]) == {"t_mem": 100, "t_gen": 300, "tau": 3.0}
    assert grokking_times(steps, [0.1, 0.96, 1, 1], [0, 0.2, 0.5, 0.9]) == {"t_mem": 100, "t_gen": None, "tau": None}
    assert grokking_times(steps, [0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0]) == {"t_mem": None, "t_gen": None, "tau": None}
    assert grokking_times(steps, [0, 0.5, 0.5, 1], [0, 0.5, 0.5, 1], threshold=0.5)["t_gen"] == 100


def test_fused_and_foreach_adamw_agree_with_torch(tiny_cfg):
    """Both code paths of PopulationAdamW against torch.optim.AdamW, two weight decays at once."""
    from grokking_tickets.train.optim import PopulationAdamW

    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(2, 6, 5, generator=gen)
    grads = [torch.randn(2, 6, 5, generator=gen) for _ in range(20)]
    o = tiny_cfg.optim
    for fused in (True, False):
        params = {"w": theta.clone()}
        opt = PopulationAdamW(params, [1.0, 0.1], o, fused=fused)
        for g in grads:
            opt.step({"w": g})
        for k, wd in enumerate([1.0, 0.1]):
            ref = theta[k].clone().requires_grad_()
            ropt = torch.optim.AdamW([ref], lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=wd)
            for g in grads:
                ref.grad = g[k]
                ropt.step()
            torch.testing.assert_close(params["w"][k], ref.detach(), rtol=1e-6, atol=1e-7)
