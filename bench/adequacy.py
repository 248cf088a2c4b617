"""What the dub says, line by line: adequacy against English references, and what Whisper invents.

Line sets (``tests/support/real_lines.py``, from ../shared/data/real): the six ``ja_speech`` lines that have an
English reference, each under six backings (both music files, three offsets, 15 LU under the speech); the J-Moshi
dialogues cut into 26 single-speaker lines (no reference); music and noise excerpts with no voice.

For each line, with the profile's models loaded once, each step of the chain is translated on its own, so the loss
of each step shows: ``clean`` (Whisper on the clean padded line), ``mix`` (on the line under music), ``vocals``
(on the separated vocals, untrimmed), ``vad`` (on the vocals trimmed to speech, as a single-speaker clip is),
``utter`` (each utterance cut at the pauses, Whisper's own texts joined, before the skip rules) and ``dub`` (what
the dub speaks: the utterances' texts after the rules: skipped lines removed, loops cut). The steps are the
pipeline's own calls in its order (``separate_batch``, ``diarize_detailed`` with the single-speaker hint,
``translate_batch`` of the clip's utterances), so ``dub`` is the text ``DubPipeline.dub`` speaks; synthesis and remix
are left out (they do not change the text). The other columns score Whisper's own text (what the model gives).
Scores are sacrebleu's chrF and BLEU (``baseline_dub.report.metrics``), per line and per corpus: per backing (six
lines each: mean, min and max over the backings) and pooled over every line.

J-Moshi, music and noise lines have no reference: the bench counts, per step, the lines that got text, the lines
spoken as a stock phrase of the bag (``always`` / ``unsure`` section), the lines skipped as ``hallucination``,
the delooped lines, and the lines lost to loops (every utterance refused as looping while Whisper gave text).

Each ``--decoding`` (``BEAM[:PATIENCE]``, e.g. ``1 5 5:2``) re-translates every step with that decoding (the
stems and utterances are computed once), so greedy, beam search and patience compare in one run:

    .venv/bin/python bench/adequacy.py [--decoding 1 5 5:2] [--sets reference jmoshi nonspeech] [--backings 6]
        [--no-stock] [--no-deloop] [--unsure-no-speech P] [--unsure-logprob L] [--lines] [--engine E]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/support: the line sets

STEPS = ("clean", "mix", "vocals", "vad", "utter", "dub")


@dataclass
class Prepared:
    """One line's audio for each step: the clean line, the mix, the vocals, the VAD-trimmed vocals, the
    utterances (``None`` where a step has no audio: a non-speech line has no clean line, VAD may hear nothing)."""

    line: object
    clean: object
    mix: object
    vocals: object
    vad: object
    utterances: list


@dataclass
class Said:
    """What one decoding made of one line at each step: Whisper's own text (``raw``), the translations of the
    utterances, and the text the dub speaks."""

    raw: dict[str, str]
    clean: object
    utterances: list
    dub: str


def prepare(pipe, line) -> Prepared:
    """Separate and cut one line as the pipeline does for a single-speaker clip."""
    from baseline_dub.stages.diarize import speech_span

    stems = pipe.separator.separate_batch([line.mix])[0]
    diarization = pipe.diarizer.diarize_detailed(stems.vocals, num_speakers=1, multi_speaker=False)
    span = speech_span(list(diarization.speech), pipe.config.diarize.speech_pad_seconds, stems.vocals.duration)
    return Prepared(line, line.clean, line.mix, stems.vocals, stems.vocals.slice(*span) if span else None,
                    [stems.vocals.slice(s.start, s.end) for s in diarization.segments])


def heard(translation) -> str:
    """Whisper's own text of a translation (before the rules)."""
    return translation.heard or translation.text


def say(translator, prepared: Prepared) -> Said:
    """Every step of one line translated with ``translator`` as it is set now."""
    wholes = [(step, audio) for step in ("clean", "mix", "vocals", "vad")
              if (audio := getattr(prepared, step)) is not None]
    outs = dict(zip([s for s, _ in wholes], [translator.translate(a) for _, a in wholes], strict=True))
    utterances = translator.translate_batch(prepared.utterances) if prepared.utterances else []
    raw = {step: heard(out) for step, out in outs.items()}
    raw["utter"] = " ".join(heard(t) for t in utterances if heard(t))
    dub = " ".join(t.text for t in utterances if t.text)
    raw["dub"] = dub
    return Said(raw, outs.get("clean"), utterances, dub)


