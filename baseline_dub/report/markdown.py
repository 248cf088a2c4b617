"""The report's Markdown (``report.md``) and its tables (``clips.csv``, ``segments.csv``) from an
:class:`~baseline_dub.report.evaluate.Evaluation`, with PNG plots (matplotlib, no display needed) in ``plots/``."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from baseline_dub.atomic import atomic_write_text
from baseline_dub.outputs.record import ClipRecord, Status
from baseline_dub.report import metrics
from baseline_dub.report.evaluate import Evaluation
from baseline_dub.report.formatting import fmt, histogram, stage_chart, stats, table
from baseline_dub.runner.manifest import recorded_whispers

DONE = Status.DONE


def _cell(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def write_csv(path: Path, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> Path:
    """Write ``rows`` (missing keys left empty, floats to 6 significant digits) as CSV, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in fields})
    atomic_write_text(path, buf.getvalue())
    return path


def run_span_seconds(rows: Sequence[ClipRecord]) -> float | None:
    """Wall-clock seconds from the first ``started`` to the last ``finished`` among rows (ISO-8601)."""
    times = []
    for row in rows:
        try:
            times.append((datetime.fromisoformat(str(row.started)), datetime.fromisoformat(str(row.finished))))
        except ValueError:
            continue
    if not times:
        return None
    return (max(f for _, f in times) - min(s for s, _ in times)).total_seconds()


# -- the report ---------------------------------------------------------------------------------------


def _section_rows(ev: Evaluation) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    done = [c for c in ev.clips if c.get("status") == DONE]
    return done, [s for s in ev.segments if not s.get("skipped")]


def translating_whispers(ev: Evaluation) -> str:
    """The Whisper releases that translated the run's dubbed clips, as their rows record them (``–`` when none
    does: rows written before the ``whisper`` key, or a run where nothing was dubbed)."""
    return ", ".join(recorded_whispers(ev.manifest.clips.values())) or "–"


def summary_rows(ev: Evaluation) -> list[list[str]]:
    """The report's summary as ``[measure, value]`` rows (report.md's table, report.html's head)."""
    done, synth = _section_rows(ev)
    scored = [c for c in done if c.get("reference")]
    hyps, refs = [c["hypothesis"] for c in scored], [c["reference"] for c in scored]
    audio_seconds = sum(float(c.get("duration") or 0.0) for c in done)
    processing = sum(c.get("processing_seconds") or 0.0 for c in done)
    asr_rows = [s for s in ev.segments if "asr_text" in s]
    wer_all = metrics.word_errors([s["text"] for s in asr_rows], [s["asr_text"] for s in asr_rows])
    m = metrics.mean
    return [
        ["clips done / all", f"{len(done)} / {len(ev.clips)}"],
        ["Whisper that translated", translating_whispers(ev)],
        ["BLEU / chrF (corpus)", f"{fmt(metrics.bleu(hyps, refs) if scored else None, 1)} / "
                                 f"{fmt(metrics.chrf(hyps, refs) if scored else None, 1)}"],
        ["speaker similarity (mean, manifest)", fmt(m(metrics.as_float(s.get("similarity")) for s in synth), 3)],
        ["length ratio (mean synthesis / slot)", fmt(m(s["length_ratio"] for s in synth))],
        ["source speech dubbed (all clips' speech)", _speech_coverage(ev.clips)],
        ["lines Whisper invented, not spoken / looping lines delooped", _invented(ev)],
        ["speech coverage dub / source (mean)", f"{fmt(m(c['coverage_dub'] for c in done))} / "
                                                f"{fmt(m(c['coverage_source'] for c in done))}"],
        ["LUFS dub − source (mean)", fmt(m(c["lufs_difference"] for c in done), 1)],
        ["WER of the syntheses", fmt(wer_all.wer, 3) if ev.asr else "not measured (--no-asr)"],
        ["real-time factor", fmt(metrics.real_time_factor(processing, audio_seconds), 3)],
    ]


def _speech_coverage(clips: Sequence[dict[str, Any]]) -> str:
    """Seconds of source speech under a dubbed utterance over all source speech seconds, with the count of
    clips flagged ``low_coverage``."""
    speech = sum(metrics.as_float(c.get("speech_seconds")) or 0.0 for c in clips)
    covered = sum(metrics.as_float(c.get("covered_seconds")) or 0.0 for c in clips)
    low = sum("low_coverage" in str(c.get("quality_flags") or "") for c in clips)
    if not speech:
        return "– (no row records speech coverage)"
    return f"{100 * covered / speech:.0f} % of {speech:.1f} s; {low} clip(s) flagged low_coverage"


def _invented(ev: Evaluation) -> str:
    """The lines of the finished clips skipped as a stock phrase Whisper invents (``skipped: hallucination``),
    and the looping lines spoken delooped."""
    rows = [row for row in ev.manifest.clips.values() if row.has_dub]
    return (f"{sum(r.hallucinated_lines for r in rows)} / {sum(r.delooped_lines for r in rows)} "
            f"(of {sum(len(r.segments) for r in rows)} lines)")


