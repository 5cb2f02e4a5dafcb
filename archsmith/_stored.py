"""Reading a stored search for the views (``show``, ``report``): config, trials, best."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archsmith.errors import ArchsmithError

__all__ = ["load_stored"]


def load_stored(
    out: str, name: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None, list[Any]]:
    """Config, trials, best and all searches of the storage behind ``out``.

    ``out`` is a search's output folder or a storage URL (then ``name`` picks the search;
    with one search stored it is taken).
    """
    from archsmith._run_folder import check_pointer_matches, read_pointer
    from archsmith.store import Store, live_driver

    meta: dict[str, Any] | None = None
    if "://" in out:
        url, wanted = out, name
    else:
        meta = read_pointer(Path(out))
        url, wanted = meta["storage"], name or meta["name"]
    store = Store(url)
    try:
        searches = store.searches()
        if wanted is None:
            if len(searches) != 1:
                return {}, [], None, searches
            wanted = searches[0].name
        row = store.get_search(wanted)
        if row is None:
            names = ", ".join(s.name for s in searches) or "(none)"
            raise ArchsmithError(f"No search named {wanted!r} in {url}; stored: {names}.")
        if meta is not None and name is None:
            check_pointer_matches(Path(out), url, meta, row.name, row.fingerprint)
        trials = [t.to_dict() for t in store.trials(row.id)]
        if row.config.get("scheduler"):  # multi-fidelity: every rung result of each trial
            by_trial: dict[int, list[dict[str, Any]]] = {}
            for r in store.rungs(row.id):
                by_trial.setdefault(r.number, []).append(r.to_dict())
            for t in trials:
                t["rungs"] = by_trial.get(t["number"], [])
        if row.config.get("inherit"):  # the parent and moves of each inherited trial
            lineage = store.lineage(row.id)
            for t in trials:
                t["inherited"] = lineage.get(t["number"])
        driver = live_driver(store, row.id) if row.status == "running" else None
        counts = {s.name: len(store.trials(s.id)) for s in searches} if len(searches) > 1 else {}
    finally:
        store.close()
    cfg = dict(row.config)
    cfg["status"] = row.status
    if row.status == "running" and driver is None:  # killed: no live driver holds it
        cfg["status"] = "stopped (driver gone)"
    cfg["name"] = row.name
    return cfg, trials, row.best, [(s, counts.get(s.name)) for s in searches] if counts else []
