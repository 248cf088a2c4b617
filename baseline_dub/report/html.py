"""``report.html``: the report to listen through, one file that works opened from disk or served over HTTP.

The page holds the summary and the plots of ``report.md``, then one row per clip: audio players for the JP
source, the gold EN clip (when the dataset has it), our dub and, when kept, the stems; the dubbed video when
the run made one; the subtitles (``.en.vtt`` on the dub and the video, ``.ja.vtt`` on the source) shown under
the players; the segment table (times, speaker, Whisper text and, for a skipped or delooped line, what Whisper
heard, voice and method, similarity, overrun, cut, stretch, skip reason); the clip's status and reason. Rows
sort and filter by status, BLEU, similarity and overrun in the page (``static/report.js``, inlined with
``static/report.css``: nothing is fetched from outside).

Media come by relative links: the run's files where they are; the sources from an extracted dataset folder
where they are (which works from disk, not when only the run folder is served over HTTP), and from an archive
(which has no file to link) copied into ``media/`` beside the report. ``copy_audio`` copies them in every case, so
that the run folder holds everything the page plays: to serve it over HTTP, or to share it.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from baseline_dub.atomic import atomic_write_bytes, atomic_write_text
from baseline_dub.errors import DataError
from baseline_dub.outputs.record import ClipRecord, Status
from baseline_dub.report.evaluate import Evaluation
from baseline_dub.report.formatting import fmt
from baseline_dub.report.markdown import summary_rows

if TYPE_CHECKING:
    from baseline_dub.data.dataset import Dataset

STATIC = Path(__file__).resolve().parent / "static"
STATUSES = tuple(str(s) for s in Status)
# Leading bytes -> extension of a copied source (the name inside an archive carries no extension here).
_MAGIC = ((b"ID3", ".mp3"), (b"\xff\xfb", ".mp3"), (b"\xff\xf3", ".mp3"), (b"\xff\xf2", ".mp3"), (b"RIFF", ".wav"),
          (b"fLaC", ".flac"), (b"OggS", ".ogg"))
SEGMENT_COLUMNS = ("#", "start–end", "placed", "speaker", "text (Whisper)", "voice", "method", "similarity",
                   "overrun s", "cut s", "stretch", "skipped")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _extension(data: bytes) -> str:
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    return ".m4a" if data[4:8] == b"ftyp" else ".bin"


class Media:
    """Turns files into links relative to the report folder; copies sources in when they have no file."""

    def __init__(self, out_dir: Path, run_dir: Path, dataset: Dataset | None, copy_audio: bool) -> None:
        self.out_dir, self.run_dir, self.dataset, self.copy_audio = out_dir, run_dir, dataset, copy_audio
        self.copied = 0

    def link(self, path: Path) -> str:
        rel = os.path.relpath(path.resolve(), self.out_dir.resolve())
        return quote(Path(rel).as_posix())

    def run_file(self, rel: str | None) -> str | None:
        """A link to a file of the run (a manifest path relative to the run folder), None when absent."""
        if not rel:
            return None
        path = self.run_dir / rel
        return self.link(path) if path.is_file() else None

    def source(self, clip_id: str | None, tag: str) -> str | None:
        """A link to a source clip's audio (JP or EN id): the dataset's own file, or a copy in ``media/``."""
        if self.dataset is None or not clip_id:
            return None
        source = self.dataset.source
        path = source.path(clip_id) if hasattr(source, "path") else None
        if path is not None and not self.copy_audio:
            return self.link(path)
        found = source.read(clip_id)
        if found is None:
            return None
        data = found[0]
        target = self.out_dir / "media" / f"{clip_id}.{tag}{_extension(data)}"
        if not (target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data):
            atomic_write_bytes(target, data)
        self.copied += 1
        return self.link(target)


def _track(src: str | None, lang: str, label: str, inline_id: str) -> str:
    if not src:
        return ""
    return (f'<track kind="subtitles" srclang="{lang}" label="{_e(label)}" src="{src}" '
            f'data-inline="{inline_id}">')


def _player(kind: str, label: str, src: str | None, *, track: str = "", lang: str = "", video: bool = False) -> str:
    if not src:
        return ""
    tag = "video" if video else "audio"
    cue = f'<div class="cue" data-lang="{lang}"></div>' if track and not video else ""
    return (f'<div class="player" data-kind="{kind}"><div class="label">{_e(label)}</div>'
            f'<{tag} controls preload="metadata" src="{src}">{track}</{tag}>{cue}</div>')


def _text_cell(segment: dict[str, Any]) -> str:
    """What the dub says, and Whisper's own text under it when that differs (a skipped or delooped line)."""
    heard = segment.get("heard")
    if not heard:
        return _e(segment.get("text"))
    how = "delooped from" if segment.get("delooped") else "Whisper heard"
    return f'{_e(segment.get("text"))}<div class="heard">{how}: {_e(heard)}</div>'


