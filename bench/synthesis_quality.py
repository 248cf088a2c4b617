"""Synthesis quality, before and after, in one run: held-out similarity, gender match, WER, voice-search cost.

References: the six real Japanese recordings in ``../shared/data/real/ja_speech/`` (their README gives
the speaker of each: one female, three male, one unclear, one with 2+ voices). Each is trimmed of
silence and cut in two halves: the voice is chosen on the first (the *choice part*) and judged on the
second (the *held-out part*), so that choosing by the encoder that scores the result does not flatter
it. Every reference speaks ``--per-ref`` of :data:`SENTENCES`. Both sides (``--before REV``, default
``main``, exported with ``git archive``, and this tree) run the same cases through
``bench/synthesis_side.py``, one after the other in this run; every figure below is computed here by
this tree's code, identically for both sides:

- similarity: Resemblyzer cosine of each synthesis to the held-out part of its own reference (and to
  the choice part, for comparison), and how often it is closer to its own held-out part than to any
  other reference's ("own > others");
- gender match: median F0 (pYIN) of the reference against that of its syntheses (>= 165 Hz counts as
  female), for the references the README labels female or male;
- WER: openai-whisper (``--asr-model``, default ``whisper-base``; English, greedy) on each synthesis
  against its text, both normalised (numbers spelled out, lower case, no punctuation);
- ceiling: the best any single voice of the pool could do, judged on the held-out part itself (the
  cosine of each voice's cached calibration-line embedding with it), beside the same figure for the
  voice chosen: how much of the possible gain the choice takes;
- cost: seconds of voice search per speaker (and per sentence, amortised), synthesis seconds per sentence;
- speakers: the sample's two-speaker clip and two-speaker mixtures of the references (built like
  ``bench/diarization_der.py``'s, full and 1.5-2.5 s turns) dubbed whole with ``num_speakers = 2``:
  speakers found, voices per speaker, whether distinct speakers got distinct voices.

    OMP_NUM_THREADS=1 .venv/bin/python bench/synthesis_quality.py [--before main|none] [--per-ref 4] \
        [--after-config my_offline.yaml]

"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from baseline_dub.audio import Audio

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "ja_speech"
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the two-speaker mixtures
RATE = 16000
LABELS = {"common_voice_ja_38833628_16k": "unclear", "common_voice_ja_38843402_16k": "female",
          "common_voice_ja_38853932_16k": "male", "common_voice_ja_38898180_16k": "male",
          "test_ja_1": "2+ voices", "test_ja_2": "male"}
FEMALE_FROM_HZ = 165.0
SENTENCES = [
    "I thought it was a ghost, but it must be a person walking over there.",
    "Something bad must have happened to our friends, the little devil thought.",
    "The king is not happy with this plan either.",
    "Will you talk to me? I can't do it, and neither can you.",
    "Can you hear my Japanese clearly? Then please hold the microphone.",
    "This is a test sentence to check whether the machine understands speech.",
    "Dr. Sato said the train leaves at 7:30 tomorrow morning.",
    "We have waited for 3 years, and now the day has finally come.",
    "Please don't leave me alone in this dark and empty house.",
    "The festival starts on the 21st, so let's buy our tickets today.",
    "I paid $20 for this old sword at the market.",
    "Run! The monster is coming toward the village right now!",
    "My grandmother lived in a small house near the harbor.",
    "If you keep running away, you will never find out the truth.",
    "The rain stopped just before the game began.",
    "Nobody in this town remembers what happened that night.",
    "Let's meet at the station after school on Friday.",
    "I'm sorry, but I can't carry all of these boxes by myself.",
    "The teacher asked us to write a short story about summer.",
    "Turn left at the bridge and walk for about five minutes.",
    "She laughed so hard that everyone in the room turned around.",
    "We should leave before the storm reaches the mountains.",
    "Your brother called while you were out this afternoon.",
    "That was the most delicious soup I have ever tasted.",
]
# two-speaker mixtures: (first, second) reference, seconds of each turn (None: the whole recording)
MIXTURES = {"F+M": ("common_voice_ja_38843402_16k", "common_voice_ja_38853932_16k", None),
            "M+M2": ("common_voice_ja_38853932_16k", "common_voice_ja_38898180_16k", None),
            "X+M3_2.5s": ("common_voice_ja_38833628_16k", "test_ja_2", 2.5),
            "M2+X_1.5s": ("common_voice_ja_38898180_16k", "common_voice_ja_38833628_16k", 1.5)}


def words(text: str) -> str:
    """Normalised, lower-cased words without punctuation (Whisper's ``7.30`` read as ``7:30`` first)."""
    from baseline_dub.stages.synthesize.text import normalize_text

    text = normalize_text(re.sub(r"\b(\d{1,2})\.(\d{2})\b", r"\1:\2", text)).lower().replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).replace(" '", " ").split())


