"""Fuzzing the command line's arguments (issue 11, item 6).

The rule of :mod:`archsmith.cli`: every user mistake ends with a one-paragraph red message
(``archsmith: error``) and exit code 2, never a traceback. Hypothesis draws option values
and file contents — empty, binary, huge, malformed, unicode and over-long names, files and
folders that cannot be read or written — and every example must end with exit code 0 (the
input happened to be valid), 2 with the message, or 1 with ``archsmith: search failed``
(documented: a valid search whose every trial failed). An exception escaping a command
(which ``CliRunner`` catches: exit code 1), click's ``Aborted!`` or a ``Traceback`` in the
output is a failure.

Each example is a :class:`Case`: the command-line arguments plus the files to create,
written into a fresh folder that ``{d}`` in arguments and file contents stands for, so a
failing example printed by Hypothesis is its own reproduction recipe (examples are not
shrunk, which would cost a command run per step). Searches that could start always get
``--budget 1 --epochs 1`` and a cheap judge (a trivial user evaluator, the NAS-Bench-201
table or iris), so a valid combination is fast. Examples are derandomized: the same ones
on every run.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import io
import json
import math
import os
import shlex
import shutil
import sqlite3
import struct
import sys
import tempfile
import traceback
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from archsmith._config import SearchConfig
from archsmith.cli import app

runner = CliRunner()

# -- running one command ------------------------------------------------------------------


def _outcome(args: list[str]) -> str | None:
    """Runs ``archsmith ARGS`` in-process; returns what breaks the rule, or None."""
    res = runner.invoke(app, args)
    exc = res.exception
    text = res.output
    cmd = "archsmith " + shlex.join(args)
    if exc is not None and not isinstance(exc, SystemExit):
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return f"{cmd}\nraised {type(exc).__name__}: {exc}\n{tb}"
    if "Traceback" in text:
        return f"{cmd}\nprinted a traceback (exit code {res.exit_code}):\n{text}"
    if res.exit_code == 1 and "archsmith: search failed" in text:
        return None  # documented: a valid search whose trials all failed
    if res.exit_code not in (0, 2):
        return f"{cmd}\nexit code {res.exit_code} (want 0 or 2):\n{text}"
    if res.exit_code == 2 and "archsmith: error" not in text:
        return f"{cmd}\nexit code 2 without an 'archsmith: error' message:\n{text}"
    return None


def _check(args: list[str]) -> None:
    problem = _outcome(args)
    assert problem is None, problem


# -- what an example creates --------------------------------------------------------------


@dataclass(frozen=True)
class Huge:
    """A few MB of deterministic garbage (``binary``, ``text`` without a newline, or
    ``csv``: a valid header and numeric rows, then one non-numeric row at the end)."""

    kind: str
    size: int = 3 * 2**20


@dataclass(frozen=True)
class Img:
    """An image file: ``fmt`` is a PIL format, or ``empty``/``truncated``/``bomb`` (a PNG
    header declaring 20000x20000 pixels)."""

    mode: str
    size: tuple[int, int]
    fmt: str


@dataclass(frozen=True)
class Npz:
    """An ``np.savez`` archive: ``(key, shape, dtype, fill)`` per array; fill is
    ``zeros``, ``range``, ``nan``, ``frac`` (non-integers) or ``labels:K``."""

    arrays: tuple[tuple[str, tuple[int, ...], str, str], ...]


@dataclass(frozen=True)
class Zip:
    """A zip archive holding these members (a ``.npz`` with garbage ``.npy`` files)."""

    members: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Unreadable:
    """A file the user cannot read (mode 000; as root, a link to a write-only sysfs file)."""


@dataclass(frozen=True)
class Run:
    """A copy of a finished search's output folder: ``user`` (a user-evaluator search of 2
    trials) or ``trained`` (an iris search whose best network was trained and exported)."""

    kind: str


#: Contents of a path: bytes (a file), None (a folder), or one of the markers above.
Content = Any


@dataclass(frozen=True)
class Case:
    """One command line and the files it needs; ``{d}`` is the example's folder and
    ``{ro}`` a folder the user cannot write to."""

    args: tuple[str, ...]
    files: tuple[tuple[str, Content], ...] = ()
    #: SQL statements run on a SQLite file after the files are written: ``(path, sql)``.
    sql: tuple[tuple[str, str], ...] = ()


EV_OK = b"def fn(arch, budget):\n    return {'val_acc': 1.0}\n"
FAST = ("--budget", "1", "--epochs", "1")
USER_SEARCH = ("search", "--space", "mlp", "--evaluator", "{d}/ev.py:fn", *FAST)


def _materialise(case: Case, d: Path, root: Path) -> list[str] | None:
    """Creates the case's files under ``d``; returns its arguments (None: not possible
    on this machine, e.g. no unwritable folder for root)."""
    subs = {"{d}": str(d)}
    if any("{ro}" in a for a in case.args):
        ro = _unwritable_dir(d)
        if ro is None:
            return None
        subs["{ro}"] = ro
    for rel, content in case.files:
        if not _write(d / rel, content, d, root):
            return None
    for rel, stmt in case.sql:
        con = sqlite3.connect(d / rel)
        try:
            con.execute(stmt)
            con.commit()
        finally:
            con.close()
    out = []
    for a in case.args:
        for k, v in subs.items():
            a = a.replace(k, v)
        out.append(a)
    return out


def _write(path: Path, content: Content, d: Path, root: Path) -> bool:
    try:
        return _write_unchecked(path, content, d, root)
    except OSError as e:  # a name too long for the file system: the path stays missing
        if e.errno != errno.ENAMETOOLONG:
            raise
        return True


def _write_unchecked(path: Path, content: Content, d: Path, root: Path) -> bool:
    if isinstance(content, Run):
        shutil.copytree(_template(root, content.kind), path, symlinks=True)
        pointer = path / "archsmith.json"
        meta = json.loads(pointer.read_text())
        if "://" in meta["storage"]:  # an absolute path to the template's own database
            meta["storage"] = f"sqlite:///{(path / 'archsmith.db').resolve()}"
            pointer.write_text(json.dumps(meta))
        return True
    if content is None:
        path.mkdir(parents=True, exist_ok=True)
        return True
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Unreadable):
        if os.geteuid() != 0:
            path.write_bytes(b"a,label\n1,0\n")
            path.chmod(0)
            return True
        target = _root_unreadable_file()
        if target is None:
            return False
        path.unlink(missing_ok=True)
        path.symlink_to(target)
        return True
    if isinstance(content, Huge):
        path.write_bytes(_huge(content.kind, content.size))
    elif isinstance(content, Img):
        path.write_bytes(_image_bytes(content))
    elif isinstance(content, Npz):
        path.write_bytes(_npz_bytes(content))
    elif isinstance(content, Zip):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in content.members:
                z.writestr(name, data)
        path.write_bytes(buf.getvalue())
    else:
        path.write_bytes(bytes(content).replace(b"{d}", str(d).encode()))
    return True


def _unwritable_dir(d: Path) -> str | None:
    """A folder the user cannot create anything in."""
    if os.geteuid() != 0:
        ro = d / "ro"
        ro.mkdir(exist_ok=True)
        ro.chmod(0o500)
        return str(ro)
    return _root_unwritable_dir()


@functools.cache
def _root_unwritable_dir() -> str | None:
    """As root, mode bits do not stop writes; sysfs refuses new entries even to root."""
    probe = Path("/sys") / f"archsmith-fuzz-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except PermissionError:
        return "/sys"
    except OSError:
        return None
    probe.rmdir()
    return None


@functools.cache
def _root_unreadable_file() -> str | None:
    """As root, a write-only sysfs attribute still refuses reads (EACCES). A bus's
    ``uevent`` is one (the fuzzed commands only ever read their input files)."""
    for p in sorted(Path("/sys/bus").glob("*/uevent"))[:20]:
        try:
            with open(p, "rb") as f:
                f.read(1)
        except PermissionError:
            return str(p)
        except OSError:
            continue
    return None


@functools.cache
def _huge(kind: str, size: int) -> bytes:
    rng = np.random.default_rng(11)
    if kind == "binary":
        return rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    if kind == "text":
        return (b"x," * (size // 2))[:size]
    rows = [b"a,b,label"]
    line = b"0.5,1.5,1\n2.5,3.5,0"
    rows += [line] * (size // (len(line) + 1))
    rows.append(b"oops,1,0")
    return b"\n".join(rows) + b"\n"


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def _image_bytes(img: Img) -> bytes:
    from PIL import Image

    if img.fmt == "empty":
        return b""
    if img.fmt == "bomb":  # 400 M pixels: over PIL's decompression-bomb limit
        ihdr = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))
    fmt = "PNG" if img.fmt == "truncated" else img.fmt
    im = Image.new(img.mode, img.size)
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt)
    except (OSError, ValueError, KeyError):  # a mode the format cannot hold
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format=fmt)
    data = buf.getvalue()
    return data[: len(data) // 2] if img.fmt == "truncated" else data


def _npz_bytes(spec: Npz) -> bytes:
    arrays = {}
    for key, shape, dtype, fill in spec.arrays:
        n = int(np.prod(shape)) if shape else 1
        base = np.arange(n, dtype=np.float64)
        if fill == "zeros":
            base = np.zeros(n)
        elif fill == "nan":
            base[::2] = np.nan
        elif fill == "frac":
            base = base / 2 + 0.25
        elif fill.startswith("labels:"):
            base = base % int(fill.split(":")[1])
        if dtype in ("U3", "S3", "O"):
            arr = np.array([str(v) for v in base], dtype=dtype)
        elif dtype == "M8[s]":
            arr = np.nan_to_num(base).astype("int64").astype(dtype)
        else:
            with np.errstate(all="ignore"):
                arr = base.astype(dtype)
        arrays[key] = arr.reshape(shape)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


_TEMPLATES: dict[tuple[str, str], Path] = {}


def _template(root: Path, kind: str) -> Path:
    """The output folder of a finished search (made once per session)."""
    key = (str(root), kind)
    if key not in _TEMPLATES:
        t = root / f"template-{kind}"
        t.mkdir(parents=True, exist_ok=True)
        if kind == "user":
            (t / "ev.py").write_bytes(EV_OK)
            args = [*USER_SEARCH, "--budget", "2", "--out", str(t / "run")]
            args = [a.replace("{d}", str(t)) for a in args]
        else:
            args = ["search", "--space", "mlp", "--data", "iris", *FAST, "--out", str(t / "run")]
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        _TEMPLATES[key] = t / "run"
    return _TEMPLATES[key]


def _rmtree(d: Path) -> None:
    def fix(func: Any, path: str, _exc: Any) -> None:
        parent = Path(path).parent
        if not parent.is_symlink():
            parent.chmod(0o700)
        if Path(path).is_dir() and not Path(path).is_symlink():
            Path(path).chmod(0o700)
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)

    for p in [d, *(q for q in d.rglob("*") if q.is_dir() and not q.is_symlink())]:
        p.chmod(0o700)
    if sys.version_info >= (3, 12):
        shutil.rmtree(d, onexc=fix)
    else:
        shutil.rmtree(d, onerror=fix)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _run_case(case: Case, root: Path) -> None:
    d = Path(tempfile.mkdtemp(dir=root, prefix="ex-"))
    try:
        args = _materialise(case, d, root)
        assume(args is not None)
        assert args is not None
        _check(args)
    finally:
        _rmtree(d)


# -- strategies ---------------------------------------------------------------------------

_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(_CHARS, max_size=12)
#: One path component: any characters but "/" and NUL (spaces, unicode, emoji...).
NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"),
               min_size=1, max_size=16).map(lambda s: s + "_" if s in (".", "..") else s)
SMALL_BYTES = st.one_of(st.just(b""), st.binary(max_size=200), TEXT.map(str.encode))
BLOB = st.one_of(SMALL_BYTES, st.builds(Huge, st.sampled_from(["binary", "text"])))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=6)
STORAGE = st.one_of(
    st.sampled_from([
        "sqlite:///{d}/missing/x.db", "sqlite:///{d}/afile/x.db", "sqlite:///{d}/garbage.db",
        "sqlite:///{d}", "sqlite://", "nosuch://x", "mysql://u@localhost/x",
        "postgresql://nobody@127.0.0.1:1/x", "sqlite:///{d}/run/archsmith.db", "", "://",
        "not a url", "sqlite:///{d}/q.db?timeout=abc", "sqlite:///{d}/q.db?mode=ro",
        "postgresql://nobody@127.0.0.1:abc/x", "postgresql://nobody@[::1/x",
    ]),
    TEXT,
)
#: Files that the storage values above may name.
STORAGE_FILES: tuple[tuple[str, Content], ...] = (("afile", b"x"),
                                                  ("garbage.db", b"not a database\x00" * 9))
LONG_NAMES = st.builds(lambda ch, n: ch * (n // len(ch.encode()) + 1),
                       st.sampled_from(["x", "é", "日", "😀"]), st.integers(256, 700))


def _pointer_content() -> st.SearchStrategy[bytes]:
    """Contents of a corrupt ``archsmith.json``."""
    extra = {"version": st.one_of(st.integers(0, 3), JSON), "fingerprint": JSON}
    storages = st.fixed_dictionaries({"storage": STORAGE, "name": st.just("default")},
                                     optional=extra)
    shaped = st.fixed_dictionaries({"storage": JSON, "name": JSON}, optional=extra)
    return st.one_of(
        SMALL_BYTES,
        JSON.map(lambda v: json.dumps(v).encode()),
        st.one_of(storages, shaped).map(lambda v: json.dumps(v).encode()),
    )


@st.composite
def out_cases(draw: st.DrawFn) -> Case:
    """``archsmith search --out X`` for unusable or odd X."""
    kind = draw(st.sampled_from([
        "file", "under_file", "unicode", "long_component", "long_path", "unwritable",
        "db_garbage", "db_is_dir", "pointer_garbage", "pointer_is_dir", "best_is_file",
    ]))
    files: list[tuple[str, Content]] = [("ev.py", EV_OK)]
    out = "{d}/o"
    if kind == "file":
        files.append(("afile", draw(BLOB)))
        out = "{d}/afile"
    elif kind == "under_file":
        files.append(("afile", draw(SMALL_BYTES)))
        out = "{d}/afile/" + "/".join(draw(st.lists(NAME, min_size=1, max_size=2)))
    elif kind == "unicode":
        out = "{d}/" + "/".join(draw(st.lists(NAME, min_size=1, max_size=2)))
    elif kind == "long_component":
        out = "{d}/" + draw(LONG_NAMES)
    elif kind == "long_path":  # each part fits, the whole path is over PATH_MAX (4096)
        out = "{d}/" + "/".join(["p" * 200] * draw(st.integers(21, 30)))
    elif kind == "unwritable":
        out = "{ro}" + draw(st.sampled_from(["", "/sub", "/sub/deeper"]))
    elif kind == "db_garbage":
        files.append(("o/archsmith.db", draw(BLOB)))
    elif kind == "db_is_dir":
        files.append(("o/archsmith.db", None))
    elif kind == "pointer_garbage":
        files += [("o/archsmith.json", draw(_pointer_content())), *STORAGE_FILES]
    elif kind == "pointer_is_dir":
        files.append(("o/archsmith.json", None))
    else:  # best/ (where the best architecture is written) is a file
        files.append(("o/best", draw(SMALL_BYTES)))
    return Case((*USER_SEARCH, "--out", out), tuple(files))


_CELL = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats().map(repr),
    st.sampled_from(["", " ", "a", "nan", "inf", "-inf", "1e999", "0x10", "1_000", '"', "é",
                     "1,5", "\t"]),
    TEXT,
)
_NUMBER = st.one_of(st.integers(-5, 5).map(str), st.floats(-1e3, 1e3).map(repr),
                    st.sampled_from(["nan", "inf", "3.4e38", "1e-45", " 2 "]))


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """A CSV file: messy (ragged, non-numeric, unicode) or nearly valid."""
    if draw(st.booleans()):
        header = draw(st.lists(st.one_of(st.sampled_from(["label", "target", "y", "x1"]), TEXT),
                               max_size=5))
        rows = draw(st.lists(st.lists(_CELL, max_size=6), max_size=12))
    else:
        nf = draw(st.integers(0, 3))
        header = [f"f{i}" for i in range(nf)]
        header.append(draw(st.sampled_from(["label", "target", "y", "class", "Label", "ziel",
                                            "étiquette"])))
        n = draw(st.integers(0, 24))
        k = draw(st.integers(1, 4))
        labels = draw(st.sampled_from(["int", "str", "float", "mixed"]))
        rows = []
        for i in range(n):
            feats = [draw(_NUMBER) for _ in range(nf)]
            lab = {"int": str(i % k), "str": f"c{i % k}", "float": f"{i % k + 0.5}",
                   "mixed": str(i % k) if i % 2 else f"c{i}"}[labels]
            rows.append([*feats, lab])
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(",".join(r) for r in [header, *rows]) + newline
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


_DTYPES = ["f4", "f8", "i4", "u1", "b1", "c8", "U3", "S3", "O", "M8[s]"]
_FILLS = ["zeros", "range", "nan", "frac", "labels:1", "labels:2", "labels:3"]


@st.composite
def npz_content(draw: st.DrawFn) -> Content:
    kind = draw(st.sampled_from(["raw", "zip", "arrays", "nearly_valid"]))
    if kind == "raw":
        return draw(BLOB)
    if kind == "zip":
        members = draw(st.lists(st.tuples(st.sampled_from(["X.npy", "y.npy", "a.npy", "X"]),
                                          st.binary(max_size=64)), max_size=3))
        return Zip(tuple(members))
    if kind == "nearly_valid":
        n = draw(st.integers(0, 24))
        rest = draw(st.sampled_from([(3,), (0,), (1, 5), (2, 4, 4), (1, 1, 1)]))
        return Npz((("X", (n, *rest), draw(st.sampled_from(["f4", "f8", "i4"])),
                     draw(st.sampled_from(["range", "zeros", "nan"]))),
                    ("y", (n,), draw(st.sampled_from(["i4", "f8", "U3"])),
                     draw(st.sampled_from(["labels:2", "labels:3", "labels:1", "frac"])))))
    arrays = draw(st.lists(st.tuples(
        st.sampled_from(["X", "y", "x", "Y", "data"]),
        st.lists(st.integers(0, 5), max_size=5).map(tuple),
        st.sampled_from(_DTYPES), st.sampled_from(_FILLS),
    ), max_size=3, unique_by=lambda a: a[0]))
    return Npz(tuple(arrays))


_IMG = st.builds(
    Img,
    mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]),
    size=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    fmt=st.sampled_from(["PNG", "PNG", "PNG", "JPEG", "GIF", "BMP", "empty", "truncated",
                         "bomb"]),
)


_GOOD_IMG = st.builds(Img, mode=st.sampled_from(["L", "RGB", "1", "P", "RGBA", "I;16", "LA"]),
                      size=st.sampled_from([(8, 8), (8, 8), (5, 9), (40, 3)]),
                      fmt=st.sampled_from(["PNG", "JPEG", "BMP"]))


@st.composite
def image_tree(draw: st.DrawFn, top: str) -> list[tuple[str, Content]]:
    """An image-folder dataset: random class folders of random files, or a valid one
    (2 classes of 3 images) with one or two defects."""
    files: list[tuple[str, Content]] = [(top, None)]
    if draw(st.booleans()):
        classes = draw(st.lists(NAME, max_size=3, unique=True))
        for c in classes:
            files.append((f"{top}/{c}", None))
            imgs = draw(st.lists(st.tuples(st.sampled_from([".png", ".jpg", ".PNG", ".jpeg",
                                                             ".gif", ".txt"]),
                                           st.one_of(_IMG, SMALL_BYTES)), max_size=5))
            for i, (suffix, content) in enumerate(imgs):
                files.append((f"{top}/{c}/{i}{suffix}", content))
        if draw(st.booleans()):
            files.append((f"{top}/stray.png", draw(SMALL_BYTES)))
        return files
    classes = draw(st.lists(st.one_of(st.sampled_from(["cat", "dog"]), NAME), min_size=2,
                            max_size=2, unique=True))
    for c in classes:
        files += [(f"{top}/{c}/{i}.png", draw(_GOOD_IMG)) for i in range(3)]
    for _ in range(draw(st.integers(1, 2))):
        where = draw(st.sampled_from([*classes, "new-class", ".hidden"]))
        name = draw(st.sampled_from(["0", "a", "z"])) + draw(st.sampled_from(
            [".png", ".jpg", ".jpeg", ".PNG", ".gif"]))
        bomb = Img("1", (1, 1), "bomb")
        files.append((f"{top}/{where}/{name}", draw(st.one_of(_IMG, SMALL_BYTES, st.just(bomb),
                                                               st.just(None)))))
    return files


@st.composite
def data_cases(draw: st.DrawFn) -> Case:
    """``archsmith search --data X`` for malformed files and folders."""
    kind = draw(st.sampled_from(["raw", "csv", "npz", "images", "empty_dir", "dir_named_csv",
                                 "unreadable", "huge_csv"]))
    stem = draw(st.one_of(st.just("data"), st.just("data"), NAME, NAME, LONG_NAMES))
    files: list[tuple[str, Content]] = []
    suffix = ""
    column = ""
    if kind == "raw":
        suffix = draw(st.sampled_from([".csv", ".npz", ".CSV", ".txt", "", ".png"]))
        files.append((stem + suffix, draw(BLOB)))
    elif kind == "csv":
        suffix = draw(st.sampled_from([".csv", ".CSV"]))
        files.append((stem + suffix, draw(csv_bytes())))
        if draw(st.booleans()):
            column = ":" + draw(st.one_of(st.sampled_from(["label", "f0", "y"]), TEXT))
    elif kind == "npz":
        suffix = ".npz"
        files.append((stem + suffix, draw(npz_content())))
    elif kind == "images":
        files += draw(image_tree(stem))
    elif kind == "empty_dir":
        files.append((stem, None))
    elif kind == "dir_named_csv":
        suffix = ".csv"
        files.append((stem + suffix, None))
        if draw(st.booleans()):
            files.append((stem + suffix + "/sub", None))
    elif kind == "unreadable":
        suffix = draw(st.sampled_from([".csv", ".npz"]))
        files.append((stem + suffix, Unreadable()))
    else:
        suffix = ".csv"
        files.append((stem + suffix, Huge("csv")))
    space = draw(st.sampled_from(["mlp", "cnn"]))
    export = () if draw(st.booleans()) else ("--no-export",)
    args = ("search", "--space", space, "--data", "{d}/" + stem + suffix + column, *FAST,
            "--out", "{d}/out", *export)
    return Case(args, tuple(files))


class TomlLiteral(str):
    """A TOML value written as is (dates and times, which Python's TOML reader returns as
    ``datetime`` objects)."""


# config values: plausible ones and wrong types; numbers stay small enough to be cheap
_INTS = st.one_of(st.integers(-3, 3), st.sampled_from([0, -1, 2**31, 2**63 - 1]))
_DATES = st.sampled_from([TomlLiteral("1979-05-27"), TomlLiteral("07:32:00"),
                          TomlLiteral("1979-05-27T07:32:00Z")])
_SCALAR = st.one_of(_INTS, st.floats(), st.booleans(), TEXT, _DATES)
_ANY = st.one_of(_SCALAR, st.lists(_SCALAR, max_size=3),
                 st.dictionaries(TEXT, _SCALAR, max_size=2))


def _table(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.dictionaries(st.one_of(st.sampled_from(keys), TEXT), values,
                                     max_size=3), _ANY)


_SMALL = st.one_of(st.integers(-2, 8), st.floats(-1, 2), st.booleans(), TEXT,
                   st.lists(st.one_of(st.integers(-2, 64), TEXT, st.floats(-1, 2)), max_size=3))
CONFIG_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "space": st.one_of(st.sampled_from(["mlp", "cnn", "nb201", "nbgraph", "x"]), _ANY),
    "space_config": _table(["max_layers", "widths", "activations", "norms", "dropouts",
                            "residual"], _SMALL),
    "data": st.one_of(st.sampled_from(["iris", "nosuch", "{d}/missing.csv", ""]), _ANY),
    "benchmark": st.one_of(st.sampled_from(["nb201/cifar10", "nb201/x", "nbgraph/x", "x"]),
                           _ANY),
    "evaluator": st.one_of(st.sampled_from(["{d}/ev.py:fn", "{d}/ev.py", ":"]), _ANY),
    "strategy": st.one_of(st.sampled_from(["random", "evolution", "local", "bananas", "bo",
                                           "gc", "reinforce", "optuna:tpe", "optuna:x", "x"]),
                          _ANY),
    "strategy_config": _table(["population_size", "sample_size", "avoid_seen", "seed",
                               "sampler_options"], _SMALL),
    "training": _table(["batch_size", "lr", "weight_decay", "device", "num_threads"], _SMALL),
    "export": st.one_of(st.booleans(), _ANY),
    "executor": st.one_of(st.sampled_from(["inline", "simulated", "x"]), _SCALAR),
    "direction": st.one_of(st.sampled_from(["max", "min", "up"]), _SCALAR),
}
_FIELDS = [f.name for f in dataclasses.fields(SearchConfig)]


def _toml(v: Any) -> str:
    """``v`` as a TOML value (imperfect on purpose-free edge cases: invalid TOML is fine)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, TomlLiteral):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml(x)}"
                           for k, x in v.items()) + "}"


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


