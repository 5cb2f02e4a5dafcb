"""The saved model takes the raw inputs a user has: load, ONNX and predict agree on raw files.

For each kind of data (an image folder of 8-bit PNGs, a CSV file, an ``.npz`` file) a
small real search runs; then the raw test split — written as files, and read back
without archsmith — goes through ``archsmith.load``, ONNX Runtime on ``best/model.onnx``
and :func:`predict`, which must give the same predictions and the ``test_acc`` that
``best/metrics.json`` reports (to within one example).
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

import archsmith
from archsmith._config import SearchConfig
from archsmith._export import RawInputModel, export, save_best
from archsmith._predict import predict, predict_command
from archsmith.errors import ConfigError, DataError
from archsmith.evaluators._data import load_dataset
from archsmith.evaluators._files import image_files
from archsmith.search import Search

RecordProperty = Callable[[str, object], None]


@dataclass
class Run:
    """A finished search and its raw test split."""

    out: Path
    X_test: np.ndarray  # raw inputs, read without archsmith
    y_test: np.ndarray  # class indices
    test_spec: str  # the test split written as a file/folder of the training kind
    test_acc: float  # best/metrics.json final test_acc


def _search(tmp: Path, space: str, data: str, **space_config: object) -> Path:
    out = tmp / "run"
    cfg = SearchConfig(space=space, data=data, budget=2, epochs=4, strategy="random",
                       space_config=dict(space_config), training={"lr": 0.01})
    Search(cfg, out=out).run()
    return out


def _test_indices(out: Path, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the test split in the raw data, and its labels, as the search split it."""
    split = json.loads((out / "best" / "arch.json").read_text())["data"]["split"]
    ds = load_dataset(spec, seed=split["seed"], val_fraction=split["val_fraction"],
                      test_fraction=split["test_fraction"])
    return ds.indices["test"], ds.y_test


def _final_acc(out: Path) -> float:
    return float(json.loads((out / "best" / "metrics.json").read_text())["final"]["test_acc"])


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from PIL import Image
    from sklearn.datasets import load_digits

    tmp = tmp_path_factory.mktemp("images")
    digits = load_digits()
    folder = tmp / "digits"
    for c in range(10):
        (folder / f"d{c}").mkdir(parents=True)
        for i in np.flatnonzero(digits.target == c)[:100]:
            pixels = np.round(digits.images[i] * 255 / 16).astype(np.uint8)  # 8-bit, 0..255
            Image.fromarray(pixels).save(folder / f"d{c}" / f"{i:04d}.png")
    out = _search(tmp, "cnn", str(folder), max_stages=2, channels=[8, 16], kernels=[3],
                  norms=["batch"])
    idx, y = _test_indices(out, str(folder))
    _, files = image_files(folder)
    # the test folder is read class by class, file by file: put the split in that order
    order = sorted(range(len(idx)), key=lambda j: (files[idx[j]][1], files[idx[j]][0].name))
    idx, y = idx[order], y[order]
    test = tmp / "test"
    raw = []
    for k in idx:
        path, c = files[k]
        (test / f"d{c}").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, test / f"d{c}" / path.name)
        with Image.open(path) as im:
            raw.append(np.asarray(im, dtype=np.float32)[None])
    return Run(out, np.stack(raw), y, str(test), _final_acc(out))


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from sklearn.datasets import load_wine

    tmp = tmp_path_factory.mktemp("csv")
    wine = load_wine()
    names = [str(n) for n in wine.target_names]

    def write(path: Path, rows: np.ndarray, labels: np.ndarray | None) -> None:
        header = list(wine.feature_names) + (["label"] if labels is not None else [])
        lines = [",".join(header)]
        for r, row in enumerate(rows):
            cells = [repr(float(v)) for v in row]
            lines.append(",".join(cells + ([names[labels[r]]] if labels is not None else [])))
        path.write_text("\n".join(lines) + "\n")

    data = tmp / "wine.csv"
    write(data, wine.data, wine.target)
    out = _search(tmp, "mlp", str(data))
    idx, y = _test_indices(out, str(data))
    assert [names[i] for i in wine.target[idx]] == [names[i] for i in y]
    write(tmp / "test.csv", wine.data[idx], wine.target[idx])
    write(tmp / "test_unlabelled.csv", wine.data[idx], None)
    return Run(out, wine.data[idx].astype(np.float32), y, str(tmp / "test.csv"), _final_acc(out))


@pytest.fixture(scope="module")
def npz_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from sklearn.datasets import load_breast_cancer

    tmp = tmp_path_factory.mktemp("npz")
    bc = load_breast_cancer()
    np.savez(tmp / "bc.npz", X=bc.data, y=bc.target)
    out = _search(tmp, "mlp", str(tmp / "bc.npz"))
    idx, y = _test_indices(out, str(tmp / "bc.npz"))
    np.savez(tmp / "test.npz", X=bc.data[idx], y=bc.target[idx])
    return Run(out, bc.data[idx].astype(np.float32), y, str(tmp / "test.npz"), _final_acc(out))


