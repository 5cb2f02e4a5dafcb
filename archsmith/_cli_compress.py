"""``archsmith compress``: N2N compression of a trained network (Ashok et al. 2018).

The teacher is the ``best/`` folder of a search on real data (or any folder with its
``arch.json`` and ``weights.pt``) of the ``mlp`` or ``cnn`` space. The compression is a
stored search like any other: strategy ``n2n`` (removal, then shrinkage), every student
trained by distillation from the teacher (:class:`~archsmith.evaluators.DistillEvaluator`),
objective ``params`` (minimised) under the constraint that the validation accuracy stays
within ``--max-accuracy-drop`` points of the teacher's. So ``show``, ``export``,
``report``, ``resume`` and ``archsmith.load`` work on its folder, ``best/`` is the
smallest student within the drop, and ``students.json`` lists the Pareto set of
students (parameters against validation accuracy).

Students are chosen on the validation split, so the teacher they learn from and are
held to must not have seen it. A search's exported best has (it is retrained on
train+validation): compress then first trains the teacher's architecture on the
training split only (``OUT/teacher-train/``, the teacher's epochs and seed), chooses
students against it, and distils the chosen one from the full teacher on
train+validation for ``best/``, as a search retrains its best.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from archsmith._cli_view import console, fmt, run_search
from archsmith._run_folder import POINTER_FILE, write_atomic
from archsmith.errors import ConfigError

__all__ = ["SUMMARY", "compress", "report_students", "student_front"]

#: What ``compress`` measured of its teacher (``OUT/compress.json``): what the students
#: are compared with when ``students.json`` is written, after a resume too.
SUMMARY = "compress.json"


def _teacher_record(folder: Path) -> dict[str, Any]:
    """The teacher's ``metrics.json`` (``{}`` when it has none or it cannot be read)."""
    try:
        info = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(info, dict):
        return {}
    return {**info, "metrics": info["metrics"] if isinstance(info.get("metrics"), dict)
            else {}}


def _teacher_reference(record: dict[str, Any]) -> float | None:
    """The teacher's validation accuracy when it was a trial of its search (trained on
    the training split only), shown beside the one its exported weights have."""
    v = record.get("metrics", {}).get("val_acc")
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _saw_validation(record: dict[str, Any]) -> bool:
    """Whether the teacher's weights were trained on the validation split as well: a
    search's best retrained on train+validation (not one exported with a trial's own
    weights, which saw the training split only)."""
    return "final" in record and "weights" not in record


def _search_settings(folder: Path) -> dict[str, Any]:
    """The seed and training settings of the search whose best ``folder`` is, when its
    run folder (``folder/..``) holds it; ``{}`` otherwise."""
    from archsmith._run_folder import read_pointer
    from archsmith.store import Store

    try:
        pointer = read_pointer(folder.parent)
        store = Store(pointer["storage"])
        try:
            row = store.get_search(pointer["name"])
        finally:
            store.close()
        cfg = row.config if row is not None else {}
    except Exception:  # no run folder beside it, or storage we cannot open: defaults
        return {}
    training = {k: v for k, v in (cfg.get("training") or {}).items()
                if k in ("batch_size", "lr", "weight_decay", "data_seed")}
    return {"seed": cfg.get("seed"), **training}