@st.composite
def config_cases(draw: st.DrawFn) -> Case:
    """``archsmith search --config FILE.toml`` for broken and ill-typed files."""
    kind = draw(st.sampled_from(["doc", "doc", "doc", "raw", "dir", "unreadable"]))
    name = draw(st.one_of(st.just("cfg.toml"), NAME))
    files: list[tuple[str, Content]] = [("ev.py", EV_OK)]
    flags: list[str] = []
    if kind == "doc":
        keys = draw(st.lists(st.one_of(st.sampled_from(_FIELDS), TEXT), max_size=5,
                             unique=True))
        doc = {k: draw(CONFIG_VALUES.get(k, _ANY)) for k in keys}
        text = "\n".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}"
                         for k, v in doc.items())
        files.append((name, text.encode() + b"\n"))
        # valid numbers that could make the search slow are overridden by flags (which
        # win over the file); invalid ones are left for the validation to reject
        for key, flag, value in (("budget", "--budget", "1"), ("epochs", "--epochs", "1"),
                                 ("final_epochs", "--final-epochs", "1"),
                                 ("workers", "--workers", "1")):
            if key not in doc or _positive_int(doc[key]):
                flags += [flag, value]
        if _positive_int(doc.get("max_retries")):
            flags += ["--max-retries", "0"]  # no flag for fail_fast: it only stops sooner
        if not any(doc.get(k) for k in ("data", "benchmark", "evaluator")):
            # a cheap source (without one, the search would train on digits)
            source = draw(st.sampled_from(["evaluator", "benchmark", "data"]))
            if source == "evaluator":
                flags += ["--evaluator", "{d}/ev.py:fn"]
            elif source == "benchmark":
                flags += ["--benchmark", "nb201/cifar10"]
            else:
                flags += ["--data", "iris"]
                flags += [] if "space" in doc else ["--space", "mlp"]
                flags += [] if "export" in doc else ["--no-export"]
    elif kind == "raw":
        files.append((name, draw(BLOB)))
        flags += ["--evaluator", "{d}/ev.py:fn", *FAST]
    elif kind == "dir":
        files.append((name, None))
        flags += ["--evaluator", "{d}/ev.py:fn", *FAST]
    else:
        files.append((name, Unreadable()))
        flags += ["--evaluator", "{d}/ev.py:fn", *FAST]
    args = ("search", "--config", "{d}/" + name, *flags, "--out", "{d}/out")
    return Case(args, tuple(files))


