"""Atomic file writes: a temporary file in the target's folder, then ``os.replace``.

The temporary file is ``.<name>.<random>.part`` beside the target, created with mode 0666 so that the
process's umask decides the final permissions exactly as for any file it creates (``tempfile.mkstemp``
would make every output 0600, unreadable to a group or a web server). The split runner recognises
these names to clean what a killed run left (``baseline_dub.runner.clip_files``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PART_SUFFIX = ".part"


def part_path(path: Path) -> Path:
    """A fresh temporary name for ``path``: ``.<name>.<8 hex>.part`` in the same folder."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) so that readers see the old file or the whole new one, never a part."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.

    The file gets the permissions the umask gives a new file (0644 under umask 022, 0664 under 002).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = part_path(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            break
        except FileExistsError:  # 32 random bits: only ever another writer's name, try another
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def umask_permissions(path: Path) -> None:
    """Give ``path`` (a file, or a folder and all it holds) the permissions the umask gives new files and folders.

    Libraries that fetch or convert weights write through ``mkstemp``/``mkdtemp`` (0600/0700): in a models
    folder shared on a cluster nobody else could read them. Executable bits are kept as the umask allows.
    """
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for p in paths:
        if not p.is_symlink():
            _umask_mode(p)


def widen_private_modes(path: Path) -> None:
    """Give the files and folders under ``path`` that are exactly 0600 / 0700 and owned by this user (what
    ``mkstemp``/``mkdtemp`` leave) the umask's permissions; anything else is left as it is. Weights an
    earlier version installed 0600 become readable; a read-only file system leaves them as they were."""
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    try:
        for p in paths:
            st = p.lstat()
            if not p.is_symlink() and st.st_uid == os.getuid() and st.st_mode & 0o777 in (0o600, 0o700):
                _umask_mode(p)
    except OSError:  # a read-only file system: the files stay as they are, as readable as before
        return


def _umask_mode(path: Path) -> None:
    """0666 (0777 for folders and executables) less the umask, on ``path`` itself."""
    umask = os.umask(0)
    os.umask(umask)
    executable = path.is_dir() or os.stat(path).st_mode & 0o100
    os.chmod(path, (0o777 if executable else 0o666) & ~umask)
