"""One run per output shard: advisory ``flock`` locks in the split's output folder.

A run holds ``OUT/<split>/.lock`` shared (a shard ``I/N`` with N > 1) or exclusive (the whole split), and
its own shard's ``OUT/<split>/.<manifest name>.lock`` exclusive, for as long as it runs. So two runs of one
shard, or a whole-split run and a shard run, never write into one ``--out`` at once, while the shards of
one split run side by side. The kernel drops a process's locks when it dies, however it dies (``kill -9``
included), so a lock left by a killed run is never stale: the next run simply takes it. Each lock file
holds its holder's host, pid and start time, which a refused run prints. ``flock`` works on local file
systems and on NFS (Linux emulates it with byte-range locks); where the file system refuses it (Lustre
mounted without ``flock``) the run stops with a clear error, and ``--no-lock`` runs without locking.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from baseline_dub.errors import BaselineDubError
from baseline_dub.runner.manifest import manifest_name
from baseline_dub.runner.shards import is_whole_split

SPLIT_LOCK = ".lock"


class OutputLockedError(BaselineDubError):
    """Another run holds this output shard (or the whole split), or the file system cannot lock."""

    reason = "locked"


def shard_label(shard: tuple[int, int] | None) -> str:
    return "the whole split" if is_whole_split(shard) else f"shard {shard[0]}/{shard[1]}"  # type: ignore[index]


def _holder(path: Path) -> str:
    """``host H, pid P, since T`` from a lock file, as well as it can be read."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"host {info['host']}, pid {info['pid']}, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder not recorded"


class OutputLock:
    """The locks of one run on ``split_dir`` for ``shard``; ``acquire`` raises ``OutputLockedError`` when held."""

    def __init__(self, split_dir: Path, shard: tuple[int, int] | None) -> None:
        self.split_dir = Path(split_dir)
        self.shard = shard
        self.whole = is_whole_split(shard)
        self.shard_file = self.split_dir / f".{manifest_name(shard)}.lock"
        self._held: list[tuple[int, bool]] = []  # (fd, holder info written)

    def _take(self, path: Path, exclusive: bool) -> int | None:
        """The locked file's descriptor, or ``None`` when another process holds it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError as exc:
            os.close(fd)
            raise OutputLockedError(
                f"cannot lock {path} ({exc.strerror}): this file system does not support flock, so two runs "
                "of one shard could not be told apart; mount it with flock support, or rerun with --no-lock "
                "and make sure no other run writes this shard") from None
        return fd

    def _write_holder(self, fd: int) -> None:
        info = {"host": socket.gethostname(), "pid": os.getpid(), "shard": shard_label(self.shard),
                "started": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)

    def _busy_shards(self) -> list[str]:
        """The shard runs holding their locks now (checked by trying each lock file)."""
        busy = []
        for path in sorted(self.split_dir.glob(".manifest*.lock")):
            fd = self._take(path, exclusive=False)
            if fd is None:
                busy.append(f"{path.name[1:-5]} ({_holder(path)})")
            else:
                os.close(fd)
        return busy

    def acquire(self) -> OutputLock:
        """Take the split lock (shared or exclusive) and this shard's lock; refuse at once when held."""
        self.split_dir.mkdir(parents=True, exist_ok=True)
        where = f"{self.split_dir}"
        advice = ("wait for it to finish, or stop it and rerun this command (the run resumes where it "
                  "stopped); use another --out to run a second copy")
        try:
            split_path = self.split_dir / SPLIT_LOCK
            fd = self._take(split_path, exclusive=self.whole)
            if fd is None:
                if self.whole:
                    holders = "; ".join(self._busy_shards()) or _holder(split_path)
                    raise OutputLockedError(f"{where}: shard runs are writing into this split ({holders}); "
                                            f"a whole-split run would redo their clips: {advice}")
                raise OutputLockedError(f"{where}: a whole-split run is writing into it ({_holder(split_path)}); "
                                        f"{advice}")
            self._held.append((fd, self.whole))
            if self.whole:
                self._write_holder(fd)
            fd = self._take(self.shard_file, exclusive=True)
            if fd is None:
                raise OutputLockedError(f"{where}: another run is writing {shard_label(self.shard)} into it "
                                        f"({_holder(self.shard_file)}); {advice}")
            self._held.append((fd, True))
            self._write_holder(fd)
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        """Drop every lock held (the files stay, emptied of their holder)."""
        while self._held:
            fd, written = self._held.pop()
            try:
                if written:
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