def build_cases(folder: Path, per_ref: int) -> tuple[Path, dict]:
    """Choice/held-out halves of every reference, the mixtures, the sentences: ``cases.npz`` + ``.json``."""
    from baseline_dub.audio import Audio, load_audio
    from baseline_dub.stages.synthesize.reference import trim_silence
    from support.diarization import build_conversation

    arrays, speech = {}, {}
    for name in LABELS:
        wav = trim_silence(load_audio(REAL / f"{name}.wav"), RATE).samples[0]
        speech[name] = wav
        arrays[f"{name}/A"], arrays[f"{name}/B"] = (half.samples[0] for half in halves(Audio(wav, RATE)))
    for mix, (a, b, seconds) in MIXTURES.items():
        turns = [(Audio(speech[n] if seconds is None else speech[n][: int(seconds * RATE)], RATE), n) for n in (a, b)]
        arrays[f"mix/{mix}"] = build_conversation(turns, gap=0.4)[0].samples[0]
    names = list(LABELS)
    meta = {"rate": RATE, "mixtures": list(MIXTURES),
            "sentences": {n: [SENTENCES[(i + j * len(names)) % len(SENTENCES)] for j in range(per_ref)]
                          for i, n in enumerate(names)}}
    path = folder / "cases.npz"
    np.savez(path, **arrays)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path, meta


