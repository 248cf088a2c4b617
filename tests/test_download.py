"""``models download`` over a hostile network, all offline: a real HTTP server on 127.0.0.1 that truncates, serves
wrong bytes, honours or ignores ``Range``, answers like the Hugging Face hub's auth check; a port that refuses
connections and one that never answers."""

from __future__ import annotations

import fcntl
import hashlib
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from baseline_dub import cli
from baseline_dub.commands import models as models_cmd
from baseline_dub.models import download as dl
from baseline_dub.models.fetch_all import fetch_each
from baseline_dub.models.store import ModelEntry, Store
from support.http_server import Blob, Reply, Server

BIG = np.random.default_rng(0).integers(0, 256, 2_500_000, dtype=np.uint8).tobytes()
SMALL = b"a small weight file\n" * 50
GATED = "pyannote/speaker-diarization-community-1"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def refused_url() -> str:
    """A port on 127.0.0.1 with nothing listening: every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/model.bin"


@pytest.fixture
def silent_url():
    """A port that accepts connections (the kernel's backlog) and never answers: a black-holed network."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/model.bin"
    sock.close()


def _url_entry(name: str, url: str, data: bytes | None, profiles=("paper",)) -> ModelEntry:
    return ModelEntry(name=name, file=f"dl/{name}.bin", source={"kind": "url", "url": url},
                      sha256=_sha(data) if data is not None else None, profiles=tuple(profiles))


def _store(tmp_path: Path, *entries: ModelEntry) -> Store:
    return Store(root=tmp_path / "models", registry={e.name: e for e in entries})


def _outcomes(store: Store, *names: str) -> dict:
    return {o.name: o for o in fetch_each(store, names or list(store.entries), allow_network=True)}


def test_truncated_download_is_kept_and_resumed_with_range(server, tmp_path, capsys):
    server.routes["/big.bin"] = Blob(BIG, cut=1_000_000, cuts=1)
    store = _store(tmp_path, _url_entry("big", f"{server.url}/big.bin", BIG))
    first = _outcomes(store)["big"]
    assert first.state == "failed"
    assert "download interrupted after 1000000 of 2500000 bytes" in first.error
    assert "run the same command again to resume" in first.error
    assert not store.location("big").exists() and store.partial_bytes("big") == first.size == 1_000_000

    second = _outcomes(store)["big"]
    assert second.state == "downloaded" and second.size == len(BIG)
    assert store.location("big").read_bytes() == BIG and store.status("big") == "ok"
    assert server.requests_for("/big.bin") == [("/big.bin", None, None), ("/big.bin", "bytes=1000000-", '"v1"')]
    assert store.partial_bytes("big") == 0 and not list(store.location("big").parent.glob(".*"))
    assert "100%" in capsys.readouterr().err  # the progress bar, resumed from 40 % to the end
    assert _outcomes(store)["big"].state == "present" and len(server.log) == 2  # nothing fetched again


def test_server_without_range_support_restarts_from_zero(server, tmp_path):
    server.routes["/big.bin"] = Blob(BIG, ranges=False, cut=700_000, cuts=1)
    store = _store(tmp_path, _url_entry("big", f"{server.url}/big.bin", BIG))
    assert _outcomes(store)["big"].state == "failed" and store.partial_bytes("big") == 700_000
    assert _outcomes(store)["big"].state == "downloaded"
    assert store.location("big").read_bytes() == BIG
    assert server.requests_for("/big.bin")[1][1] == "bytes=700000-"  # asked, and was sent the whole file


def test_file_changed_on_the_server_restarts_instead_of_splicing(server, tmp_path):
    new = BIG[::-1]
    server.routes["/big.bin"] = Blob(BIG, cut=1_200_000, cuts=1)
    store = _store(tmp_path, _url_entry("big", f"{server.url}/big.bin", new))
    assert _outcomes(store)["big"].state == "failed"
    server.routes["/big.bin"] = Blob(new, etag='"v2"')  # If-Range "v1" no longer matches: a full 200
    assert _outcomes(store)["big"].state == "downloaded"
    assert store.location("big").read_bytes() == new


def test_partial_longer_than_the_file_starts_again(server, tmp_path):
    server.routes["/small.bin"] = Blob(SMALL)
    store = _store(tmp_path, _url_entry("small", f"{server.url}/small.bin", SMALL))
    work = store.location("small").parent / ".small.bin.download"
    work.mkdir(parents=True)
    (work / "small.bin.part").write_bytes(b"x" * (len(SMALL) + 10))  # 416 from the server
    assert _outcomes(store)["small"].state == "downloaded"
    assert store.location("small").read_bytes() == SMALL


def test_wrong_bytes_install_nothing_and_the_run_goes_on(server, tmp_path, monkeypatch):
    import whisper

    server.routes["/bad.bin"] = Blob(b"not the weights " * 100)
    server.routes["/small.bin"] = Blob(SMALL)
    sha = _sha(SMALL)
    server.routes[f"/{sha}/tiny.pt"] = Blob(b"also not the weights")
    monkeypatch.setitem(whisper._MODELS, "tiny-test", f"{server.url}/{sha}/tiny.pt")
    whisper_entry = ModelEntry(name="whisper-test", file="w/tiny.pt", source={"kind": "whisper", "name": "tiny-test"},
                               sha256=None, profiles=("paper",))
    store = _store(tmp_path, _url_entry("bad", f"{server.url}/bad.bin", SMALL), whisper_entry,
                   _url_entry("small", f"{server.url}/small.bin", SMALL))
    out = _outcomes(store)
    assert out["bad"].state == "failed" and out["bad"].size == 0
    assert f"the registry says {sha}; not installed" in out["bad"].error
    assert out["whisper-test"].state == "failed"
    assert "does not match the sha256 in Whisper's URL" in out["whisper-test"].error
    assert out["small"].state == "downloaded"
    for name in ("bad", "whisper-test"):
        assert not store.location(name).exists() and store.partial_bytes(name) == 0
        assert not list(store.location(name).parent.glob(".*"))  # no partial kept of bad bytes


def test_unreachable_hosts_say_no_network_per_model(server, tmp_path, refused_url, silent_url, monkeypatch):
    monkeypatch.setattr(dl, "TIMEOUT_S", 0.5)
    server.routes["/small.bin"] = Blob(SMALL)
    store = _store(tmp_path, _url_entry("refused", refused_url, SMALL), _url_entry("silent", silent_url, SMALL),
                   _url_entry("small", f"{server.url}/small.bin", SMALL))
    started = time.monotonic()
    out = _outcomes(store)
    assert time.monotonic() - started < 20
    host = refused_url.split("/")[2]
    assert out["refused"].error == (f"model refused: cannot reach {host} (connection refused). No network? Download "
                                    "on a connected machine and copy the models folder here (docs/profiles.md: "
                                    "'Models on a cluster')")
    assert "(timed out). No network?" in out["silent"].error
    assert out["small"].state == "downloaded"


def test_http_errors_are_one_line_each(server, tmp_path):
    server.routes["/forbidden.bin"] = Reply(403)
    store = _store(tmp_path, _url_entry("gone", f"{server.url}/gone.bin", SMALL),
                   _url_entry("forbidden", f"{server.url}/forbidden.bin", SMALL))
    out = _outcomes(store)
    assert "not found (HTTP 404): the file has moved" in out["gone"].error
    assert "the server refused it (HTTP 403)" in out["forbidden"].error
    assert all("\n" not in o.error for o in out.values())


def test_an_entry_made_from_a_failed_download_fails_with_it(tmp_path, refused_url):
    derived = ModelEntry(name="derived", file="d/derived.bin", profiles=("paper",), inputs=("remote",),
                         source={"kind": "convert", "converter": "spleeter-deezer-tf",
                                 "inputs": ["remote"]})
    store = _store(tmp_path, _url_entry("remote", refused_url, SMALL), derived)
    out = _outcomes(store, "remote", "derived")
    assert out["derived"].state == "failed"
    assert out["derived"].error.startswith("needs remote, which failed: model remote: cannot reach")


def _hf_entry() -> ModelEntry:
    return ModelEntry(name="pyannote-pipeline", file="pyannote/pipeline", sha256=None, profiles=("paper",),
                      source={"kind": "hf", "repo": GATED, "token_env": "HF_TOKEN"})


@pytest.fixture
def hub(server, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    # huggingface_hub's own side request (agent detection), cached under HF_HOME: kept in tmp, left out of the log
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "hf" / "agents.json"))
    server.routes["/big.bin"] = Blob(BIG)
    return server


