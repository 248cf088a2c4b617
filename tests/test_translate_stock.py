"""The bag of stock phrases and delooping (stages/translate/hallucination.py) and how the rules both engines share
use them (batch.with_fallback, batch._best, batch.skip_reason, base.judge), on hostile text."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from baseline_dub.config import load_config
from baseline_dub.stages.translate.base import judge, skip_rules
from baseline_dub.stages.translate.batch import (
    Decoded,
    SkipRules,
    compression_ratio,
    is_stock,
    needs_fallback,
    skip_reason,
    with_fallback,
)
from baseline_dub.stages.translate.hallucination import StockPhrases, deloop, normalize, stock_phrases

BAG = stock_phrases()
RULES = SkipRules(stock_phrases=BAG, stock_unsure_no_speech=0.6, stock_unsure_logprob=-1.0, deloop=True)
OFF = SkipRules()


@dataclass(frozen=True)
class Attempt:
    """What ``with_fallback`` reads of an engine's decoding (either engine's result has these fields)."""

    text: str
    avg_logprob: float = -0.5
    no_speech_prob: float = 0.05
    language: str = "ja"

    @property
    def compression_ratio(self) -> float:
        return compression_ratio(self.text)


def _decoded(text: str, avg_logprob: float = -0.5, no_speech_prob: float = 0.05) -> Decoded:
    return Decoded(text=text.strip(), language="ja", avg_logprob=avg_logprob, no_speech_prob=no_speech_prob,
                   compression_ratio=compression_ratio(text), temperature=0.0)


# -- the normaliser --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Thank you for watching!", "thank you for watching"),
    ("  THANK   you\tfor\nWATCHING...  ", "thank you for watching"),
    ("I\u2019m sorry, I\u2019m sorry!", "i'm sorry"),  # curly apostrophes, a phrase said twice
    ("'Bye', 'bye'", "bye"),  # quotes are not apostrophes inside a word
    ("Subtitles by the Amara.org community", "subtitles by the amara org community"),
    ("ＴＨＡＮＫ ＹＯＵ", "thank you"),  # full-width letters (NFKC)
    ("ご視聴ありがとうございました。ご視聴ありがとうございました。", "ご視聴ありがとうございました"),
    ("♪ ♪ ...!?", ""),
    ("", ""),
    ("go go go go", "go"),
    ("go go stop", "go go stop"),  # only a whole line said again is one phrase
])
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# -- the bag ---------------------------------------------------------------------------------------------------

def test_the_bag_names_its_sources_and_holds_both_sections() -> None:
    from importlib import resources

    header = resources.files("baseline_dub.stages.translate").joinpath("stock_phrases.txt").read_text()
    assert "arXiv:2501.11378" in header and "Baranski" in header and "#928" in header
    assert len(BAG.always) >= 40 and len(BAG.unsure) >= 10
    assert not BAG.always & BAG.unsure
    assert all(normalize(p) == p for p in BAG.always | BAG.unsure)  # stored as they normalise


@pytest.mark.parametrize(("text", "section"), [
    ("Thank you for watching.", "always"),
    ("Thanks for watching! Thanks for watching! Thanks for watching!", "always"),
    ("I'll wait for the next video.", "always"),
    ("This is the end of the video.", "always"),
    ("Please subscribe to my channel.", "always"),
    ("Thank you. Please subscribe.", "always"),  # every piece a stock phrase, one of them `always`
    ("ご視聴ありがとうございました", "always"),
    ("I'm sorry.", "unsure"),
    ("I'm sorry, I'm sorry.", "unsure"),
    ("Thank you very much.", "unsure"),
    ("Bye-bye!", "unsure"),
    ("Thanks, bye.", "unsure"),
    ("I'm sorry for watching over you like that.", None),  # a real line holding stock words
    ("Thank you for watching my sister while I was away.", None),
    ("Thank you for watching. I'll go home now.", None),  # one piece is a real sentence: not a stock line
    ("The king is not pleased with this way of doing things.", None),
    ("これはテスト文です", None),
    ("", None),
    ("...", None),
])
def test_the_section_of_a_line(text: str, section: str | None) -> None:
    assert BAG.section(text) == section


def test_a_bag_file_with_a_mistake_is_refused_with_its_line() -> None:
    assert StockPhrases.parse("# c\n[always]\nThank You, For Watching!\n[unsure]\nSorry\n").always == frozenset(
        {"thank you for watching"})
    with pytest.raises(ValueError, match=r"bag.txt:1: .* outside any section"):
        StockPhrases.parse("thank you\n", "bag.txt")
    with pytest.raises(ValueError, match=r"bag.txt:2: unknown section \[sometimes\]"):
        StockPhrases.parse("[always]\n[sometimes]\n", "bag.txt")
    with pytest.raises(ValueError, match=r"bag.txt:2: '\.\.\.' is no phrase"):
        StockPhrases.parse("[always]\n...\n", "bag.txt")


def test_unsure_phrases_are_stock_only_on_weak_evidence() -> None:
    assert is_stock("I'm sorry.", avg_logprob=-0.4, no_speech_prob=0.61, rules=RULES)  # weak: likely no speech
    assert is_stock("I'm sorry.", avg_logprob=-1.2, no_speech_prob=0.05, rules=RULES)  # weak: unlikely text
    assert not is_stock("I'm sorry.", avg_logprob=-0.4, no_speech_prob=0.05, rules=RULES)  # a line said clearly
    assert is_stock("Thank you for watching.", avg_logprob=-0.1, no_speech_prob=0.0, rules=RULES)  # always
    assert not is_stock("Thank you for watching.", avg_logprob=-2.0, no_speech_prob=0.9, rules=OFF)  # no bag


# -- delooping -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # a loop after what was said first, cut by the token cap mid-copy
    ("If you are talking to me, I will not let you listen to me. I will not let you say it. I will not let you "
     "say it. I will not let you say it. I will not",
     "If you are talking to me, I will not let you listen to me. I will not let you say it."),
    ("I'm going to go to the store. " * 8, "I'm going to go to the store."),  # a pure loop
    ("Okay. Okay. Okay. Okay. Okay. Okay.", "Okay."),  # a loop of one word
    ("Hi. " + "and the " * 30, "Hi. and the"),
    ("Okay, okay, okay, okay, okay! Let's go.", "Okay! Let's go."),  # what follows a loop is kept
    ("ありがとうありがとうありがとうありがとう。", "ありがとう。"),  # a script without spaces
    ("YAYAYAYAYAYAYAYAYAYAYAY", "YA"),  # a loop inside one word
    ("Yeah, yeah, yeah, yeah, yeah", "Yeah"),  # no comma left hanging at the end
    ("Mississippi is far.", "Mississippi is far."),  # letters that repeat are not a loop
    # the copy kept ends a sentence; the last copy, cut inside a word by the token cap, goes
    ("If you are talking to me, I will not let you listen to me. I will not let you listen to me. I will not let "
     "you listen to me.", "If you are talking to me, I will not let you listen to me."),
    ("If you are a human, you can't talk. You can't talk. You can't talk. You can't talk. You can",
     "If you are a human, you can't talk."),
    ("The king is not pleased with this.", "The king is not pleased with this."),  # no loop: unchanged
    ("", ""),
])
def test_deloop(text: str, expected: str) -> None:
    assert deloop(text) == expected


def test_delooping_is_stable() -> None:
    text = "Do you hear me? Do you hear me? Do you hear me? Do you hear"
    assert deloop(deloop(text)) == deloop(text) == "Do you hear me?"


# -- the rules both engines share -------------------------------------------------------------------------------

def test_a_stock_line_is_skipped_as_hallucination_with_its_text_kept() -> None:
    for text in ("Thank you for watching.", "Thank you for watching. " * 6, "I'm sorry. I'm sorry. I'm sorry."):
        out = judge(_decoded(text, avg_logprob=-0.3, no_speech_prob=0.7 if "sorry" in text else 0.1), RULES)
        assert (out.text, out.skipped, out.heard) == ("", "hallucination", text.strip())
    assert judge(_decoded("I'm sorry.", avg_logprob=-0.3), RULES).text == "I'm sorry."  # said clearly: spoken
    assert judge(_decoded("Thank you for watching.", avg_logprob=-0.3), OFF).text == "Thank you for watching."


def test_a_looping_line_is_delooped_and_spoken() -> None:
    loop = "I don't want to go. I don't want to go. I don't want to go. I don't want to go. I don't want"
    assert skip_reason(loop, -0.3, 0.05, compression_ratio(loop), RULES) == "repetitive"
    out = judge(_decoded(loop), RULES)
    assert out.text == "I don't want to go." and out.delooped and out.heard == loop and out.skipped is None
    assert out.compression_ratio == compression_ratio(loop)  # Whisper's evidence is kept as it was
    short = "No. No. No. No. No. No."
    assert skip_reason(short, -0.3, 0.05, compression_ratio(short), RULES) == "repeated_ngram"
    assert judge(_decoded(short), RULES).text == "No."
    off = judge(_decoded(loop), replace(RULES, deloop=False))
    assert (off.text, off.skipped, off.heard, off.delooped) == ("", "repetitive", loop, False)


def test_a_long_phrase_said_three_times_is_a_loop_whisper_does_not_see() -> None:
    loop = ("If you are talking to me, I will not let you listen to me. I will not let you say it. I will not let "
            "you say it. I will not let you say it. I will not")
    assert compression_ratio(loop) < 2.4 and skip_reason(loop, -0.7, 0.04, compression_ratio(loop), RULES) \
        == "repeated_ngram"
    assert judge(_decoded(loop), RULES).text == \
        "If you are talking to me, I will not let you listen to me. I will not let you say it."
    for line in ("Can you hear it properly? Can you hear it properly? Can you hear it?",  # 5 words, twice
                 "I will not let you say it. I will not let you say it."):  # 6 words, twice
        assert skip_reason(line, -0.7, 0.04, compression_ratio(line), RULES) is None


def test_a_loop_of_a_stock_phrase_is_a_hallucination_not_a_line() -> None:
    loop = "Thank you for watching. Thank you for watching. Thank you for watching. Thank you for"
    out = judge(_decoded(loop), RULES)
    assert (out.text, out.skipped, out.delooped) == ("", "hallucination", False)


def test_a_loop_of_nothing_speakable_stays_skipped() -> None:
    out = judge(_decoded("♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪ ♪"), RULES)
    assert out.skipped == "non_verbal" and out.text == ""


def _fallback(script: dict[float, list[Attempt]], rules: SkipRules) -> tuple[list[Decoded], list[tuple[int, float]]]:
    """``with_fallback`` over windows whose attempt at each temperature is scripted; returns what was decoded."""
    calls: list[tuple[int, float]] = []

    def decode(indices: list[int], t: float) -> list[Attempt]:
        calls.extend((i, t) for i in indices)
        return [script[t][i] for i in indices]

    return with_fallback(len(script[0.0]), (0.0, 0.4), rules, decode), calls


def test_a_stock_phrase_is_decoded_again_and_a_real_line_preferred() -> None:
    script = {0.0: [Attempt("Thank you for watching.", -0.9), Attempt("Let's go!"), Attempt("I'm sorry.", -0.3)],
              0.4: [Attempt("I'll see you at the station.", -0.8), Attempt("x"), Attempt("x")]}
    out, calls = _fallback(script, RULES)
    assert calls == [(0, 0.0), (1, 0.0), (2, 0.0), (0, 0.4)]  # only the stock line is decoded again
    assert [d.text for d in out] == ["I'll see you at the station.", "Let's go!", "I'm sorry."]
    assert out[0].temperature == 0.4
    out_off, calls_off = _fallback(script, OFF)
    assert out_off[0].text == "Thank you for watching." and len(calls_off) == 3  # no bag: no second decode


@pytest.mark.parametrize("on_logprob", [True, False])  # the sample failed too (paper) or was accepted (offline)
def test_a_less_likely_sample_does_not_replace_a_stock_phrase(on_logprob: bool) -> None:
    """Whisper base on a real J-Moshi line: "I'm sorry." (-1.61), then at 0.4 "The sound of the sound is very
    good." (-1.89): the sample is no better evidence of speech than the stock phrase, so nothing is spoken."""
    rules = replace(RULES, fallback_on_logprob=on_logprob)
    script = {0.0: [Attempt("I'm sorry.", -1.61, 0.43)], 0.4: [Attempt("The sound of the sound is very good.", -1.89)]}
    out, calls = _fallback(script, rules)
    assert len(calls) == 2 and (out[0].text, out[0].temperature) == ("I'm sorry.", 0.0)
    assert judge(out[0], rules).skipped == "hallucination"
    script[0.4] = [Attempt("The sound is very good.", -1.2)]  # more likely than the stock phrase: it is spoken
    assert judge(_fallback(script, rules)[0][0], rules).text == "The sound is very good."


