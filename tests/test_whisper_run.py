"""``--whisper NAME`` end to end, with no network: fetching a release, bringing one by hand, and a run that records
which Whisper spoke.

Stand-ins in the released formats (``tests/support/whisper_releases.py``): a tiny Whisper that always says
``SPOKEN`` as OpenAI's ``tiny.pt`` and as faster-whisper's CTranslate2 folder, and a 128-mel, 100-language one
in large-v3-turbo's formats (``vocabulary.json``, ``preprocessor_config.json``). A local HTTP server serves them
where the registry points (``$HF_ENDPOINT/<repo>/resolve/<revision>/<file>``, ``whisper._MODELS``' URLs); the
registry is the real one with those releases' sha256s swapped for the stand-ins'. The models folder holds the
offline profile's real weights (linked) and nothing else; sockets to anything but 127.0.0.1 are refused.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import whisper
import yaml

from baseline_dub.audio import write_audio
from baseline_dub.config import CONFIG_DIR
from baseline_dub.data.dataset import Dataset
from baseline_dub.models.fetch_all import fetch_each
from baseline_dub.models.registry import ModelEntry, load_registry
from baseline_dub.models.store import Store, sha256_tree
from support.http_server import Blob, Server
from support.manifest import manifest_rows
from support.network import LOOPBACK, refused_network, stand_in_models
from support.network import cli_output as _cli
from support.paper_models import SPOKEN, TINY_WHISPER, speaking_whisper_checkpoint
from support.whisper_releases import release_registry, save_checkpoint, write_ct2_folder

TURBO_DIMS = dataclasses.replace(TINY_WHISPER, n_mels=128, n_vocab=51866)  # large-v3's mel bins and vocabulary
SAID = SPOKEN.strip()


@dataclass(frozen=True)
class StandIns:
    """The stand-in files and the registry that names them."""

    files: dict[str, Path]  # registry entry -> stand-in file or folder
    registry: dict[str, ModelEntry]


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory, store) -> StandIns:
    root = tmp_path_factory.mktemp("whisper_stand_ins")
    base = store.path("whisper-base-ct2").parent  # the packaged base's folder: tokenizer, vocabulary, settings
    files: dict[str, Path] = {}
    registry = load_registry()
    for release, dims in (("tiny", TINY_WHISPER), ("large-v3-turbo", TURBO_DIMS)):
        checkpoint = speaking_whisper_checkpoint(dims)
        files[f"whisper-{release}"] = pt = save_checkpoint(checkpoint, root / f"{release}.pt")
        files[f"whisper-{release}-ct2"] = ct2 = write_ct2_folder(checkpoint, root / f"faster-whisper-{release}", base)
        registry = release_registry(registry, release, pt, ct2)
    return StandIns(files, registry)


@pytest.fixture(scope="module")
def hub(stand_ins) -> Server:
    """The stand-ins where the registry's sources point: the hub's resolve URLs, OpenAI's sha256 paths."""
    server = Server()
    for name, path in stand_ins.files.items():
        entry = stand_ins.registry[name]
        if path.is_dir():
            where = f"/{entry.source['repo']}/resolve/{entry.source['revision']}"
            server.routes.update({f"{where}/{f}": Blob((path / f).read_bytes()) for f in entry.source["files"]})
        else:
            server.routes[f"/{entry.sha256}/{path.name}"] = Blob(path.read_bytes())
    yield server
    server.close()


def _offline_folder(root: Path, store: Store) -> Path:
    """A models folder holding the offline profile's real weights (linked, each verified) and nothing else."""
    for entry in store.for_profile("offline"):
        place = root / entry.file
        place.parent.mkdir(parents=True, exist_ok=True)
        place.symlink_to(store.path(entry.name))
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory, store, stand_ins, hub):
    """The stand-ins' registry and hub in force, an offline models folder, sockets beyond 127.0.0.1 refused (every
    try recorded, and none allowed)."""
    root = _offline_folder(tmp_path_factory.mktemp("models"), store)
    with pytest.MonkeyPatch.context() as mp:
        stand_in_models(mp, root, stand_ins.registry)
        mp.setenv("HF_ENDPOINT", hub.url)
        for release in ("tiny", "large-v3-turbo"):
            mp.setitem(whisper._MODELS, release, f"{hub.url}/{stand_ins.registry[f'whisper-{release}'].sha256}/"
                                                 f"{release}.pt")
        tries = refused_network(mp, local=LOOPBACK)
        yield root
    assert not tries, f"something tried the network: {tries}"




