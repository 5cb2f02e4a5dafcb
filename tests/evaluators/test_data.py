"""Dataset loading: built-ins, files, splits, standardisation and error messages."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archsmith.errors import ConfigError, DataError
from archsmith.evaluators._data import DATASETS, Dataset, dataset_names, load_dataset


def _check_dataset(ds: Dataset) -> None:
    for part in ("train", "val", "test"):
        X, y = getattr(ds, f"X_{part}"), getattr(ds, f"y_{part}")
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.shape[1:] == ds.input_shape and len(X) == len(y) > 0
        assert y.min() >= 0 and y.max() < ds.num_classes
        assert np.isfinite(X).all()
    json.dumps(ds.info)
    assert len(ds.info["sha256"]) == 64
    assert ds.info["sizes"] == {"train": len(ds.y_train), "val": len(ds.y_val),
                                "test": len(ds.y_test)}


def test_names() -> None:
    names = dataset_names()
    assert {"digits", "mnist1d", "iris", "wine", "breast_cancer"} <= set(names)
    assert names == DATASETS.names()


def test_digits_shapes_split_and_standardisation() -> None:
    ds = load_dataset("digits", seed=0)
    _check_dataset(ds)
    assert ds.input_shape == (1, 8, 8) and ds.num_classes == 10
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 1797
    assert abs(len(ds.y_val) / 1797 - 0.15) < 0.02
    assert abs(float(ds.X_train.mean())) < 1e-4 and abs(float(ds.X_train.std()) - 1) < 1e-3
    # stratified: every class in every split, in roughly equal proportions
    for y in (ds.y_train, ds.y_val, ds.y_test):
        counts = np.bincount(y, minlength=10)
        assert counts.min() > 0 and counts.max() - counts.min() <= 0.1 * len(y)
    assert ds.class_names == [str(i) for i in range(10)]
    assert ds.info["standardisation"]["per"] == "channel"
    assert len(ds.info["standardisation"]["mean"]) == 1


def test_split_determinism_and_fingerprint() -> None:
    a, b, c = (load_dataset("digits", seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_train, c.y_train)
    assert a.info["sha256"] == c.info["sha256"]  # same raw data, different split
    assert a.info["split"]["seed"] == 0 and c.info["split"]["seed"] == 1
    assert load_dataset("iris").info["sha256"] != a.info["sha256"]


def test_tabular_builtin() -> None:
    ds = load_dataset("breast_cancer")
    _check_dataset(ds)
    assert ds.input_shape == (30,) and ds.num_classes == 2
    assert ds.class_names == ["malignant", "benign"]
    assert ds.info["standardisation"]["per"] == "feature"
    assert np.allclose(ds.X_train.mean(axis=0), 0, atol=1e-4)


def test_mnist1d_offline_deterministic_and_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    np.random.seed(123)
    random.seed(123)
    before = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(123)
    ds = load_dataset("mnist1d", seed=0)
    assert (np.random.random(), random.random()) == before  # global RNGs untouched
    assert list(tmp_path.iterdir()) == []  # no files written in the cwd
    assert capsys.readouterr().out == ""
    _check_dataset(ds)
    assert ds.input_shape == (1, 40) and ds.num_classes == 10
    assert len(ds.y_test) == 1000  # mnist1d's own test split
    assert len(ds.y_train) + len(ds.y_val) == 4000
    again = load_dataset("mnist1d", seed=0)
    assert np.array_equal(ds.X_test, again.X_test)
    assert ds.info["sha256"] == again.info["sha256"]
    assert ds.info["split"]["fixed_test_split"] is True


def test_npz_shapes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    for shape in [(5,), (2, 7), (3, 4, 4)]:
        path = tmp_path / f"d{len(shape)}.npz"
        np.savez(path, X=rng.normal(size=(30, *shape)) * 5 + 3, y=y)
        ds = load_dataset(str(path))
        _check_dataset(ds)
        assert ds.input_shape == shape and ds.num_classes == 3
        assert ds.info["standardisation"]["per"] == ("feature" if len(shape) == 1 else "channel")
        assert len(ds.info["standardisation"]["mean"]) == shape[0]


def test_npz_labels_are_remapped(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(60.0).reshape(20, 3), y=np.array(["b", "a"] * 10))
    ds = load_dataset(str(path))
    assert ds.class_names == ["a", "b"]
    path2 = tmp_path / "e.npz"
    np.savez(path2, X=np.arange(60.0).reshape(20, 3), y=np.array([10, 2] * 10))
    assert load_dataset(str(path2)).class_names == ["2", "10"]


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_csv(tmp_path: Path) -> None:
    rows = [f"{i % 5},{i * 0.5},{'cat' if i % 2 else 'dog'}" for i in range(20)]
    p = _write(tmp_path / "d.csv", "f1,f2,label\n" + "\n".join(rows) + "\n\n")
    ds = load_dataset(p)
    _check_dataset(ds)
    assert ds.input_shape == (2,) and ds.class_names == ["cat", "dog"]
    # an explicit target column
    rows = [f"{i % 2},{i * 0.5},{i}" for i in range(20)]
    p = _write(tmp_path / "e.csv", "kind,f2,f3\n" + "\n".join(rows))
    ds = load_dataset(p + ":kind")
    assert ds.input_shape == (2,) and ds.num_classes == 2
    assert "kind" in ds.info["source"]


def _image_folder(root: Path, mode: str, sizes: list[tuple[int, int]]) -> str:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("ants", "bees"):
        (root / c).mkdir(parents=True)
        for i, size in enumerate(sizes):
            channels = (3,) if mode == "RGB" else ()
            pixels = rng.integers(0, 256, size=(size[1], size[0], *channels), dtype=np.uint8)
            Image.fromarray(pixels, mode=None).convert(mode).save(root / c / f"{i}.png")
    return str(root)


def test_image_folder_grayscale(tmp_path: Path) -> None:
    ds = load_dataset(_image_folder(tmp_path / "g", "L", [(10, 6)] * 4 + [(5, 5)]))
    _check_dataset(ds)
    assert ds.input_shape == (1, 6, 10)  # most common size, (C, H, W)
    assert ds.class_names == ["ants", "bees"]


def test_image_folder_rgb_is_shrunk(tmp_path: Path) -> None:
    ds = load_dataset(_image_folder(tmp_path / "c", "RGB", [(64, 48)] * 4))
    assert ds.input_shape == (3, 24, 32)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: "no_such_dataset", ["Unknown dataset", "digits", ".npz", ".csv", "folder"]),
        (lambda p: str(p / "missing.npz"), ["does not exist", "missing.npz"]),
        (lambda p: _write(p / "d.txt", "1,2"), ["unsupported file kind '.txt'", ".npz"]),
        (lambda p: _write(p / "d.csv", "a,b,label\n1,2,x\n1,2\n"), ["line 3", "2 fields"]),
        (lambda p: _write(p / "d.csv", "a,b,label\n1,2,x\n1,oops,y\n"),
         ["line 3", "'b'", "'oops'", "not a number"]),
        (lambda p: _write(p / "d.csv", "a,b,c\n1,2,3\n"),
         ["no target column", "['a', 'b', 'c']", ":COLUMN"]),
        (lambda p: _write(p / "d.csv", "a,b,c\n1,2,3\n") + ":zz", ["no column 'zz'", "'a'"]),
        (lambda p: _write(p / "d.csv", "a,b,y\n" + "1,2,x\n" * 9), ["single class", "'x'"]),
        (lambda p: _write(p / "d.csv", "a,b,y\n" + "1,2,x\n1,2,z\n" * 5 + "1,2,w\n"),
         ["Class 'w'", "only 1 example"]),
        (lambda p: _write(p / "d.csv", "a,b,y\n" + "1,nan,x\n1,2,z\n" * 5),
         ["NaN or infinite", "example 0"]),
        (lambda p: _write(p / "d.csv", ""), ["is empty"]),
        (lambda p: _write(p / "d.csv", "a,label\n1,x\n2,\n"), ["line 3", "empty target"]),
    ],
)
def test_errors(tmp_path: Path, make: object, expected: list[str]) -> None:
    spec = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(DataError) as info:
        load_dataset(spec)
    for text in expected:
        assert text in str(info.value), (text, str(info.value))


def _npz(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return str(path)


def test_npz_errors(tmp_path: Path) -> None:
    y = np.repeat(np.arange(2), 5)
    with pytest.raises(DataError, match=r"'X'.*'y'.*\['features', 'y'\]"):
        load_dataset(_npz(tmp_path / "a.npz", features=np.zeros((10, 2)), y=y))
    with pytest.raises(DataError, match="10 inputs but 9 labels"):
        load_dataset(_npz(tmp_path / "b.npz", X=np.zeros((10, 2)), y=y[:9]))
    X = np.ones((10, 2))
    X[3, 1] = np.inf
    with pytest.raises(DataError, match="example 3"):
        load_dataset(_npz(tmp_path / "c.npz", X=X, y=y))
    with pytest.raises(DataError, match=r"shape \(10,\)"):
        load_dataset(_npz(tmp_path / "d.npz", X=np.zeros(10), y=y))
    with pytest.raises(DataError, match="not whole numbers"):
        load_dataset(_npz(tmp_path / "e.npz", X=np.zeros((10, 2)), y=y + 0.5))
    (tmp_path / "f.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="Could not read"):
        load_dataset(str(tmp_path / "f.npz"))


def test_image_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        load_dataset(str(tmp_path / "empty"))
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match="no class sub-folders"):
        load_dataset(str(tmp_path / "flat"))
    (tmp_path / "cls" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="holds no PNG/JPEG images"):
        load_dataset(str(tmp_path / "cls"))
    (tmp_path / "cls" / "a" / "x.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="Could not read image"):
        load_dataset(str(tmp_path / "cls"))


def test_fraction_errors() -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        load_dataset("iris", val_fraction=0.0)
    with pytest.raises(ConfigError, match="below 1"):
        load_dataset("iris", val_fraction=0.5, test_fraction=0.5)


def _apply(prep: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """``(raw * scale - mean) / std`` as a network's preprocessing layer computes it."""
    shape = (1, -1) + (1,) * (raw.ndim - 2)
    mean = np.asarray(prep["mean"], dtype=np.float32).reshape(shape)
    std = np.asarray(prep["std"], dtype=np.float32).reshape(shape)
    return (raw.astype(np.float32) * np.float32(prep["scale"]) - mean) / std