def halves(speech: Audio) -> tuple[Audio, Audio]:
    """The first and second half of trimmed speech: the part a voice is chosen on, the part it is judged on."""
    from baseline_dub.audio import Audio

    wav = speech.samples[0]
    return Audio(wav[: wav.size // 2], speech.rate), Audio(wav[wav.size // 2:], speech.rate)


def export_tree(rev: str, folder: Path) -> tuple[Path, str]:
    """``git archive REV`` of this repository, unpacked into ``folder``; returns it and the commit."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], capture_output=True, text=True,
                            check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder, commit


def run_side(tree: Path, cases: Path, out: Path, config: str | None = None) -> dict:
    """Run ``synthesis_side.py`` with ``tree``'s ``baseline_dub`` (and ``config``); its JSON and arrays."""
    from baseline_dub.models.store import default_models_dir

    env = {**os.environ, "PYTHONPATH": str(tree), "BASELINE_DUB_MODELS": str(default_models_dir())}
    subprocess.run([sys.executable, str(ROOT / "bench" / "synthesis_side.py"), str(cases), str(out),
                    *([config] if config else [])], env=env, check=True)
    info = json.loads(out.with_suffix(".json").read_text())
    with np.load(out) as data:
        info["audio"] = {k: (data[k], int(data[f"{k}/rate"])) for k in data.files if not k.endswith("/rate")}
    return info


def score_side(info: dict, cases: Path, meta: dict, judge: dict) -> dict:
    """Every figure of the module docstring for one side."""
    import jiwer
    import whisper

    from baseline_dub.audio import Audio
    from baseline_dub.stages.speaker import cosine
    from baseline_dub.stages.synthesize.pitch import median_f0

    enc, asr = judge["encoder"], judge["asr"]
    with np.load(cases) as data:
        held = {n: enc.embed(Audio(data[f"{n}/B"], RATE)) for n in LABELS}
        choice = {n: enc.embed(Audio(data[f"{n}/A"], RATE)) for n in LABELS}
    rows, truths, hyps = {}, [], []
    for ref, sentences in meta["sentences"].items():
        sims_b, sims_a, own, f0s = [], [], [], []
        for j, sentence in enumerate(sentences):
            samples, rate = info["audio"][f"{ref}/{j}"]
            audio = Audio(samples, rate)
            emb = enc.embed(audio)
            sims_b.append(cosine(emb, held[ref]))
            sims_a.append(cosine(emb, choice[ref]))
            own.append(sims_b[-1] > max(cosine(emb, held[o]) for o in LABELS if o != ref))
            f0s.append(median_f0(audio) or float("nan"))
            heard = whisper.transcribe(asr, audio.resample(RATE).samples[0].astype(np.float32), language="en",
                                       task="transcribe", temperature=0.0, fp16=False,
                                       condition_on_previous_text=False)["text"]
            truths.append(words(sentence))
            hyps.append(words(heard))
        out_f0 = float(np.nanmedian(f0s))
        label = LABELS[ref]
        rows[ref] = {"voice": info["refs"][ref]["voices"][0], "sim_held": float(np.mean(sims_b)),
                     "sim_choice": float(np.mean(sims_a)), "own": float(np.mean(own)),
                     "ref_f0": judge["ref_f0"][ref], "out_f0": out_f0,
                     "match": None if label not in ("female", "male") else
                     (label == "female") == (out_f0 >= FEMALE_FROM_HZ)}
    refs = info["refs"].values()
    searches = [r["search_seconds"] for r in refs if r["search_seconds"] is not None]
    per_sentence = np.mean([s for r in refs for s in r["seconds"]])
    return {"rows": rows, "wer": jiwer.wer(truths, hyps), "n": len(truths),
            "search": float(np.mean(searches)) if searches else None, "synth": float(per_sentence),
            "per_ref": len(next(iter(meta["sentences"].values())))}


def voice_ceiling(store, cases: Path, encoder) -> dict:  # noqa: ANN001 (the store and encoder of this tree)
    """Per reference: each pool voice's calibration embedding's cosine with the held-out part (this tree's)."""
    from baseline_dub.audio import Audio
    from baseline_dub.config import load_config
    from baseline_dub.stages.speaker import cosine
    from baseline_dub.stages.synthesize.kokoro import load_kokoro

    config = load_config("offline", device="cpu")
    backend = load_kokoro(config, store)  # embeds with the shared encoder: the one passed here
    out: dict = {"voices_model": config.synthesize.voices_model, "backend": backend, "refs": {}}
    with np.load(cases) as data:
        for ref in LABELS:
            held = encoder.embed(Audio(data[f"{ref}/B"], RATE))
            out["refs"][ref] = {"held": held, "singles": {v: cosine(backend.embeddings[v], held)
                                                          for v in backend.styles}}
    return out


def print_ceiling(ceiling: dict, info: dict) -> None:
    from baseline_dub.stages.speaker import cosine
    from baseline_dub.stages.synthesize.voices import VoiceRecipe

    backend, chosen_all, best_all = ceiling["backend"], [], []
    print("  ceiling (calibration line vs held-out part): chosen voice / best single voice of the pool")
    for ref, row in ceiling["refs"].items():
        recipe = VoiceRecipe.parse(info["refs"][ref]["voices"][0])
        chosen = cosine(backend.calibration_embedding(recipe)[0], row["held"])
        best = max(row["singles"], key=row["singles"].__getitem__)
        chosen_all.append(chosen)
        best_all.append(row["singles"][best])
        print(f"    {ref:30s} {chosen:5.3f} / {row['singles'][best]:5.3f} ({best})")
    print(f"    {'mean':30s} {np.mean(chosen_all):5.3f} / {np.mean(best_all):5.3f}")


def print_side(label: str, info: dict, scored: dict) -> None:
    print(f"\n== {label}: {info['code']} (voices {info['voices_model']}, load {info['load_seconds']:.0f} s)")
    print(f"{'reference':30s} {'label':9s} {'voice':36s} {'held':>5s} {'choice':>6s} {'own':>4s} "
          f"{'F0ref':>5s} {'F0out':>5s} match")
    for ref, r in scored["rows"].items():
        match = "-" if r["match"] is None else ("yes" if r["match"] else "NO")
        print(f"{ref:30s} {LABELS[ref]:9s} {r['voice']:36s} {r['sim_held']:5.3f} {r['sim_choice']:6.3f} "
              f"{r['own']:4.0%} {r['ref_f0']:5.0f} {r['out_f0']:5.0f} {match}")
    for name, dub in info["dubs"].items():
        voices = defaultdict(set)
        for s in dub["segments"]:
            voices[s["speaker"]].add(s["voice"])
        found = len(voices)
        distinct = len({v for vs in voices.values() for v in vs}) == sum(len(vs) for vs in voices.values()) and \
            all(len(vs) == 1 for vs in voices.values())
        extra = f" error {dub['error']}" if "error" in dub else ""
        warned = " (warned: fewer speakers)" if dub["warnings"] else ""
        verdict = ("only one speaker found" if found < 2 else
                   "one voice per speaker, distinct" if distinct else "NOT one distinct voice per speaker")
        print(f"  {name[:44]:44s} speakers {found}/2{warned}, voices {dict(voices)} -> {verdict}{extra}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="git revision for the 'before' side, or 'none'")
    parser.add_argument("--per-ref", type=int, default=4, help="sentences per reference")
    parser.add_argument("--asr-model", default="whisper-base")
    parser.add_argument("--after-config", default=None,
                        help="an offline configuration file for the 'after' side (e.g. blend_voices: false)")
    args = parser.parse_args(argv)

    from baseline_dub.audio import Audio
    from baseline_dub.config import load_config
    from baseline_dub.models.store import Store
    from baseline_dub.stages.speaker import load_speaker_encoder
    from baseline_dub.stages.synthesize.pitch import median_f0
    from baseline_dub.stages.translate import read_whisper_checkpoint

    with tempfile.TemporaryDirectory(prefix="synthesis-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cases, meta = build_cases(tmp, args.per_ref)
        sides: list[tuple[str, Path]] = []
        if args.before != "none":
            (tmp / "before").mkdir()
            tree, commit = export_tree(args.before, tmp / "before")
            sides.append((f"before ({args.before} = {commit[:10]})", tree))
        sides.append((f"after (this tree{', ' + Path(args.after_config).name if args.after_config else ''})", ROOT))
        infos = [(label, run_side(tree, cases, tmp / f"side{i}.npz", args.after_config if tree == ROOT else None))
                 for i, (label, tree) in enumerate(sides)]
        store = Store()
        with np.load(cases) as data:
            ref_f0 = {n: median_f0(Audio(np.concatenate([data[f"{n}/A"], data[f"{n}/B"]]), RATE)) for n in LABELS}
        judge = {"encoder": load_speaker_encoder(load_config("offline", device="cpu"), store), "ref_f0": ref_f0,
                 "asr": read_whisper_checkpoint(store, args.asr_model, "cpu", task="transcribe")}
        ceiling = voice_ceiling(store, cases, judge["encoder"])
        summary = []
        for label, info in infos:
            scored = score_side(info, cases, meta, judge)
            print_side(label, info, scored)
            if info["voices_model"] == ceiling["voices_model"]:
                print_ceiling(ceiling, info)
            rows = scored["rows"].values()
            clear = [r["match"] for r in rows if r["match"] is not None]
            search = scored["search"]
            summary.append((label, np.mean([r["sim_held"] for r in rows]), np.mean([r["sim_choice"] for r in rows]),
                            np.mean([r["own"] for r in rows]), f"{sum(clear)}/{len(clear)}", scored["wer"],
                            scored["n"], search, scored["synth"], scored["per_ref"]))
    print("\n== summary (targets: held-out similarity +0.10 over before, every clear gender matched, WER <= 5 %)")
    print(f"{'side':34s} {'held':>5s} {'choice':>6s} {'own':>5s} {'gender':>6s} {'WER':>6s} {'search s/spk':>12s} "
          f"{'s/sentence':>10s}")
    for label, held, chosen, own, gender, wer, _n, search, synth, per_ref in summary:
        cost = "per call" if search is None else f"{search:.1f} ({search / per_ref:.1f}/sent)"
        print(f"{label:34s} {held:5.3f} {chosen:6.3f} {own:5.0%} {gender:>6s} {wer:6.1%} {cost:>12s} {synth:10.2f}")
    print(f"(WER over {summary[-1][6]} sentences per side; s/sentence: synthesis call, search excluded after; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, CPU)")


if __name__ == "__main__":
    main()
