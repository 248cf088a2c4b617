"""TensorFlow checkpoints (tensor bundles) read in pure Python: no TensorFlow needed.

A TF2/TF1 ``Saver`` checkpoint ``PREFIX`` is ``PREFIX.index`` plus ``PREFIX.data-SSSSS-of-NNNNN`` shards.
The index is an SSTable (TensorFlow's ``core/lib/io/table``, LevelDB's format): data blocks of
prefix-compressed ``key -> value`` entries with a restart array, each block followed by a 5-byte
trailer (compression type, masked crc32c of block + type), an index block mapping separator keys to
data-block handles, and a 48-byte footer ending in the magic ``0xdb4775248b80fb57``. The entry under
the empty key is a ``BundleHeaderProto`` (``num_shards``, ``endianness``, ``version``); every other key
names a tensor and holds a ``BundleEntryProto`` (``dtype``, ``shape``, ``shard_id``, ``offset``, ``size``,
``crc32c``). The data shards hold each tensor's raw little-endian bytes at ``offset``; ``crc32c`` is
``crc32c::Mask`` of the crc32c of those bytes (``tensor_bundle.cc``: ``entry->set_crc32c(crc32c::Mask(...))``).
Only what Saver checkpoints of numeric tensors use is supported: uncompressed tables, whole
(unsliced) tensors, little-endian data; anything else is refused with ``ConfigError``. The tests write
checkpoints as TensorFlow does with ``tests/support/tf_writer.py``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import google_crc32c
import numpy as np

from baseline_dub.errors import ConfigError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
_MASK_DELTA = 0xA282EAD8
# TensorFlow DataType enum values of the numeric types a checkpoint stores as raw bytes.
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"), 2: np.dtype("<f8"), 3: np.dtype("<i4"), 4: np.dtype("u1"), 5: np.dtype("<i2"),
    6: np.dtype("i1"), 9: np.dtype("<i8"), 10: np.dtype("?"), 17: np.dtype("<u2"), 19: np.dtype("<f2"),
    22: np.dtype("<u4"), 23: np.dtype("<u8"),
}


def crc32c(data: bytes | memoryview) -> int:
    """The (unmasked) crc32c of ``data`` (Castagnoli, as ``crc32c::Value`` in TensorFlow)."""
    return int(google_crc32c.value(bytes(data)))


def unmask(masked: int) -> int:
    """Inverse of TensorFlow/LevelDB's ``crc32c::Mask`` (rotate right by 15 bits, add ``_MASK_DELTA``)."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def tensor_crc32c(array: np.ndarray) -> int:
    """crc32c of an array's bytes as a checkpoint stores them (C order, little-endian)."""
    array = np.asarray(array)
    return crc32c(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())


@dataclass(frozen=True)
class BundleEntry:
    """One tensor of a bundle index; ``crc32c`` is unmasked (compare with :func:`tensor_crc32c`)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int


@dataclass(frozen=True)
class BundleIndex:
    """A parsed ``.index``: the header's shard count and every tensor entry, by name."""

    num_shards: int
    entries: dict[str, BundleEntry]


# -- wire formats: varints, protobuf fields, SSTable blocks -------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _proto_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """``(field number, value)`` of a protobuf message: varints and fixed32 as int, messages as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, value


def _block(data: bytes, offset: int, size: int, where: str) -> bytes:
    """The contents of the block at ``offset``, its trailer's crc32c checked; compressed blocks refused."""
    end = offset + size + BLOCK_TRAILER_SIZE
    if end > len(data):
        raise ConfigError(f"{where}: block at {offset} runs past the end of the file (truncated index?)")
    contents, kind = data[offset:offset + size], data[offset + size]
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    if unmask(stored) != crc32c(data[offset:offset + size + 1]):
        raise ConfigError(f"{where}: block at {offset} fails its crc32c check (corrupt index)")
    if kind != 0:
        raise ConfigError(f"{where}: compressed table blocks (type {kind}) are not supported")
    return contents