def set_decoding(translator, base, beam: int, patience: float, args) -> None:
    """Point ``translator`` at ``base`` with this decoding and the rules of the options."""
    changes = {"beam_size": beam, "patience": patience}
    if args.no_stock:
        changes["stock_phrases"] = False
    if args.no_deloop:
        changes["deloop"] = False
    if args.unsure_no_speech is not None:
        changes["stock_unsure_no_speech"] = args.unsure_no_speech
    if args.unsure_logprob is not None:
        changes["stock_unsure_logprob"] = args.unsure_logprob
    translator.configure(dataclasses.replace(base, **changes))


def score_references(results: list[tuple[object, Said]], show_lines: bool) -> None:
    """chrF / BLEU per step: per backing (mean, min, max over backings) and pooled, then per line if asked."""
    from baseline_dub.report.metrics import bleu, chrf, sentence_chrf

    backings = sorted({line.backing for line, _ in results})
    print(f"{'step':7s} {'chrF':>6s} {'BLEU':>6s}   chrF per backing: mean [min, max]   "
          f"BLEU per backing: mean [min, max]")
    for step in STEPS:
        hyps = [said.raw.get(step, "") for _, said in results]
        refs = [line.reference for line, _ in results]
        per_c, per_b = [], []
        for b in backings:
            pairs = [(said.raw.get(step, ""), line.reference) for line, said in results if line.backing == b]
            per_c.append(chrf([h for h, _ in pairs], [r for _, r in pairs]))
            per_b.append(bleu([h for h, _ in pairs], [r for _, r in pairs]))
        print(f"{step:7s} {chrf(hyps, refs):6.1f} {bleu(hyps, refs):6.1f}   "
              f"{statistics.mean(per_c):5.1f} [{min(per_c):5.1f}, {max(per_c):5.1f}]"
              f"          {statistics.mean(per_b):5.1f} [{min(per_b):5.1f}, {max(per_b):5.1f}]")
    if show_lines:
        for line, said in results:
            print(f"\n{line.name}\n  ref    {line.reference}")
            for step in STEPS:
                text = said.raw.get(step, "")
                print(f"  {step:6s} {sentence_chrf(text, line.reference):5.1f}  {text}")
            skipped = [f"{t.skipped}: {t.heard}" for t in said.utterances if t.skipped]
            delooped = [f"delooped: {t.heard}" for t in said.utterances if t.delooped]
            if skipped or delooped:
                print("         " + " | ".join(skipped + delooped))


