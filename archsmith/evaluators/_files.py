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

__all__ = ["IMAGE_SUFFIXES", "Inputs", "RawData", "encode_labels", "image_files", "label_key",
           "parse_spec", "path_exists", "read_inputs"]

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


# -- inputs of a trained network ---------------------------------------------------------
@dataclass
class Inputs:
    """Raw inputs read for a trained network.

    Attributes:
        X: float32 raw inputs ``(N, *input_shape)``: pixel values, CSV numbers, ``X``.
        labels: The known label of each input as text (CSV target column, ``.npz`` array
            ``y``, class sub-folder name), or ``None`` when the inputs are unlabelled.
        ids: A name per input: ``line 2`` (CSV), ``3`` (``.npz`` row), the image path
            (relative to the folder when a folder was read).
        source: What was read.
    """

    X: np.ndarray
    labels: list[str] | None
    ids: list[str]
    source: str


def read_inputs(spec: str, preprocessing: dict[str, Any], input_shape: Sequence[int]) -> Inputs:
    """Reads raw inputs for a network trained on data preprocessed as ``preprocessing``.

    Args:
        spec: A ``.csv`` file (``path.csv:COLUMN`` names the label column; the training
            target column is used when present), an ``.npz`` file with array ``X`` (and
            optionally ``y``), an image folder (class sub-folders give labels; images
            directly in the folder are unlabelled) or a single PNG/JPEG file.
        preprocessing: The ``preprocessing`` record of the training data (its
            ``image`` entry says how images are converted, ``columns`` which CSV
            columns are features).
        input_shape: The shape of one network input.

    Returns:
        Raw inputs in the units the network's preprocessing expects.

    Raises:
        DataError: The input is missing or unreadable, or does not fit the network (wrong
            shape, feature count, columns or image channels); the message says how to fix it.
    """
    shape = tuple(int(s) for s in input_shape)
    path, column = parse_spec(spec)
    if not path_exists(path):
        raise DataError(f"Input {str(path)!r} does not exist. Give a .csv or .npz file, an "
                        "image folder or an image file.")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        inputs = _read_images(path, preprocessing)
    elif path.suffix.lower() == ".npz":
        X, y = _read_npz(path, need_y=False)
        if X.ndim == 0:
            raise DataError(f"Array 'X' in {path} is a single number; give one row per "
                            f"input, shaped (N, {', '.join(map(str, shape))}).")
        labels = None if y is None else [str(v) for v in np.asarray(y).reshape(-1)]
        if labels is not None and len(labels) != len(X):
            raise DataError(f"{path} has {len(X)} inputs in 'X' but {len(labels)} labels in "
                            "'y'; they need the same length (or leave out 'y').")
        inputs = Inputs(X=np.asarray(X, dtype=np.float32), labels=labels,
                        ids=[str(i) for i in range(len(X))], source=f"npz file {path}")
    elif path.suffix.lower() == ".csv":
        inputs = _read_csv_inputs(path, column, preprocessing, shape)
    else:
        raise DataError(f"Cannot read inputs from {str(path)!r}: unsupported file kind "
                        f"{path.suffix or '(no extension)'!r}. Give a .csv or .npz file, an "
                        f"image folder or a {'/'.join(IMAGE_SUFFIXES)} file.")
    if len(inputs.X) == 0:
        raise DataError(f"{inputs.source} holds no inputs; give at least one example.")
    if inputs.X.shape[1:] != shape:
        what = "images" if "image" in preprocessing else "inputs"
        raise DataError(
            f"{inputs.source} gives {what} of shape {tuple(inputs.X.shape[1:])} per example, but "
            f"the network takes {shape}. Give inputs shaped like the training data "
            f"((N, {', '.join(map(str, shape))}) for an .npz array X)."
        )
    if not np.isfinite(inputs.X).all():
        bad = int(np.flatnonzero(~np.isfinite(inputs.X.reshape(len(inputs.X), -1)).all(1))[0])
        raise DataError(f"{inputs.source} contains NaN or infinite values (first in input "
                        f"{inputs.ids[bad]}); remove or fill them.")
    return inputs


def _read_csv_inputs(
    path: Path, column: str | None, prep: dict[str, Any], shape: tuple[int, ...]
) -> Inputs:
    header, body = _read_csv_table(path)
    recorded = prep.get("columns") or {}
    target = column or recorded.get("target")
    if target is None:
        target = next((h for h in header if h.lower() in TARGET_NAMES), None)
    if column is not None and column not in header:
        raise DataError(f"{path} has no column {column!r}; its columns are {header}.")
    features: list[str] | None = recorded.get("features")
    if features is not None:
        missing = [c for c in features if c not in header]
        extra = [c for c in header if c not in features and c != target]
        if missing or extra:
            raise DataError(
                f"{path} does not have the network's feature columns: "
                + (f"missing {missing}; " if missing else "")
                + (f"unknown {extra}; " if extra else "")
                + f"the network was trained on {features} with target {target!r}. Give a "
                "CSV with exactly these feature columns (the target column is optional)."
            )
        feats = [header.index(c) for c in features]
    else:  # trained on arrays: every column but the target, in order
        feats = [j for j, h in enumerate(header) if h != target]
        if (len(feats),) != shape:
            raise DataError(
                f"{path} has {len(feats)} feature column(s) "
                f"{[header[j] for j in feats]} but the network takes inputs of shape "
                f"{shape}. Give one column per feature (plus an optional target column)."
            )
    X = _csv_features(path, header, body, feats)
    labels = None
    if target is not None and target in header:
        labels = _csv_targets(path, body, header.index(target), target)
    return Inputs(X=X.astype(np.float32), labels=labels, ids=[f"line {ln}" for ln, _ in body],
                  source=f"csv file {path}")


def _read_images(path: Path, prep: dict[str, Any]) -> Inputs:
    spec = prep.get("image")
    if not spec:
        raise DataError(
            f"{path} holds images, but the network was not trained on an image folder; give "
            "a .csv or .npz file like its training data."
        )
    gray = spec["mode"] == "grayscale"
    size = (int(spec["size"][0]), int(spec["size"][1]))
    full = float(spec.get("max_value", 255.0))
    labels: list[str] | None = None
    if path.is_file():
        files = [path]
    elif any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        names, pairs = image_files(path)
        files, labels = [p for p, _ in pairs], [names[c] for _, c in pairs]
    else:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"Folder {path} holds no PNG/JPEG images (directly or in class "
                            "sub-folders).")
    arrays = []
    for p in files:
        im = _open_image(p)
        if gray and not _is_gray(im):
            raise DataError(
                f"Image {p} is in colour (mode {im.mode}) but the network was trained on "
                "grayscale images; convert it to grayscale (e.g. PIL's .convert('L'))."
            )
        a, top = _image_array(im, gray, size)
        arrays.append(a if top == full else a * np.float32(full / top))
    ids = [str(p.relative_to(path)) if path.is_dir() else str(p) for p in files]
    return Inputs(X=np.stack(arrays), labels=labels, ids=ids,
                  source=f"image {'file' if path.is_file() else 'folder'} {path}")
