"""The run folder's pointer file (``archsmith.json``): where a search is stored.

A SQLite database inside the folder is named relative to it (pointer version 2), so a
copied or moved folder uses the database it carries; any other storage is recorded as
its URL without a password. The pointer also holds the search's name and fingerprint,
so a folder whose database holds a different search under that name is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archsmith._fs import exists
from archsmith.errors import ConfigError
from archsmith.store import safe_url, sqlite_url, url_without_password

__all__ = [
    "DEFAULT_DB",
    "POINTER_FILE",
    "POINTER_VERSION",
    "check_pointer_matches",
    "pointer_storage",
    "read_pointer",
    "write_atomic",
]

#: File in the output folder that says where the search is stored.
POINTER_FILE = "archsmith.json"
DEFAULT_DB = "archsmith.db"
#: Version of the pointer file; 2 names a SQLite file in the folder relative to it.
POINTER_VERSION = 2


def read_pointer(out: Path, raw: bool = False) -> dict[str, Any]:
    """The folder's pointer file: where its search is stored, its name and fingerprint.

    Args:
        out: The search's output folder.
        raw: Return the file's content as written; by default ``storage`` is resolved
            to a URL (a SQLite file named relative to the folder becomes absolute).
    """
    p = out / POINTER_FILE
    if exists(out) and not out.is_dir():
        raise ConfigError(f"{out} is a file, not the output folder of a search.")
    if not exists(p) or not p.is_file():
        raise ConfigError(
            f"{out} holds no archsmith search (no {POINTER_FILE}). Give the --out folder "
            "of an earlier `archsmith search`."
        )
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or not {"storage", "name"} <= set(meta):
            raise ValueError("missing keys")
        if not isinstance(meta["storage"], str) or not isinstance(meta["name"], str):
            raise ValueError("storage and name must be strings")
        if meta.get("version", 1) not in (None, 1, 2):
            raise ValueError(f"unknown version {meta.get('version')!r}")
    except (ValueError, OSError) as e:
        raise ConfigError(
            f"{p} is corrupt ({e}); it must be JSON holding storage and name. Pass the "
            "database with --storage, or start a new search in another --out folder."
        ) from None
    if raw:
        return meta
    meta = dict(meta)
    meta["storage"] = pointer_url(out, meta)
    return meta


def pointer_url(out: Path, meta: dict[str, Any]) -> str:
    """The storage URL a pointer names, resolved against its folder."""
    storage: str = meta["storage"]
    if "://" not in storage:  # a SQLite file inside the folder, named relative to it
        return sqlite_url(out / storage)
    local = out / DEFAULT_DB
    if meta.get("version", 1) in (None, 1) and local.is_file():
        # pointers before version 2 held the absolute path of the folder's own database:
        # a copied or moved folder uses the database it carries, never the original's
        path = sqlite_path(storage)
        if path is not None and path.name == DEFAULT_DB and path != local.resolve():
            return sqlite_url(local)
    return storage


def sqlite_path(url: str) -> Path | None:
    """Absolute path of a SQLite database file URL (``None`` for other URLs, in memory)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).resolve()


def pointer_storage(out: Path, url: str) -> str:
    """What the pointer file records for ``url``: a path relative to ``out`` for a SQLite
    file inside the folder, else the URL without its password (SQLite paths absolute)."""
    path = sqlite_path(url)
    if path is None:
        return url_without_password(url)
    try:
        return path.relative_to(out.resolve()).as_posix()
    except ValueError:
        return sqlite_url(path)


def check_pointer_matches(out: Path, url: str, meta: dict[str, Any], name: str,
                          fingerprint: str) -> None:
    """Refuses a folder whose pointer was made for another search than the one stored
    under its name (pointers without a fingerprint, from before version 2, pass).

    Raises:
        ConfigError: the fingerprints differ; nothing was read or written.
    """
    if meta.get("fingerprint") in (None, fingerprint):
        return
    raise ConfigError(
        f"{out}/{POINTER_FILE} names search {name!r} in {safe_url(url)}, but the search "
        "stored there under that name is a different one (its fingerprint differs from the "
        "one this folder was made for). Nothing was read or written. Pass the right "
        "database with --storage, or start a new search in another --out folder."
    )


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
