import pytest
import torch

from grokking_tickets.config import ModelConfig, TaskConfig
from grokking_tickets.models.mnist_mlp import MnistMLP
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
    torch.testing.assert_close(model.logits(batch, XT)[0].T, model.forward(theta, x))
    grads = model.grads(batch, XT, y, mse_grad)
    leaves = {k: v.clone().requires_grad_() for k, v in theta.items()}
    torch.nn.functional.mse_loss(model.forward(leaves, x), torch.nn.functional.one_hot(y, 10).double()).backward()
    for k, leaf in leaves.items():
        torch.testing.assert_close(grads[k][0], leaf.grad)
    assert mse_loss(model.logits(batch, XT), y)[0].item() == pytest.approx(
        torch.nn.functional.mse_loss(model.forward(theta, x), torch.nn.functional.one_hot(y, 10).double()).item()
    )


def test_init_scale_is_kappa_over_sqrt_fan_in():
    model = MnistMLP(ModelConfig(name="mnist-mlp", d_hidden=200, init_scale=8.0), 784, 10)
    w = model.init(0)
    assert w["W1"].std().item() == pytest.approx(8 / 784**0.5, rel=0.02)
    assert w["W2"].std().item() == pytest.approx(8 / 200**0.5, rel=0.02)


@pytest.mark.skipif(find_mnist_file() is None, reason="the MNIST data file is not installed (make setup)")
def test_mnist_split_is_disjoint_and_sized():
    from grokking_tickets.tasks import build_dataset

    data = build_dataset(TaskConfig(name="mnist"))
    assert data.train_x.shape == (1000, 784) and data.test_x.shape == (60000, 784)
    # disjoint as positions in the 70k set: recover each image's index through a hash of its pixels
    key = lambda t: {hash(r.numpy().tobytes()) for r in t}
    assert not key(data.train_x) & key(data.test_x)
    assert set(data.train_y.tolist()) == set(range(10))
    other = build_dataset(TaskConfig(name="mnist", split_seed=1))
    assert not torch.equal(other.train_y, data.train_y)


def test_dense_mlp_with_two_layers_of_d_hidden_is_the_mnist_mlp():
    """The MNIST MLP is the dense-input MLP with widths (d_hidden, d_hidden): same θ0, same function
    (to rounding: its first layer is one folded GEMM, the general model's a batched one)."""
    from grokking_tickets.models.dense_mlp import DenseMLP

    mnist = MnistMLP(ModelConfig(name="mnist-mlp", d_hidden=200, init_scale=8.0), 784, 10)
    dense = DenseMLP(ModelConfig(name="dense-mlp", widths=(200, 200), init_scale=8.0), 784, 10)
    theta = mnist.init(3)
    assert dense.names == mnist.names and all(torch.equal(theta[k], v) for k, v in dense.init(3).items())
    x = torch.rand(40, 784, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    batch = {k: v.double().unsqueeze(0) for k, v in theta.items()}
    torch.testing.assert_close(dense.logits(batch, dense.prepare(x)), mnist.logits(batch, mnist.prepare(x)))


@pytest.mark.parametrize("widths", [(7,), (12, 9, 5)])
def test_dense_mlp_of_any_depth_has_autograd_gradients(widths):
    from grokking_tickets.models.dense_mlp import DenseMLP

    model = DenseMLP(ModelConfig(name="dense-mlp", widths=widths, bias=True), 6, 3)
    assert model.shapes()["W1"] == (widths[0], 6) and model.shapes()[f"W{len(widths) + 1}"] == (3, widths[-1])
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(30, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=gen)
    theta = {k: (v + 0.1 * torch.randn(v.shape, generator=gen)).double() for k, v in model.init(0).items()}
    grads = model.grads({k: v.unsqueeze(0) for k, v in theta.items()}, model.prepare(x), y, mse_grad)
    leaves = {k: v.clone().requires_grad_() for k, v in theta.items()}
    torch.nn.functional.mse_loss(model.forward(leaves, x), torch.nn.functional.one_hot(y, 3).double()).backward()
    for k, leaf in leaves.items():
        torch.testing.assert_close(grads[k][0], leaf.grad)


@pytest.mark.skipif(find_mnist_file() is None, reason="the MNIST data file is not installed (make setup)")
def test_the_authors_official_sets_are_the_test_sets_start_for_training_and_the_training_sets_for_testing():
    from grokking_tickets.tasks import build_dataset
    from grokking_tickets.tasks.mnist import _arrays

    images, _ = _arrays("")
    data = build_dataset(TaskConfig(name="mnist", mnist_sets="official"), 0)
    assert torch.equal(data.train_x, images[60000:61000]) and torch.equal(data.test_x, images[:60000])
    assert data.train_y[:5].tolist() == [7, 2, 1, 0, 4]  # the official test set begins 7, 2, 1, 0, 4
    assert data.test_y[:5].tolist() == [5, 0, 4, 1, 9]  # and the training set 5, 0, 4, 1, 9
    assert torch.equal(build_dataset(TaskConfig(name="mnist", mnist_sets="official"), 3).train_y, data.train_y)


def test_mnist_sets_enter_a_run_id_only_when_official():
    from grokking_tickets.errors import UserError
    from grokking_tickets.spec import task_identity

    drawn = task_identity(TaskConfig(name="mnist"))
    assert drawn == {"name": "mnist", "n_train": 1000, "n_test": 60000, "split_seed": 0}  # the ids of older runs
    assert task_identity(TaskConfig(name="mnist", mnist_sets="official")) == {**drawn, "mnist_sets": "official"}
    with pytest.raises(UserError, match="official test set"):
        TaskConfig(name="mnist", mnist_sets="official", n_train=20000)
    with pytest.raises(UserError, match="task.mnist_sets"):
        TaskConfig(name="mnist", mnist_sets="theirs")