def _segment_table(segments: list[dict[str, Any]]) -> str:
    if not segments:
        return ""
    rows = []
    for s in segments:
        over = s.get("overrun_seconds") or 0.0
        placed = s.get("placed_start")
        rows.append(
            f'<tr class="{"skipped" if s.get("skipped") else ""}"><td class="num">{s.get("index", "")}</td>'
            f'<td class="num">{fmt(s.get("start"))}–{fmt(s.get("end"))}</td><td class="num">{fmt(placed)}</td>'
            f'<td>{_e(s.get("speaker"))}</td><td>{_text_cell(s)}</td><td>{_e(s.get("voice"))}</td>'
            f'<td>{_e(s.get("voice_method"))}</td><td class="num">{fmt(s.get("similarity"), 3)}</td>'
            f'<td class="num{" overrun" if over > 0 else ""}">{fmt(over)}</td>'
            f'<td class="num">{fmt(s.get("cut_seconds"))}</td><td class="num">{fmt(s.get("stretch"))}</td>'
            f'<td>{_e(s.get("skipped"))}</td></tr>')
    head = "".join(f"<th>{c}</th>" for c in SEGMENT_COLUMNS)
    return f'<table class="segments"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _attr(value: float | None) -> str:
    return "" if value is None else f"{float(value):.6g}"


def _clip_section(order: int, clip: dict[str, Any], row: ClipRecord, segments: list[dict[str, Any]],
                  media: Media, vtts: list[str]) -> str:
    """One clip's section: ``clip`` its evaluated row (``clips.csv``), ``row`` its record, ``segments`` its
    evaluated segment rows."""
    cid = str(clip["clip_id"])
    status = str(clip.get("status") or "")
    subs = {k: v for k, v in vars(row.subtitles).items() if v} if row.subtitles is not None else {}
    overruns = [float(s.get("overrun_seconds") or 0.0) for s in segments if not s.get("skipped")]
    gold_id = None
    if media.dataset is not None:
        try:
            gold_id = media.dataset.clip(cid).en_clip
        except DataError:  # a run of another dataset: no gold to show
            gold_id = None

    def vtt_track(kind: str, lang: str, label: str) -> str:
        src = media.run_file(subs.get(kind))
        if not src:
            return ""
        inline = f"vtt-{len(vtts)}"
        text = (media.run_dir / subs[kind]).read_text(encoding="utf-8").replace("</", "<\\/")
        vtts.append(f'<script type="text/vtt" id="{inline}">\n{text}</script>')
        return _track(src, lang, label, inline)

    en_track = vtt_track("en_vtt", "en", "English (dub)")
    players = [
        _player("source", "JP source", media.source(cid, "jp"), track=vtt_track("ja_vtt", "ja", "Japanese (jp_text)"),
                lang="ja"),
        _player("gold", "EN gold dub", media.source(gold_id, "en")),
        _player("dub", "our dub", media.run_file(row.output), track=en_track, lang="en"),
    ]
    parts = row.parts
    if parts:
        players += [_player(n, f"stem: {n}", media.run_file(f"{parts}/{n}.wav")) for n in ("vocals", "backing")]
    video = media.run_file(row.video.path if row.video is not None else None)
    if video:
        players.append(_player("video", "dubbed video", video, track=vtt_track("en_vtt", "en", "English (dub)"),
                               video=True))
    files = [(name, media.run_file(subs.get(kind))) for kind, name in
             (("en_vtt", ".en.vtt"), ("en_srt", ".en.srt"), ("ja_vtt", ".ja.vtt"))]
    links = "".join(f'<a href="{src}">{name}</a>' for name, src in files if src)
    reason = clip.get("error") or row.message
    video_note = row.video.error if row.video is not None else None
    coverage = clip.get("speech_coverage")
    facts = (f'BLEU {fmt(clip.get("bleu"), 1)} · similarity {fmt(clip.get("similarity"), 3)} · '
             f'speech dubbed {"–" if coverage is None else f"{100 * float(coverage):.0f} %"} of '
             f'{fmt(clip.get("speech_seconds"), 1)} s · speakers {fmt(clip.get("speakers_found"), 0)} found / '
             f'{fmt(clip.get("speakers_expected"), 0)} annotated · '
             f'max overrun {fmt(max(overruns) if overruns else None)} s · {fmt(clip.get("duration"))} s')
    flags = row.quality_flags
    return (
        f'<section class="clip" id="clip-{order}" data-clip="{_e(cid)}" data-order="{order}" '
        f'data-status="{_e(status)}" '
        f'data-bleu="{_attr(clip.get("bleu"))}" data-similarity="{_attr(clip.get("similarity"))}" '
        f'data-coverage="{_attr(coverage)}" '
        f'data-overrun="{_attr(max(overruns) if overruns else None)}">'
        f'<h3>{_e(cid)} <span class="status status-{_e(status)}">{_e(status)}</span></h3>'
        f'<div class="facts">{facts}</div>'
        + (f'<div class="reason">{_e(clip.get("reason"))}: {_e(reason)}</div>' if status != "done" and reason else "")
        + "".join(f'<div class="reason">{_e(k)}: {_e(v)}</div>' for k, v in flags.items())
        + (f'<div class="reason">video: {_e(video_note)}</div>' if video_note else "")
        + f'<div class="players">{"".join(p for p in players if p)}</div>'
        + (f'<div class="files">subtitles: {links}</div>' if links else "")
        + (f'<div class="texts">JP: {_e(row.jp_text)}<br>EN gold: {_e(row.en_text)}</div>'
           if row.jp_text or row.en_text else "")
        + _segment_table(segments) + "</section>")