def _run(out: Path, capsys, *extra: str) -> tuple[int, str, str]:
    return _cli(["run", "--split", "test", "--limit", "2", "--out", str(out), "--profile", "offline", "--device",
                 "cpu", "--no-progress", "--keep", *extra], capsys)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """One real Japanese speaker's sample clip as a WAV file (what `dub` and `translate` are given)."""
    dataset = Dataset.open(None)
    clip = next(iter(dataset.clips("test")))
    path = tmp_path_factory.mktemp("speech") / "clip.wav"
    write_audio(path, dataset.audio(clip.id))
    return path


@pytest.fixture(scope="module")
def openai_config(tmp_path_factory) -> Path:
    """The offline profile with ``translate.engine: openai-whisper`` (``--whisper NAME`` then loads OpenAI's .pt)."""
    data = yaml.safe_load((CONFIG_DIR / "offline.yaml").read_text())
    data["translate"]["engine"] = "openai-whisper"
    path = tmp_path_factory.mktemp("config") / "offline-openai.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_missing_whisper_stops_the_run_before_any_clip_with_the_command_that_fetches_it(world, tmp_path,
                                                                                          capsys) -> None:
    code, out, err = _run(tmp_path / "run", capsys, "--whisper", "tiny")
    assert code == 2
    assert ("`baseline-dub models download --whisper tiny --profile offline` (make: `make models WHISPER=tiny "
            "PROFILE=offline`)") in err
    assert f"Whisper tiny (ctranslate2: whisper-tiny-ct2) is not in {world}" in err
    assert not list((tmp_path / "run").rglob("manifest*.jsonl")) and not list((tmp_path / "run").rglob("*.wav"))


def test_models_download_fetches_the_pinned_conversion_file_by_file(world, stand_ins, hub, capsys) -> None:
    code, out, err = _cli(["models", "download", "--whisper", "tiny", "--profile", "offline"], capsys)
    assert code == 0, err
    source = stand_ins.registry["whisper-tiny-ct2"].source
    prefix = f"/Systran/faster-whisper-tiny/resolve/{source['revision']}/"
    assert [r[0] for r in hub.log] == [prefix + f for f in source["files"]]  # only the tiny folder, file by file
    folder = world / "whisper" / "faster-whisper-tiny"
    assert sha256_tree(folder) == stand_ins.registry["whisper-tiny-ct2"].sha256
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert "1 downloaded (" in out
    code, out, err = _cli(["models", "verify", "--whisper", "tiny", "--profile", "offline"], capsys)
    assert code == 0 and out.split()[:2] == ["ok", "whisper-tiny-ct2"], out
    assert _cli(["models", "download", "--whisper", "tiny", "--profile", "offline"], capsys)[0] == 0
    assert len(hub.log) == len(source["files"])  # present: nothing fetched again


def test_models_download_for_the_paper_profile_fetches_openais_file(world, stand_ins, hub, capsys) -> None:
    code, out, err = _cli(["models", "download", "--whisper", "tiny", "--profile", "paper"], capsys)
    assert code == 0, err
    assert hub.log[-1][0] == f"/{stand_ins.registry['whisper-tiny'].sha256}/tiny.pt"  # the sha256 in OpenAI's URL
    assert (world / "whisper" / "tiny.pt").read_bytes() == stand_ins.files["whisper-tiny"].read_bytes()