_EV_SOURCES = [
    b"def fn(:\n", b"\x00\x01\x02", b"\xff\xfe garbage", b"raise SystemExit(3)\n",
    b"import nosuchmodule_archsmith\n", b"fn = 3\n", b"def fn():\n    pass\n",
    b"def fn(arch, budget):\n    return 'x'\n",
    b"def fn(arch, budget):\n    return {'val_acc': float('nan')}\n",
    b"def fn(arch, budget):\n    raise RuntimeError('boom')\n",
    b"def fn(arch, budget):\n    return {'val_acc': [1]}\n",
    b"def fn(arch, budget):\n    import sys\n    sys.exit(0)\n",
    b"import sys\nsys.exit(0)\n", b"fn = lambda arch, budget: {'val_acc': 2.0}\n",
    b"class fn:\n    def __init__(self, arch, budget):\n        pass\n",
    b"def fn(arch, budget):\n    return {1: 1.0}\n", b"", b"1/0\n", EV_OK,
]


@st.composite
def evaluator_cases(draw: st.DrawFn) -> Case:
    """``archsmith search --evaluator SPEC`` for malformed specs and broken files."""
    fname = draw(st.one_of(st.just("ev"), NAME, LONG_NAMES)) + draw(
        st.sampled_from([".py", ".py", ".txt", ""]))
    content = draw(st.one_of(st.sampled_from(_EV_SOURCES), TEXT.map(str.encode),
                             st.binary(max_size=64), st.just(None)))
    func = draw(st.one_of(st.sampled_from(["fn", "missing", "1bad", "", "fn:extra", "fn ",
                                           "__name__"]), TEXT))
    spec = draw(st.sampled_from(["{d}/{f}:{fn}", "{d}/{f}", ":{fn}", "{d}/{f}:",
                                 "{d}/nosuch/{f}:{fn}", "{fn}"]))
    spec = spec.replace("{f}", fname).replace("{fn}", func) or ":"  # "": train on digits
    files: list[tuple[str, Content]] = [(fname, content)]
    extra = []
    if draw(st.booleans()):
        extra += ["--objective", draw(st.one_of(st.sampled_from(["val_acc", "loss", ""]),
                                                TEXT))]
    args = ("search", "--space", draw(st.sampled_from(["mlp", "cnn", "nb201"])),
            "--evaluator", spec, *FAST, *extra, "--out", "{d}/out")
    return Case(args, tuple(files))


