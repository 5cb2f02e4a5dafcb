"""Reading data files: ``.npz`` archives, ``.csv`` tables and images.

:func:`~archsmith.evaluators._data.load_dataset` reads training data with
:func:`load_npz`, :func:`load_csv` and :func:`load_image_folder`; :func:`read_inputs`
reads the inputs of a trained network the same way (same CSV parsing, image conversion
and resizing). Its inputs are *raw* — pixel values, CSV numbers — and become network
inputs through the recorded preprocessing ``(raw * scale - mean) / std``.

Example:
    >>> parse_spec("data/table.csv:kind")
    (PosixPath('data/table.csv'), 'kind')
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["IMAGE_SUFFIXES", "RawData", "encode_labels", "image_files", "label_key",
           "parse_spec", "path_exists"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGE_SIDE = 32
TARGET_NAMES = ("target", "label", "class", "y")
KINDS = ("a .npz file with arrays X and y, a .csv file (path.csv or path.csv:COLUMN), or a "
         "folder with one sub-folder of PNG/JPEG images per class")


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
        scale: ``X`` is the raw input times ``scale`` (``1/255`` for 8-bit images).
        reader: How raw inputs are read from files like the source (recorded under
            ``preprocessing``): ``{"image": {...}}`` for image folders, ``{"columns":
            {...}}`` for CSV files.
    """

    X: np.ndarray
    y: np.ndarray
    source: str
    class_names: list[str] = field(default_factory=list)
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    scale: float = 1.0
    reader: dict[str, Any] = field(default_factory=dict)


def parse_spec(spec: str) -> tuple[Path, str | None]:
    """Splits ``path.csv:COLUMN`` into the path and the column (``None`` if not given)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head.lower().endswith(".csv") and tail and "/" not in tail and "\\" not in tail:
        return Path(head), tail
    return Path(spec), None


def path_exists(path: Path) -> bool:
    """Whether ``path`` exists; a path the system cannot look up is a :class:`DataError`.

    Example:
        >>> path_exists(Path("no/such/file.csv"))
        False
    """
    try:
        return path.exists()
    except OSError as e:  # e.g. a file name too long for the file system
        raise DataError(f"Cannot look up {str(path)!r}: {e.strerror or e}. Give a shorter "
                        "or valid path.") from None


# -- labels ------------------------------------------------------------------------------
def encode_labels(values: Sequence[Any] | np.ndarray, what: str) -> tuple[np.ndarray, list[str]]:
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


def label_key(value: Any, class_names: Sequence[str]) -> str:
    """The class name a label stands for, as :func:`encode_labels` names classes.

    Whole numbers written as ``1``, ``1.0`` or ``True`` all name class ``"1"`` when
    the classes are numeric; other labels are matched as stripped text.

    Example:
        >>> label_key(" 2.0", ["1", "2"]), label_key("cat", ["cat", "dog"])
        ('2', 'cat')
    """
    text = str(value).strip()
    if text in class_names:
        return text
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if np.isfinite(number) and number == round(number) else text


# -- npz ---------------------------------------------------------------------------------
def _read_npz(path: Path, need_y: bool) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = list(f.keys())
            if "X" not in keys or (need_y and "y" not in keys):
                wanted = "arrays named 'X' (inputs) and 'y' (labels)" if need_y else (
                    "an array named 'X' (inputs; 'y' with labels is optional)")
                raise DataError(
                    f"{path} must contain {wanted}; it contains {keys or 'no arrays'}. Save "
                    "it with np.savez(path, X=..., y=...)."
                )
            X, y = f["X"], (f["y"] if "y" in keys else None)
    except DataError:
        raise
    except Exception as e:
        raise DataError(
            f"Could not read {path} as a NumPy .npz archive ({type(e).__name__}: {e}). Save "
            "it with np.savez(path, X=inputs, y=labels) without object arrays."
        ) from None
    for name, a in (("X", X), ("y", y)):
        if a is not None and not isinstance(a, np.ndarray):
            raise DataError(f"Entry {name!r} of {path} is not a NumPy array; save the file "
                            "with np.savez(path, X=inputs, y=labels).")
    assert isinstance(X, np.ndarray)
    if X.dtype.kind not in "biuf":
        raise DataError(f"Array 'X' in {path} must be numeric, got dtype {X.dtype}.")
    if y is not None and y.ndim != 1:
        raise DataError(f"Array 'y' in {path} has shape {y.shape}; give one label per row of "
                        "'X', shaped (N,).")
    return X, y


def load_npz(path: Path) -> RawData:
    """Reads a training ``.npz`` file with arrays ``X`` and ``y``."""
    X, y = _read_npz(path, need_y=True)
    assert y is not None
    if X.ndim not in (2, 3, 4):
        raise DataError(
            f"Array 'X' in {path} has shape {X.shape}; use (N, features) for tabular data, "
            "(N, channels, length) for signals or (N, channels, height, width) for images."
        )
    return RawData(X=X, y=y, source=f"npz file {path}")


# -- csv ---------------------------------------------------------------------------------
def _read_csv_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank data rows (with their line numbers) of a CSV file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = enumerate(csv.reader(f), start=1)
            rows = [(i, r) for i, r in reader if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"Could not read {path} as a CSV file: {type(e).__name__}: {e}.") from None
    if not rows:
        raise DataError(f"{path} is empty; write a header row and one row per example.")
    header = [h.strip() for h in rows[0][1]]
    body = rows[1:]
    if not body:
        raise DataError(f"{path} has a header but no data rows.")
    return header, body


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _csv_features(
    path: Path, header: list[str], body: list[tuple[int, list[str]]], feats: list[int]
) -> np.ndarray:
    """The numeric values of columns ``feats`` of every row, as float64."""
    X = np.empty((len(body), len(feats)), dtype=np.float64)
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
    return X


def _csv_targets(path: Path, body: list[tuple[int, list[str]]], t: int, column: str) -> list[str]:
    targets = []
    for line, row in body:
        if not row[t].strip():
            raise DataError(f"{path} line {line} has an empty target ({column!r}); fill it or "
                            "drop the row.")
        targets.append(row[t].strip())
    return targets


def load_csv(path: Path, column: str | None) -> RawData:
    """Reads a training CSV file: a header, numeric feature columns and a target column."""
    header, body = _read_csv_table(path)
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
    feats = [j for j in range(len(header)) if j != t]
    X = _csv_features(path, header, body, feats)
    targets = _csv_targets(path, body, t, column)
    y, names = encode_labels(np.array(targets, dtype=str), f"{path} (column {column!r})")
    return RawData(X=X, y=y, class_names=names, source=f"csv file {path}, target {column!r}",
                   reader={"columns": {"features": [header[j] for j in feats],
                                       "target": column}})


# -- images ------------------------------------------------------------------------------
def image_files(folder: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted sub-folders) and ``(image, class index)`` pairs in loading order.

    The order is the order of the examples of an image-folder dataset: classes sorted by
    name, images sorted by path within each class.
    """
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"Folder {folder} has no class sub-folders. An image dataset needs one sub-folder "
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
    return [d.name for d in classes], files