def test_when_every_attempt_is_stock_the_line_is_skipped() -> None:
    script = {0.0: [Attempt("Thank you for watching.", -0.2)], 0.4: [Attempt("Please subscribe.", -0.9)]}
    out, _ = _fallback(script, RULES)
    assert out[0].text == "Thank you for watching."  # the most likely attempt, as Whisper's rules choose it
    assert judge(out[0], RULES).skipped == "hallucination"


def test_a_loop_is_preferred_to_nothing_and_a_real_attempt_to_a_stock_one() -> None:
    loop = "Wait for me. " * 10
    script = {0.0: [Attempt(loop, -0.2)], 0.4: [Attempt("Thank you for watching.", -0.6)]}
    out, _ = _fallback(script, RULES)
    assert out[0].text == loop.strip()  # the stock attempt is not preferred: the loop is cut and spoken
    assert judge(out[0], RULES).text == "Wait for me."


def test_silence_is_not_decoded_again_for_a_stock_phrase() -> None:
    attempt = Attempt("I'm sorry.", avg_logprob=-1.4, no_speech_prob=0.8)
    assert not needs_fallback(attempt, RULES)  # Whisper's no-speech rule: skipped as no_speech, no retry
    out, calls = _fallback({0.0: [attempt], 0.4: [Attempt("x")]}, RULES)
    assert len(calls) == 1 and judge(out[0], RULES).skipped == "no_speech"
    assert judge(out[0], RULES).heard == "I'm sorry."


def test_the_profiles_settings_reach_the_rules() -> None:
    offline, paper = skip_rules(load_config("offline").translate), skip_rules(load_config("paper").translate)
    assert offline.stock_phrases is BAG and offline.deloop
    assert paper.stock_phrases is None and not paper.deloop
