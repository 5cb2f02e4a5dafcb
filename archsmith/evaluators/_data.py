"""Datasets for training evaluators: built-ins, ``.npz``/``.csv`` files and image folders.

:func:`load_dataset` turns a dataset *spec* — a registered name or a path — into a
:class:`Dataset` with stratified, seeded train/validation/test splits whose inputs are
standardised with training-split statistics (per channel for images and signals, per
feature for tabular data).

Accepted specs:

* a registered name (see :func:`dataset_names`): ``digits`` (8x8 grey images),
  ``mnist1d`` (generated offline, length-40 signals), ``iris``, ``wine``,
  ``breast_cancer`` (tabular);
* ``file.npz`` holding arrays ``X`` and ``y``; ``X`` is ``(N, F)`` for feature vectors,
  ``(N, C, L)`` for signals or ``(N, C, H, W)`` for images;
* ``file.csv`` or ``file.csv:COLUMN`` — a header row, numeric feature columns and a
  target column (``COLUMN``, else one named target/label/class/y); targets may be
  strings;
* a folder with one sub-folder of PNG/JPEG images per class. Images become grayscale
  when all of them are grayscale, else RGB, and are resized to the most common image
  size, shrunk (keeping the aspect ratio) so that no side exceeds 32 pixels.

Example:
    >>> ds = load_dataset("iris", seed=0)
    >>> ds.input_shape, ds.num_classes, len(ds.X_train) + len(ds.X_val) + len(ds.X_test)
    ((4,), 3, 150)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archsmith._registry import Registry
from archsmith.errors import ConfigError, DataError
from archsmith.evaluators._files import (
    KINDS,
    RawData,
    encode_labels,
    load_csv,
    load_image_folder,
    load_npz,
    parse_spec,
    path_exists,
)

__all__ = ["DATASETS", "Dataset", "RawData", "dataset_names", "load_dataset"]


@dataclass
class Dataset:
    """A classification dataset split into train, validation and test parts.

    Attributes:
        name: The spec it was loaded from (a registered name or a path).
        X_train: Standardised float32 inputs shaped ``(N, *input_shape)``; likewise
            ``X_val`` and ``X_test``.
        y_train: int64 class indices in ``0..num_classes-1``; likewise ``y_val`` and
            ``y_test``.
        input_shape: Shape of one example, e.g. ``(1, 8, 8)``, ``(1, 40)`` or ``(30,)``.
        num_classes: Number of classes.
        info: JSON-serialisable provenance: source, sha256 fingerprint of the raw data,
            split seed and fractions, sizes, standardisation parameters, class names, and
            ``preprocessing``: how a raw input becomes a network input (see
            :func:`load_dataset`).
        indices: Positions of each split's examples (``"train"``, ``"val"``, ``"test"``)
            in the raw data, in split order: rows of a CSV file (blank lines skipped),
            entries of an ``.npz`` file, images of a folder in
            :func:`~archsmith.evaluators._files.image_files` order. For a dataset with a
            fixed test split, ``"test"`` indexes that test set.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    num_classes: int
    info: dict[str, Any] = field(default_factory=dict)
    indices: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def class_names(self) -> list[str]:
        """Names of the classes, index ``i`` naming class ``i``."""
        return list(self.info.get("class_names", [str(i) for i in range(self.num_classes)]))

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, train/val/test="
            f"{len(self.y_train)}/{len(self.y_val)}/{len(self.y_test)})"
        )


#: Registry of named datasets; factories take no arguments and return :class:`RawData`.
DATASETS: Registry[RawData] = Registry("dataset")


def dataset_names() -> list[str]:
    """Names of the registered datasets.

    Example:
        >>> "digits" in dataset_names()
        True
    """
    return DATASETS.names()


# -- built-ins ---------------------------------------------------------------------------
def _sklearn(loader: str) -> RawData:
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    return RawData(
        X=bunch.data, y=bunch.target, source=f"sklearn.datasets.{loader}()",
        class_names=[str(n) for n in bunch.target_names],
    )


@DATASETS.register("digits", help="8x8 grey images of handwritten digits, 10 classes")
@functools.cache
def _digits() -> RawData:
    raw = _sklearn("load_digits")
    raw.X = raw.X.reshape(-1, 1, 8, 8)
    return raw


