"""Each profile is complete in its YAML: every setting stated there, none taken from a dataclass default.

``tests/data/resolved_profiles.json`` is what ``load_config`` resolved for both profiles before the profiles
were made complete (dumped from the code of that time): the YAMLs must still give exactly those values, but
for the changes listed in ``CHANGED``, each made on purpose.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest
import yaml

from baseline_dub.config import CONFIG_DIR, PROFILES, Config, load_config

RESOLVED = Path(__file__).parent / "data" / "resolved_profiles.json"
# (profile, section, key): new value, or DROPPED for a key that no longer exists.
DROPPED = object()
CHANGED: dict[tuple[str, str, str], object] = {
    # one name per weight: the diarizer's embedding model is the profile's speaker_model (the same entry)
    **{(p, "diarize", "embedding_model"): DROPPED for p in PROFILES},
    # one seed: the profile's seed (0 in both) seeds synthesis as it seeds translation
    **{(p, "synthesize", "seed"): DROPPED for p in PROFILES},
    # the paper profile inherited Kokoro's voices from the old default; YourTTS never loads them
    ("paper", "synthesize", "voices_model"): "",
    # issue 29: beam search's patience stated (Whisper's own 1.0 in both); the bag of stock phrases and delooping,
    # on in the offline profile, off in the paper profile (Whisper's own rules only)
    **{(p, "translate", "patience"): 1.0 for p in PROFILES},
    **{(p, "translate", "stock_unsure_no_speech"): 0.6 for p in PROFILES},
    **{(p, "translate", "stock_unsure_logprob"): -1.0 for p in PROFILES},
    **{(p, "translate", key): p == "offline" for p in PROFILES for key in ("stock_phrases", "deloop")},
}


def _json(value: object) -> object:
    """``value`` as JSON gives it back (tuples become lists), to compare with the dump."""
    return json.loads(json.dumps(value))


def _unstated(cls: type, data: dict, where: str) -> list[str]:
    """The fields of dataclass ``cls`` (nested ones too) that mapping ``data`` does not state."""
    hints = typing.get_type_hints(cls)
    missing = []
    for f in dataclasses.fields(cls):
        if f.name not in data:
            missing.append(f"{where}.{f.name}")
        elif dataclasses.is_dataclass(hints[f.name]):
            missing += _unstated(hints[f.name], data[f.name], f"{where}.{f.name}")
    return missing


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_states_every_setting(profile: str) -> None:
    data = yaml.safe_load((CONFIG_DIR / f"{profile}.yaml").read_text())
    assert _unstated(Config, data, profile) == []


def test_the_check_finds_an_unstated_setting() -> None:
    data = yaml.safe_load((CONFIG_DIR / "offline.yaml").read_text())
    del data["translate"]["best_of"], data["seed"]
    assert _unstated(Config, data, "offline") == ["offline.seed", "offline.translate.best_of"]


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_resolves_to_the_values_it_had(profile: str) -> None:
    expected = json.loads(RESOLVED.read_text())[profile]
    for (changed_profile, section, key), value in CHANGED.items():
        if changed_profile == profile:
            if value is DROPPED:
                del expected[section][key]
            else:
                expected[section][key] = value
    assert _json(dataclasses.asdict(load_config(profile))) == expected


def test_the_dropped_embedding_model_was_the_speaker_model() -> None:
    before = json.loads(RESOLVED.read_text())
    for profile in PROFILES:
        assert before[profile]["diarize"]["embedding_model"] == load_config(profile).speaker_model
        assert before[profile]["synthesize"]["seed"] == load_config(profile).seed


def test_dataclass_defaults_name_no_model() -> None:
    """Every ``*model`` setting defaults to none, so a profile that forgets one fails instead of borrowing."""
    config = Config(profile="x")
    assert config.speaker_model == ""
    for section in (config.separate, config.diarize, config.translate, config.synthesize):
        for f in dataclasses.fields(section):
            if "model" in f.name or f.name in ("backend", "ct2_files", "voice_prefixes"):
                assert getattr(section, f.name) in ("", ()), f"{type(section).__name__}.{f.name}"
