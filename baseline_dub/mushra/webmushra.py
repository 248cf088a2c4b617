"""MUSHRA for webMUSHRA: the condition names, the test's YAML config, its item CSV and README.

A built test is one folder, ``DIR`` (its name is the test's name), meant to be copied whole into
webMUSHRA's ``configs/`` folder: ``DIR/<name>.yaml`` is the config, opened as
``/?config=<name>/<name>.yaml``; ``DIR/itemNN/<condition>.wav`` are the stimuli, named in the YAML by
their path from webMUSHRA's root (``configs/<name>/itemNN/<condition>.wav``), which is how webMUSHRA
resolves audio paths. webMUSHRA writes ratings to ``results/<testId>/mushra.csv``; the hidden reference
is rated as ``reference`` and every other condition under its key in ``stimuli``, so the keys here are
the condition names themselves (``baseline``, ``anchor35``, ``anchor70``, extra systems). Stimuli are
never labelled on screen (``showConditionNames`` is left unset) and their order is shuffled per page
(``randomize: true``); the item pages are shuffled too (a ``random`` page list).

The stimuli are made by :mod:`baseline_dub.mushra.stimuli`; results are analysed by
:mod:`baseline_dub.mushra.analysis`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baseline_dub.atomic import atomic_write_text as write_text_atomic
from baseline_dub.errors import ConfigError
from baseline_dub.mushra.yaml_block import dump_block_yaml

REFERENCE = "reference"
BASELINE = "baseline"
LOW_ANCHOR = "anchor35"
MID_ANCHOR = "anchor70"
ANCHORS = (LOW_ANCHOR, MID_ANCHOR)
RESERVED_CONDITIONS = (REFERENCE, BASELINE, *ANCHORS)
# webMUSHRA's strict mode (the default) refuses more than 12 conditions (the ``stimuli`` of a page, the
# hidden reference not counted) and a reference longer than 12 s.
MAX_CONDITIONS = 12
MAX_SECONDS = 12.0
# Rates webMUSHRA's own anchor filters are tabled for (we render our own anchors). The audio device need
# not match: the browser's decodeAudioData resamples every file to the device's rate, and webMUSHRA's
# rate check compares those decoded buffers (in headless Chromium the context ran at 44100 Hz and the
# 48000 Hz stimuli played; tests/test_webmushra_client.py).
SUPPORTED_RATES = (16000, 22050, 32000, 44100, 48000)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
STIMULI_CSV = "stimuli.csv"
STIMULI_COLUMNS = ("item", "clip_id", "condition", "file", "seconds", "lufs")

INTRO = (
    "You will hear {n} short scenes from Japanese anime. For each scene, the <b>reference</b> is its "
    "official English dub. Rate how well each condition matches the reference on the 0-100 scale: "
    "voice, timing, clarity and mix all count. One condition is the reference itself, hidden: "
    "rate it 100 when you find it. Listen on headphones, at one comfortable volume throughout."
)
PAGE_CONTENT = (
    "Rate each condition against the reference (the official English dub of this scene). "
    "Any audible difference from the reference counts as an impairment."
)


@dataclass(frozen=True)
class StimulusFile:
    """One written stimulus: its condition name, path relative to the test folder, length, loudness."""

    condition: str
    file: str
    seconds: float
    lufs: float


@dataclass(frozen=True)
class MushraItem:
    """One page of the test: the clip it comes from and its stimuli (the reference first)."""

    item: str
    clip_id: str
    stimuli: tuple[StimulusFile, ...]

    def file_of(self, condition: str) -> str:
        for stimulus in self.stimuli:
            if stimulus.condition == condition:
                return stimulus.file
        raise KeyError(condition)


def check_test_name(name: str) -> str:
    """Return ``name`` if it can be a webMUSHRA test folder and id, else raise ``ConfigError``."""
    if not _NAME_RE.match(name):
        raise ConfigError(
            f"test name {name!r} (the output folder's name) must be letters, digits, '-' or '_' "
            "because it becomes a webMUSHRA folder, URL and test id; choose another --out folder name")
    return name


def check_condition_names(systems: Sequence[str]) -> None:
    """Refuse extra system names that are reserved, repeated, unsafe as file names, or too many."""
    for name in systems:
        if not _NAME_RE.match(name):
            raise ConfigError(f"system name {name!r} must be letters, digits, '-' or '_' (it names a file)")
        if name in RESERVED_CONDITIONS:
            raise ConfigError(f"system name {name!r} is reserved ({', '.join(RESERVED_CONDITIONS)}); "
                              "choose another NAME in --system NAME=DIR")
    if len(set(systems)) != len(systems):
        raise ConfigError(f"--system names must differ, got {list(systems)}")
    count = 1 + len(systems) + len(ANCHORS)
    if count > MAX_CONDITIONS:
        raise ConfigError(
            f"{count} conditions per page (baseline, {len(systems)} systems, 2 anchors) exceeds webMUSHRA's "
            f"and BS.1534-3's limit of {MAX_CONDITIONS}; give at most {MAX_CONDITIONS - 3} --system options")


def results_id(name: str) -> str:
    """The folder webMUSHRA's ``service/write.php`` writes results to (it lower-cases the test id)."""
    return name.lower()