def _opt(flag: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, ...]]:
    """``(flag, value)`` or nothing."""
    return st.one_of(st.just(()), values.map(lambda v: (flag, str(v))))


_BAD_INTS = st.one_of(st.integers(-3, 1), st.sampled_from([-(2**63), -(2**70), 0]))
_HUGE_INTS = st.sampled_from([2**31, 2**63, 10**30])
_FLOATS = st.one_of(st.floats(), st.sampled_from([-5.0, 0.0, 1e-300, 1e308]))
#: Unknown or odd names; never "" for a source (an empty --data/--benchmark/--evaluator
#: means "none given": the search then trains on digits, which is valid but slow).
_NAMES = st.one_of(st.sampled_from([" ", "x", "optuna:", "optuna:x", "optuna:grid",
                                    "nb201/", "nb201/x", "nbgraph/", "nbgraph/x",
                                    "simulated", "RANDOM", "random ", "nb201/cifar10/x"]),
                   TEXT.filter(bool))
#: What ``number_cases`` may put in an option (each example changes one or two of them).
_MUTATIONS: dict[str, st.SearchStrategy[Any]] = {
    "--budget": _BAD_INTS,
    "--epochs": st.one_of(_BAD_INTS, _HUGE_INTS),
    "--final-epochs": st.one_of(_BAD_INTS, _HUGE_INTS),
    "--trial-timeout": _FLOATS,
    "--workers": _BAD_INTS,
    "--max-retries": st.one_of(st.integers(-3, 0), st.sampled_from([-(2**63)])),
    "--fail-fast": st.one_of(st.integers(-3, 2), _HUGE_INTS),
    "--seed": st.one_of(st.integers(-3, 3), st.sampled_from([-(2**63), 2**64, 2**80])),
    "--threads": st.one_of(_BAD_INTS, _HUGE_INTS),
    "--device": st.one_of(st.sampled_from(["cpu", "cuda", "cuda:99", "mps", "tpu", "auto",
                                           "cpu:5", " "]), TEXT),
    "--space": st.one_of(st.sampled_from(["mlp", "cnn", "nb201", ""]), _NAMES),
    "--strategy": st.one_of(st.sampled_from(["", "random"]), _NAMES),
    "--executor": st.one_of(st.sampled_from(["inline", "simulated", ""]), _NAMES),
    "--objective": st.one_of(st.sampled_from(["val_acc", "loss", ""]), TEXT),
    "--direction": st.one_of(st.sampled_from(["max", "min", ""]), TEXT),
    "--name": st.one_of(TEXT, st.text(_CHARS, min_size=199, max_size=260)),
    "--storage": STORAGE,
    "--benchmark": _NAMES,
    "--evaluator": _NAMES,
    "--data": _NAMES,
}