def _open_image(path: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.copy()
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"Could not read image {path}: {e}.") from None
    except Image.DecompressionBombError as e:
        raise DataError(f"Image {path} is too large to read safely ({e}); shrink it or "
                        "remove it.") from None


def _is_gray(im: Image.Image) -> bool:
    return im.mode in ("1", "L", "LA", "F") or im.mode.startswith("I")


def _image_array(im: Image.Image, gray: bool, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """``(C, H, W)`` float32 pixels of ``im`` converted and resized as for training.

    Returns:
        The pixels in the image's own units and their full-scale value (255 for 8-bit
        and RGB images, 65535 for 16-bit grey images, 1 for float images).
    """
    from PIL import Image

    # Grey images go through 32-bit float mode so that 16-bit PNGs keep their range.
    top = 65535.0 if im.mode.startswith("I") else 1.0 if im.mode == "F" else 255.0
    conv = im.convert("F" if gray else "RGB")
    if conv.size != size:
        conv = conv.resize(size, Image.Resampling.BILINEAR)
    a = np.asarray(conv, dtype=np.float32)
    return (a[None] if gray else a.transpose(2, 0, 1)), (top if gray else 255.0)


def load_image_folder(path: Path) -> RawData:
    """Reads a training image folder (one sub-folder of PNG/JPEG images per class)."""
    names, files = image_files(path)
    images = [_open_image(p) for p, _ in files]
    gray = all(_is_gray(im) for im in images)
    w, h = Counter(im.size for im in images).most_common(1)[0][0]
    shrink = min(1.0, MAX_IMAGE_SIDE / max(w, h))
    size = (max(1, round(w * shrink)), max(1, round(h * shrink)))
    arrays, tops = [], set()
    for im in images:
        a, top = _image_array(im, gray, size)
        arrays.append(a / top)
        tops.add(top)
    mode = "grayscale" if gray else "RGB"
    full = max(tops)
    return RawData(
        X=np.stack(arrays), y=np.array([c for _, c in files], dtype=np.int64),
        class_names=names, scale=1.0 / full,
        source=f"image folder {path} ({mode}, resized to {size[0]}x{size[1]})",
        reader={"image": {"mode": mode, "size": [size[0], size[1]], "max_value": full,
                          "resample": "bilinear"}},
    )
