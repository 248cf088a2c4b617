"""What the dub says on real lines (tests/support/real_lines.py), with the offline profile as shipped.

The six reference lines under two backings (one of each music file): the dub's English scores within 2 chrF
points of the same Whisper on the clean line (what the model gives is not lost on the way). The J-Moshi dialogues
cut into single-speaker lines: none is spoken as a stock phrase Whisper invents. No line whose decodings gave text
is lost to loops. Music alone gets no line. One pipeline is loaded for the module; ``bench/adequacy.py`` measures
the same on every backing, step by step.
"""

from __future__ import annotations

import pytest

from baseline_dub.pipeline import DubInput, DubPipeline
from baseline_dub.report.metrics import chrf
from baseline_dub.stages.translate.base import LOOPS
from baseline_dub.stages.translate.hallucination import stock_phrases
from support import real_lines

pytestmark = [pytest.mark.weights, pytest.mark.slow]  # the offline weights on ../shared's audio; minutes
BACKINGS = (real_lines.BACKINGS[1], real_lines.BACKINGS[4])  # Vibe Ace from 23 s, Brahms from 16 s


@pytest.fixture(scope="module")
def pipe() -> DubPipeline:
    return DubPipeline("offline", announce=False)


def _dub(pipe: DubPipeline, line: real_lines.Line):
    return pipe.dub(DubInput(audio=line.mix, clip_id=line.name, multi_speaker=False, num_speakers=1))


def _spoken(dub) -> str:
    """What the dub speaks: the texts of the utterances whose synthesis sounds in it."""
    return " ".join(t.text for t, s in zip(dub.translations, dub.syntheses, strict=True)
                    if s is not None and s.audio is not None)


@pytest.fixture(scope="module")
def reference_dubs(pipe):
    return [(line, _dub(pipe, line)) for line in real_lines.reference_lines(BACKINGS)]


@pytest.fixture(scope="module")
def jmoshi_dubs(pipe):
    return [(line, _dub(pipe, line)) for line in real_lines.jmoshi_lines()]


def test_the_dub_says_what_whisper_hears_on_the_clean_line(pipe, reference_dubs):
    clean = {line.clean: pipe.translator.translate(line.clean) for line, _ in reference_dubs}  # 6 files
    refs = [line.reference for line, _ in reference_dubs]
    heard_clean = chrf([clean[line.clean].heard or clean[line.clean].text for line, _ in reference_dubs], refs)
    dubbed = chrf([_spoken(dub) for _, dub in reference_dubs], refs)
    assert dubbed >= heard_clean - 2.0, (dubbed, heard_clean, [_spoken(d) for _, d in reference_dubs])
    assert all(_spoken(dub) for _, dub in reference_dubs)  # every line spoken


def test_no_real_line_is_spoken_as_a_stock_phrase(reference_dubs, jmoshi_dubs):
    bag = stock_phrases()
    assert len(jmoshi_dubs) >= 20
    stock = [(line.name, _spoken(dub)) for line, dub in reference_dubs + jmoshi_dubs if bag.section(_spoken(dub))]
    assert stock == []
    assert sum(bool(_spoken(dub)) for _, dub in jmoshi_dubs) >= 0.75 * len(jmoshi_dubs)  # not by saying nothing


def test_no_line_whose_decodings_gave_text_is_lost_to_loops(reference_dubs, jmoshi_dubs):
    lost = [(line.name, t.heard) for line, dub in reference_dubs + jmoshi_dubs for t in dub.translations
            if t.skipped in LOOPS and t.heard]
    assert lost == []


def test_what_was_delooped_or_skipped_keeps_whisper_text_in_the_record(reference_dubs, jmoshi_dubs):
    segments = [s for _, dub in reference_dubs + jmoshi_dubs for s in dub.record().segments]
    assert all(s.heard for s in segments if s.delooped or s.skipped in ("hallucination", *LOOPS))
    assert all(s.heard is None for s in segments if s.synthesized and not s.delooped)


def test_music_alone_gets_no_line(pipe):
    """The ``music`` clip of tests/support/real_dataset.py (Brahms from 12 s, through an mp3), where Whisper hears
    "I'm sorry." in the separated vocals."""
    line = next(m for m in real_lines.non_speech_lines() if m.name == "music@brahms+12.mp3")
    dub = _dub(pipe, line)
    assert dub.segments, "the vocals of this clip hold a stretch VAD takes for speech: the case under test"
    assert dub.nothing_spoken is not None and _spoken(dub) == "", [(t.heard, t.skipped) for t in dub.translations]
