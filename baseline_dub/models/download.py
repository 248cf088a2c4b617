"""Downloads that survive real networks: resumable HTTP with a progress bar, and one-line reasons on failure.

``download(url, out, name=...)`` streams ``url`` into ``out.part`` beside ``out`` and renames it to ``out`` only
once every announced byte has arrived. An interrupted download keeps its ``.part``; the next call resumes it with
an HTTP ``Range`` request (with ``If-Range`` set to the first response's ETag or Last-Modified, so that a file
changed on the server restarts from zero) and starts over when the server ignores ranges. Every failure is a
:class:`~baseline_dub.errors.DownloadError` whose single line says what happened and what to do: the host cannot
be reached (no network: download elsewhere and copy the models folder), refused (HTTP 401/403), not found,
server error, or interrupted (rerun to resume). ``network_error`` turns the connection failures of other clients
(huggingface_hub, Coqui's requests) into the same message, and ``check_hf_access`` asks the Hugging Face hub
whether a token may read a gated repository, before anything large is downloaded.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from baseline_dub.errors import DownloadError

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60.0  # per connection attempt and per read: a black-holed network fails instead of hanging
USER_AGENT = "baseline-dub (urllib)"
NO_NETWORK_HINT = ("No network? Download on a connected machine and copy the models folder here "
                   "(docs/profiles.md: 'Models on a cluster')")


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _unreachable_reason(exc: BaseException) -> str | None:
    """Why the host could not be reached, when ``exc`` (or what caused it) is a connection failure; else None."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, socket.gaierror):
            return "host name not resolved"
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, TimeoutError):
            return "timed out"
        if isinstance(err, OSError) and err.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
            return "network unreachable"
        if isinstance(err, ConnectionError):
            return f"connection failed: {err}".rstrip(": ")
        reason = getattr(err, "reason", None)  # urllib.error.URLError wraps the socket error here
        todo.extend([err.__cause__, err.__context__, reason if isinstance(reason, BaseException) else None])
    return None


def network_error(name: str, url: str, exc: BaseException) -> DownloadError | None:
    """The one-line ``DownloadError`` for a connection failure of any client, or ``None`` when it is not one."""
    why = _unreachable_reason(exc)
    if why is None:
        return None
    return DownloadError(f"model {name}: cannot reach {_host(url)} ({why}). {NO_NETWORK_HINT}")


@contextmanager
def reporting_network_errors(name: str, url: str) -> Iterator[None]:
    """Re-raise a connection failure of any client inside the block as ``network_error``'s ``DownloadError``."""
    try:
        yield
    except DownloadError:
        raise
    except Exception as exc:
        failure = network_error(name, url, exc)
        if failure is None:
            raise
        raise failure from exc


def _http_error(name: str, url: str, exc: urllib.error.HTTPError) -> DownloadError:
    code = exc.code
    if code in (401, 403):
        what = f"the server refused it (HTTP {code}); check that the file is public or your credentials"
    elif code in (404, 410):
        what = f"not found (HTTP {code}): the file has moved; please report it"
    elif code == 429 or code >= 500:
        what = f"the server is busy or failing (HTTP {code}); retry later (a partial download resumes)"
    else:
        what = f"HTTP {code} {exc.reason}"
    return DownloadError(f"model {name}: download of {url} failed: {what}")


def _interrupted(name: str, got: int, total: int | None, why: str) -> DownloadError:
    of = f" of {total}" if total else ""
    return DownloadError(f"model {name}: download interrupted after {got}{of} bytes ({why}); "
                         "run the same command again to resume it")


