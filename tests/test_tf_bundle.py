"""The pure-Python TensorFlow checkpoint reader (``models.converters.tf_bundle``) and the tests' writer
(``tests/support/tf_writer.py``).

Checked once against TensorFlow 2.20 in a throwaway venv (docs/profiles.md, 'What is verified'):
TF reads what ``write_checkpoint`` writes, and for the same tensors TF's ``Saver`` writes the same
index and data bytes. Here: the format's invariants, every numeric dtype, multi-block tables and
the refusals; the byte-identical rebuild of Deezer's real index is in ``test_spleeter_release.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baseline_dub.errors import ConfigError
from baseline_dub.models.converters import tf_bundle as tb
from support import tf_writer as tw


def test_crc32c_and_mask() -> None:
    assert tb.crc32c(b"123456789") == 0xE3069283  # the Castagnoli check value
    for crc in (0, 1, 0xE3069283, 0xFFFFFFFF, 0x12345678):
        assert tb.unmask(tw.mask(crc)) == crc and tw.mask(crc) != crc
    assert tw.mask(0) == 0xA282EAD8  # crc32c::Mask adds this constant after the rotation


def test_every_numeric_dtype_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {
        "f32": rng.standard_normal((3, 4, 5)).astype(np.float32), "f64": rng.standard_normal(7),
        "f16": rng.standard_normal((2, 2)).astype(np.float16), "i8": np.arange(-3, 3, dtype=np.int8),
        "i16": np.arange(6, dtype=np.int16), "i32": np.array([[1, -2]], np.int32), "i64": np.array(-5, np.int64),
        "u8": np.arange(4, dtype=np.uint8), "u16": np.arange(3, dtype=np.uint16), "u32": np.array([7], np.uint32),
        "u64": np.array([2**63], np.uint64), "bool": np.array([True, False, True]),
        "empty": np.zeros((0, 3), np.float32), "scope/with/slashes": np.ones((1, 1, 1), np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32)),
    }
    tw.write_checkpoint(tmp_path / "ckpt", tensors)
    index = tb.read_index(tmp_path / "ckpt.index")
    assert index.num_shards == 1 and list(index.entries) == sorted(tensors)
    back = tb.read_checkpoint(tmp_path / "ckpt")
    for name, array in tensors.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape, name
        np.testing.assert_array_equal(back[name], array)
        assert index.entries[name].crc32c == tb.tensor_crc32c(array)
    assert set(tb.read_checkpoint(tmp_path / "ckpt", names=["i8"])) == {"i8"}


def test_multi_block_tables_keep_every_key_in_order() -> None:
    items = {f"layer_{i:03d}/kernel".encode(): bytes([i % 251]) * (i % 17) for i in range(300)}
    data = tw.write_table(items, block_size=256)
    assert list(tb.table_items(data)) == sorted(items.items())
    assert len(data) > 256 * 10  # really many blocks
    assert list(tb.table_items(tw.write_table({}))) == []


def test_shortened_index_keys() -> None:
    assert tw.separator(b"conv2d_1/bias", b"conv2d_3/kernel") == b"conv2d_2"
    assert tw.separator(b"abc", b"abd") == b"abc"  # no room: the key itself
    assert tw.successor(b"global_step") == b"h"  # as in Deezer's real index
    assert tw.successor(b"\xff\xffa") == b"\xff\xffb"


def test_corrupt_or_unsupported_indexes_are_refused(tmp_path: Path) -> None:
    tw.write_checkpoint(tmp_path / "ok", {"w": np.ones(4, np.float32)})
    good = (tmp_path / "ok.index").read_bytes()
    bad = bytearray(good)
    bad[8] ^= 0x01  # inside the data block
    (tmp_path / "bad.index").write_bytes(bytes(bad))
    with pytest.raises(ConfigError, match="crc32c"):
        tb.read_index(tmp_path / "bad.index")
    (tmp_path / "short.index").write_bytes(good[:20])
    with pytest.raises(ConfigError, match="not a TensorFlow table"):
        tb.read_index(tmp_path / "short.index")
    # a string tensor (dtype 7) and a partitioned variable (slices, field 7) are not weights we can read
    string_entry = tw.field(1, 7) + tw.field(2, b"", wire=2)
    sliced = tw.field(1, 1) + tw.field(2, b"", wire=2) + tw.field(7, b"\x0a\x00", wire=2)
    header = tw.field(1, 1)
    for entry, message in ((string_entry, "dtype 7"), (sliced, "slices")):
        (tmp_path / "x.index").write_bytes(tw.write_table({b"": header, b"v": entry}))
        with pytest.raises(ConfigError, match=message):
            tb.read_index(tmp_path / "x.index")
    (tmp_path / "noheader.index").write_bytes(tw.write_table({b"v": tw.field(1, 1)}))
    with pytest.raises(ConfigError, match="no bundle header"):
        tb.read_index(tmp_path / "noheader.index")
    (tmp_path / "big.index").write_bytes(tw.write_table({b"": header + tw.field(2, 1)}))
    with pytest.raises(ConfigError, match="big-endian"):
        tb.read_index(tmp_path / "big.index")