@DATASETS.register("mnist1d", help="MNIST-1D signals of length 40, 10 classes (generated)")
@functools.cache
def _mnist1d() -> RawData:
    # make_dataset seeds and uses the global numpy/random RNGs: restore them afterwards.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                from mnist1d.data import get_dataset_args, make_dataset
            except ImportError as e:
                raise DataError(f"Dataset 'mnist1d' needs the mnist1d package ({e}); install "
                                "it with `pip install mnist1d`.") from None
            args = get_dataset_args()
            data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return RawData(
        X=data["x"][:, None, :], y=data["y"], X_test=data["x_test"][:, None, :],
        y_test=data["y_test"], class_names=[str(i) for i in range(10)],
        source=f"mnist1d.data.make_dataset(seed={args.seed}, "
        f"num_samples={args.num_samples}) with its own train/test split",
    )


for _name, _loader, _help in [
    ("iris", "load_iris", "iris flowers, 4 features, 3 classes"),
    ("wine", "load_wine", "wine cultivars, 13 features, 3 classes"),
    ("breast_cancer", "load_breast_cancer", "breast tumours, 30 features, 2 classes"),
]:
    DATASETS.add(_name, functools.cache(functools.partial(_sklearn, _loader)), help=_help)


# -- splitting and standardising ---------------------------------------------------------
def _fingerprint(raw: RawData) -> str:
    h = hashlib.sha256()
    for a in (raw.X, raw.y, raw.X_test, raw.y_test):
        if a is not None:
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(raw.class_names).encode())
    return h.hexdigest()


