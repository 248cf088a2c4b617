"""Kokoro voices from ``kokoro-js`` (``voices/<name>.bin``) -> one reproducible ``.npz`` (a store converter).

A Kokoro voice is a style table: float32 ``[510, 1, 256]``, one 256-d style per phoneme count. The npm package
``kokoro-js@1.2.1`` ships Kokoro v1.0's 54 voices as raw little-endian float32 files (``[510, 256]``, 522,240
bytes); :func:`convert_voice_bins` turns that folder into one ``.npz`` in ``voices_ja.npz``'s layout, written
byte-reproducibly (sorted members, fixed zip times) so that its sha256 can be pinned in ``configs/models.yaml``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from baseline_dub.atomic import atomic_write_bytes
from baseline_dub.errors import ConfigError

STYLE_ROWS = 510
STYLE_DIM = 256
BIN_BYTES = STYLE_ROWS * STYLE_DIM * 4
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
