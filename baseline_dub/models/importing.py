"""``baseline-dub models import FILE``: a weight a user brings from another machine, placed by its sha256.

A machine without a network gets a large Whisper (or any weight) as a file copied from one that has it: OpenAI's
``~/.cache/whisper/small.pt``, another models folder's ``whisper/small.pt`` or a CTranslate2 folder. ``import_weight``
hashes it (a folder: ``sha256_tree``, as the store hashes folders) and accepts it only when that sha256 is a
registry entry's; the copy is written beside its place in the models folder, hashed again, and renamed into place
(never a half-copied weight under its name). A file whose sha256 is no entry's is refused with one line; entries
pinned only at download (``models/lock.json``) cannot be matched before they are downloaded, so they are not
imported.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from baseline_dub.atomic import umask_permissions
from baseline_dub.config import CONFIG_DIR
from baseline_dub.errors import ChecksumError, DataError
from baseline_dub.models.hashing import sha256_file, sha256_tree
from baseline_dub.models.store import Store


def _digest(path: Path) -> str:
    return sha256_tree(path) if path.is_dir() else sha256_file(path)


def import_weight(store: Store, source: str | Path) -> list[tuple[str, str]]:
    """Place ``source`` (a file or folder) where the store keeps every registry entry with its sha256; returns
    ``(entry, "imported" | "present")`` pairs. ``DataError`` for a missing source, ``ChecksumError`` when its
    sha256 is no entry's (or the copy differs from it)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder to import; pass a weight file (e.g. ~/.cache/whisper/"
                        "small.pt) or a CTranslate2 model folder")
    digest = _digest(path)
    names = [e.name for e in store.entries.values() if e.sha256 == digest]
    if not names:
        raise ChecksumError(f"{path}: its sha256 {digest} is no weight's in the registry ({CONFIG_DIR / 'models.yaml'}"
                            "); nothing imported. Import the file exactly as released (`baseline-dub models list` "
                            "names the weights; those pinned only at download, sha256 null, cannot be imported), or "
                            "fetch it with `baseline-dub models download`")
    return [(name, _place(store, name, path, digest)) for name in names]


def _place(store: Store, name: str, path: Path, digest: str) -> str:
    target = store.location(name)
    if target.exists() and store.status(name, rehash=True) == "ok":
        return "present"
    work = target.parent / f".{target.name}.import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        copy = work / target.name
        if path.is_dir():
            shutil.copytree(path, copy)
        else:
            shutil.copyfile(path, copy)
        if _digest(copy) != digest:
            raise ChecksumError(f"{path}: the copy into {target.parent} does not hash as the file did (a full disk, "
                                "or the file changed while it was copied); nothing imported, run it again")
        umask_permissions(copy)
        if target.is_dir():  # a corrupt folder in the way: replaced by the verified one
            shutil.rmtree(target)
        os.replace(copy, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return "imported"