def _open(url: str, offset: int, validator: str | None, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _resumed_range(resp: http.client.HTTPResponse, offset: int) -> tuple[int, int | None] | None:
    """(first byte sent, total size) of a response; ``None`` when a 206 does not start at ``offset``."""
    length = resp.headers.get("Content-Length")
    if resp.status != 206:
        return 0, int(length) if length else None
    unit, _, spec = (resp.headers.get("Content-Range") or "").partition(" ")
    span, _, total = spec.partition("/")
    start = span.partition("-")[0]
    if unit != "bytes" or not start.isdigit() or int(start) != offset:
        return None
    return offset, int(total) if total.isdigit() else None


def download(url: str, out: Path, *, name: str, timeout: float | None = None) -> None:
    """Fetch ``url`` into ``out`` (via ``out.part``, resumed when one is there); a ``DownloadError`` on failure.

    Shows a tqdm progress bar on stderr. The file appears at ``out`` only when complete (every byte the server
    announced); checking its sha256 is the caller's job. Proxies come from the usual ``https_proxy`` variables.
    """
    from tqdm import tqdm

    timeout = TIMEOUT_S if timeout is None else timeout
    part, meta = out.with_name(out.name + ".part"), out.with_name(out.name + ".part.json")
    offset = part.stat().st_size if part.is_file() else 0
    started = json.loads(meta.read_text()) if offset and meta.is_file() else {}
    if started.get("url", url) != url:  # the registry moved: what is there belongs to another file
        offset, started = 0, {}
    validator = started.get("validator")
    try:
        resp = _open(url, offset, validator, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is not a prefix of this one: start again
            part.unlink()
            return download(url, out, name=name, timeout=timeout)
        raise _http_error(name, url, exc) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise (network_error(name, url, exc) or DownloadError(f"model {name}: download of {url} failed: {exc}")) \
            from exc
    with resp:
        span = _resumed_range(resp, offset)
        if span is None:  # a range the request did not ask for: drop the partial and start again
            resp.close()
            part.unlink()
            return download(url, out, name=name, timeout=timeout)
        start, total = span
        if start == 0:
            tag = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
            meta.write_text(json.dumps({"url": url, "validator": tag}))
        got = start
        with open(part, "ab" if start else "wb") as fh, \
                tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name) as bar:
            try:
                while block := resp.read(CHUNK_BYTES):
                    fh.write(block)
                    got += len(block)
                    bar.update(len(block))
            except (OSError, http.client.HTTPException) as exc:
                raise _interrupted(name, got, total, _unreachable_reason(exc) or str(exc)) from exc
    if total is not None and got != total:
        raise _interrupted(name, got, total, "the connection closed early")
    os.replace(part, out)
    meta.unlink(missing_ok=True)


@contextmanager
def one_at_a_time(lock: Path, what: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on the file ``lock`` across processes; print ``waiting ...`` when busy.

    A job array whose tasks all run ``models download`` on one shared folder: one task fetches, the others wait
    and then find the file in place. Without ``fcntl`` (Windows) there is no lock: do not overlap fetches there.
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process that is {what} ...", file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def partial_bytes(out: Path) -> int:
    """Bytes already downloaded towards ``out`` (its ``.part``), 0 when none."""
    part = out.with_name(out.name + ".part")
    return part.stat().st_size if part.is_file() else 0


def check_hf_access(name: str, repo: str, token_env: str = "HF_TOKEN") -> str:
    """The token in ``$token_env`` when the hub lets it read ``repo``; else a one-line ``DownloadError``.

    Gated repositories (pyannote's pipelines) need a token whose account accepted the model's conditions on
    its page; this asks the hub's ``auth-check`` once, so that a missing or refused token is reported before
    any large download starts.
    """
    token = os.environ.get(token_env)
    page = f"https://huggingface.co/{repo}"
    if not token:
        raise DownloadError(f"model {name} is gated on the Hugging Face hub and ${token_env} is not set: accept its "
                            f"conditions at {page}, create a read token at https://huggingface.co/settings/tokens, "
                            f"then run `{token_env}=hf_... baseline-dub models download --model {name}`")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

    api = HfApi()
    try:
        with reporting_network_errors(name, f"{api.endpoint}/{repo}"):
            api.auth_check(repo, token=token)
    except GatedRepoError as exc:
        raise DownloadError(f"model {name}: ${token_env} was refused for the gated {repo}: accept its conditions "
                            f"at {page} with the token's account, then retry") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise DownloadError(f"model {name}: the hub refused ${token_env} for {repo} (HTTP {status}): the token "
                            "is invalid, expired or lacks read access; make a new one at "
                            "https://huggingface.co/settings/tokens") from exc
    return token
