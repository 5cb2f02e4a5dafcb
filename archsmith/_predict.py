"""Predictions of a search's trained best network on a user's raw inputs.

:func:`predict` reads a ``.csv`` file, an ``.npz`` file, an image folder or a single
image exactly as the training data was read
(:func:`~archsmith.evaluators._files.read_inputs`), runs the network loaded by
:func:`archsmith.load` (which applies the recorded preprocessing itself) and names the
predicted classes. When the inputs carry labels (a CSV target column, ``.npz`` array
``y``, class sub-folders) it also reports the accuracy. :func:`predict_command` is the
``archsmith predict`` command.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from archsmith.errors import ConfigError, DataError

if TYPE_CHECKING:
    from archsmith.space import SearchSpace

__all__ = ["Predictions", "predict", "predict_command"]


@dataclass
class Predictions:
    """What the network predicts for each input.

    Attributes:
        ids: A name per input: ``line N`` (CSV), the row number (``.npz``), the image path
            (relative to the folder when a folder was read).
        predicted: Predicted class indices, int64 ``(N,)``.
        probabilities: Softmax class probabilities ``(N, num_classes)``.
        class_names: Names of the classes, index ``i`` naming class ``i``.
        labels: The true class indices when the inputs are labelled, else ``None``.
        source: What was read.
    """

    ids: list[str]
    predicted: np.ndarray
    probabilities: np.ndarray
    class_names: list[str]
    labels: np.ndarray | None
    source: str

    @property
    def predicted_names(self) -> list[str]:
        """The predicted class of each input, by name."""
        return [self.class_names[i] for i in self.predicted]

    @property
    def confidence(self) -> np.ndarray:
        """The probability of each predicted class."""
        return self.probabilities[np.arange(len(self.predicted)), self.predicted]

    @property
    def correct(self) -> int | None:
        """How many predictions equal the label (``None`` without labels)."""
        return None if self.labels is None else int((self.predicted == self.labels).sum())

    @property
    def accuracy(self) -> float | None:
        """Accuracy in percent (0..100) on the labelled inputs (``None`` without labels)."""
        n = self.correct
        return None if n is None else 100.0 * n / len(self.predicted)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per input: input, prediction, confidence, [label, correct], p_CLASS..."""
        out = []
        for i, name in enumerate(self.predicted_names):
            row: dict[str, Any] = {"input": self.ids[i], "prediction": name,
                                   "confidence": float(self.confidence[i])}
            if self.labels is not None:
                row["label"] = self.class_names[self.labels[i]]
                row["correct"] = bool(self.labels[i] == self.predicted[i])
            for k, c in enumerate(self.class_names):
                row[f"p_{c}"] = float(self.probabilities[i, k])
            out.append(row)
        return out

    def to_csv(self, path: Path) -> None:
        """Writes :meth:`rows` to a CSV file (with a header)."""
        rows = self.rows()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        except OSError as e:
            raise ConfigError(f"Could not write {path}: {e}.") from None


def _label_indices(labels: list[str], class_names: list[str], source: str) -> np.ndarray:
    from archsmith.evaluators._files import label_key

    lookup = {c: i for i, c in enumerate(class_names)}
    keys = [label_key(v, class_names) for v in labels]
    unknown = sorted({k for k in keys if k not in lookup})
    if unknown:
        raise DataError(
            f"{source} has labels the network does not know: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}. Its classes are {class_names}; fix the "
            "labels or leave them out (drop the target column / array 'y')."
        )
    return np.array([lookup[k] for k in keys], dtype=np.int64)


_SPLITS = ("train", "val", "test")


def _dataset_inputs(spec: str, meta: dict[str, Any]) -> Any:
    """Raw inputs of a built-in dataset (``digits`` or ``digits:test``), or ``None``.

    With a split, the examples of that split of the search's own data (same seed and
    fractions as recorded in ``arch.json``), so ``digits:test`` reproduces the test
    accuracy of a search on ``digits``.
    """
    from archsmith.evaluators._data import DATASETS, load_dataset
    from archsmith.evaluators._inputs import Inputs

    name, _, split = spec.partition(":")
    if name not in DATASETS or (split and split not in _SPLITS):
        if name in DATASETS:
            raise DataError(f"Unknown split {split!r} in {spec!r}; use {name}:train, "
                            f"{name}:val or {name}:test (or {name} for all its examples).")
        return None
    raw = DATASETS.get(name)()
    if not split:
        X, y = raw.X, raw.y
        if raw.X_test is not None and raw.y_test is not None:
            X, y = np.concatenate([raw.X, raw.X_test]), np.concatenate([raw.y, raw.y_test])
        ids = [str(i) for i in range(len(X))]
    else:
        info = meta.get("data") or {}
        if info.get("name") != name:
            raise DataError(f"{spec!r} names a split of {name!r}, but this network was "
                            f"trained on {info.get('name')!r}; give {name} without a split.")
        sp = info.get("split") or {}
        kw = {"val_fraction": sp.get("val_fraction", 0.15)}
        if sp.get("test_fraction") is not None:
            kw["test_fraction"] = sp["test_fraction"]
        idx = load_dataset(name, seed=int(sp.get("seed", 0)), **kw).indices[split]
        fixed = split == "test" and raw.X_test is not None and raw.y_test is not None
        src_X, src_y = (raw.X_test, raw.y_test) if fixed else (raw.X, raw.y)
        assert src_X is not None and src_y is not None
        X, y = src_X[idx], src_y[idx]
        ids = [str(int(i)) for i in idx]
    classes = list(raw.class_names) or sorted({str(v) for v in y})
    return Inputs(X=np.asarray(X, dtype=np.float32), labels=[classes[int(v)] for v in y],
                  ids=ids, source=f"dataset {spec!r} (raw values)")