def _in_raw_order(ds: Dataset) -> np.ndarray:
    """The dataset's standardised inputs put back in raw-data order."""
    n = sum(len(ds.indices[p]) for p in ("train", "val", "test"))
    out = np.empty((n, *ds.input_shape), dtype=np.float32)
    for part in ("train", "val", "test"):
        out[ds.indices[part]] = getattr(ds, f"X_{part}")
    return out


def test_preprocessing_of_arrays_is_recorded_in_full(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 100)) * rng.uniform(1, 50, size=100) + 7
    y = np.repeat(np.arange(2), 20)
    ds = load_dataset(_npz(tmp_path / "wide.npz", X=X, y=y), seed=3)
    prep = ds.info["preprocessing"]
    assert prep["scale"] == 1.0 and prep["per"] == "feature"
    assert len(prep["mean"]) == len(prep["std"]) == 100  # the full lists, not a summary
    assert ds.info["standardisation"]["mean"]["count"] == 100  # unchanged summary
    assert "image" not in prep and "columns" not in prep
    assert np.allclose(_apply(prep, X), _in_raw_order(ds), atol=1e-5)
    assert np.array_equal(np.sort(np.concatenate(list(ds.indices.values()))), np.arange(40))


def test_preprocessing_of_csv_records_columns(tmp_path: Path) -> None:
    rows = [f"{i % 7 * 10},{i},{'ab'[i % 2]},{i * 0.25}" for i in range(30)]
    p = _write(tmp_path / "d.csv", "f1,f2,label,f3\n" + "\n\n".join(rows) + "\n")
    ds = load_dataset(p)
    prep = ds.info["preprocessing"]
    assert prep["columns"] == {"features": ["f1", "f2", "f3"], "target": "label"}
    raw = np.array([[i % 7 * 10, i, i * 0.25] for i in range(30)])
    assert np.allclose(_apply(prep, raw), _in_raw_order(ds), atol=1e-5)