def _hub_requests(hub: Server) -> list[str]:
    return [r[0] for r in hub.log if r[0] != "/api/agent-harnesses"]


def test_missing_hf_token_fails_before_any_download_and_the_rest_goes_on(hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    store = _store(tmp_path, _url_entry("big", f"{hub.url}/big.bin", BIG), _hf_entry())
    out = _outcomes(store)
    assert out["pyannote-pipeline"].state == "failed"
    assert "is gated on the Hugging Face hub and $HF_TOKEN is not set" in out["pyannote-pipeline"].error
    assert f"https://huggingface.co/{GATED}" in out["pyannote-pipeline"].error
    assert out["big"].state == "downloaded"
    assert _hub_requests(hub) == ["/big.bin"]  # the hub was never asked without a token


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(403, {"X-Error-Code": "GatedRepo"}), f"$HF_TOKEN was refused for the gated {GATED}: accept its conditions"),
    (Reply(401, {"X-Error-Message": "Invalid credentials in Authorization header"}),
     "the hub refused $HF_TOKEN for pyannote/speaker-diarization-community-1 (HTTP 401)"),
])
def test_refused_hf_token_is_found_before_the_large_download(hub, tmp_path, monkeypatch, reply, message):
    monkeypatch.setenv("HF_TOKEN", "hf_not_accepted")
    hub.routes[f"/api/models/{GATED}/auth-check"] = reply
    store = _store(tmp_path, _url_entry("big", f"{hub.url}/big.bin", BIG), _hf_entry())
    out = _outcomes(store)
    assert message in out["pyannote-pipeline"].error and "\n" not in out["pyannote-pipeline"].error
    assert out["big"].state == "downloaded"
    assert _hub_requests(hub) == [f"/api/models/{GATED}/auth-check", "/big.bin"]