def count_inventions(results: list[tuple[object, Said]], show_lines: bool) -> None:
    """Per line kind: lines with text per step, stock phrases spoken, hallucination skips, delooped, lost."""
    from baseline_dub.stages.translate.base import LOOPS
    from baseline_dub.stages.translate.hallucination import stock_phrases

    bag = stock_phrases()
    for kind in sorted({line.kind for line, _ in results}):
        rows = [(line, said) for line, said in results if line.kind == kind]
        counts: Counter = Counter()
        for line, said in rows:
            for step in STEPS:
                counts[f"text:{step}"] += bool(said.raw.get(step))
            section = bag.section(said.dub) if said.dub else None
            counts[f"spoken:{section}"] += bool(section)
            invented = section and (said.clean is None or bag.section(heard(said.clean)) is None)
            counts["spoken_invented"] += bool(invented)
            counts["hallucination"] += sum(t.skipped == "hallucination" for t in said.utterances)
            counts["delooped"] += sum(t.delooped and bool(t.text) for t in said.utterances)
            looped = [t for t in said.utterances if t.skipped in LOOPS and t.heard]
            counts["lost_to_loops"] += bool(looped) and not said.dub
            if show_lines:
                clean = said.clean
                evidence = (f"lp {clean.avg_logprob:5.2f} ns {clean.no_speech_prob:.2f}" if clean else "")
                print(f"{line.name:26s} clean {said.raw.get('clean', '-')!r} {evidence}"
                      f"{' ' + str(clean.skipped) if clean is not None and clean.skipped else ''}")
                for t in said.utterances:
                    print(f"{'':26s}   utt {heard(t)!r} lp {t.avg_logprob:5.2f} ns {t.no_speech_prob:.2f} "
                          f"T {t.temperature} -> {t.text!r} {t.skipped or ''}{' delooped' if t.delooped else ''}")
        n = len(rows)
        print(f"{kind:9s} lines {n:3d}; with text: " + ", ".join(f"{s} {counts['text:' + s]}" for s in STEPS))
        print(f"{'':9s} spoken as a stock phrase: {counts['spoken:always']} always + {counts['spoken:unsure']} "
              f"unsure ({counts['spoken_invented']} not what the clean line gave); utterances skipped as "
              f"hallucination {counts['hallucination']}; delooped and spoken {counts['delooped']}; lines lost to "
              f"loops {counts['lost_to_loops']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--engine", default=None, help="translate.engine (default: the profile's)")
    parser.add_argument("--decoding", nargs="*", default=None,
                        help="BEAM[:PATIENCE] decodings to compare (default: the profile's)")
    parser.add_argument("--sets", nargs="*", default=["reference", "jmoshi", "nonspeech"])
    parser.add_argument("--backings", type=int, default=6, help="how many of the six backings (reference set)")
    parser.add_argument("--no-stock", action="store_true", help="translate.stock_phrases off")
    parser.add_argument("--no-deloop", action="store_true", help="translate.deloop off")
    parser.add_argument("--unsure-no-speech", type=float, default=None, help="translate.stock_unsure_no_speech")
    parser.add_argument("--unsure-logprob", type=float, default=None, help="translate.stock_unsure_logprob")
    parser.add_argument("--lines", action="store_true", help="print every line")
    args = parser.parse_args(argv)

    from baseline_dub.config import load_config
    from baseline_dub.pipeline import DubPipeline
    from support import real_lines

    config = load_config(args.profile)
    if args.engine:
        config = dataclasses.replace(config, translate=dataclasses.replace(config.translate, engine=args.engine))
    t0 = time.perf_counter()
    pipe = DubPipeline(config=config, announce=False)
    engine = pipe.translator.describe()
    print(f"profile {config.profile}, translate {engine['translate_engine']}/{engine['translate_compute_type']}; "
          f"models loaded in {time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} cores")
    sets = {"reference": lambda: real_lines.reference_lines(real_lines.BACKINGS[:args.backings]),
            "jmoshi": real_lines.jmoshi_lines, "nonspeech": real_lines.non_speech_lines}
    lines = [line for name in args.sets for line in sets[name]()]
    t0 = time.perf_counter()
    prepared = [prepare(pipe, line) for line in lines]
    print(f"{len(lines)} lines separated and cut in {time.perf_counter() - t0:.1f} s")
    base = config.translate
    decodings = args.decoding or [f"{base.beam_size}:{base.patience:g}"]
    for decoding in decodings:
        beam, _, patience = decoding.partition(":")
        set_decoding(pipe.translator, base, int(beam), float(patience or 1.0), args)
        cfg = pipe.translator.config
        t0 = time.perf_counter()
        results = [(p.line, say(pipe.translator, p)) for p in prepared]
        print(f"\n=== beam {cfg.beam_size}, patience {cfg.patience:g}; stock phrases "
              f"{'on' if cfg.stock_phrases else 'off'} (unsure: no_speech > {cfg.stock_unsure_no_speech:g} or "
              f"logprob < {cfg.stock_unsure_logprob:g}), deloop {'on' if cfg.deloop else 'off'}; translated in "
              f"{time.perf_counter() - t0:.1f} s (load average {os.getloadavg()[0]:.2f})")
        scored = [(line, said) for line, said in results if line.reference]
        if scored:
            score_references(scored, args.lines)
        others = [(line, said) for line, said in results if not line.reference]
        if others:
            count_inventions(others, args.lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
