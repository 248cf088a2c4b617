"""Fetching many weights at once, as ``baseline-dub models download`` does: go on after a failure, then summarise.

``fetch_each(store, names)`` first runs the checks that need no large download for every entry and its inputs
(a gated Hugging Face repository needs a token the hub accepts), then fetches the entries one by one, each
failure becoming a ``failed`` outcome with its one-line reason (no network, refused, hash mismatch, package not
installed...) instead of ending the run. An entry made from a failed input fails with it, untried.
``summary_lines`` renders the outcomes as the table the command prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from baseline_dub.models import download as dl
from baseline_dub.errors import BaselineDubError, DownloadError
from baseline_dub.models.registry import ModelEntry
from baseline_dub.models.store import Store


@dataclass(frozen=True)
class FetchOutcome:
    """What ``fetch_each`` did with one entry: ``downloaded``, ``assembled``, ``present`` or ``failed``.

    ``size`` is the entry's bytes on disk, or for a failed download the bytes kept to resume it.
    """

    name: str
    state: str
    path: Path
    size: int
    error: str = ""


def _check_hf(entry: ModelEntry) -> None:
    """A gated repository (one whose entry names a ``token_env``) needs a token the hub accepts; a public one,
    such as a Whisper conversion, needs none."""
    if entry.source.get("token_env"):
        dl.check_hf_access(entry.name, entry.source["repo"], entry.source["token_env"])


# source kind -> a check that raises DownloadError before anything is downloaded
PREFLIGHTS: dict[str, Callable[[ModelEntry], None]] = {"hf": _check_hf}


def with_inputs(store: Store, name: str) -> list[str]:
    """``name`` after every entry it is made from, recursively (inputs first, each once)."""
    out: list[str] = []
    for dep in store.entry(name).inputs:
        out += [n for n in with_inputs(store, dep) if n not in out]
    return [*out, name]


def preflight(store: Store, names: Iterable[str]) -> dict[str, str]:
    """``{name: one-line reason}`` for the missing entries that a check shows cannot be downloaded."""
    refused: dict[str, str] = {}
    for name in names:
        entry = store.entry(name)
        check = PREFLIGHTS.get(entry.kind)
        if check is not None and not store.location(name).exists():
            try:
                check(entry)
            except DownloadError as exc:
                refused[name] = str(exc)
    return refused


def _size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def fetch_each(store: Store, names: Iterable[str], allow_network: bool = False) -> Iterator[FetchOutcome]:
    """Fetch every entry in turn, going on after failures; yields one ``FetchOutcome`` per entry, as it ends.

    Errors a user can meet (``BaselineDubError``: no network, refused, hash mismatch, missing package; or an
    ``OSError`` such as a full disk) become ``failed`` outcomes; anything else is a bug and propagates.
    """
    names = list(dict.fromkeys(names))
    needed = dict.fromkeys(n for name in names for n in with_inputs(store, name))
    failed = preflight(store, needed) if allow_network else {}
    for name in names:
        target = store.location(name)
        present = target.exists()
        chain = with_inputs(store, name)
        blocked = next((n for n in chain if n in failed), None)
        if blocked is None:
            try:
                store.fetch(name, allow_network)
            except (BaselineDubError, OSError) as exc:
                failed[name] = " ".join(str(exc).split())
                blocked = name
        if blocked is not None:
            reason = failed[blocked] if blocked == name else f"needs {blocked}, which failed: {failed[blocked]}"
            failed.setdefault(name, reason)
            yield FetchOutcome(name, "failed", target, store.partial_bytes(name), reason)
            continue
        network = any(store.entry(n).needs_network for n in chain)
        state = "present" if present else "downloaded" if network else "assembled"
        yield FetchOutcome(name, state, target, _size_on_disk(target))


def missing_weight_packages(store: Store, names: Iterable[str]) -> list[str]:
    """The pinned ``name==version`` weight packages that ``names`` (and their inputs) need and that are absent."""
    import importlib.metadata

    specs: list[str] = []
    for entry_name in dict.fromkeys(n for name in names for n in with_inputs(store, name)):
        source = store.entry(entry_name).source
        for spec in [source.get("package")] + [p["package"] for p in source.get("parts", ())]:
            if spec and spec not in specs:
                specs.append(spec)
    missing = []
    for spec in specs:
        dist, _, version = spec.partition("==")
        try:
            if importlib.metadata.version(dist) == version or not version:
                continue
        except importlib.metadata.PackageNotFoundError:
            pass
        missing.append(spec)
    return missing


def human_size(n: int) -> str:
    """``2.9 GB``-style decimal size."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def summary_lines(outcomes: list[FetchOutcome]) -> list[str]:
    """The table ``models download`` ends with: one row per entry, then the counts."""
    width = max([len(o.name) for o in outcomes] + [5])
    lines = [f"{'model':{width}s}  {'result':10s}  size"]
    for o in outcomes:
        size = human_size(o.size) if o.size else "-"
        if o.state == "failed" and o.size:
            size += " partial, kept: rerun to resume"
        lines.append(f"{o.name:{width}s}  {o.state:10s}  {size}")
    counts = {state: sum(o.state == state for o in outcomes) for state in
              ("downloaded", "assembled", "present", "failed")}
    total = sum(o.size for o in outcomes if o.state != "failed")
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items() if n) + f" ({human_size(total)} in place)")
    return lines
