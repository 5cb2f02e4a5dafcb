"""Drive an archsmith strategy from your own training loop (ask/tell).

archsmith proposes MLP architectures (``archsmith.AskTell``); this script builds each
with the space, trains it with a plain PyTorch loop of its own on scikit-learn's digits
and tells archsmith the validation accuracy. The loop's state (strategy included) is
saved to a JSON file after every trial, so an interrupted run continues where it stopped.

Run::

    python examples/ask_tell_own_training.py --trials 12 --strategy gc --seed 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import archsmith


def train(net: torch.nn.Module, data: tuple[torch.Tensor, ...], epochs: int, seed: int) -> float:
    """Your training loop: AdamW, mini-batches; returns validation accuracy in percent."""
    X_tr, y_tr, X_va, y_va = data
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(X_tr), generator=gen).split(64):
            loss = torch.nn.functional.cross_entropy(net(X_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return float((net(X_va).argmax(1) == y_va).float().mean()) * 100


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--strategy", default="evolution")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--state", type=Path, default=Path("ask_tell_state.json"))
    args = p.parse_args()
    torch.set_num_threads(1)

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.2, random_state=0,
                                              stratify=y)
    data = (torch.tensor(X_tr, dtype=torch.float32), torch.tensor(y_tr),
            torch.tensor(X_va, dtype=torch.float32), torch.tensor(y_va))

    loop = archsmith.AskTell("mlp", strategy=args.strategy, seed=args.seed)
    if args.state.is_file():
        loop.load_state_dict(json.loads(args.state.read_text()))
        print(f"continuing: {len(loop.trials)} trials done")
    while len(loop.trials) < args.trials:
        trial = loop.ask()
        torch.manual_seed(args.seed * 100_003 + trial.number)
        net = loop.space.build(trial.arch, input_shape=(64,), num_classes=10)
        acc = train(net, data, args.epochs, seed=trial.number)
        loop.tell(trial, acc)
        args.state.write_text(json.dumps(loop.state_dict()))
        print(f"trial {trial.number:>3}  val_acc={acc:6.2f}  {loop.space.compact(trial.arch)}")
    best = loop.best
    assert best is not None
    print(f"best: trial {best.number}, val_acc={best.metrics['val_acc']:.2f}, "
          f"{loop.space.compact(best.arch)}")


if __name__ == "__main__":
    main()