def _train_only_teacher(folder: Path, record: dict[str, Any], data: str,
                        training: dict[str, Any], out: Path) -> Path:
    """The teacher's architecture trained on the training split only, with its epochs,
    seed and training settings (read from its search when its run folder is beside it)
    into ``out/teacher-train/``; reused by a resumed compress when it was made from the
    same teacher, data and settings."""
    import shutil

    import torch

    from archsmith._export import ARCH_FILE, METRICS_FILE, WEIGHTS_FILE
    from archsmith.evaluators import TrainingEvaluator
    from archsmith.evaluators._checkpoint import checkpoint_key, load_checkpoint
    from archsmith.evaluators._distill import load_teacher, weights_sha256

    arch, _, meta = load_teacher(folder)
    epochs = int(record.get("metrics", {}).get("epochs") or 20)
    split_seed = ((meta.get("data") or {}).get("split") or {}).get("seed")
    found = _search_settings(folder)
    seed = found.pop("seed", None)
    seed = int(seed if isinstance(seed, int) else split_seed or 0)
    settings = {k: v for k, v in training.items() if k not in ("students", "final_teacher")}
    settings.update(found)
    ev = TrainingEvaluator(data=data, epochs=epochs, seed=seed, **settings)
    made_from = {"teacher_sha256": weights_sha256(folder),
                 "data_sha256": ev.dataset.info.get("sha256"),
                 "epochs": epochs, "seed": seed,
                 "settings": {k: v for k, v in settings.items() if k != "num_threads"}}
    target = out / "teacher-train"
    if (target / WEIGHTS_FILE).is_file():
        try:
            kept = json.loads((target / METRICS_FILE).read_text()).get("made_from")
        except (OSError, ValueError, AttributeError):
            kept = None
        if kept == made_from:
            return target
        raise ConfigError(f"{target} was trained from another teacher, data or settings "
                          f"than {folder}; give another --out folder.")
    target.mkdir(parents=True, exist_ok=True)
    ckpt = target / "training.ckpt"
    console.print(f"the teacher's weights have seen the validation split: training its "
                  f"architecture on the training split only ({epochs} epochs, seed {seed})"
                  f" to choose students with")
    result = ev.evaluate(arch, checkpoint=ckpt)
    state = load_checkpoint(ckpt, checkpoint_key(ev.describe(), arch.hash))
    if result.error or state is None:
        raise ConfigError(f"Training the teacher on the training split failed: "
                          f"{result.error or 'no weights'}.")
    shutil.copyfile(folder / ARCH_FILE, target / ARCH_FILE)
    (target / METRICS_FILE).write_text(json.dumps(
        {"metrics": result.metrics, "weights": "trained on the training split only",
         "made_from": made_from}, indent=2) + "\n")
    torch.save(state["net"], target / (WEIGHTS_FILE + ".tmp"))
    (target / (WEIGHTS_FILE + ".tmp")).replace(target / WEIGHTS_FILE)  # written last
    ckpt.unlink(missing_ok=True)
    return target


def student_front(trials: list[Any]) -> list[dict[str, Any]]:
    """The students no other beats in both parameters and validation accuracy."""
    from archsmith._objectives import Objectives, front_of

    objs = Objectives.parse("val_acc,params", "max,min")
    rows = [(t.number, t.state, t.metrics) for t in trials if t.cached_from is None]
    front, _ = front_of(objs, rows)
    by = {t.number: t for t in trials}
    return [{"number": n, "val_acc": by[n].metrics["val_acc"],
             "params": by[n].metrics["params"], "arch": by[n].arch}
            for n in sorted(front, key=lambda n: by[n].metrics["params"])]


_H = {
    "teacher": "The teacher: a search's folder or its best/ (arch.json + weights.pt), "
               "a state_dict file with --arch (mlp or cnn space), or a whole "
               "nn.Sequential MLP saved with torch.save (trained on the data's raw values).",
    "data": "The data the teacher was trained on (default: the one its arch.json names).",
    "out": "Output folder (default runs/compress-SPACE-DATA-TIME).",
    "budget": "Students to train (the first half removes layers, the rest shrinks them).",
    "drop": "Points of validation accuracy a student may lose against the teacher.",
    "arch": "With a TEACHER that is a state_dict file (.pt): its architecture, a JSON file "
            '{"space": "cnn", "decisions": {...}} (and "space_config" if not the default).',
}


def _teacher_folder(weights: Path, arch_file: Path | None, data: str | None,
                     out: Path) -> Path:
    """A teacher given as a ``state_dict`` file and an architecture JSON, written as the
    folder compress reads (``OUT/teacher/``: ``arch.json`` with the data's shape, and
    ``weights.pt``)."""
    import shutil

    from archsmith._export import WEIGHTS_FILE
    from archsmith._sequential import teacher_folder
    from archsmith.evaluators import load_dataset

    if arch_file is None or data is None:
        raise ConfigError(f"{weights} is a file: for a state_dict give its architecture "
                          "with --arch FILE.json and its data with --data; for a whole "
                          "nn.Sequential saved with torch.save, give its data with --data.")
    try:
        spec = json.loads(Path(arch_file).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"Could not read the architecture {arch_file}: {e}.") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("decisions"), dict) \
            or not isinstance(spec.get("space"), str):
        raise ConfigError(f'{arch_file} must hold {{"space": NAME, "decisions": {{...}}}}.')
    folder = teacher_folder(out, load_dataset(data), {
        "space": spec["space"], "space_config": spec.get("space_config", {}),
        "decisions": spec["decisions"]})
    shutil.copyfile(weights, folder / WEIGHTS_FILE)
    return folder


