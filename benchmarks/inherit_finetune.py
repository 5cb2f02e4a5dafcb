"""How an inherited child should be fine-tuned (issue 15): one-move children of a
search's best networks, trained from their transformed parent's weights for a few
epochs at several learning rates, against the same child trained from scratch.

The parent is the ``--rank``-th best distinct architecture of a finished search's store
(retrained here with the search's settings, seed ``--seed``); its children are
``--children`` of its one-decision neighbours, drawn with ``--seed``. Each child is
trained ``--epochs`` from scratch, and ``--inherit-epochs`` from the parent's
transformed weights at each learning rate of ``--lrs`` (constant, or ``cos`` for a
cosine decay to 0 over the fine-tuning). Prints one JSON line per child, then the means.

Example (a store of a ``gc`` search on mnist1d with the cnn space)::

    python benchmarks/inherit_finetune.py --store runs/gc-none-seed0/archsmith.db \\
        --rank 0 --lrs 1e-3,3e-4,1e-4,cos1e-3,cos3e-4
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _parents(db: str, space: Any) -> list[tuple[Any, float]]:
    """The search's complete trials, best first, one per distinct architecture."""
    from archsmith.store import Store, sqlite_url

    store = Store(sqlite_url(Path(db)))
    try:
        row = store.get_search("default")
        rows = store.trials(row.id, state="complete") if row else []
    finally:
        store.close()
    rows.sort(key=lambda r: -r.metrics["val_acc"])
    seen: set[str] = set()
    out = []
    for r in rows:
        if r.hash not in seen:
            seen.add(r.hash)
            out.append((space.from_dict(r.arch), float(r.metrics["val_acc"])))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, help="archsmith.db of a finished search")
    p.add_argument("--rank", type=int, default=0)
    p.add_argument("--children", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default="mnist1d")
    p.add_argument("--space", default="cnn")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--inherit-epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-3, help="the search's learning rate")
    p.add_argument("--lrs", default="1e-3,3e-4,1e-4,cos1e-3,cos3e-4")
    a = p.parse_args()

    from archsmith import Search, SearchConfig
    from archsmith.evaluators._checkpoint import checkpoint_key, load_checkpoint, save_checkpoint
    from archsmith.transform import moves

    tmp = Path(tempfile.mkdtemp(prefix="finetune-"))
    s = Search(SearchConfig(data=a.data, space=a.space, epochs=a.epochs, seed=a.seed,
                            training={"lr": a.lr}), tmp / "run")
    ev, sp = s.evaluator, s.space
    parent, stored = _parents(a.store, sp)[a.rank]
    pck = tmp / "parent.pt"
    pacc = ev.evaluate(parent, a.epochs, checkpoint=pck).metrics["val_acc"]
    psd = load_checkpoint(pck, checkpoint_key(ev.describe(), parent.hash))["net"]
    print(json.dumps({"parent": sp.compact(parent), "stored": stored, "retrained": pacc}))
    rng = np.random.default_rng([a.seed, a.rank])
    nb = [c for c in sp.neighbours(parent) if len(moves(parent, c)) == 1]
    kids = [nb[int(i)] for i in rng.choice(len(nb), size=min(a.children, len(nb)),
                                           replace=False)]
    ds = ev.dataset
    steps = a.inherit_epochs * math.ceil(len(ds.indices["train"]) / ev.batch_size)
    base_opt = type(ev)._optimizer
    rows = []
    for child in kids:
        t = sp.transform(parent, child, psd, input_shape=ds.input_shape,
                         num_classes=ds.num_classes, seed=0, rng=np.random.default_rng(0))
        row: dict[str, Any] = {"moves": list(t.moves), "preserving": t.preserving,
                               "scratch": ev.evaluate(child, a.epochs).metrics["val_acc"]}
        for name in a.lrs.split(","):
            cos = name.startswith("cos")
            lr = float(name[3:] if cos else name)
            e = copy.copy(ev)
            e.lr = lr
            f = tmp / "child.pt"
            save_checkpoint(f, checkpoint_key(e.describe(), child.hash), {
                "net": t.state_dict, "epoch": 0, "curve": [], "seconds": 0.0, "parent": 0})
            if cos:  # the optimizer's rate follows a cosine to 0 over the fine-tuning
                def opt(self: Any, params: Any, lr: float = lr) -> Any:
                    o = base_opt(self, params)
                    k, step = [0], o.step

                    def stepped(*args: Any, **kw: Any) -> Any:
                        k[0] += 1
                        for g in o.param_groups:
                            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(k[0], steps)
                                                               / steps))
                        return step(*args, **kw)

                    o.step = stepped
                    return o

                e._optimizer = opt.__get__(e)  # type: ignore[method-assign]
            row[name] = e.evaluate(child, a.inherit_epochs, checkpoint=f).metrics["val_acc"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    keys = ["scratch", *a.lrs.split(",")]
    print("means over", len(rows), "children:",
          " ".join(f"{k} {np.mean([r[k] for r in rows]):.2f}" for k in keys))


if __name__ == "__main__":
    main()