@st.composite
def number_cases(draw: st.DrawFn) -> Case:
    """Out-of-range numbers and unknown names for ``archsmith search``: a valid, cheap
    search with one or two of its options changed (so one mistake is not hidden behind
    another)."""
    source = draw(st.sampled_from(["evaluator", "benchmark", "data"]))
    opts: dict[str, str] = {"--budget": "1", "--epochs": "1", "--out": "{d}/out"}
    if source == "evaluator":
        opts |= {"--space": "mlp", "--evaluator": "{d}/ev.py:fn"}
    elif source == "benchmark":
        opts["--benchmark"] = "nb201/cifar10"
    else:
        opts |= {"--space": "mlp", "--data": "iris"}
    flags = draw(st.lists(st.sampled_from(sorted(_MUTATIONS)), min_size=1, max_size=2,
                          unique=True))
    for flag in flags:
        values = _MUTATIONS[flag]
        if source == "data" and flag in ("--epochs", "--final-epochs"):
            values = _BAD_INTS  # 2**31 epochs of real training are valid, but endless
        opts[flag] = str(draw(values))
    args = ["search", *(x for kv in opts.items() for x in kv)]
    if source == "data":
        args.append("--no-export")
    return Case(tuple(args), (("ev.py", EV_OK), *STORAGE_FILES))