def _onnx_predict(out: Path, X: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(out / "best" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    (logits,) = sess.run(None, {sess.get_inputs()[0].name: X.astype(np.float32)})
    return np.asarray(logits).argmax(axis=1)


def _check_raw_inputs_agree(run: Run, chance: float) -> dict[str, float]:
    net = archsmith.load(run.out)
    assert isinstance(net, RawInputModel) and not net.training
    with torch.no_grad():
        by_load = net(torch.from_numpy(run.X_test)).argmax(dim=1).numpy()
    by_onnx = _onnx_predict(run.out, run.X_test)
    result = predict(run.out, run.test_spec)
    assert np.array_equal(by_load, by_onnx)
    assert result.labels is not None and np.array_equal(result.labels, run.y_test)
    assert np.array_equal(result.predicted, by_load)
    acc = 100.0 * float((by_load == run.y_test).mean())
    assert abs(acc - run.test_acc) <= 100.0 / len(run.y_test) + 1e-9, (acc, run.test_acc)
    assert result.accuracy == pytest.approx(acc)
    assert acc > chance + 30  # raw inputs are really preprocessed (else near chance)
    # the bare network on the training pipeline's standardised inputs says the same
    bare = archsmith.load(run.out, preprocess=False)
    assert not isinstance(bare, RawInputModel)
    with torch.no_grad():
        std_in = net.preprocess(torch.from_numpy(run.X_test))
        assert torch.equal(bare(std_in), net(torch.from_numpy(run.X_test)))
    return {"load": acc, "onnx": 100.0 * float((by_onnx == run.y_test).mean()),
            "predict": float(result.accuracy or 0.0), "metrics.json": run.test_acc}


def test_image_folder_raw_pngs(image_run: Run, record_property: RecordProperty) -> None:
    assert image_run.X_test.max() > 200  # raw 8-bit pixels, not 0..1
    meta = json.loads((image_run.out / "best" / "arch.json").read_text())
    prep = meta["preprocessing"]
    assert prep["scale"] == pytest.approx(1 / 255) and prep["per"] == "channel"
    assert prep["image"] == {"mode": "grayscale", "size": [8, 8], "max_value": 255.0,
                             "resample": "bilinear"}
    assert meta["class_names"] == [f"d{c}" for c in range(10)]
    record_property("accuracy", _check_raw_inputs_agree(image_run, chance=10.0))
    # a single image file, and a folder of unlabelled images
    one = predict(image_run.out, str(next(Path(image_run.test_spec).glob("d3/*.png"))))
    assert len(one.ids) == 1 and one.labels is None and one.accuracy is None
    flat = Path(image_run.test_spec).parent / "flat"
    flat.mkdir()
    chosen = sorted(Path(image_run.test_spec).glob("d0/*.png"))[:5]
    for p in chosen:
        shutil.copy(p, flat / p.name)
    in_flat = predict(image_run.out, str(flat))
    assert in_flat.ids == [p.name for p in chosen] and in_flat.labels is None
    in_classes = predict(image_run.out, image_run.test_spec)
    assert in_classes.ids[:5] == [f"d0/{p.name}" for p in chosen]
    assert np.array_equal(in_flat.predicted, in_classes.predicted[:5])


def test_csv_raw_rows(csv_run: Run, record_property: RecordProperty) -> None:
    record_property("accuracy", _check_raw_inputs_agree(csv_run, chance=100 / 3))
    labelled = predict(csv_run.out, csv_run.test_spec)
    assert set(labelled.predicted_names) <= {"class_0", "class_1", "class_2"}
    unlabelled = predict(csv_run.out, csv_run.test_spec.replace("test.csv",
                                                                "test_unlabelled.csv"))
    assert unlabelled.labels is None and unlabelled.accuracy is None
    assert np.array_equal(unlabelled.predicted, labelled.predicted)
    # columns are matched by name: a reordered file gives the same predictions
    lines = [line.split(",") for line in Path(csv_run.test_spec).read_text().splitlines()]
    shuffled = Path(csv_run.test_spec).with_name("shuffled.csv")
    shuffled.write_text("\n".join(",".join(row[::-1]) for row in lines) + "\n")
    assert np.array_equal(predict(csv_run.out, str(shuffled)).predicted, labelled.predicted)


def test_npz_raw_arrays(npz_run: Run, record_property: RecordProperty) -> None:
    record_property("accuracy", _check_raw_inputs_agree(npz_run, chance=50.0))
    X = np.load(npz_run.test_spec)["X"]
    np.savez(Path(npz_run.test_spec).with_name("nolabels.npz"), X=X)
    res = predict(npz_run.out, str(Path(npz_run.test_spec).with_name("nolabels.npz")))
    assert res.labels is None and res.class_names == ["0", "1"]


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_export_torchscript_takes_raw_inputs(csv_run: Run) -> None:
    path = export(csv_run.out, "torchscript")
    ts = torch.jit.load(str(path))
    x = torch.from_numpy(csv_run.X_test)
    with torch.no_grad():
        assert torch.allclose(ts(x), archsmith.load(csv_run.out)(x))
    weights = torch.load(csv_run.out / "best" / "weights.pt", weights_only=True)
    assert not any(k.startswith("preprocess") for k in weights)  # plain network state_dict


def test_predict_command(csv_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archsmith.cli import _user_errors

    app = typer.Typer()
    app.command("predict")(_user_errors(predict_command))
    app.command("other")(lambda: None)  # two commands: `predict` is named on the line
    runner = CliRunner()
    res = runner.invoke(app, ["predict", str(csv_run.out), csv_run.test_spec, "--show", "3"])
    assert res.exit_code == 0, res.output
    assert "accuracy:" in res.output and "class_" in res.output and "more" in res.output
    out = tmp_path / "pred.csv"
    res = runner.invoke(app, ["predict", str(csv_run.out), csv_run.test_spec, "--out", str(out)])
    assert res.exit_code == 0, res.output
    header, *rows = out.read_text().splitlines()
    assert header.split(",")[:5] == ["input", "prediction", "confidence", "label", "correct"]
    assert "p_class_2" in header and len(rows) == len(csv_run.y_test)
    monkeypatch.chdir(tmp_path)  # a short path: the error panel does not crop it
    res = runner.invoke(app, ["predict", "missing", csv_run.test_spec])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_user_errors(image_run: Run, csv_run: Run, npz_run: Run, tmp_path: Path) -> None:
    from PIL import Image

    with pytest.raises(ConfigError, match="does not exist"):
        predict(tmp_path / "nope", csv_run.test_spec)
    with pytest.raises(ConfigError, match="no trained network"):
        predict(tmp_path, csv_run.test_spec)
    np.savez(tmp_path / "flat.npz", X=np.zeros((3, 64)))
    with pytest.raises(DataError, match=r"shape \(64,\).*\(1, 8, 8\)"):
        predict(image_run.out, str(tmp_path / "flat.npz"))
    np.savez(tmp_path / "short.npz", X=np.zeros((3, 29)))
    with pytest.raises(DataError, match=r"\(29,\).*\(30,\)"):
        predict(npz_run.out, str(tmp_path / "short.npz"))
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(DataError, match=r"colour.*grayscale"):
        predict(image_run.out, str(tmp_path / "rgb.png"))
    with pytest.raises(DataError, match="not trained on an image folder"):
        predict(csv_run.out, str(tmp_path / "rgb.png"))
    lines = Path(csv_run.test_spec).read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(",".join(ln.split(",")[1:]) for ln in lines) + "\n")
    with pytest.raises(DataError, match=r"missing \['alcohol'\]"):
        predict(csv_run.out, str(cut))
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], lines[1].rsplit(",", 1)[0] + ",class_9"]) + "\n")
    with pytest.raises(DataError, match=r"does not know: \['class_9'\]"):
        predict(csv_run.out, str(bad))