def _block_items(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` pairs of one block, undoing the prefix compression."""
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    pos, key = 0, b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def table_items(data: bytes, where: str = "index") -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of an SSTable, in key order."""
    if len(data) < FOOTER_SIZE or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise ConfigError(f"{where}: not a TensorFlow table (no SSTable footer magic)")
    footer = data[-FOOTER_SIZE:]
    _, _, pos = _handle(footer)  # the metaindex block: unused by bundles
    index_offset, index_size, _ = _handle(footer, pos)
    for _, handle in _block_items(_block(data, index_offset, index_size, where)):
        offset, size, _ = _handle(handle)
        yield from _block_items(_block(data, offset, size, where))


# -- reading ------------------------------------------------------------------------------------------
def _entry(name: str, value: bytes, where: str) -> BundleEntry:
    fields: dict[int, int | bytes] = {}
    dims: list[int] = []
    for number, item in _proto_fields(value):
        if number == 2:  # TensorShapeProto: repeated Dim dim = 2 {int64 size = 1}; bool unknown_rank = 3
            for shape_field, dim in _proto_fields(item):  # type: ignore[arg-type]
                if shape_field == 2:
                    dims.append(next((int(v) for f, v in _proto_fields(dim) if f == 1), 0))  # type: ignore[arg-type]
                elif shape_field == 3 and dim:
                    raise ConfigError(f"{where}: tensor {name!r} has an unknown rank")
        else:
            fields[number] = item
    if 7 in fields:
        raise ConfigError(f"{where}: tensor {name!r} is saved in slices (partitioned variable): not supported")
    code = int(fields.get(1, 0))  # type: ignore[arg-type]
    if code not in DTYPES:
        raise ConfigError(f"{where}: tensor {name!r} has TF dtype {code} (strings, resources and variants "
                          "are not supported)")
    return BundleEntry(name=name, dtype=DTYPES[code], shape=tuple(dims), shard=int(fields.get(3, 0)),  # type: ignore[arg-type]
                       offset=int(fields.get(4, 0)), size=int(fields.get(5, 0)),  # type: ignore[arg-type]
                       crc32c=unmask(int(fields.get(6, 0))))  # type: ignore[arg-type]


def parse_index(data: bytes, where: str = "index") -> BundleIndex:
    """Parse the bytes of a checkpoint's ``.index``: header checked (little-endian), every entry decoded."""
    header: BundleIndex | None = None
    entries: dict[str, BundleEntry] = {}
    try:
        for key, value in table_items(data, where):
            if key == b"":
                fields = dict(_proto_fields(value))
                if int(fields.get(2, 0)):  # type: ignore[arg-type]
                    raise ConfigError(f"{where}: big-endian checkpoints are not supported")
                header = BundleIndex(num_shards=int(fields.get(1, 1)), entries=entries)  # type: ignore[arg-type]
            else:
                name = key.decode("utf-8")
                entries[name] = _entry(name, value, where)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
        raise ConfigError(f"{where}: not a readable TensorFlow checkpoint index ({exc})") from exc
    if header is None:
        raise ConfigError(f"{where}: no bundle header entry; not a TensorFlow checkpoint index")
    return header


def read_index(path: Path) -> BundleIndex:
    """Parse a checkpoint's ``.index`` file (see :func:`parse_index`)."""
    return parse_index(Path(path).read_bytes(), str(path))


def shard_name(prefix: str, shard: int, num_shards: int) -> str:
    """``PREFIX.data-SSSSS-of-NNNNN``."""
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def read_tensors(index: BundleIndex, shard: Callable[[int], bytes], names: Iterable[str] | None = None,
                 where: str = "checkpoint") -> dict[str, np.ndarray]:
    """Tensors of a parsed index (all, or ``names``) from its data shards (``shard(i)`` -> the bytes of
    shard ``i``), each checked against its crc32c and size. Arrays are read-only views of the shards."""
    out: dict[str, np.ndarray] = {}
    shards: dict[int, bytes] = {}
    for name in index.entries if names is None else names:
        entry = index.entries[name]
        if entry.shard not in shards:
            shards[entry.shard] = shard(entry.shard)
        raw = memoryview(shards[entry.shard])[entry.offset:entry.offset + entry.size]
        count = int(np.prod(entry.shape, dtype=np.int64))
        if len(raw) != entry.size or entry.size != count * entry.dtype.itemsize:
            raise ConfigError(f"{where}: tensor {name!r} is truncated or mis-sized in the data file")
        if crc32c(raw) != entry.crc32c:
            raise ConfigError(f"{where}: tensor {name!r} fails its crc32c check (corrupt download?); "
                              "delete the checkpoint and download it again")
        out[name] = np.frombuffer(raw, dtype=entry.dtype).reshape(entry.shape)
    return out


def read_checkpoint(prefix: Path, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Tensors of the checkpoint files ``prefix.index`` + ``prefix.data-*`` (see :func:`read_tensors`)."""
    prefix = Path(prefix)
    index = read_index(Path(f"{prefix}.index"))

    def shard(i: int) -> bytes:
        path = Path(shard_name(str(prefix), i, index.num_shards))
        if not path.is_file():
            raise ConfigError(f"{prefix}: checkpoint data file {path.name} is missing")
        return path.read_bytes()

    return read_tensors(index, shard, names, str(prefix))
