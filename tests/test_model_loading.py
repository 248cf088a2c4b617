"""How the stages load their models: one loader signature, the shared speaker encoder loaded once, one seed.

Every ``load_*`` function of ``baseline_dub/stages`` (a stage's loader or one backend's) takes the same two
arguments, ``(config: Config, store: Store)``, and resolves the device from ``config`` itself; helpers that read
one file are named ``read_*``/``open_*``. The Resemblyzer encoder is loaded once per process per (weights,
device), however many stages embed voices.
"""

from __future__ import annotations

import ast
import dataclasses

from baseline_dub.config import PACKAGE_ROOT
from baseline_dub.stages import speaker


def stage_loaders() -> dict[str, list[str]]:
    """``{module:function: [annotation of each argument]}`` for every ``load_*`` function under stages/."""
    found = {}
    for path in sorted((PACKAGE_ROOT / "stages").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("load_"):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                found[f"{path.relative_to(PACKAGE_ROOT)}:{node.name}"] = [
                    ast.unparse(a.annotation) if a.annotation else a.arg for a in args]
    return found


def test_every_stage_and_backend_loader_takes_config_and_store() -> None:
    loaders = stage_loaders()
    assert {"stages/separate/__init__.py:load_separator", "stages/diarize/__init__.py:load_diarizer",
            "stages/diarize/offline.py:load_offline_backend", "stages/translate/ct2.py:load_ct2_translator",
            "stages/synthesize/kokoro.py:load_kokoro", "stages/speaker.py:load_speaker_encoder"} <= set(loaders)
    assert {name: args for name, args in loaders.items() if args != ["Config", "Store"]} == {}


class _Counting(speaker.SpeakerEncoder):
    made: list[tuple[str, str]] = []

    def __init__(self, weights, device="cpu") -> None:  # noqa: ANN001
        type(self).made.append((str(weights), device))
        super().__init__(weights, device)


def test_the_offline_stages_share_one_speaker_encoder(monkeypatch, store, offline_config) -> None:
    from baseline_dub.stages.diarize import load_diarizer
    from baseline_dub.stages.synthesize import load_synthesizer

    monkeypatch.setattr(speaker, "SpeakerEncoder", _Counting)
    speaker._shared_encoder.cache_clear()
    _Counting.made.clear()
    try:
        config = dataclasses.replace(offline_config, device="cpu")
        diarizer = load_diarizer(config, store)
        synthesizer = load_synthesizer(config, store)
        encoder = speaker.load_speaker_encoder(config, store)
        assert _Counting.made == [(str(store.path(config.speaker_model).resolve()), "cpu")]  # loaded once
        assert diarizer.backend.encoder is synthesizer.encoder is synthesizer.backend.encoder is encoder
    finally:
        speaker._shared_encoder.cache_clear()  # no counting encoder left in the cache for later tests


def test_the_profile_seed_seeds_translation_and_synthesis(store, offline_config) -> None:
    from baseline_dub.stages.synthesize import load_synthesizer
    from baseline_dub.stages.translate import load_translator

    config = dataclasses.replace(offline_config, device="cpu", seed=7)
    assert load_translator(config, store).seed == 7
    assert load_synthesizer(config, store).seed == 7
