"""A headless Chromium driven over the DevTools protocol (stdlib only), for page tests.

Chromium is started with ``--remote-debugging-pipe``: commands go to its file
descriptor 3 and replies come from 4, as NUL-terminated JSON. Enough of the protocol
for tests of the report page: open a file, wait for a condition, evaluate JavaScript,
click at a point with real (trusted) mouse events, collect console errors and
uncaught exceptions, take a screenshot.

Example (needs Debian's ``chromium``; not run as a doctest)::

    with Chromium() as browser:  # doctest: +SKIP
        browser.open("report.html")
        browser.wait_for("document.body.dataset.ready === '1'")
        print(browser.evaluate("document.title"), browser.errors)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["Chromium", "find_chromium"]

_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--disable-extensions",
          "--disable-quic", "--mute-audio", "--remote-debugging-pipe")


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on ``PATH``, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """A headless browser with one page (see the module docstring).

    Args:
        executable: Browser to run (default: :func:`find_chromium`).
        width: Window width in CSS pixels.
        height: Window height.
        timeout: Seconds to wait for any one reply.

    Attributes:
        errors: Console errors and uncaught exceptions seen so far (text).
    """

    def __init__(self, executable: str | None = None, width: int = 1400, height: int = 1000,
                 timeout: float = 60.0) -> None:
        exe = executable or find_chromium()
        if exe is None:
            raise FileNotFoundError("no chromium on PATH (Debian: apt-get install chromium)")
        self.timeout = timeout
        self.errors: list[str] = []
        self._profile = tempfile.mkdtemp(prefix="archsmith-chromium-")
        self._buf = b""
        self._id = 0
        self._events: list[dict[str, Any]] = []
        self.proc: subprocess.Popen[bytes] | None = None
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def fds() -> None:  # in the child: the two pipe ends become fds 3 and 4
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 5)  # above 4, so dup2 cannot clobber
            b = fcntl.fcntl(out_w, fcntl.F_DUPFD, 5)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.close(a)
            os.close(b)

        try:
            self.proc = subprocess.Popen(
                [exe, *_FLAGS, f"--user-data-dir={self._profile}",
                 f"--window-size={width},{height}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                close_fds=False, preexec_fn=fds, start_new_session=True)
            target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self._call("Target.attachToTarget",
                                       {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable")
            self.send("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        except BaseException:
            self.close()
            raise
        finally:
            os.close(cmd_r)
            os.close(out_w)

    # -- protocol -------------------------------------------------------------------------
    def _write(self, msg: dict[str, Any]) -> None:
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc is None or self.proc.poll() is not None:
                raise TimeoutError("chromium did not answer in time (or exited)")
            ready, _, _ = select.select([self._out_r], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self._out_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _note(self, msg: dict[str, Any]) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text")
            self.errors.append(f"exception: {text}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console.error: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        self._events.append(msg)

    def _call(self, method: str, params: dict[str, Any] | None = None,
              session: bool = False) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self._session
        self._write(msg)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self._note(reply)

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sends a command to the page's session and returns its result."""
        return self._call(method, params, session=True)

    # -- conveniences ------------------------------------------------------------------------
    def open(self, path: str | Path) -> float:
        """Loads a file; returns the seconds until its load event."""
        t0 = time.monotonic()
        self._events.clear()
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()})
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._note(self._read(deadline))
        return time.monotonic() - t0

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises awaited)."""
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression!r} raised: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float | None = None) -> float:
        """Polls until ``expression`` is truthy; returns the seconds waited."""
        t0 = time.monotonic()
        while not self.evaluate(expression):
            if time.monotonic() - t0 > (timeout or self.timeout):
                raise TimeoutError(f"{expression!r} did not become true")
            time.sleep(0.05)
        return time.monotonic() - t0

    def click(self, x: float, y: float) -> None:
        """A trusted left click at viewport coordinates (moves the mouse there first)."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def screenshot(self, path: str | Path, full_page: bool = True) -> Path:
        """Writes a PNG of the page (the whole page by default)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.evaluate("[document.documentElement.scrollWidth,"
                                 " document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.send("Page.captureScreenshot", params)["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out

    def close(self) -> None:
        """Asks the browser to quit, then kills its whole process group."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    self._write({"id": self._id + 1, "method": "Browser.close"})
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # renderers and helpers too
                self.proc.wait(timeout=10)
        finally:
            for fd in (self._cmd_w, self._out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
