"""Raw inputs for a trained network, read exactly as its training data was read.

:func:`read_inputs` is what ``archsmith predict`` reads: CSV rows by the recorded
feature columns, ``.npz`` arrays, an image folder or a single image converted and
resized as the training images were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archsmith.errors import DataError
from archsmith.evaluators._files import (
    IMAGE_SUFFIXES,
    TARGET_NAMES,
    _csv_features,
    _csv_targets,
    _image_array,
    _is_gray,
    _open_image,
    _read_csv_table,
    _read_npz,
    image_files,
    parse_spec,
    path_exists,
)

__all__ = ["Inputs", "read_inputs"]


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
