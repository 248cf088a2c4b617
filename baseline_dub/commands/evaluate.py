"""``baseline-dub evaluate``: the automatic quality report of a split run (report.md, report.html, clips.csv,
segments.csv)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from baseline_dub.commands import add_data_options, add_model_options

if TYPE_CHECKING:
    from baseline_dub.config import Config
    from baseline_dub.models.store import Store
    from baseline_dub.report.evaluate import Manifest


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evaluate", help="quality report of a split run: translation, similarity, timing, "
                                             "loudness, intelligibility, cost")
    parser.add_argument("--run", required=True, help="the run's output folder (the --out of `baseline-dub run`)")
    parser.add_argument("--split", default=None, help="split to evaluate (default: the only one in --run)")
    add_data_options(parser, "dataset folder, to measure source loudness when the manifest lacks it")
    parser.add_argument("--out", default=None, help="report folder (default: RUN/SPLIT/report)")
    parser.add_argument("--copy-audio", action="store_true",
                        help="copy the source clips (JP and gold EN) into REPORT/media/ so that the run folder holds "
                             "all report.html plays (to serve it over HTTP or share it); sources in an archive are "
                             "always copied, those of an extracted dataset folder are otherwise linked where they are")
    parser.add_argument("--no-asr", action="store_true", help="skip the English ASR of each synthesis (no WER)")
    # The ASR and speaker models follow the run, so that a run evaluates with the weights it was made with
    # (a paper-only models folder suffices); --profile offline measures runs of either profile alike, and
    # --whisper NAME picks the English ASR (large-v3-turbo included: it transcribes).
    add_model_options(parser, profile_default=None, profile_help=(
        "profile whose English ASR (its Whisper) and speaker encoder measure the run (default: the run's own, "
        "read from its manifest rows, so the models folder that made the run suffices; auto when no row "
        "records one); pass one to measure runs of different profiles with the same instruments"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baseline_dub.errors import DataError
    from baseline_dub.models.store import Store
    from baseline_dub.report.evaluate import Manifest, evaluate_run, find_split, load_english_asr
    from baseline_dub.report.html import write_html
    from baseline_dub.report.markdown import write_report
    from baseline_dub.stages.speaker import load_speaker_encoder

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run folder; pass the --out folder of `baseline-dub run`")
    split = find_split(run_dir, args.split)
    has_vocals = any((run_dir / split).rglob("vocals.wav"))
    encoder, transcribe, asr_name = None, None, None
    if has_vocals or not args.no_asr:  # a model measures something: load the profile's
        store = Store()
        config = _config(args, Manifest.open(run_dir / split), store)
        if has_vocals:
            encoder = load_speaker_encoder(config, store)
        if not args.no_asr:
            transcribe, asr_name = load_english_asr(config, store)
    evaluation = evaluate_run(run_dir, split, data_dir=args.data, annotations=args.annotations,
                              transcribe=transcribe, asr_name=asr_name, encoder=encoder)
    out_dir = Path(args.out) if args.out else run_dir / split / "report"
    report = write_report(evaluation, out_dir)
    page = write_html(evaluation, out_dir, _dataset(args.data, args.annotations), copy_audio=args.copy_audio)
    done = evaluation.manifest.outcomes().get("done", 0)
    print(f"{report}: {len(evaluation.clips)} clips ({done} done), {len(evaluation.segments)} segments",
          file=sys.stderr)
    print(f"{page}: open it in a browser (from disk, or serve {run_dir} with `python -m http.server`)",
          file=sys.stderr)
    print(report)
    return 0


def _config(args: argparse.Namespace, manifest: Manifest, store: Store) -> Config:
    """The configuration whose models measure the run: ``--profile``, else the profile its rows record."""
    from baseline_dub.config import load_config
    from baseline_dub.errors import ModelMissingError
    from baseline_dub.models.profiles import resolve_config
    from baseline_dub.models.whispers import missing_whisper, with_whisper
    from baseline_dub.report.evaluate import run_profile

    profile = args.profile
    if profile is None:
        recorded = run_profile(manifest)
        profile = recorded or "auto"
        why = "the run's, from its manifest" if recorded else "no row of the run records a profile"
        print(f"evaluate: measuring with the {profile} profile's models ({why}; --profile to choose)",
              file=sys.stderr)
    if profile == "auto":
        return resolve_config(profile, store, args.config, args.device, whisper=args.whisper, task="transcribe")
    config = with_whisper(load_config(profile, args.config, args.device), store, args.whisper, "transcribe")
    if not args.no_asr and args.whisper is not None:  # the chosen ASR is there, or the command that fetches it
        missing = store.missing(config.translate.model_names())
        if missing:
            raise ModelMissingError(str(missing_whisper(config, store, missing)))
    return config


def _dataset(data: str | None, annotations: str | None = None) -> object | None:
    """The dataset the run dubbed (the sample without ``--data``), for the page's source players; None when it
    cannot be opened (the page then has no source players)."""
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.errors import DataError

    try:
        return Dataset.open(data, annotations=annotations)
    except DataError as exc:
        print(f"report.html: no source players ({exc})", file=sys.stderr)
        return None
