"""Browser tests' shared parts: a PHP/HTTP server, headless Chromium via node + playwright-core, console records.

How a browser test is built (see ``test_webmushra_client.py`` for a full one):

- The page logic is a node script in ``tests/support/browser/`` that starts with
  ``require("./chromium").main(async ({ page, args, note }) => { ...; return result; })``. ``chromium.js``
  launches Debian's ``/usr/bin/chromium`` headless (flags in ``chromium.js``: ``--headless --no-sandbox
  --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update
  --disable-sync``, a fresh ``--user-data-dir`` per run), records every console message, page error,
  failed request and HTTP response >= 400, and prints them with the callback's result as one JSON line.
- Python runs it with :func:`run_browser` (``args`` travel as JSON) and gets a :class:`BrowserRun`:
  ``result``, ``notes``, ``console`` and helpers such as :meth:`BrowserRun.console_lines`.
- Pages are served by :class:`PhpServer` (PHP's built-in server, ``php -S 127.0.0.1:PORT``, Debian
  ``php-cli``), which also serves plain files; a page opened from disk needs no server (``file://`` URL).
- The fixtures ``php_server`` (a factory: ``php_server(root) -> base URL``) and ``browser`` (this module's
  ``run_browser``) live in ``tests/conftest.py``.

Nothing is skipped: when a tool is missing, :func:`require_browser_tools` fails the test and names the
``make test`` target that installs it (``make browser-tools``: apt ``php-cli``, ``chromium``, ``nodejs``,
``npm``, and ``npm ci`` of the pinned ``playwright-core`` in ``tests/support/browser/``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "run `make browser-tools` (part of `make test`) to install it"


def require_browser_tools(php: bool = True) -> None:
    """Fail the calling test (never skip) when node, Chromium, playwright-core or PHP is missing."""
    playwright = BROWSER_DIR / "node_modules" / "playwright-core"
    missing = [name for name, ok in (
        ("node", shutil.which("node") is not None),
        (CHROMIUM, Path(CHROMIUM).is_file()),
        (str(playwright), playwright.is_dir()),
        ("php", not php or shutil.which("php") is not None),
    ) if not ok]
    if missing:
        pytest.fail(f"browser test tools missing: {', '.join(missing)}; {INSTALL_HINT}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PhpServer:
    """``php -S 127.0.0.1:PORT`` serving ``root`` (cwd ``root``), as a context manager; ``log`` holds its output."""

    def __init__(self, root: Path, port: int | None = None, start_timeout: float = 15.0) -> None:
        self.root, self.port, self.start_timeout = Path(root), port or free_port(), start_timeout
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        fd, name = tempfile.mkstemp(prefix="php-server-", suffix=".log")
        os.close(fd)
        self._log_path = Path(name)
        self._log_text = ""

    def __enter__(self) -> PhpServer:
        require_browser_tools()
        log = self._log_path.open("wb")
        self._proc = subprocess.Popen(["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.root)],
                                      cwd=self.root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"php -S exited with {self._proc.returncode}: {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError(f"php -S did not listen on {self.port} within {self.start_timeout} s: {self.log}")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log_path.is_file():
            self._log_text = self._log_path.read_text(errors="replace")
            self._log_path.unlink()

    @property
    def log(self) -> str:
        """What the server printed (one line per request, PHP warnings)."""
        return self._log_path.read_text(errors="replace") if self._log_path.is_file() else self._log_text


@dataclass(frozen=True)
class BrowserRun:
    """What a ``tests/support/browser`` script reported: its result, notes and everything the pages logged."""

    ok: bool
    result: Any
    error: str | None
    notes: list[Any] = field(default_factory=list)
    console: list[dict[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[dict[str, str]] = field(default_factory=list)
    bad_responses: list[dict[str, Any]] = field(default_factory=list)

    def console_lines(self, prefix: str = "") -> list[str]:
        """The text of every console message that starts with ``prefix`` (all of them for ``""``)."""
        return [m["text"] for m in self.console if m["text"].startswith(prefix)]

    def describe(self) -> str:
        """A readable dump for assertion messages."""
        return json.dumps({"error": self.error, "notes": self.notes, "console": self.console[-40:],
                           "pageErrors": self.page_errors, "failedRequests": self.failed_requests,
                           "badResponses": self.bad_responses}, indent=1)[:12000]


def run_browser(script: str, args: dict[str, Any], timeout: float = 180.0) -> BrowserRun:
    """Run ``tests/support/browser/<script>`` under node with ``args`` (JSON) and return what it reported.

    Raises ``AssertionError`` when the script prints no report (it crashed outside ``main``) or overruns
    ``timeout`` seconds; a callback that throws comes back as ``ok=False`` with its ``error``.
    """
    require_browser_tools(php=False)
    env = {**os.environ, "CHROMIUM": CHROMIUM, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    # Its own session, so that a timeout ends node and the Chromium it started together.
    proc = subprocess.Popen(["node", str(BROWSER_DIR / script), json.dumps(args)], cwd=BROWSER_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # chromium.js closes Chromium (its own process group) on SIGTERM
        try:
            _, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
        raise AssertionError(f"{script} ran over {timeout} s; stderr: {stderr[-4000:]}") from None
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"{script} printed no report (rc {proc.returncode}): {stderr[-4000:]}")
    report = json.loads(lines[-1])
    return BrowserRun(report["ok"], report["result"], report["error"], report["notes"], report["console"],
                      report["pageErrors"], report["failedRequests"], report["badResponses"])


# Media players start without a click in the report tests (``report_page.js`` calls ``play()``).
AUTOPLAY_FLAGS = ["--autoplay-policy=no-user-gesture-required"]


def open_report(url: str, play_selector: str, timeout: float = 180.0) -> dict[str, Any]:
    """Open a ``report.html`` with ``report_page.js`` and return its result, after checking that the page logged no
    error or warning, threw nothing, got no HTTP error and no request failed (a media element's preload request
    that Chromium aborts once it has what it needs, ``net::ERR_ABORTED``, is not a failure)."""
    run = run_browser("report_page.js", {"url": url, "playSelector": play_selector, "chromiumFlags": AUTOPLAY_FLAGS},
                      timeout=timeout)
    assert run.ok, run.describe()
    assert not [m for m in run.console if m["type"] in ("error", "warning")], run.describe()
    assert not run.page_errors and not run.bad_responses, run.describe()
    assert not [f for f in run.failed_requests if f["error"] != "net::ERR_ABORTED"], run.describe()
    return run.result
