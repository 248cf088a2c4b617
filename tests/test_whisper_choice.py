"""The Whisper a user chooses: the registry holds every multilingual openai-whisper release in both formats (the
sha256s OpenAI's URLs carry; CTranslate2 folders at pinned hub revisions), and ``--whisper NAME`` puts a release
into either profile for its engine (``baseline_dub.models.whispers``). No weights are needed here."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import whisper
import yaml

from baseline_dub import cli
from baseline_dub.config import CONFIG_DIR, load_config
from baseline_dub.errors import ConfigError
from baseline_dub.models.registry import load_registry
from baseline_dub.models.store import Store
from baseline_dub.models.whispers import RELEASES, TRANSCRIBE_ONLY, whisper_choice, whisper_of, with_whisper


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Store:
    """The real registry over an empty models folder: choosing needs no weight."""
    return Store(tmp_path_factory.mktemp("no_models"))


def test_every_multilingual_release_is_in_the_registry_with_the_sha256_of_its_url(registry) -> None:
    multilingual = {name for name, url in whisper._MODELS.items() if not name.endswith(".en")
                    and url.rsplit("/", 1)[-1] == f"{name}.pt"}  # "large" and "turbo" are aliases of other files
    assert set(RELEASES) == multilingual == {"tiny", "base", "small", "medium", "large-v1", "large-v2", "large-v3",
                                             "large-v3-turbo"}
    for release in RELEASES:
        [entry] = [e for e in registry.entries.values() if e.kind == "whisper" and e.source["name"] == release]
        assert entry.whisper == release and entry.file.endswith(".pt")
        assert entry.sha256 == whisper._MODELS[release].split("/")[-2], release


def test_every_release_has_a_pinned_ctranslate2_conversion(registry) -> None:
    packaged = {registry.entry(n).file.rsplit("/", 1)[-1]: registry.entry(n).sha256 for n in
                ("whisper-base-ct2", "whisper-base-ct2-config", "whisper-base-ct2-vocabulary",
                 "whisper-base-ct2-tokenizer")}
    for release in RELEASES:
        choice = whisper_choice(registry, release, "ctranslate2")
        entry = registry.entry(choice.model)
        if release == "base":  # the packaged weights, no network
            assert entry.kind == "parts" and set(choice.files) == {"whisper-base-ct2-config",
                                                                   "whisper-base-ct2-vocabulary",
                                                                   "whisper-base-ct2-tokenizer"}
            continue
        source = entry.source
        assert entry.kind == "hf" and choice.files == () and len(source["revision"]) == 40
        assert int(source["revision"], 16) >= 0 and "token_env" not in source  # public: no token asked
        files = source["files"]
        assert {"config.json", "model.bin", "tokenizer.json"} <= set(files)
        v3 = release.startswith("large-v3")  # 128 mel bins, 100 languages: large-v3's layout
        assert ("vocabulary.json" in files, "preprocessor_config.json" in files, "vocabulary.txt" in files) == (
            v3, v3, not v3), release
        pins = [files[f] for f in sorted(files)]
        if all(pins):  # the folder's sha256 is known before download: its sha256_tree
            lines = "\n".join(f"{f} {files[f]}" for f in sorted(files))
            assert entry.sha256 == hashlib.sha256(lines.encode()).hexdigest(), release
        else:
            assert entry.sha256 is None, release  # pinned in lock.json at download
        if not v3:  # Systran's 99-language folders ship the packaged base's tokenizer and vocabulary
            for name in ("tokenizer.json", "vocabulary.txt"):
                assert files[name] in (packaged[name], None), (release, name)


def test_a_hub_source_needs_a_commit_revision(tmp_path) -> None:
    data = yaml.safe_load((CONFIG_DIR / "models.yaml").read_text())
    data["models"]["whisper-tiny-ct2"]["source"]["revision"] = "main"  # a branch moves: refused
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="'whisper-tiny-ct2': a source with 'files' needs .* 40-digit commit"):
        load_registry(path)


def test_each_profile_keeps_its_own_whisper_and_takes_any_other(registry) -> None:
    offline, paper = load_config("offline"), load_config("paper")
    assert (whisper_of(offline, registry), whisper_of(paper, registry)) == ("base", "large-v2")
    assert with_whisper(offline, registry, "base") == offline  # the packaged base: no download
    assert with_whisper(paper, registry, "large-v2") == paper
    tiny = with_whisper(offline, registry, "tiny").translate
    assert (tiny.ct2_model, tiny.ct2_files, tiny.model) == ("whisper-tiny-ct2", (), offline.translate.model)
    assert with_whisper(paper, registry, "tiny").translate.model == "whisper-tiny"
    assert with_whisper(paper, registry, "base").translate.model == "whisper-base-openai"  # OpenAI's own base.pt
    openai_offline = dataclasses.replace(offline, translate=dataclasses.replace(offline.translate,
                                                                                engine="openai-whisper"))
    assert with_whisper(openai_offline, registry, "base").translate.model == "whisper-base"  # the packaged one
    ct2_paper = dataclasses.replace(paper, translate=dataclasses.replace(paper.translate, engine="ctranslate2"))
    base = with_whisper(ct2_paper, registry, "base").translate
    assert (base.ct2_model, len(base.ct2_files)) == ("whisper-base-ct2", 3)
    for release in RELEASES:
        for config in (offline, paper, ct2_paper, openai_offline):
            chosen = with_whisper(config, registry, release, "transcribe")
            assert whisper_of(chosen, registry) == release and chosen.translate.task == "transcribe"


@pytest.mark.parametrize("profile", ["offline", "paper"])
def test_turbo_transcribes_but_never_translates(registry, profile) -> None:
    config = load_config(profile)
    with pytest.raises(ConfigError, match="large-v3-turbo was not trained to translate"):
        with_whisper(config, registry, "large-v3-turbo")
    assert TRANSCRIBE_ONLY == ("large-v3-turbo",)
    chosen = with_whisper(config, registry, "large-v3-turbo", "transcribe")
    assert chosen.translate.task == "transcribe" and "turbo" in "".join(chosen.translate.model_names())
    dubbing = dataclasses.replace(config, translate=dataclasses.replace(chosen.translate, task="translate"))
    with pytest.raises(ConfigError, match="not trained to translate"):  # a profile that names turbo to dub with
        with_whisper(dubbing, registry, None)


def test_an_unknown_whisper_is_refused_by_every_command(capsys) -> None:
    for argv in (["run", "--whisper", "huge"], ["dub", "x.wav", "--out", "y.wav", "--whisper", "tiny.en"],
                 ["translate", "x.wav", "--whisper", "turbo"], ["evaluate", "--run", "r", "--whisper", "large"],
                 ["models", "download", "--whisper", "huge"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        assert "argument --whisper: invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["separate", "x.wav", "--out", "d", "--whisper", "tiny"])  # runs no Whisper: no such option
    assert "unrecognized arguments: --whisper tiny" in capsys.readouterr().err