def _out_value(draw: st.DrawFn) -> tuple[str, list[tuple[str, Content]]]:
    """An odd ``--out`` folder (and the files it needs)."""
    kind = draw(st.sampled_from(["file", "under_file", "unicode", "long", "unwritable"]))
    if kind == "file":
        return "{d}/afile", [("afile", draw(SMALL_BYTES))]
    if kind == "under_file":
        return "{d}/afile/sub", [("afile", draw(SMALL_BYTES))]
    if kind == "unicode":
        return "{d}/" + draw(NAME), []
    if kind == "long":
        return "{d}/" + draw(LONG_NAMES), []
    return "{ro}/sub", []


_BENCH_MUTATIONS: dict[str, st.SearchStrategy[Any]] = {
    "--strategies": st.one_of(st.sampled_from([",", "random,random", "random,x", " "]),
                              _NAMES),
    "--strategy-configs": st.one_of(
        st.sampled_from(['{"random": 3}', '{"random": []}', '{"random": {"x": 1}}', "{",
                         '{"x": {}}']),
        JSON.map(json.dumps), st.dictionaries(st.sampled_from(["random", "x"]), JSON,
                                              max_size=2).map(json.dumps), TEXT),
    "--budget": _BAD_INTS, "--seeds": _BAD_INTS, "--workers": _BAD_INTS,
    "--workers-sim": st.one_of(_BAD_INTS, _HUGE_INTS), "--benchmark": _NAMES,
    "--space": _NAMES,
}