def test_mnist1d_test_indices_index_its_fixed_test_split() -> None:
    ds = load_dataset("mnist1d", seed=0)
    assert np.array_equal(ds.indices["test"], np.arange(1000))


@pytest.mark.parametrize(("mode", "sizes", "scale"), [
    ("L", [(8, 8)] * 4, 1 / 255),
    ("RGB", [(40, 20)] * 3 + [(9, 7)], 1 / 255),  # shrunk to 32x16; the odd one resized
    ("I;16", [(6, 6)] * 4, 1 / 65535),
])
def test_read_inputs_reads_images_like_the_loader(
    tmp_path: Path, mode: str, sizes: list[tuple[int, int]], scale: float
) -> None:
    from PIL import Image

    from archsmith.evaluators._files import image_files
    from archsmith.evaluators._inputs import read_inputs

    root = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for c in ("ants", "bees"):
        (root / c).mkdir(parents=True)
        for i, (w, h) in enumerate(sizes):
            if mode == "I;16":
                im = Image.fromarray(rng.integers(0, 65536, size=(h, w), dtype=np.uint16))
            else:
                pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
                im = Image.fromarray(pixels).convert(mode)
            im.save(root / c / f"{i}.png")
    ds = load_dataset(str(root))
    prep = ds.info["preprocessing"]
    assert prep["scale"] == pytest.approx(scale)
    assert prep["image"]["mode"] == ("RGB" if mode == "RGB" else "grayscale")
    assert prep["image"]["size"] == [ds.input_shape[2], ds.input_shape[1]]
    inputs = read_inputs(str(root), prep, ds.input_shape)
    assert inputs.labels == [ds.class_names[c] for _, c in image_files(root)[1]]
    assert inputs.X.max() > 1.5  # raw pixel units, not 0..1
    assert np.allclose(_apply(prep, inputs.X), _in_raw_order(ds), atol=1e-4)
    one = read_inputs(str(root / "bees" / "3.png"), prep, ds.input_shape)
    assert one.labels is None and np.array_equal(one.X[0], inputs.X[-1])


