import pytest
import torch
from conftest import check_tickets_experiment

from grokking_tickets.config import ModelConfig, TaskConfig, from_dict
from grokking_tickets.models.mnist_mlp import MnistMLP, plain_logits
from grokking_tickets.tasks.mnist_data import find_mnist_file
from grokking_tickets.train.loss import mse_grad, mse_loss


@pytest.mark.parametrize("bias", [False, True])
def test_forward_and_gradients_equal_the_plain_model(bias):
    model = MnistMLP(ModelConfig(name="mnist-mlp", d_hidden=16, bias=bias, init_scale=8.0), 784, 10)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(50, 784, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (50,), generator=gen)
    theta = {k: (v + 0.1 * torch.randn(v.shape, generator=gen)).double() for k, v in model.init(1).items()}
    batch = {k: v.unsqueeze(0) for k, v in theta.items()}
    XT = model.prepare(x)
    torch.testing.assert_close(model.logits(batch, XT)[0].T, plain_logits(theta, x))
    grads = model.grads(batch, XT, y, mse_grad)
    leaves = {k: v.clone().requires_grad_() for k, v in theta.items()}
    torch.nn.functional.mse_loss(plain_logits(leaves, x), torch.nn.functional.one_hot(y, 10).double()).backward()
    for k in leaves:
        torch.testing.assert_close(grads[k][0], leaves[k].grad)
    assert mse_loss(model.logits(batch, XT), y)[0].item() == pytest.approx(
        torch.nn.functional.mse_loss(plain_logits(theta, x), torch.nn.functional.one_hot(y, 10).double()).item()
    )


def test_init_scale_is_kappa_over_sqrt_fan_in():
    model = MnistMLP(ModelConfig(name="mnist-mlp", d_hidden=200, init_scale=8.0), 784, 10)
    w = model.init(0)
    assert w["W1"].std().item() == pytest.approx(8 / 784**0.5, rel=0.02)
    assert w["W2"].std().item() == pytest.approx(8 / 200**0.5, rel=0.02)


@pytest.mark.skipif(find_mnist_file() is None, reason="the MNIST data file is not installed (make setup)")
def test_mnist_split_is_disjoint_and_sized():
    from grokking_tickets.tasks import build_dataset
    from grokking_tickets.tasks.mnist import _arrays

    data = build_dataset(TaskConfig(name="mnist"))
    assert data.train_x.shape == (1000, 784) and data.test_x.shape == (60000, 784)
    images, _ = _arrays("")
    # disjoint as positions in the 70k set: recover each image's index through a hash of its pixels
    key = lambda t: {hash(r.numpy().tobytes()) for r in t}  # noqa: E731
    assert not key(data.train_x) & key(data.test_x)
    assert set(data.train_y.tolist()) == set(range(10))
    other = build_dataset(TaskConfig(name="mnist", split_seed=1))
    assert not torch.equal(other.train_y, data.train_y)


@pytest.mark.skipif(find_mnist_file() is None, reason="the MNIST data file is not installed (make setup)")
def test_mnist_tickets_end_to_end(tmp_path):
    from grokking_tickets.experiments.run import run_experiment

    cfg = from_dict(
        {
            "task": {"name": "mnist", "n_train": 200, "n_test": 1000},
            "model": {"name": "mnist-mlp", "d_hidden": 32, "init_scale": 8.0},
            "train": {"steps": 100, "eval_every": 50, "checkpoint_every": 50, "loss": "mse"},
            "optim": {"weight_decay": 0.1},
            "ticket": {"step": 100},
            "seeds": [0, 1],
        }
    )
    res = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert [c["id"] for c in res.claims] == ["C3"]
    check_tickets_experiment(tmp_path, "tickets@mnist-mlp", "C3", [0, 1], 0.6)
    assert (tmp_path / "figures" / "tickets@mnist-mlp.png").exists()