@st.composite
def bench_cases(draw: st.DrawFn) -> Case:
    """``archsmith bench``: a one-query comparison with one option changed."""
    opts = {"--benchmark": "nb201/cifar10", "--strategies": "random", "--budget": "1",
            "--seeds": "1", "--out": "{d}/b"}
    files: list[tuple[str, Content]] = []
    flag = draw(st.sampled_from(["--out", *sorted(_BENCH_MUTATIONS)]))
    if flag == "--out":
        opts["--out"], files = _out_value(draw)
    else:
        opts[flag] = str(draw(_BENCH_MUTATIONS[flag]))
    return Case(("bench", *(x for kv in opts.items() for x in kv)), tuple(files))


_SQL = [
    "UPDATE archsmith_searches SET config = '[]'",
    "UPDATE archsmith_searches SET config = 'not json'",
    "UPDATE archsmith_searches SET config = '{\"budget\": \"x\"}'",
    "UPDATE archsmith_searches SET best = '[1]'",
    "UPDATE archsmith_searches SET strategy_state = X'00'",
    "UPDATE archsmith_searches SET name = 'other'",
    "UPDATE archsmith_trials SET arch = 'garbage'",
    "UPDATE archsmith_trials SET metrics = '[1]'",
    "DELETE FROM archsmith_searches",
    "DROP TABLE archsmith_trials",
]


@st.composite
def stored_cases(draw: st.DrawFn) -> Case:
    """``show`` / ``resume`` / ``export`` on folders that hold no (intact) search."""
    kind = draw(st.sampled_from(["missing", "file", "empty_dir", "pointer", "pointer_dir",
                                 "run", "run_pointer", "run_db", "run_sql", "trained",
                                 "trained_best", "url"]))
    files: list[tuple[str, Content]] = [*STORAGE_FILES]
    sql: tuple[tuple[str, str], ...] = ()
    target = "{d}/run"
    if kind == "missing":
        target = "{d}/" + draw(NAME)
    elif kind == "file":
        files.append(("run", draw(BLOB)))
    elif kind == "empty_dir":
        files.append(("run", None))
    elif kind == "pointer":
        files.append(("run/archsmith.json", draw(_pointer_content())))
    elif kind == "pointer_dir":
        files.append(("run/archsmith.json", None))
    elif kind in ("run", "run_pointer", "run_db", "run_sql"):
        files.append(("run", Run("user")))
        if kind == "run_pointer":
            files.append(("run/archsmith.json", draw(_pointer_content())))
        elif kind == "run_db":
            files += [("run/archsmith.db-wal", b""), ("run/archsmith.db", draw(BLOB))]
        elif kind == "run_sql":
            sql = (("run/archsmith.db", draw(st.sampled_from(_SQL))),)
    elif kind in ("trained", "trained_best"):
        files.append(("run", Run("trained")))
        if kind == "trained_best":
            part = draw(st.sampled_from(["best/arch.json", "best/weights.pt",
                                         "best/metrics.json", "best"]))
            content = draw(st.one_of(BLOB, JSON.map(lambda v: json.dumps(v).encode()),
                                     st.just(b'{"space": "mlp", "decisions": {}}')))
            files.append((f"run/{part}", content))
    else:
        target = draw(STORAGE.filter(lambda s: "://" in s))
    cmd = draw(st.sampled_from(["show", "resume", "export"]))
    args: list[str] = [cmd, target]
    if cmd == "show":
        args += draw(st.sampled_from([(), ("--json",)]))
        args += draw(_opt("--top", st.integers(-3, 3)))
        args += draw(_opt("--name", TEXT))
    elif cmd == "resume":
        args += draw(_opt("--budget", st.integers(-2, 3)))
        args += draw(_opt("--workers", st.integers(-2, 1)))
        args += draw(_opt("--executor", st.sampled_from(["inline", "simulated", "x"])))
        args += draw(_opt("--storage", STORAGE))
    else:
        args += draw(_opt("--format", st.one_of(st.sampled_from(["onnx", "torchscript"]),
                                                TEXT)))
    return Case(tuple(args), tuple(files), sql)


# -- the properties -----------------------------------------------------------------------


def _fuzz(n: int) -> Any:
    return settings(
        max_examples=n, deadline=None, derandomize=True, database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a Case is its own recipe
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example],
    )


# Examples that once ended in a traceback (issue 11): run first, on every run.
_EV = (("ev.py", EV_OK),)
_B = ("--benchmark", "nb201/cifar10")
_TOML = ("search", "--config", "{d}/c.toml", "--budget", "1", "--out", "{d}/out")
_TWO_CLASSES = tuple((f"imgs/{c}/{i}.png", Img("L", (8, 8), "PNG")) for c in "ab" for i in range(3))


def _sql_case(cmd: str, stmt: str, *extra: str) -> Case:
    return Case((cmd, "{d}/run", *extra), (("run", Run("user")),),
                (("run/archsmith.db", stmt),))


def _pointer_case(cmd: str, pointer: dict[str, Any]) -> Case:
    return Case((cmd, "{d}/run"), (("run", Run("user")),
                                   ("run/archsmith.json", json.dumps(pointer).encode())))