def test_read_inputs_errors(tmp_path: Path) -> None:
    from archsmith.evaluators._inputs import read_inputs

    prep: dict[str, Any] = {"scale": 1.0, "mean": [0.0, 0.0], "std": [1.0, 1.0], "per": "feature",
            "columns": {"features": ["a", "b"], "target": "label"}}
    with pytest.raises(DataError, match="does not exist"):
        read_inputs(str(tmp_path / "none.csv"), prep, (2,))
    p = _write(tmp_path / "x.csv", "a,c,label\n1,2,x\n")
    with pytest.raises(DataError, match=r"missing \['b'\].*unknown \['c'\]"):
        read_inputs(p, prep, (2,))
    p = _write(tmp_path / "y.csv", "b,a\n1,2\n3,oops\n")
    with pytest.raises(DataError, match=r"line 3.*not a number"):
        read_inputs(p, prep, (2,))
    ok = read_inputs(_write(tmp_path / "z.csv", "b,a\n1,2\n"), prep, (2,))
    assert ok.X.tolist() == [[2.0, 1.0]] and ok.labels is None and ok.ids == ["line 2"]
    with pytest.raises(DataError, match="array named 'X'"):
        read_inputs(_npz(tmp_path / "n.npz", Z=np.zeros((2, 2))), prep, (2,))
    with pytest.raises(DataError, match="2 inputs in 'X' but 3 labels"):
        read_inputs(_npz(tmp_path / "m.npz", X=np.zeros((2, 2)), y=np.zeros(3)), prep, (2,))
    with pytest.raises(DataError, match=r"unsupported file kind '\.txt'"):
        read_inputs(_write(tmp_path / "t.txt", "1"), prep, (2,))


def test_path_too_long_is_a_data_error(tmp_path: Path) -> None:
    from archsmith.evaluators._inputs import read_inputs

    spec = str(tmp_path / ("x" * 300 + ".csv"))
    with pytest.raises(DataError, match="Cannot look up"):
        load_dataset(spec)
    with pytest.raises(DataError, match="Cannot look up"):
        read_inputs(spec, {}, (2,))