def _coverage_section(ev: Evaluation, out_dir: Path) -> list[str]:
    """The report's speech-coverage section: what share of each clip's source speech got English speech."""
    rows = [c for c in ev.clips if c.get("speech_seconds") is not None]
    flagged = Counter(f for c in rows for f in str(c.get("quality_flags") or "").split(",") if f)
    return [
        "## Speech coverage",
        "",
        "Per clip, the seconds of source speech (voice activity in the separated vocals) that lie under an "
        "utterance with English speech in the dub, over all its speech seconds; and the English words spoken "
        "per second of source speech. A clip with more than 2 s of speech and under 50 % coverage is flagged "
        "`low_coverage`; one whose diarization found fewer speakers than the annotation lists, `fewer_speakers`.",
        "",
        table(["measure", "clips", "mean", "median", "min", "max"], [
            ["coverage", *stats([metrics.as_float(c.get("speech_coverage")) for c in rows])],
            ["English words / speech second", *stats([metrics.as_float(c.get("en_words_per_speech_second"))
                                                      for c in rows])],
            ["speech seconds", *stats([metrics.as_float(c.get("speech_seconds")) for c in rows], 1)],
        ]),
        "",
        f"Overall: {_speech_coverage(rows)}. Flags: "
        + (", ".join(f"`{k}` {v}" for k, v in sorted(flagged.items())) or "none") + ".",
        "",
        histogram(out_dir, "speech_coverage", [metrics.as_float(c.get("speech_coverage")) for c in rows],
                  "speech coverage per clip", "share of source speech dubbed"),
        "",
    ]