@_fuzz(40)
@example(case=Case((*USER_SEARCH, "--out", "{d}/afile"), (*_EV, ("afile", b"x"))))
@example(case=Case((*USER_SEARCH, "--out", "{d}/afile/sub"), (*_EV, ("afile", b"x"))))
@example(case=Case((*USER_SEARCH, "--out", "{d}/o"), (*_EV, ("o/best", b""))))
@example(case=Case((*USER_SEARCH, "--out", "{d}/" + "x" * 300), _EV))
@given(case=out_cases())
def test_fuzz_out(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


@_fuzz(50)
@example(case=Case(("search", "--space", "mlp", "--data", "{d}/d.npz", *FAST, "--out", "{d}/o"),
                   (("d.npz", Zip((("X.npy", b"\x88"), ("y.npy", b"\xd1")))),)))
@example(case=Case(("search", "--space", "mlp", "--data", "{d}/d.npz", *FAST, "--out", "{d}/o"),
                   (("d.npz", Npz((("X", (6, 5), "f4", "range"), ("y", (), "i4", "zeros")))),)))
@example(case=Case(("search", "--space", "cnn", "--data", "{d}/imgs", *FAST, "--out", "{d}/o"),
                   (*_TWO_CLASSES, ("imgs/a/9.png", Img("1", (1, 1), "bomb")))))
@example(case=Case(("search", "--space", "mlp", "--data", "{d}/" + "é" * 200 + ".csv", *FAST,
                    "--out", "{d}/o"), ()))
@given(case=data_cases())
def test_fuzz_data(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


@_fuzz(60)
@example(case=Case((*_TOML, "--evaluator", "{d}/ev.py:fn"), (*_EV, ("c.toml", Unreadable()))))
@example(case=Case((*_TOML, *_B), (("c.toml", b"objective = 3\n"),)))
@example(case=Case((*_TOML, "--space", "mlp"), (("c.toml", b"data = [1]\n"),)))
@example(case=Case(_TOML, (("c.toml", b"evaluator = 1979-05-27\n"),)))
@example(case=Case((*_TOML, "--evaluator", "{d}/ev.py:fn"), (*_EV, ("c.toml", (
    b'strategy = "optuna:tpe"\nstrategy_config = {sampler_options = {n_startup_trials = "x"}}'
)))))
@given(case=config_cases())
def test_fuzz_config(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


@_fuzz(60)
@example(case=Case(("search", "--evaluator", "{d}/" + "x" * 300 + ".py:fn", *FAST, "--out",
                    "{d}/o"), ()))
@given(case=evaluator_cases())
def test_fuzz_evaluator(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


@_fuzz(60)
@example(case=Case((*USER_SEARCH, "--seed", "-1", "--out", "{d}/o"), _EV))
@example(case=Case(("search", "--space", "mlp", "--evaluator", "{d}/ev.py:fn", "--budget", "1",
                    "--epochs", str(2**63), "--out", "{d}/o"), _EV))
@example(case=Case((*USER_SEARCH, "--storage", "sqlite:///{d}/q.db?timeout=abc", "--out",
                    "{d}/o"), _EV))
@example(case=Case((*USER_SEARCH, "--storage", "postgresql://u@127.0.0.1:abc/x", "--out",
                    "{d}/o"), _EV))
@given(case=number_cases())
def test_fuzz_numbers_and_names(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


_BENCH = ("bench", *_B, "--strategies", "random", "--budget", "1", "--seeds", "1")


@_fuzz(15)
@example(case=Case((*_BENCH, "--out", "{d}/afile"), (("afile", b"x"),)))
@example(case=Case((*_BENCH, "--out", "{d}/afile/sub"), (("afile", b"x"),)))
@example(case=Case((*_BENCH, "--strategy-configs", '{"random": 3}', "--out", "{d}/b")))
@given(case=bench_cases())
def test_fuzz_bench(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


@_fuzz(60)
@example(case=_sql_case("show", "UPDATE archsmith_searches SET config = '[]'"))
@example(case=_sql_case("resume", "UPDATE archsmith_searches SET config = '[]'"))
@example(case=_sql_case("resume", "UPDATE archsmith_searches SET config = 'not json'"))
@example(case=_sql_case("show", "UPDATE archsmith_trials SET arch = 'garbage'"))
@example(case=_sql_case("resume", "UPDATE archsmith_searches SET strategy_state = X'00'",
                        "--budget", "3"))
@example(case=_pointer_case("show", {"storage": "sqlite:///{d}/run/archsmith.db",
                                     "name": "default", "version": "x"}))
@example(case=Case(("show", "postgresql://u@127.0.0.1:abc/x")))
@example(case=Case(("export", "{d}/run"), (("run", Run("trained")),
                                           ("run/best/weights.pt", b"garbage"))))
@example(case=Case(("export", "{d}/run"), (("run", Run("trained")),
                                           ("run/best/weights.pt", b""))))
@example(case=Case(("export", "{d}/run", "--trial", "0"), (("run", Run("trained")),
                                                           ("run/trial-0", b"x"))))
@given(case=stored_cases())
def test_fuzz_show_resume_export(fuzz_root: Path, case: Case) -> None:
    _run_case(case, fuzz_root)


# -- explicit regressions -----------------------------------------------------------------


def _user_search(tmp_path: Path, out: str) -> tuple[int, str]:
    (tmp_path / "ev.py").write_bytes(EV_OK)
    args = [a.replace("{d}", str(tmp_path)) for a in USER_SEARCH]
    res = runner.invoke(app, [*args, "--out", out])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def test_out_naming_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, text = _user_search(tmp_path, str(tmp_path / "afile"))
    assert code == 2 and "archsmith: error" in text and "Traceback" not in text, text
    assert "afile" in " ".join(text.replace("│", " ").split())
    assert (tmp_path / "afile").read_text() == "x"


def test_out_under_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, text = _user_search(tmp_path, str(tmp_path / "afile" / "sub"))
    assert code == 2 and "archsmith: error" in text and "Traceback" not in text, text
    assert "afile" in " ".join(text.replace("│", " ").split())


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: mode 0o500 does not stop root from writing "
                    "(test_fuzz_out covers unwritable folders through /sys instead)")
def test_out_in_a_read_only_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, text = _user_search(tmp_path, str(ro / "sub"))
    finally:
        ro.chmod(0o700)
    assert code == 2 and "archsmith: error" in text and "Traceback" not in text, text
