"""Kokoro voices: the 54-voice set assembled from ``kokoro-js``, voice recipes (blends), reproducible ``.npz``.

A Kokoro voice is a style table: float32 ``[510, 1, 256]``, one 256-d style per phoneme count. The
npm package ``kokoro-js@1.2.1`` ships Kokoro v1.0's 54 voices as raw little-endian float32 files
(``voices/<name>.bin``, ``[510, 256]``, 522,240 bytes); :func:`convert_voice_bins` turns that folder
into one ``.npz`` in ``voices_ja.npz``'s layout, written byte-reproducibly (sorted members, fixed zip
times) so that its sha256 can be pinned in ``configs/models.yaml``.

A :class:`VoiceRecipe` names voices and their mixing weights (summing to 1): the style of a recipe is
the weighted sum of its voices' style tables. Its ``key`` (``"af_heart"``, ``"0.70*af_heart+0.30*bf_emma"``)
is stable and is what the manifest records. Voice names start with a language and gender prefix:
``a`` American English, ``b`` British English, ``j`` Japanese, ...; then ``f`` female, ``m`` male.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from baseline_dub.atomic import atomic_write_bytes
from baseline_dub.errors import ConfigError

STYLE_ROWS = 510
STYLE_DIM = 256
BIN_BYTES = STYLE_ROWS * STYLE_DIM * 4
LANGUAGE_OF_PREFIX = {"a": "en-us", "b": "en-gb"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` (what ``np.savez`` writes) of ``arrays`` with sorted members and fixed zip times.

    ``np.load(..., allow_pickle=False)`` reads it; the same arrays always give the same bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write :func:`npz_bytes` of ``arrays`` to ``path`` atomically."""
    atomic_write_bytes(path, npz_bytes(arrays))


def read_voice_bin(path: Path) -> np.ndarray:
    """One ``kokoro-js`` voice file as a float32 ``[510, 1, 256]`` style table (size and values checked)."""
    data = Path(path).read_bytes()
    if len(data) != BIN_BYTES:
        raise ConfigError(f"{path}: a Kokoro voice file holds {BIN_BYTES} bytes (float32 [510, 256]), "
                          f"this one {len(data)}; re-fetch it with `make models`")
    table = np.frombuffer(data, dtype="<f4").reshape(STYLE_ROWS, 1, STYLE_DIM).astype(np.float32)
    if not np.all(np.isfinite(table)):
        raise ConfigError(f"{path}: a Kokoro voice file with non-finite values; re-fetch it with `make models`")
    return table


def convert_voice_bins(inputs: Sequence[Path], out: Path) -> None:
    """Store converter: the folder of ``<name>.bin`` voices (``inputs[0]``) -> one reproducible ``.npz``."""
    folder = Path(inputs[0])
    files = sorted(folder.glob("*.bin"))
    if not files:
        raise ConfigError(f"{folder}: no Kokoro voice files (*.bin); re-fetch it with `make models`")
    Path(out).write_bytes(npz_bytes({f.stem: read_voice_bin(f) for f in files}))


def voice_language(name: str) -> str:
    """The espeak language Kokoro should phonemize English with for voice ``name`` (``en-us`` by default)."""
    return LANGUAGE_OF_PREFIX.get(name[:1], "en-us")


def voice_gender(name: str) -> str:
    """``female``/``male`` from a Kokoro voice name's second letter, ``""`` when it says neither."""
    return {"f": "female", "m": "male"}.get(name[1:2], "")


def select_voices(names: Iterable[str], prefixes: Sequence[str]) -> list[str]:
    """The voice names that start with one of ``prefixes`` (e.g. ``af am bf bm jf jm``), sorted."""
    chosen = sorted(n for n in names if n.startswith(tuple(prefixes)))
    if not chosen:
        raise ConfigError(f"synthesize.voice_prefixes {list(prefixes)} select none of the voices "
                          f"({', '.join(sorted(names))})")
    return chosen


@dataclass(frozen=True)
class VoiceRecipe:
    """Voices and their mixing weights (positive, summing to 1), heaviest first, names breaking ties."""

    parts: tuple[tuple[str, float], ...]

    @classmethod
    def of(cls, weights: Mapping[str, float]) -> VoiceRecipe:
        """A recipe from ``{voice: weight}``: zero weights dropped, weights normalised and rounded to 0.01."""
        kept = {n: float(w) for n, w in weights.items() if w > 0}
        if not kept:
            raise ValueError("a voice recipe needs at least one voice with a positive weight")
        total = sum(kept.values())
        parts = sorted(((n, round(w / total, 2)) for n, w in kept.items()), key=lambda p: (-p[1], p[0]))
        return cls(tuple(p for p in parts if p[1] > 0))

    @classmethod
    def parse(cls, key: str) -> VoiceRecipe:
        """The recipe of a ``key`` (``"af_heart"``, ``"0.7*af_heart+0.3*bf_emma"``; also ``"a+b"`` = 50/50)."""
        weights: dict[str, float] = {}
        terms = [t.strip() for t in key.split("+") if t.strip()]
        for term in terms:
            weight, _, name = term.rpartition("*")
            weights[name] = weights.get(name, 0.0) + (float(weight) if weight else 1.0 / len(terms))
        return cls.of(weights)

    @property
    def key(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0][0]
        return "+".join(f"{w:.2f}*{n}" for n, w in self.parts)

    @property
    def main(self) -> str:
        """The heaviest voice (it sets the phonemizer language)."""
        return self.parts[0][0]

    def as_dict(self) -> dict[str, float]:
        return dict(self.parts)

    def style(self, tables: Mapping[str, np.ndarray]) -> np.ndarray:
        """The weighted sum of the voices' style tables (float32)."""
        return np.sum([w * tables[n] for n, w in self.parts], axis=0).astype(np.float32)