@pytest.fixture(scope="module")
def tiny_run(world, tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("run_tiny")


def test_run_with_tiny_records_that_whisper_in_every_row_and_the_summary(world, stand_ins, tiny_run,
                                                                         capsys) -> None:
    code, out, err = _run(tiny_run, capsys, "--whisper", "tiny")
    assert code == 0, err[-3000:]
    rows = manifest_rows(tiny_run / "test")
    assert len(rows) == 2 and {(r["status"], r["profile"], r["whisper"]) for r in rows.values()} == {
        ("done", "offline", "tiny")}
    assert all(r["models"]["whisper-tiny-ct2"] == stand_ins.registry["whisper-tiny-ct2"].sha256 for r in rows.values())
    assert not any("whisper-base-ct2" in r["models"] for r in rows.values())  # the profile's own base never loaded
    texts = [s["text"] for r in rows.values() for s in r["segments"]]
    assert texts and set(texts) == {SAID}  # the tiny stand-in spoke every line
    summary = json.loads((tiny_run / "test" / "summary.json").read_text())
    assert (summary["profile"], summary["whisper"], summary["done"]) == ("offline", "tiny", 2)
    assert "whisper          tiny" in out.splitlines()
    before = (tiny_run / "test" / "manifest.jsonl").read_text()
    assert _run(tiny_run, capsys, "--whisper", "tiny")[0] == 0  # a resume: nothing redone
    assert (tiny_run / "test" / "manifest.jsonl").read_text() == before


def test_the_report_says_which_whisper_translated_and_which_transcribed(world, tiny_run, tmp_path, capsys) -> None:
    code, out, err = _cli(["evaluate", "--run", str(tiny_run), "--out", str(tmp_path / "report"), "--device", "cpu",
                           "--whisper", "tiny"], capsys)
    assert code == 0, err[-3000:]
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Profile: offline. Whisper: tiny." in report
    assert "| Whisper that translated | tiny |" in report
    assert "Whisper tiny (`whisper-tiny-ct2`, ctranslate2; task transcribe" in report  # --whisper picked the ASR
    with open(tmp_path / "report" / "clips.csv") as fh:
        assert {row["whisper"] for row in csv.DictReader(fh)} == {"tiny"}
    with open(tmp_path / "report" / "segments.csv") as fh:
        heard = [row for row in csv.DictReader(fh) if row["asr_text"]]
    assert heard and {(r["asr_text"], float(r["wer"])) for r in heard} == {(SAID, 0.0)}


def test_mushra_build_records_the_whisper_of_its_stimuli(world, tiny_run, tmp_path, capsys) -> None:
    code, out, err = _cli(["mushra", "build", "--split", "test", "--dubs", str(tiny_run), "--items", "2", "--out",
                           str(tmp_path / "tiny_mushra")], capsys)
    assert code == 0, err[-3000:]
    provenance = json.loads((tmp_path / "tiny_mushra" / "build.json").read_text())["provenance"]["baseline"]
    assert provenance["profiles"] == ["offline"] and provenance["whispers"] == ["tiny"]
    assert "whisper-tiny-ct2" in provenance["models"]
    assert "  baseline: offline profile, Whisper tiny, " in out


def test_dub_keeps_the_whisper_in_dub_json(world, speech, tmp_path, capsys) -> None:
    code, out, err = _cli(["dub", str(speech), "--out", str(tmp_path / "dub.wav"), "--profile", "offline", "--device",
                           "cpu", "--whisper", "tiny", "--keep", str(tmp_path / "keep")], capsys)
    assert code == 0, err[-3000:]
    printed = json.loads(out)
    assert (printed["profile"], printed["whisper"]) == ("offline", "tiny") and set(printed["texts"]) == {SAID}
    kept = json.loads((tmp_path / "keep" / "dub.json").read_text())
    assert kept["whisper"] == "tiny" and kept["provenance"]["whisper"] == "tiny"


def test_translate_with_openais_tiny_in_the_openai_engine(world, stand_ins, speech, openai_config, capsys) -> None:
    code, out, err = _cli(["translate", str(speech), "--profile", "offline", "--config", str(openai_config),
                           "--device", "cpu", "--whisper", "tiny", "--json"], capsys)
    assert code == 0, err[-3000:]
    record = json.loads(out)
    assert (record["whisper"], record["model"], record["translate_engine"]) == ("tiny", "whisper-tiny",
                                                                                "openai-whisper")
    assert record["text"] == SAID and record["sha256"] == stand_ins.registry["whisper-tiny"].sha256


def test_turbo_transcribes_in_both_engines_and_never_translates(world, speech, openai_config, capsys) -> None:
    code, out, err = _cli(["translate", str(speech), "--profile", "offline", "--whisper", "large-v3-turbo"], capsys)
    assert code == 2 and "Whisper large-v3-turbo was not trained to translate, so it cannot dub" in err
    for profile in ("offline", "paper"):  # its CTranslate2 folder (vocabulary.json, 128 mels) and OpenAI's .pt
        code, out, err = _cli(["models", "download", "--whisper", "large-v3-turbo", "--profile", profile], capsys)
        assert code == 0, err
    for config in ([], ["--config", str(openai_config)]):
        code, out, err = _cli(["translate", str(speech), "--profile", "offline", *config, "--device", "cpu",
                               "--language", "en", "--whisper", "large-v3-turbo", "--json"], capsys)
        assert code == 0, err[-3000:]
        record = json.loads(out)
        assert (record["whisper"], record["text"], record["language"]) == ("large-v3-turbo", SAID, "en")
        assert record["model"] == ("whisper-large-v3-turbo" if config else "whisper-large-v3-turbo-ct2")


def test_models_import_places_a_file_by_its_sha256_and_refuses_others(stand_ins, tmp_path, monkeypatch,
                                                                      capsys) -> None:
    monkeypatch.setenv("BASELINE_DUB_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr("baseline_dub.models.store.load_registry", lambda path=None: dict(stand_ins.registry))
    code, out, err = _cli(["models", "import", str(stand_ins.files["whisper-tiny"]),
                           str(stand_ins.files["whisper-tiny-ct2"])], capsys)
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["imported", "whisper-tiny"],
                                                                   ["imported", "whisper-tiny-ct2"]]
    store = Store(tmp_path / "models", stand_ins.registry)
    assert store.status("whisper-tiny", rehash=True) == store.status("whisper-tiny-ct2", rehash=True) == "ok"
    assert not list((tmp_path / "models" / "whisper").glob(".*"))  # no copy left half-way
    code, out, err = _cli(["models", "import", str(stand_ins.files["whisper-tiny"])], capsys)
    assert code == 0 and out.splitlines()[1].split()[:2] == ["present", "whisper-tiny"]
    stranger = tmp_path / "small.pt"
    stranger.write_bytes(stand_ins.files["whisper-tiny"].read_bytes() + b"\0")  # one byte more than the release
    code, out, err = _cli(["models", "import", str(stranger)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {stranger}: its sha256 ") and "is no weight's in the registry" in err
    assert not (tmp_path / "models" / "whisper" / "small.pt").exists()
    assert _cli(["models", "import"], capsys)[0] == 2
    assert _cli(["models", "import", str(tmp_path / "nowhere.pt")], capsys)[0] == 2


def test_an_interrupted_folder_download_resumes_where_it_stopped(stand_ins, tmp_path, monkeypatch) -> None:
    entry = stand_ins.registry["whisper-tiny-ct2"]
    folder, source = stand_ins.files["whisper-tiny-ct2"], entry.source
    server = Server()
    try:
        prefix = f"/{source['repo']}/resolve/{source['revision']}/"
        for file in source["files"]:
            server.routes[prefix + file] = Blob((folder / file).read_bytes())
        server.routes[prefix + "model.bin"].cut, server.routes[prefix + "model.bin"].cuts = 600_000, 1
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        store = Store(tmp_path / "models", {entry.name: entry})
        [first] = fetch_each(store, [entry.name], allow_network=True)
        assert first.state == "failed" and "run the same command again to resume it" in first.error
        assert first.size >= 600_000 and not store.location(entry.name).exists()
        [second] = fetch_each(store, [entry.name], allow_network=True)
        assert second.state == "downloaded" and store.status(entry.name, rehash=True) == "ok"
        model_bin = server.requests_for(prefix + "model.bin")
        assert [r[1] for r in model_bin] == [None, "bytes=600000-"]  # resumed with a Range request
        assert len(server.requests_for(prefix + "config.json")) == 1  # the files that had arrived were kept
        server.routes[prefix + "config.json"] = Blob(b'{"not": "the pinned file"}')
        other = Store(tmp_path / "other", {entry.name: entry})
        [bad] = fetch_each(other, [entry.name], allow_network=True)
        assert bad.state == "failed" and "config.json from Systran/faster-whisper-tiny at" in bad.error
        assert "does not have the registry's sha256" in bad.error and not list((tmp_path / "other").rglob("*.bin"))
    finally:
        server.close()
