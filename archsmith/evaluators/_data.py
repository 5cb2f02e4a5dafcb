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
import csv
import functools
import hashlib
import io
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archsmith._registry import Registry
from archsmith.errors import ConfigError, DataError

__all__ = ["DATASETS", "Dataset", "RawData", "dataset_names", "load_dataset"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGE_SIDE = 32
TARGET_NAMES = ("target", "label", "class", "y")
_KINDS = "a .npz file with arrays X and y, a .csv file (path.csv or path.csv:COLUMN), or a "
_KINDS += "folder with one sub-folder of PNG/JPEG images per class"


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
            split seed and fractions, sizes, standardisation parameters, class names.
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


@dataclass
class RawData:
    """Unsplit, unstandardised data as a dataset factory returns it.

    Attributes:
        X: Inputs shaped ``(N, *input_shape)`` (any real dtype).
        y: Labels: integers, or any values mapped to sorted class indices.
        source: Where the data came from (for provenance).
        class_names: Names of classes ``0..K-1``; derived from ``y`` when empty.
        X_test: A fixed test set (optional); then only validation is split from ``X``.
        y_test: Labels of ``X_test``.
    """

    X: np.ndarray
    y: np.ndarray
    source: str
    class_names: list[str] = field(default_factory=list)
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


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


# -- files -------------------------------------------------------------------------------
def _encode_labels(values: Sequence[Any] | np.ndarray, what: str) -> tuple[np.ndarray, list[str]]:
    """Maps labels to class indices in sorted order (numerically when all are numbers)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"The targets of {what} must be one-dimensional, got shape {arr.shape}.")
    if arr.dtype.kind in "USO":
        strings = [str(v).strip() for v in arr]
        try:
            arr = np.array([float(s) for s in strings])
        except ValueError:
            uniq = sorted(set(strings))
            lookup = {s: i for i, s in enumerate(uniq)}
            return np.array([lookup[s] for s in strings], dtype=np.int64), uniq
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise DataError(f"The targets of {what} contain NaN or infinite values; remove them.")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise DataError(
                f"The targets of {what} are not whole numbers (e.g. {arr[arr != np.round(arr)][:3]}"
                "); archsmith does classification — give class labels (integers or strings)."
            )
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise DataError(f"The targets of {what} have unsupported type {arr.dtype}.")
    uniq_vals, idx = np.unique(arr, return_inverse=True)
    return idx.astype(np.int64), [str(v) for v in uniq_vals]


def _load_npz(path: Path) -> RawData:
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = list(f.keys())
            if "X" not in keys or "y" not in keys:
                raise DataError(
                    f"{path} must contain arrays named 'X' (inputs) and 'y' (labels); it "
                    f"contains {keys or 'no arrays'}. Save it with np.savez(path, X=..., y=...)."
                )
            X, y = f["X"], f["y"]
    except DataError:
        raise
    except Exception as e:
        raise DataError(
            f"Could not read {path} as a NumPy .npz archive ({type(e).__name__}: {e}). Save "
            "it with np.savez(path, X=inputs, y=labels) without object arrays."
        ) from None
    if X.dtype.kind not in "biuf":
        raise DataError(f"Array 'X' in {path} must be numeric, got dtype {X.dtype}.")
    if X.ndim not in (2, 3, 4):
        raise DataError(
            f"Array 'X' in {path} has shape {X.shape}; use (N, features) for tabular data, "
            "(N, channels, length) for signals or (N, channels, height, width) for images."
        )
    return RawData(X=X, y=y, source=f"npz file {path}")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _load_csv(path: Path, column: str | None) -> RawData:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = enumerate(csv.reader(f), start=1)
            rows = [(i, r) for i, r in reader if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"Could not read {path} as a CSV file: {type(e).__name__}: {e}.") from None
    if not rows:
        raise DataError(f"{path} is empty; write a header row and one row per example.")
    header = [h.strip() for h in rows[0][1]]
    if len(header) < 2:
        raise DataError(
            f"{path} has a single column {header}; a CSV dataset needs comma-separated "
            "feature columns and a target column."
        )
    if column is None:
        found = [h for h in header if h.lower() in TARGET_NAMES]
        if not found:
            raise DataError(
                f"{path} has no target column named {'/'.join(TARGET_NAMES)}; its columns "
                f"are {header}. Name the target column with '{path}:COLUMN'."
            )
        column = found[0]
    if column not in header:
        raise DataError(
            f"{path} has no column {column!r}; its columns are {header}. Write "
            f"'{path}:COLUMN' with one of them."
        )
    t = header.index(column)
    body = rows[1:]
    if not body:
        raise DataError(f"{path} has a header but no data rows.")
    feats = [j for j in range(len(header)) if j != t]
    X = np.empty((len(body), len(feats)), dtype=np.float64)
    targets: list[str] = []
    for r, (line, row) in enumerate(body):
        if len(row) != len(header):
            raise DataError(
                f"{path} line {line} has {len(row)} fields but the header has {len(header)}; "
                "every row needs one value per column."
            )
        for k, j in enumerate(feats):
            v = _number(row[j])
            if v is None:
                raise DataError(
                    f"{path} line {line}, column {header[j]!r}: {row[j]!r} is not a number. "
                    "Feature columns must be numeric (encode categories as numbers, fill "
                    "missing values, or drop the column)."
                )
            X[r, k] = v
        if not row[t].strip():
            raise DataError(f"{path} line {line} has an empty target ({column!r}); fill it or "
                            "drop the row.")
        targets.append(row[t].strip())
    y, names = _encode_labels(np.array(targets, dtype=str), f"{path} (column {column!r})")
    return RawData(X=X, y=y, class_names=names, source=f"csv file {path}, target {column!r}")


def _load_image_folder(path: Path) -> RawData:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"Folder {path} has no class sub-folders. An image dataset needs one sub-folder "
            "per class holding that class's PNG/JPEG images (e.g. data/cat/1.png)."
        )
    files: list[tuple[Path, int]] = []
    for c, d in enumerate(classes):
        imgs = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not imgs:
            raise DataError(
                f"Class folder {d} holds no PNG/JPEG images; add images or remove the folder."
            )
        files += [(p, c) for p in imgs]
    images: list[Image.Image] = []
    for p, _ in files:
        try:
            with Image.open(p) as opened:
                opened.load()
                images.append(opened.copy())
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"Could not read image {p}: {e}.") from None
    gray = all(im.mode in ("1", "L", "LA", "F") or im.mode.startswith("I") for im in images)
    w, h = Counter(im.size for im in images).most_common(1)[0][0]
    scale = min(1.0, MAX_IMAGE_SIDE / max(w, h))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    arrays = []
    for im in images:
        # Grey images go through 32-bit float mode so that 16-bit PNGs keep their range.
        top = 65535.0 if im.mode.startswith("I") else 1.0 if im.mode == "F" else 255.0
        conv = im.convert("F" if gray else "RGB")
        if conv.size != size:
            conv = conv.resize(size, Image.Resampling.BILINEAR)
        a = np.asarray(conv, dtype=np.float32) / (top if gray else 255.0)
        arrays.append(a[None] if gray else a.transpose(2, 0, 1))
    mode = "grayscale" if gray else "RGB"
    return RawData(
        X=np.stack(arrays), y=np.array([c for _, c in files], dtype=np.int64),
        class_names=[d.name for d in classes],
        source=f"image folder {path} ({mode}, resized to {size[0]}x{size[1]})",
    )


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


def _parse_spec(spec: str) -> tuple[Path, str | None]:
    head, sep, tail = spec.rpartition(":")
    if sep and head.lower().endswith(".csv") and tail and "/" not in tail and "\\" not in tail:
        return Path(head), tail
    return Path(spec), None


def _read(spec: str) -> RawData:
    if spec in DATASETS:
        return DATASETS.get(spec)()
    path, column = _parse_spec(spec)
    if not path.exists():
        looks_like_path = any(ch in spec for ch in "/\\.")
        what = f"File or folder {str(path)!r} does not exist" if looks_like_path else (
            f"Unknown dataset {spec!r}")
        raise DataError(
            f"{what}. Give a dataset name ({', '.join(dataset_names())}) or a path to {_KINDS}."
        )
    if path.is_dir():
        return _load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix == ".csv":
        return _load_csv(path, column)
    raise DataError(
        f"Cannot load {str(path)!r}: unsupported file kind {suffix or '(no extension)'!r}. Give "
        f"a dataset name ({', '.join(dataset_names())}) or a path to {_KINDS}."
    )


def load_dataset(
    spec: str, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> Dataset:
    """Loads, splits and standardises a dataset.

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
    y_all, names = _encode_labels(all_y, f"dataset {spec!r}")
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

    info: dict[str, Any] = {
        "name": spec, "source": raw.source, "sha256": fingerprint,
        "split": {"seed": seed, "val_fraction": val_fraction,
                  "test_fraction": None if fixed else test_fraction,
                  "stratified": True, "fixed_test_split": fixed},
        "sizes": {"train": len(train), "val": len(val), "test": len(test_parts[1])},
        "input_shape": list(X.shape[1:]), "num_classes": len(names), "class_names": names,
        "standardisation": {"per": "feature" if X.ndim == 2 else "channel",
                            "mean": _stats_info(mean), "std": _stats_info(std)},
    }
    return Dataset(
        name=spec, X_train=norm(X[train]), y_train=y[train], X_val=norm(X[val]), y_val=y[val],
        X_test=norm(test_parts[0]), y_test=test_parts[1].astype(np.int64),
        input_shape=tuple(int(s) for s in X.shape[1:]), num_classes=len(names), info=info,
    )