def test_old_run_without_preprocessing(csv_run: Run, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(csv_run.out / "best", old / "best")
    meta = json.loads((old / "best" / "arch.json").read_text())
    del meta["preprocessing"], meta["data"]["preprocessing"], meta["class_names"]
    (old / "best" / "arch.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="no input preprocessing"):
        net = archsmith.load(old)
    assert not isinstance(net, RawInputModel) and not net.training
    with pytest.raises(ConfigError, match="records no input preprocessing"):
        predict(old, csv_run.test_spec)


def test_failed_onnx_export_warns_and_is_recorded(
    csv_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archsmith._export as ex

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no ONNX mapping for op Foo")

    monkeypatch.setattr(ex, "_export_onnx", broken)
    meta = json.loads((csv_run.out / "best" / "arch.json").read_text())
    space = archsmith.create_space(meta["space"], **meta["space_config"])
    dataset = load_dataset(meta["data"]["name"], seed=meta["data"]["split"]["seed"])
    info: dict[str, object] = {"final": {"test_acc": 1.0}}
    with pytest.warns(RuntimeWarning, match=r"ONNX export .* failed.*no ONNX mapping"):
        files = save_best(tmp_path / "best", space, space.make(meta["decisions"]), info,
                          model=archsmith.load(csv_run.out, preprocess=False), dataset=dataset)
    assert "onnx_error.txt" in files and "model.onnx" not in files
    assert "no ONNX mapping" in str(info["onnx_error"])
    saved = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert "no ONNX mapping" in saved["onnx_error"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(archsmith.load(tmp_path), RawInputModel)


def test_predict_on_a_builtin_datasets_own_test_split(tmp_path: Path) -> None:
    """``archsmith predict OUT digits:test`` reproduces the search's test accuracy."""
    out = _search(tmp_path, "mlp", "digits")
    result = predict(out, "digits:test")
    assert result.accuracy == pytest.approx(_final_acc(out), abs=1e-9)
    assert len(result.ids) == json.loads((out / "best" / "arch.json").read_text())[
        "data"]["sizes"]["test"]
    assert len(predict(out, "digits").ids) == 1797
    with pytest.raises(DataError, match="Unknown split"):
        predict(out, "digits:tset")
    with pytest.raises(DataError, match="trained on 'digits'"):
        predict(out, "wine:test")