def predict(
    run: str | Path, input_spec: str, *, space: SearchSpace | None = None,
    batch_size: int = 1024,
) -> Predictions:
    """Predicts the classes of raw inputs with the trained best network of a search.

    Args:
        run: The search's output folder (or its ``best/`` folder).
        input_spec: A built-in dataset's raw examples (``digits``, or ``digits:test``
            for the search's own test split), a ``.csv`` file (the training target
            column, or ``file.csv:COLUMN``, gives labels when present), an ``.npz`` file
            with array ``X`` (and optionally ``y``), an image folder (class sub-folders
            give labels) or one image file. Inputs are raw: the numbers of the file,
            image pixels as stored.
        space: The space object, needed only for custom spaces that are not registered.
        batch_size: Inputs per forward pass.

    Returns:
        The predictions, with the accuracy when labels are known.

    Raises:
        ConfigError: The run folder is missing or holds no trained network with recorded
            preprocessing.
        DataError: The input is missing, unreadable or does not fit the network.
    """
    import torch

    from archsmith._export import load, preprocessing_of, read_meta
    from archsmith.evaluators._inputs import read_inputs

    if not Path(run).exists():
        raise ConfigError(f"Run folder {str(run)!r} does not exist. Give the --out folder of "
                          "a finished `archsmith search` on real data.")
    folder, meta = read_meta(run)
    prep = preprocessing_of(meta)
    if prep is None or "input_shape" not in meta:
        raise ConfigError(
            f"{folder} records no input preprocessing (it was written by an older archsmith "
            "or holds no trained network); predict needs it to read raw inputs. Re-run the "
            "search to get a network that takes raw inputs."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}.")
    names = [str(c) for c in meta.get("class_names") or meta["data"]["class_names"]]
    inputs = _dataset_inputs(input_spec, meta) or read_inputs(input_spec, prep,
                                                               meta["input_shape"])
    labels = None if inputs.labels is None else _label_indices(inputs.labels, names,
                                                              inputs.source)
    model = load(folder, space)
    X = torch.from_numpy(inputs.X)
    chunks = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            chunks.append(torch.softmax(model(X[i : i + batch_size]).float(), dim=1))
    probs = torch.cat(chunks).numpy()
    return Predictions(ids=inputs.ids, predicted=probs.argmax(axis=1).astype(np.int64),
                       probabilities=probs, class_names=names, labels=labels,
                       source=inputs.source)


def predict_command(
    run: Annotated[Path, typer.Argument(help="Output folder of a finished search.")],
    input: Annotated[str, typer.Argument(
        help="Inputs: file.csv[:label_column], file.npz (X, optional y), image folder or "
        "image, or a built-in dataset (digits, digits:test = the search's test split).")],
    out: Annotated[Path | None, typer.Option(
        help="Write all predictions to this CSV file.")] = None,
    show: Annotated[int, typer.Option(help="Rows of the printed table.")] = 20,
) -> None:
    """Predict classes of raw inputs with a search's best network (accuracy if labelled)."""
    from rich.table import Table

    from archsmith._cli_view import console, fmt

    result = predict(run, input)
    if out is not None:
        result.to_csv(out)
        console.print(f"wrote {len(result.ids)} predictions to {out}")
    elif show > 0:
        labelled = result.labels is not None
        table = Table(title=f"predictions for {result.source}")
        for col in ("input", "prediction", "confidence", *(("label", "") if labelled else ())):
            table.add_column(col, justify="right" if col == "confidence" else "left")
        for row in result.rows()[: max(show, 0)]:
            cells = [row["input"], row["prediction"], fmt(row["confidence"])]
            if labelled:
                cells += [row["label"], "[green]✓[/]" if row["correct"] else "[red]✗[/]"]
            table.add_row(*cells)
        console.print(table)
        if len(result.ids) > show:
            console.print(f"… {len(result.ids) - max(show, 0)} more; --out FILE.csv writes "
                          "them all.")
    if result.accuracy is not None:
        console.print(f"accuracy: {result.accuracy:.2f} % ({result.correct}/"
                      f"{len(result.ids)} labelled inputs)")