def webmushra_config(name: str, title: str, items: Sequence[MushraItem]) -> dict[str, Any]:
    """The webMUSHRA config: a welcome page, one shuffled ``mushra`` page per item, a finish page.

    Anchors are our own rendered files (``createAnchor35/70: false``), so webMUSHRA adds none.
    """
    root = f"configs/{name}"
    pages: list[Any] = [{"type": "generic", "id": "intro", "name": "Welcome",
                         "content": INTRO.format(n=len(items))}]
    trials: list[Any] = ["random"]
    for item in items:
        conditions = [s for s in item.stimuli if s.condition != REFERENCE]
        if len(conditions) > MAX_CONDITIONS:
            raise ConfigError(f"{item.item}: {len(conditions)} conditions; webMUSHRA allows at most {MAX_CONDITIONS}")
        too_long = [s.file for s in item.stimuli if s.seconds > MAX_SECONDS + 1e-9]
        if too_long:
            raise ConfigError(f"{item.item}: {', '.join(too_long)} longer than {MAX_SECONDS:g} s; "
                              "webMUSHRA refuses it (build with --max-seconds 12 or less)")
        trials.append({
            "type": "mushra",
            "id": item.item,
            "name": "Rate the dubbed scene",
            "content": PAGE_CONTENT,
            "showWaveform": True,
            "enableLooping": True,
            "reference": f"{root}/{item.file_of(REFERENCE)}",
            "createAnchor35": False,
            "createAnchor70": False,
            "randomize": True,
            "stimuli": {s.condition: f"{root}/{s.file}" for s in conditions},
        })
    pages.append(trials)
    pages.append({"type": "finish", "name": "Thank you", "content": "Thank you for taking part!",
                  "popupContent": "Your ratings were saved. Goodbye.",
                  "showResults": True, "writeResults": True})
    return {
        "testname": title,
        "testId": results_id(name),
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": True,
        "remoteService": "service/write.php",
        "pages": pages,
    }


def _readme(name: str, items: Sequence[MushraItem], rate: int) -> str:
    conditions = [s.condition for s in items[0].stimuli] if items else []
    return f"""webMUSHRA listening test "{name}": {len(items)} items, conditions {', '.join(conditions)}
(reference = the hidden reference, the gold English dub; anchor35/anchor70 = 3.5/7 kHz low-pass anchors).

1. Get webMUSHRA (https://github.com/audiolabs/webMUSHRA) and serve its root folder with PHP,
   e.g. `cd webMUSHRA && php -S localhost:8000` (or its Docker setup).
2. Copy this whole folder into webMUSHRA's configs/ folder, keeping its name "{name}":
       cp -r path/to/{name} /path/to/webMUSHRA/configs/
   (audio paths in {name}.yaml are configs/{name}/itemNN/<condition>.wav, relative to webMUSHRA's root).
3. Open http://localhost:8000/?config={name}/{name}.yaml
   All stimuli are {rate} Hz. The browser resamples them to the audio output's rate when it differs
   (webMUSHRA accepts that); to avoid resampling, build with --rate set to the listeners' output rate.
4. Ratings are appended to webMUSHRA/results/{results_id(name)}/mushra.csv (the web server must be able to
   write webMUSHRA/results/; on PHP 8 webMUSHRA's write.php answers HTTP 500 after writing it, a bug of
   its own that the MUSHRA ratings survive). Analyse them with
       baseline-dub mushra analyze /path/to/webMUSHRA/results/{results_id(name)}/mushra.csv --out DIR
{STIMULI_CSV} lists item, clip_id, condition, file (relative to this folder), seconds and lufs;
build.json records how the stimuli were made and what made each system's dubs (the profile, Whisper and model
sha256s its run's manifest rows record, under "provenance"); skipped.csv lists the clips left out and why.
"""


def _stimuli_csv(items: Sequence[MushraItem]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(STIMULI_COLUMNS)
    for item in items:
        for s in item.stimuli:
            writer.writerow([item.item, item.clip_id, s.condition, s.file, f"{s.seconds:.6f}", f"{s.lufs:.2f}"])
    return buf.getvalue()


def write_test_files(out: Path, title: str, items: Sequence[MushraItem], rate: int) -> Path:
    """Write ``<name>.yaml`` (block YAML webMUSHRA's own reader reads), ``stimuli.csv`` and ``README.txt``.

    Returns the YAML's path. PyYAML's ``safe_dump`` is not used: webMUSHRA's yaml.js misreads its compact
    nested lists (see :mod:`baseline_dub.mushra.yaml_block`).
    """
    name = check_test_name(out.name)
    config = webmushra_config(name, title, items)
    path = out / f"{name}.yaml"
    write_text_atomic(path, dump_block_yaml(config))
    write_text_atomic(out / STIMULI_CSV, _stimuli_csv(items))
    write_text_atomic(out / "README.txt", _readme(name, items, rate))
    return path


def mushra_pages(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``mushra`` page of a webMUSHRA config, nested ``random`` lists flattened."""
    found: list[dict[str, Any]] = []

    def walk(pages: list[Any]) -> None:
        for page in pages:
            if isinstance(page, list):
                walk([p for p in page if p != "random"])
            elif isinstance(page, dict) and page.get("type") == "mushra":
                found.append(page)

    walk(config.get("pages", []))
    return found
