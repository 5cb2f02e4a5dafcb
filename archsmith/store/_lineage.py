"""Lineage of searches with weight inheritance: each inherited trial's parent and the
transformation (moves) that made its initial weights from the parent's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from archsmith.store._models import LineageModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["read_lineage", "write_lineage"]


def write_lineage(factory: sessionmaker[Session], search_id: int, number: int,
                  parent: int | None, moves: list[str], preserving: bool) -> None:
    """Records (or, with ``parent=None``, clears) trial ``number``'s inheritance."""
    with factory.begin() as s:
        s.execute(delete(LineageModel).where(LineageModel.search_id == search_id,
                                             LineageModel.number == number))
        if parent is not None:
            s.add(LineageModel(search_id=search_id, number=number, parent=parent,
                               moves=json.dumps(list(moves)), preserving=int(preserving)))


def read_lineage(factory: sessionmaker[Session], search_id: int) -> dict[int, dict[str, Any]]:
    """``{trial: {"parent", "moves", "preserving"}}`` of a search's inherited trials."""
    with factory() as s:
        rows = s.scalars(select(LineageModel).where(LineageModel.search_id == search_id))
        return {r.number: {"parent": r.parent, "moves": json.loads(r.moves),
                           "preserving": bool(r.preserving)} for r in rows}