def _controls(statuses: Iterable[str]) -> str:
    options = "".join(f'<option value="{_e(s)}">{_e(s)}</option>' for s in statuses)
    sorts = [("order:asc", "run order"), ("bleu:desc", "BLEU, high first"), ("bleu:asc", "BLEU, low first"),
             ("similarity:desc", "similarity, high first"), ("similarity:asc", "similarity, low first"),
             ("overrun:desc", "overrun, most first")]
    return (
        '<div class="controls">'
        f'<label>status <select id="filter-status"><option value="">all</option>{options}</select></label>'
        '<label>BLEU ≥ <input id="filter-bleu" type="number" step="1" min="0" max="100" size="4"></label>'
        '<label>similarity ≥ <input id="filter-similarity" type="number" step="0.05" min="-1" max="1" size="4">'
        '</label><label><input id="filter-overrun" type="checkbox"> overrunning only</label>'
        '<label>sort <select id="sort">'
        + "".join(f'<option value="{v}">{t}</option>' for v, t in sorts)
        + '</select></label> <span id="shown"></span></div>')


def render_html(ev: Evaluation, out_dir: Path, dataset: Dataset | None = None, copy_audio: bool = False) -> str:
    """The page's HTML; copies source audio into ``out_dir/media`` when it has no file to link (or
    ``copy_audio``). Run ``render_report`` first: the page shows the plots it writes into ``out_dir/plots``."""
    run_dir = ev.manifest.split_dir.parent
    media = Media(out_dir, run_dir, dataset, copy_audio)
    by_clip: dict[str, list[dict[str, Any]]] = {}
    for s in ev.segments:
        by_clip.setdefault(str(s["clip_id"]), []).append(s)
    vtts: list[str] = []
    sections = [_clip_section(i, c, ev.manifest.clips[c["clip_id"]], by_clip.get(str(c["clip_id"]), []),
                              media, vtts) for i, c in enumerate(ev.clips)]
    plots = sorted((out_dir / "plots").glob("*.png")) if (out_dir / "plots").is_dir() else []
    summary = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary_rows(ev))
    present = [s for s in STATUSES if any(c.get("status") == s for c in ev.clips)]
    present += sorted({str(c.get("status")) for c in ev.clips} - set(present))
    copied = (f" {media.copied} source clips were copied into <code>media/</code>." if media.copied else "")
    css = (STATIC / "report.css").read_text(encoding="utf-8")
    js = (STATIC / "report.js").read_text(encoding="utf-8")
    title = f"Dub report: {ev.manifest.split_dir.name}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(title)}</title>",
        '<link rel="icon" href="data:,">',  # no favicon request: nothing is fetched but the run's own files
        f"<style>\n{css}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Run folder <code>{_e(run_dir)}</code>, split <code>{_e(ev.split)}</code>: {len(ev.clips)} clips. "
        "Every number is in <code>clips.csv</code> and <code>segments.csv</code>, explained in "
        f'<a href="report.md">report.md</a>. Media are linked relative to this page.{copied}</p>',
        "<h2>Summary</h2>", f"<table>{summary}</table>",
        '<div class="plots">' + "".join(f'<img src="{media.link(p)}" alt="{_e(p.stem)}">' for p in plots) + "</div>",
        "<h2>Clips</h2>", _controls(present), '<div id="clips">', *sections, "</div>", *vtts,
        f"<script>\n{js}</script>", "</body></html>", ""])


def write_html(ev: Evaluation, out_dir: str | Path, dataset: Dataset | None = None,
               copy_audio: bool = False) -> Path:
    """Write ``out_dir/report.html`` (and ``media/`` copies of the sources it cannot link); returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out_dir / "report.html", render_html(ev, out_dir, dataset, copy_audio))