def _check_finite(X: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(X.reshape(len(X), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"{what} contains NaN or infinite values in {len(rows)} example(s) (first: "
            f"example {int(rows[0])}); remove or fill them."
        )


def _split(
    y: np.ndarray, fractions: Sequence[float], rng: np.random.Generator, names: list[str], what: str
) -> list[np.ndarray]:
    """Stratified split of indices: one part per fraction, the remainder first (train)."""
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for c in range(len(names)):
        idx = rng.permutation(np.flatnonzero(y == c))
        counts = [max(1, round(f * len(idx))) for f in fractions]
        if len(idx) - sum(counts) < 1:
            raise DataError(
                f"Class {names[c]!r} of {what} has only {len(idx)} example(s); at least "
                f"{len(fractions) + 1} per class are needed to put one in each of the "
                "train/validation/test splits. Add examples or drop the class."
            )
        start = len(idx) - sum(counts)
        parts[0].append(idx[:start])
        for k, n in enumerate(counts):
            parts[k + 1].append(idx[start : start + n])
            start += n
    return [rng.permutation(np.concatenate(p)) for p in parts]


def _stats_info(values: np.ndarray) -> list[float] | dict[str, float]:
    if values.size <= 64:
        return [float(v) for v in values]
    return {"count": int(values.size), "min": float(values.min()), "max": float(values.max()),
            "mean": float(values.mean())}


def _read(spec: str) -> RawData:
    if spec in DATASETS:
        return DATASETS.get(spec)()
    path, column = parse_spec(spec)
    if not path_exists(path):
        looks_like_path = any(ch in spec for ch in "/\\.")
        what = f"File or folder {str(path)!r} does not exist" if looks_like_path else (
            f"Unknown dataset {spec!r}")
        raise DataError(
            f"{what}. Give a dataset name ({', '.join(dataset_names())}) or a path to {KINDS}."
        )
    if path.is_dir():
        return load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path)
    if suffix == ".csv":
        return load_csv(path, column)
    raise DataError(
        f"Cannot load {str(path)!r}: unsupported file kind {suffix or '(no extension)'!r}. Give "
        f"a dataset name ({', '.join(dataset_names())}) or a path to {KINDS}."
    )


def load_dataset(
    spec: str, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> Dataset:
    """Loads, splits and standardises a dataset.

    The dataset's ``info["preprocessing"]`` records how a *raw* input (CSV numbers,
    ``.npz`` values, image pixels 0..255) becomes a network input: ``(raw * scale -
    mean) / std``, with ``mean``/``std`` (full lists) per channel or per feature, plus
    for image folders ``image`` (``mode``, ``size`` [w, h], ``max_value``) and for CSV
    files ``columns`` (``features``, ``target``).
    :func:`~archsmith.evaluators._files.read_inputs` reads raw inputs the same way.

    Args:
        spec: A registered name (:func:`dataset_names`) or a path to a ``.npz`` file,
            a ``.csv`` file (``path.csv:COLUMN`` names the target column) or an image
            folder; a registered name wins over a same-named path (write ``./name``).
        seed: Seed of the stratified split.
        val_fraction: Fraction of each class used for validation. For datasets with a
            fixed test split (``mnist1d``) it is the fraction of the training part.
        test_fraction: Fraction of each class used for testing (ignored when the
            dataset has a fixed test split).

    Raises:
        DataError: The data is missing, malformed or unusable (the message says why).
        ConfigError: A fraction is out of range.

    Example:
        >>> ds = load_dataset("digits")
        >>> ds.X_train.shape[1:], ds.y_train.dtype.name
        ((1, 8, 8), 'int64')
    """
    for nm, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < frac < 1.0:
            raise ConfigError(f"{nm} must be between 0 and 1 (exclusive), got {frac}.")
    if val_fraction + test_fraction >= 1.0:
        raise ConfigError(
            f"val_fraction + test_fraction must be below 1 to leave training data, got "
            f"{val_fraction} + {test_fraction}."
        )
    if not isinstance(spec, str) or not spec:
        raise DataError(f"A dataset spec must be a non-empty string, got {spec!r}.")
    raw = _read(spec)
    fingerprint = _fingerprint(raw)
    X = np.asarray(raw.X, dtype=np.float32)
    if len(X) != len(raw.y):
        raise DataError(
            f"Dataset {spec!r} has {len(X)} inputs but {len(raw.y)} labels; X and y need the "
            "same length."
        )
    if len(X) == 0:
        raise DataError(f"Dataset {spec!r} has no examples.")
    _check_finite(X, f"Dataset {spec!r}")
    fixed = raw.X_test is not None and raw.y_test is not None
    all_y = np.concatenate([raw.y, raw.y_test]) if raw.y_test is not None else raw.y
    y_all, names = encode_labels(all_y, f"dataset {spec!r}")
    if raw.class_names and len(raw.class_names) == len(names):
        names = list(raw.class_names)
    if len(names) < 2:
        raise DataError(
            f"Dataset {spec!r} has a single class ({names[0]!r}); classification needs at "
            "least two classes. Check the target column/labels."
        )
    rng = np.random.default_rng(seed)
    y = y_all[: len(X)]
    if fixed:
        X_test = np.asarray(raw.X_test, dtype=np.float32)
        y_test = y_all[len(X) :]
        _check_finite(X_test, f"The test split of {spec!r}")
        train, val = _split(y, [val_fraction], rng, names, f"dataset {spec!r}")
        test_parts = (X_test, y_test)
    else:
        train, val, test = _split(y, [val_fraction, test_fraction], rng, names, f"dataset {spec!r}")
        test_parts = (X[test], y[test])
    axes: tuple[int, ...] = (0,) if X.ndim == 2 else (0, *range(2, X.ndim))
    mean = X[train].mean(axis=axes, dtype=np.float64)
    std = X[train].std(axis=axes, dtype=np.float64)
    std = np.where(std > 1e-12, std, 1.0)
    shape = (1, -1) + (1,) * (X.ndim - 2)

    def norm(a: np.ndarray) -> np.ndarray:
        return ((a - mean.reshape(shape)) / std.reshape(shape)).astype(np.float32)

    per = "feature" if X.ndim == 2 else "channel"
    info: dict[str, Any] = {
        "name": spec, "source": raw.source, "sha256": fingerprint,
        "split": {"seed": seed, "val_fraction": val_fraction,
                  "test_fraction": None if fixed else test_fraction,
                  "stratified": True, "fixed_test_split": fixed},
        "sizes": {"train": len(train), "val": len(val), "test": len(test_parts[1])},
        "input_shape": list(X.shape[1:]), "num_classes": len(names), "class_names": names,
        "standardisation": {"per": per, "mean": _stats_info(mean), "std": _stats_info(std)},
        "preprocessing": {
            "formula": "(raw * scale - mean) / std", "scale": float(raw.scale),
            "per": per, "mean": [float(v) for v in mean], "std": [float(v) for v in std],
            **raw.reader,
        },
    }
    test_idx = np.arange(len(test_parts[1])) if fixed else test
    return Dataset(
        name=spec, X_train=norm(X[train]), y_train=y[train], X_val=norm(X[val]), y_val=y[val],
        X_test=norm(test_parts[0]), y_test=test_parts[1].astype(np.int64),
        input_shape=tuple(int(s) for s in X.shape[1:]), num_classes=len(names), info=info,
        indices={"train": train, "val": val, "test": test_idx},
    )