def compress(
    teacher: Annotated[Path, typer.Argument(help=_H["teacher"])],
    data: Annotated[str | None, typer.Option(help=_H["data"])] = None,
    out: Annotated[Path | None, typer.Option(help=_H["out"])] = None,
    budget: Annotated[int, typer.Option(help=_H["budget"])] = 40,
    epochs: Annotated[int, typer.Option(help="Distillation epochs per student.")] = 10,
    max_accuracy_drop: Annotated[float, typer.Option(help=_H["drop"])] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed of the policies and of training.")] = 0,
    threads: Annotated[int, typer.Option(help="Torch CPU threads.")] = 1,
    arch: Annotated[Path | None, typer.Option(help=_H["arch"])] = None,
) -> None:
    """Compress a trained network (N2N): students trained by distillation."""
    from archsmith._config import SearchConfig
    from archsmith.evaluators._distill import DistillEvaluator, load_teacher
    from archsmith.search import Search

    if not (math.isfinite(max_accuracy_drop) and max_accuracy_drop >= 0):
        raise ConfigError(f"--max-accuracy-drop must be a number of points >= 0, got "
                          f"{max_accuracy_drop:g}; e.g. --max-accuracy-drop 1 keeps students "
                          "within one point of the teacher.")
    if budget < 2:
        raise ConfigError(f"--budget must be at least 2 students, got {budget}.")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if Path(teacher).is_file():  # a state_dict and its architecture
        out = Path(out or Path("runs") / f"compress-{Path(str(data)).stem}-{stamp}").resolve()
        converted = None
        if arch is None and data is not None:  # a whole nn.Sequential saved by torch.save
            from archsmith._sequential import sequential_teacher

            converted = sequential_teacher(Path(teacher), data, out)
        teacher = converted or _teacher_folder(Path(teacher), arch, data, out)
    teacher_arch, _sd, meta = load_teacher(teacher)
    from archsmith._export import read_meta

    folder, _ = read_meta(teacher)
    info = meta.get("data") or {}
    data = data or info.get("name")
    if not data:
        raise ConfigError(f"{folder / 'arch.json'} does not name the teacher's data; give "
                          "--data.")
    split = info.get("split") or {}
    out = out or Path("runs") / f"compress-{meta['space']}-{Path(str(data)).stem}-{stamp}"
    out = Path(out).resolve()
    training: dict[str, Any] = {"num_threads": threads, "students": str(out / "students"),
                                "data_seed": int(split.get("seed", seed))}  # its split
    for key in ("val_fraction", "test_fraction"):  # None: the data's own fixed split
        if isinstance(split.get(key), int | float):
            training[key] = float(split[key])
    probe = DistillEvaluator(folder.resolve(), data=data, epochs=epochs, seed=seed,
                             **training)  # type: ignore[arg-type]
    if info.get("sha256") and probe.dataset.info.get("sha256") != info["sha256"]:
        raise ConfigError(f"The data {data!r} are not the ones the teacher was trained on "
                          "(their sha256 differs); give the teacher's data.")
    teach = probe.teacher_metrics()
    if meta.get("converted_from") and teach["val_acc"] < 150.0 / int(meta["num_classes"]):
        console.print(f"[yellow]warning:[/] the converted teacher is near chance on the "
                      f"validation split ({fmt(teach['val_acc'])}); a plain nn.Sequential "
                      "must have been trained on the data's raw values, unscaled.")
    record = _teacher_record(folder)
    trial_val = _teacher_reference(record)
    console.print(f"teacher: {teacher_arch.space.compact(teacher_arch)}  "
                  f"params={fmt(teach['params'])}  val_acc={fmt(teach['val_acc'])}"
                  + (f" (as a trial of its search: {fmt(trial_val)})" if trial_val else "")
                  + f"  test_acc={fmt(teach['test_acc'])}")
    chooser = folder.resolve()
    if _saw_validation(record):  # choose with a teacher that has not seen validation
        chooser = _train_only_teacher(folder, record, str(data), training, out).resolve()
        training["final_teacher"] = str(folder.resolve())
        probe = DistillEvaluator(chooser, data=data, epochs=epochs, seed=seed,
                                 **training)  # type: ignore[arg-type]
        teach = {**teach, "val_acc": probe.teacher_metrics()["val_acc"]}
        console.print(f"teacher trained on the training split: val_acc "
                      f"{fmt(teach['val_acc'])} (students are held to this)")
    val_ref = teach["val_acc"]
    cfg = SearchConfig(
        space=meta["space"], space_config=meta.get("space_config", {}), data=data,
        strategy="n2n", strategy_config={
            "teacher": dict(teacher_arch.values), "teacher_acc": val_ref,
            "teacher_params": teach["params"], "removal_trials": budget // 2},
        budget=budget, epochs=epochs, seed=seed, objective="params", direction="min",
        constraints=[f"val_acc>={val_ref - max_accuracy_drop:.6g}"],
        teacher=str(chooser), training=training, fail_fast=0)
    search = Search(cfg, out)
    search.out.mkdir(parents=True, exist_ok=True)
    summary = search.out / SUMMARY
    if not summary.is_file() or not (search.out / POINTER_FILE).is_file():
        # a stored run keeps its own: a different command is refused by its fingerprint
        write_atomic(summary, json.dumps(
            {"teacher": teach, "val_acc_reference": val_ref,
             "max_accuracy_drop": max_accuracy_drop,
             "reference": "val_acc: the teacher students are held to (trained on the "
                          "training split only when the exported one saw validation "
                          "data); test_acc: the teacher as given"}, indent=2) + "\n")
    run_search(search)
    report_students(search)


def report_students(search: Any) -> None:
    """Prints the Pareto set of a compress run's students and writes ``students.json``
    (``archsmith resume`` of a compress run calls it as well)."""
    from rich.table import Table

    from archsmith.store import Store

    info = json.loads((search.out / SUMMARY).read_text())
    teach, val_ref = info["teacher"], float(info["val_acc_reference"])
    drop = float(info["max_accuracy_drop"])

    store = Store(search._storage_url or f"sqlite:///{search.out / 'archsmith.db'}")
    try:
        row = store.get_search(search.config.name)
        trials = store.trials(row.id) if row is not None else []
        best = row.best if row is not None else None
    finally:
        store.close()
    front = student_front(trials)
    table = Table(title=f"Pareto set of students (teacher: {fmt(teach['params'])} params, "
                  f"val_acc {fmt(val_ref)})")
    for col in ("trial", "params", "compression", "val_acc", "architecture"):
        table.add_column(col)
    for s in front:
        arch = search.space.from_dict(s["arch"])
        table.add_row(str(s["number"]), fmt(s["params"]),
                      f"{teach['params'] / s['params']:.1f}×", fmt(s["val_acc"]),
                      search.space.compact(arch))
    console.print(table)
    payload: dict[str, Any] = {"teacher": {**teach, "val_acc_reference": val_ref,
                                           "reference_weights": search.config.teacher,
                                           "reference": info.get("reference")},
               "max_accuracy_drop": drop, "pareto": front,
               "best": None if not best else {
                   "number": best["number"], "params": best["metrics"].get("params"),
                   "val_acc": best["metrics"].get("val_acc"),
                   "test_acc": (best.get("final") or {}).get("test_acc"),
                   "compression": teach["params"] / best["metrics"]["params"]}}
    write_atomic(search.out / "students.json", json.dumps(payload, indent=2) + "\n")
    if best and best.get("final_error"):
        console.print(f"[yellow]the chosen student (trial {best['number']}) could not be "
                      f"finished: {best['final_error']}[/]")
    elif best and best.get("final"):
        b = payload["best"]
        console.print(f"smallest student within {drop:g} point(s): trial {b['number']}, "
                      f"{b['compression']:.1f}× fewer parameters, test_acc "
                      f"{fmt(b['test_acc'])} (teacher {fmt(teach['test_acc'])}); "
                      f"weights in {search.out / 'best'}")
    else:
        console.print(f"[yellow]no student stayed within {drop:g} point(s) of the teacher; "
                      f"the Pareto set above is what was reached[/]")