def render_report(ev: Evaluation, out_dir: Path) -> str:
    """The markdown of the report; writes its PNG plots into ``out_dir/plots``."""
    done, synth = _section_rows(ev)
    done_rows = ev.manifest.done
    scored = [c for c in done if c.get("reference")]
    hyps, refs = [c["hypothesis"] for c in scored], [c["reference"] for c in scored]
    audio_seconds = sum(float(c.get("duration") or 0.0) for c in done)
    processing = sum(c.get("processing_seconds") or 0.0 for c in done)
    totals = metrics.stage_totals(r.stage_seconds for r in done_rows)
    span = run_span_seconds(done_rows)
    asr_rows = [s for s in ev.segments if "asr_text" in s]
    wer_all = metrics.word_errors([s["text"] for s in asr_rows], [s["asr_text"] for s in asr_rows])
    profiles = sorted({r.profile for r in done_rows if r.profile})
    models: dict[str, str] = {}
    for r in done_rows:
        models.update(r.models)
    m = metrics.mean
    ratio_sources = Counter(str(c.get("ratio_source")) for c in done)
    out = [
        f"# Dub quality report: `{ev.manifest.split_dir}`",
        "",
        f"Split `{ev.split}`: {len(ev.clips)} clips in {', '.join(f'`{f.name}`' for f in ev.manifest.files)} "
        "(the last row of each clip is its state). "
        f"Profile: {', '.join(profiles) or '–'}. Whisper: {translating_whispers(ev)}. "
        f"Written {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        "",
        "## Summary",
        "",
        table(["measure", "value"], summary_rows(ev)),
        "",
        *_coverage_section(ev, out_dir),
        "## Translation quality",
        "",
        "Whisper's English (segment texts joined per clip) scored with sacrebleu against the clip's `en_text`. "
        "**`en_text` is the annotation's ASR transcript of the English dub, not a human reference "
        "translation**: the scores measure agreement with the professional dub's wording, with its ASR errors.",
        "",
        table(["scope", "clips", "BLEU", "chrF"], [
            ["corpus", len(scored), fmt(metrics.bleu(hyps, refs) if scored else None, 1),
             fmt(metrics.chrf(hyps, refs) if scored else None, 1)],
            ["per clip, mean", len(scored), fmt(m(c["bleu"] for c in scored), 1),
             fmt(m(c["chrf"] for c in scored), 1)],
        ]),
        "",
        histogram(out_dir, "bleu", [c["bleu"] for c in scored], "sentence BLEU per clip", "BLEU"),
        "",
        "## Speaker similarity",
        "",
        "Resemblyzer (GE2E) cosine between each synthesis and its reference vocals, as the runner recorded it"
        + (", and recomputed here between each `seg-NN.flac` and the segment's slot of the kept `vocals.wav`."
           if ev.similarity_recomputed else "; no `vocals.wav` was kept (`--keep`), so it is not recomputed."),
        "",
        table(["source", "segments", "mean", "median", "min", "max"], [
            ["manifest", *stats([metrics.as_float(s.get("similarity")) for s in synth], 3)],
            ["recomputed", *stats([s.get("similarity_recomputed") for s in synth], 3)],
        ]),
        "",
        histogram(out_dir, "similarity", [metrics.as_float(s.get("similarity")) for s in synth],
                   "speaker similarity", "cosine"),
        "",
        "## Timing",
        "",
        "Length ratio = synthesis seconds / slot seconds (above 1 overruns the source segment). Overlap = "
        "seconds a placed synthesis runs into the next one. Coverage = summed speech seconds / clip seconds: "
        "synthesized speech for the dub, diarized segment slots for the source.",
        "",
        table(["measure", "n", "mean", "median", "min", "max"], [
            ["length ratio (segments)", *stats([s["length_ratio"] for s in synth])],
            ["overlap with next, s (segments)", *stats([s["overlap_next"] for s in synth])],
            ["coverage, dub (clips)", *stats([c["coverage_dub"] for c in done])],
            ["coverage, source (clips)", *stats([c["coverage_source"] for c in done])],
        ]),
        "",
        f"Segments overrunning their slot: {sum((s['length_ratio'] or 0) > 1 for s in synth)} of {len(synth)}; "
        f"overlapping the next synthesis: {sum((s['overlap_next'] or 0) > 0 for s in synth)}.",
        "",
        histogram(out_dir, "length_ratio", [s["length_ratio"] for s in synth], "synthesis / slot length", "ratio"),
        "",
        "## Loudness and mixing",
        "",
        "Integrated loudness (ITU-R BS.1770, pyloudnorm) of the dub and the source; "
        f"from the manifest for {sum(c.get('lufs_from') == 'manifest' for c in done)} clips, "
        f"measured from the files for {sum(c.get('lufs_from') == 'measured' for c in done)}.",
        "",
        table(["measure", "clips", "mean", "median", "min", "max"], [
            ["source LUFS", *stats([c["source_lufs"] for c in done], 1)],
            ["dub LUFS", *stats([c["dub_lufs"] for c in done], 1)],
            ["dub − source, LU", *stats([c["lufs_difference"] for c in done], 1)],
            ["mixing ratio", *stats([metrics.as_float(c.get("mixing_ratio")) for c in done], 3)],
        ]),
        "",
        "Mixing ratio source: " + (", ".join(f"{k} {v}" for k, v in ratio_sources.most_common()) or "–") + ".",
        "",
        histogram(out_dir, "lufs_difference", [c["lufs_difference"] for c in done], "dub − source loudness", "LU"),
        "",
        "## Intelligibility",
        "",
        (f"Each synthesis transcribed by {ev.asr}; WER (jiwer) against the text it was asked to say, "
         "both lower-cased, punctuation stripped, numbers spelled out. "
         f"Corpus WER {fmt(wer_all.wer, 3)} over {wer_all.reference_words} words "
         f"({wer_all.substitutions} substitutions, {wer_all.deletions} deletions, {wer_all.insertions} insertions)."
         if ev.asr else "Not measured: the report was made with `--no-asr`."),
        "",
        *(["Segments with the highest WER:", "", table(["clip", "segment", "WER", "asked to say", "heard"], [
            [s["clip_id"], s["index"], fmt(s["wer"]), s["text"], s["asr_text"]]
            for s in sorted(asr_rows, key=lambda s: -(s["wer"] or 0.0))[:5]]), ""] if asr_rows else []),
        "## Run cost",
        "",
        f"{len(done)} clips done, {fmt(audio_seconds, 1)} s of audio, {fmt(processing, 1)} s of stage time: "
        f"real-time factor {fmt(metrics.real_time_factor(processing, audio_seconds), 3)} (stage seconds / audio "
        f"seconds; below 1 is faster than real time)"
        + (f"; wall clock from first start to last finish {fmt(span, 1)} s "
           f"(RTF {fmt(metrics.real_time_factor(span, audio_seconds), 3)} with all workers)" if span else "") + ".",
        "",
        *([table(["stage", "seconds", "share"], [[k, f"{v:.1f}", f"{100 * s:.1f}%"] for k, (v, s) in totals.items()]),
           "", stage_chart(out_dir, totals)] if totals else ["No done clip has stage times."]),
        "",
        "Outcome per clip (reason when not done):",
        "",
        table(["outcome", "clips", "example"], [
            [k, n, next((str(c.get("error") or "") for c in ev.clips
                         if k != DONE and str(c.get("reason") or c.get("status")) == k), "")[:160]]
            for k, n in ev.manifest.outcomes().most_common()]),
        "",
    ]
    if models:
        rows = [[k, f"`{v[:16]}…`"] for k, v in sorted(models.items())]
        out += ["## Models", "", table(["model", "sha256"], rows), ""]
    if ev.notes:
        out += ["## Notes", "", *[f"- {n}" for n in ev.notes], ""]
    out += ["## Files", "", "- `clips.csv`: one row per clip, every number above per clip",
            "- `segments.csv`: one row per segment of the done clips", ""]
    return "\n".join(out)


def write_report(ev: Evaluation, out_dir: str | Path) -> Path:
    """Write ``report.md``, ``clips.csv``, ``segments.csv`` and ``plots/*.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    write_csv(out_dir / "clips.csv", ev.clips, metrics.CLIP_FIELDS)
    write_csv(out_dir / "segments.csv", ev.segments, metrics.SEGMENT_FIELDS)
    report = out_dir / "report.md"
    atomic_write_text(report, render_report(ev, out_dir))
    return report
