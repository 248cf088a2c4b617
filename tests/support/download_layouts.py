"""Anim-400K folders as users really end up with them, built from the bundled sample with the true names.

``huggingface-cli download davidchan/anim400k --repo-type dataset --include "anim400k_audio_clips/*" --local-dir
anim400k`` leaves ``anim400k/anim400k_audio_clips/anim400k_audio_clips.tar.gz.part-00`` ... ``part-05`` and the
annotations beside that folder as ``anim400k_annotations_official_splits_v1.json``; ``LAYOUTS`` adds what a user
does next: ``cat`` the parts (inside the folder or beside it, finished or interrupted), extract the tarball
(inside the folder: the doubled ``anim400k_audio_clips/anim400k_audio_clips/``), delete the parts.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from baseline_dub.config import SAMPLE_DIR

ANNOTATIONS = "anim400k_annotations_official_splits_v1.json"
AUDIO, VIDEO = "anim400k_audio_clips", "anim400k_video_clips"
PARTS = 6


def tarball(name: str = AUDIO) -> bytes:
    """The sample's ``<name>.tar.gz`` bytes."""
    return (SAMPLE_DIR / f"{name}.tar.gz").read_bytes()


def write_parts(folder: Path, name: str = AUDIO, n: int = PARTS) -> list[Path]:
    """``<name>.tar.gz.part-00`` ... in ``folder``: the sample's tarball cut in ``n`` pieces of one size (the
    last shorter), as ``split -d -n`` and the hub's upload make them."""
    folder.mkdir(parents=True, exist_ok=True)
    blob = tarball(name)
    size = -(-len(blob) // n)
    paths = []
    for i in range(n):
        path = folder / f"{name}.tar.gz.part-{i:02d}"
        path.write_bytes(blob[i * size:(i + 1) * size])
        paths.append(path)
    return paths


def hf_download(root: Path, name: str = AUDIO) -> Path:
    """What the official download leaves in ``root`` (``--local-dir``): the annotations beside
    ``<name>/<name>.tar.gz.part-00..05``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ANNOTATIONS).exists():
        shutil.copy(next(SAMPLE_DIR.glob("anim400k_annotations*.json")), root / ANNOTATIONS)
    write_parts(root / name, name)
    return root


def cat_parts(folder: Path, into: Path, name: str = AUDIO, keep: float = 1.0) -> Path:
    """``cat <name>.tar.gz.part-* > into`` (``keep`` < 1: a ``cat`` stopped part way)."""
    blob = b"".join(p.read_bytes() for p in sorted(folder.glob(f"{name}.tar.gz.part-*")))
    into.write_bytes(blob[: int(len(blob) * keep)])
    return into


def extract(archive: Path, where: Path) -> Path:
    """``tar xzf archive`` in ``where``: leaves ``where/<name>/<id_folder>/<id>.mp3``."""
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="data")
    return where


def _parts_inside(root: Path) -> None:
    pass


def _cat_inside(root: Path) -> None:
    cat_parts(root / AUDIO, root / AUDIO / f"{AUDIO}.tar.gz")


def _cat_inside_parts_deleted(root: Path) -> None:
    _cat_inside(root)
    for part in (root / AUDIO).glob("*.part-*"):
        part.unlink()


def _cat_beside(root: Path) -> None:
    cat_parts(root / AUDIO, root / f"{AUDIO}.tar.gz")


def _cat_interrupted(root: Path) -> None:
    cat_parts(root / AUDIO, root / AUDIO / f"{AUDIO}.tar.gz", keep=0.4)


def _extracted_inside(root: Path) -> None:
    _cat_inside(root)
    extract(root / AUDIO / f"{AUDIO}.tar.gz", root / AUDIO)


def _extracted_beside(root: Path) -> None:
    _cat_beside(root)
    shutil.rmtree(root / AUDIO)
    extract(root / f"{AUDIO}.tar.gz", root)


def _parts_beside(root: Path) -> None:
    for part in sorted((root / AUDIO).iterdir()):
        part.rename(root / part.name)
    (root / AUDIO).rmdir()


# layout -> (what turns the official download into it, the source kind read, words its ``why`` must hold)
LAYOUTS: dict[str, tuple[Callable[[Path], None], str, tuple[str, ...]]] = {
    "parts inside the folder (the official download)": (_parts_inside, "parts", ()),
    "cat inside the folder": (_cat_inside, "tarball", ("hold the same bytes", "part-00..05")),
    "cat inside the folder, parts deleted": (_cat_inside_parts_deleted, "tarball", ()),
    "cat beside the folder": (_cat_beside, "tarball", ("hold the same bytes",)),
    "cat interrupted": (_cat_interrupted, "parts", ("only", "interrupted", "not read")),
    "extracted inside the folder (doubled)": (_extracted_inside, "folder", ("extracted clips", "part-00..05")),
    "extracted beside, tarball kept": (_extracted_beside, "folder", ("extracted clips",)),
    "parts beside, no folder": (_parts_beside, "parts", ()),
}


def build(root: Path, layout: str) -> Path:
    """The official download in ``root``, then turned into ``layout`` (a key of ``LAYOUTS``); returns ``root``."""
    hf_download(root)
    LAYOUTS[layout][0](root)
    return root