def test_cli_download_prints_a_summary_and_exits_1(server, tmp_path, refused_url, monkeypatch, capsys):
    server.routes["/small.bin"] = Blob(SMALL)
    server.routes["/big.bin"] = Blob(BIG, cut=500_000, cuts=1)
    store = _store(tmp_path, _url_entry("small", f"{server.url}/small.bin", SMALL),
                   _url_entry("big", f"{server.url}/big.bin", BIG), _url_entry("refused", refused_url, SMALL))
    monkeypatch.setattr(models_cmd, "Store", lambda: store)
    assert cli.main(["models", "download", "--model", "small"]) == 0
    capsys.readouterr()
    assert cli.main(["models", "download", "--profile", "paper"]) == 1
    captured = capsys.readouterr()
    table = captured.out[captured.out.index("model "):].splitlines()
    assert table[1].split() == ["small", "present", "1.0", "kB"]
    assert table[2].split()[:4] == ["big", "failed", "500.0", "kB"] and "rerun to resume" in table[2]
    assert table[3].split() == ["refused", "failed", "-"]
    assert table[4] == "1 present, 2 failed (1.0 kB in place)"
    assert "failed   refused: model refused: cannot reach" in captured.err
    assert captured.out.startswith(f"models folder: {store.root} (given by the caller)")
    assert cli.main(["models", "download", "--profile", "paper"]) == 1  # big resumes; refused still fails
    table = capsys.readouterr().out.splitlines()[-4:]
    assert table[1].split() == ["big", "downloaded", "2.5", "MB"] and table[3] == "1 downloaded, 1 present, " \
        "1 failed (2.5 MB in place)"


def test_a_second_process_waits_for_the_first(server, tmp_path, capsys):
    server.routes["/small.bin"] = Blob(SMALL)
    store = _store(tmp_path, _url_entry("small", f"{server.url}/small.bin", SMALL))
    lock = store.root / ".locks" / "small.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(target=store.fetch, args=("small", True))
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and not store.location("small").exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(10)
    assert store.location("small").read_bytes() == SMALL
    assert "waiting for another process that is fetching" in capsys.readouterr().err


def test_ctrl_c_keeps_the_partial_download_for_the_next_run(server, tmp_path, monkeypatch):
    import http.client

    server.routes["/big.bin"] = Blob(BIG)
    store = _store(tmp_path, _url_entry("big", f"{server.url}/big.bin", BIG))
    monkeypatch.setattr(dl, "CHUNK_BYTES", 100_000)
    real_read, calls = http.client.HTTPResponse.read, []

    def read(self, amt=None):
        calls.append(amt)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_read(self, amt)

    monkeypatch.setattr(http.client.HTTPResponse, "read", read)
    with pytest.raises(KeyboardInterrupt):
        store.fetch("big", allow_network=True)
    assert store.partial_bytes("big") == 400_000 and not store.location("big").exists()
    monkeypatch.setattr(http.client.HTTPResponse, "read", real_read)
    assert store.fetch("big", allow_network=True).read_bytes() == BIG
    assert server.requests_for("/big.bin")[1][1] == "bytes=400000-"
