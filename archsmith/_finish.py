"""Finishing a search: retrain the chosen network, score it once on test, export it.

Kept apart from the search loop (:mod:`archsmith.search`) so that building, the loop
and finishing are units a reader finds on their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsmith._run_folder import read_pointer
from archsmith.errors import ConfigError
from archsmith.evaluators._base import TrainsFinal
from archsmith.store import Store

if TYPE_CHECKING:
    from archsmith.search import Search
    from archsmith.strategies import TrialRecord

__all__ = ["export_trial", "finalize"]


def finalize(search: Search, best: TrialRecord, folder: Path, retrain: bool = True
             ) -> dict[str, Any]:
    """Retrains ``best`` on train+validation (evaluators that train), scores it once on
    the test split and saves it to ``folder``.

    Returns:
        The record stored as the search's best: number, architecture, metrics, the
        final metrics (or ``final_error``), the files written (or ``save_error``).
    """
    from archsmith._export import save_best
    from archsmith.errors import describe_exception

    info: dict[str, Any] = {
        "number": best.number, "arch": best.arch.to_dict(), "hash": best.arch.hash,
        "metrics": best.metrics, "objective": ",".join(search.objectives.names),
    }
    evaluator = search.evaluator
    model = dataset = None
    if retrain and isinstance(evaluator, TrainsFinal):
        try:
            from archsmith._inherit import trained_best

            kept = trained_best(search, best)  # with inheritance: the trial's own weights
            if kept is not None or getattr(evaluator, "keeps_weights", False):
                info["weights"] = "the trial's own (trained in the search)"
            model, info["final"] = kept if kept is not None else evaluator.fit_final(
                best.arch, search.config.final_epochs or search.config.epochs)
            dataset = evaluator.dataset
        except Exception as e:  # keep the search's results whatever happens here
            info["final_error"] = describe_exception(e)
    try:
        info["files"] = save_best(folder, search.space, best.arch, info, model=model,
                                  dataset=dataset)
    except (OSError, ConfigError) as e:  # the trials are stored whatever happens here
        info["files"], info["save_error"] = [], str(e)
    return info


def export_trial(search: Search, number: int) -> dict[str, Any]:
    """Retrains a finished trial like the best and writes it to ``OUT/trial-N/``.

    The trial is retrained on train+validation, scored once on the test split and
    saved with the same files as ``best/`` (only a real-data search has weights), even
    when the search itself ran with ``export=False``. Reads the storage, writes
    nothing to it.

    Raises:
        ConfigError: no complete trial ``number`` is stored.
    """
    url = search._storage_url or read_pointer(search.out)["storage"]
    store = Store(url)
    try:
        row = store.get_search(search.config.name)
        rows = store.trials(row.id) if row is not None else []
    finally:
        store.close()
    match = [r for r in rows if r.number == number]
    if not match or match[0].state != "complete":
        done = [r.number for r in rows if r.state == "complete"]
        shown = ", ".join(map(str, done[:20])) + (" …" if len(done) > 20 else "")
        what = "is not stored" if not match else f"is {match[0].state}"
        raise ConfigError(f"Trial {number} {what}; complete trials: {shown or 'none'}.")
    return finalize(search, search._record(match[0]), search.out / f"trial-{number}")
