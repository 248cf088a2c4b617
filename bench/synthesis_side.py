"""One side of ``bench/synthesis_quality.py``: run the cases with whichever ``baseline_dub`` is importable.

The parent runs this script twice, with ``PYTHONPATH`` on main's code ("before") and on this tree's
("after"), so that both sides synthesize the same cases in the same run. Only the public API that both
have is used (``DubPipeline``, its ``synthesizer``, ``clip_input``, ``Dataset``); a synthesizer with
``choose_voices`` (one voice per speaker) chooses each reference's voice once, from its choice part,
and every sentence of that reference speaks with it; an older one chooses per call, from the same part.
Blends judged in earlier runs are forgotten first (the single voices' cache is kept), so that the
search costs what it costs for a speaker whose candidates were never judged.

    python bench/synthesis_side.py CASES.npz OUT.npz [CONFIG.yaml]   (CASES.json beside CASES.npz; OUT.json written)
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _dub_rows(dub: Any) -> list[dict[str, Any]]:
    rows = []
    for seg, syn in zip(dub.segments, dub.syntheses, strict=True):
        choice = syn.extra.get("voice_choice", {}) if syn is not None else {}
        rows.append({"start": seg.start, "end": seg.end, "speaker": seg.speaker,
                     "voice": syn.voice if syn is not None else None,
                     "search_seconds": choice.get("search_seconds")})
    return rows


def main(cases_path: str, out_path: str, config_path: str | None = None) -> None:
    import baseline_dub
    from baseline_dub.audio import Audio
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.pipeline import DubInput, DubPipeline, clip_input

    cases = np.load(cases_path)
    meta = json.loads(Path(cases_path).with_suffix(".json").read_text())
    t0 = time.perf_counter()
    pipe = DubPipeline("offline", device="cpu", announce=False, config_path=config_path)
    synth = pipe.synthesizer
    info: dict[str, Any] = {"code": str(Path(baseline_dub.__file__).parent), "load_seconds": time.perf_counter() - t0,
                            "voices_model": pipe.config.synthesize.voices_model, "refs": {}, "dubs": {}}
    arrays: dict[str, np.ndarray] = {}
    per_speaker = hasattr(synth, "choose_voices")
    judged = getattr(synth.backend, "embeddings", None)
    if per_speaker and isinstance(judged, dict):
        for key in [k for k in judged if "*" in k]:  # blends (their keys hold weights): judged afresh
            del judged[key]
    for ref, sentences in meta["sentences"].items():
        choice_part = Audio(cases[f"{ref}/A"], meta["rate"])
        t = time.perf_counter()
        voice = synth.choose_voices({ref: [choice_part]}).get(ref) if per_speaker else None
        row: dict[str, Any] = {"search_seconds": time.perf_counter() - t if per_speaker else None,
                               "voices": [], "seconds": []}
        for j, sentence in enumerate(sentences):
            t = time.perf_counter()
            out = synth.synthesize(sentence, choice_part, voice=voice) if per_speaker else \
                synth.synthesize(sentence, choice_part)
            row["seconds"].append(time.perf_counter() - t)
            row["voices"].append(out.voice)
            arrays[f"{ref}/{j}"] = out.audio.samples[0]
            arrays[f"{ref}/{j}/rate"] = np.array(out.audio.rate)
        info["refs"][ref] = row
        print(f"  {ref}: {row['voices'][0]}", file=sys.stderr, flush=True)
    ds = Dataset.open(None)
    items = [(f"sample:{c.id}", clip_input(c, ds)) for c in ds.clips("test")
             if c.is_multi_speaker and ds.has_audio(c.id)]
    items += [(f"mix:{name}", DubInput(audio=Audio(cases[f"mix/{name}"], meta["rate"]), clip_id=name,
                                       multi_speaker=True, num_speakers=2)) for name in meta["mixtures"]]
    for name, item in items:
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                dub = pipe.dub(item)
                record: dict[str, Any] = {"segments": _dub_rows(dub)}
            except Exception as exc:  # a failed clip is a result of this side, not the end of the bench
                record = {"error": f"{type(exc).__name__}: {exc}", "segments": []}
        record["seconds"] = time.perf_counter() - t
        record["warnings"] = [str(w.message) for w in caught if "speaker" in str(w.message).lower()]
        record["num_speakers_given"] = item.num_speakers
        info["dubs"][name] = record
        print(f"  {name}: {[(r['speaker'], r['voice']) for r in record['segments']]}", file=sys.stderr, flush=True)
    np.savez(out_path, **arrays)
    Path(out_path).with_suffix(".json").write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
