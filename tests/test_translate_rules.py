"""No-speech and hallucination rules, the fallback choice and the English test, on synthetic decodings."""

from __future__ import annotations

import numpy as np
from whisper.decoding import DecodingResult

from baseline_dub.stages.translate.batch import (
    SkipRules,
    _best,
    compression_ratio,
    is_silent,
    max_ngram_repeats,
    needs_fallback,
    skip_reason,
)
from support.english import looks_english

RULES = SkipRules()


def _result(text: str, avg_logprob: float = -0.3, no_speech_prob: float = 0.05) -> DecodingResult:
    return DecodingResult(audio_features=None, language="ja", text=text, avg_logprob=avg_logprob,
                          no_speech_prob=no_speech_prob, compression_ratio=compression_ratio(text))


def _reason(r: DecodingResult) -> str | None:
    return skip_reason(r.text, r.avg_logprob, r.no_speech_prob, r.compression_ratio, RULES)


def test_a_plain_sentence_is_kept() -> None:
    r = _result("The king does not like this way of doing things.")
    assert _reason(r) is None and not needs_fallback(r, RULES)


def test_no_speech_needs_both_whisper_conditions() -> None:
    assert _reason(_result("Thank you.", avg_logprob=-1.5, no_speech_prob=0.9)) == "no_speech"
    # confident text keeps a high no-speech probability from skipping it, as in whisper.transcribe
    assert _reason(_result("Thank you.", avg_logprob=-0.2, no_speech_prob=0.9)) is None
    assert not needs_fallback(_result("Thank you.", avg_logprob=-1.5, no_speech_prob=0.9), RULES)


def test_hallucination_signs() -> None:
    assert _reason(_result("")) == "empty"
    assert _reason(_result("♪ ♪ ♪")) == "non_verbal"
    assert _reason(_result("...!?")) == "non_verbal"
    loop = "I'm going to go to the store. " * 8
    assert compression_ratio(loop) > RULES.compression_ratio_threshold
    assert _reason(_result(loop)) == "repetitive" and needs_fallback(_result(loop), RULES)
    short_loop = "Okay. Okay. Okay. Okay. Okay."
    assert compression_ratio(short_loop) <= RULES.compression_ratio_threshold
    assert _reason(_result(short_loop)) == "repeated_ngram"
    assert _reason(_result("No, no, no. I said I would come.")) is None


def test_max_ngram_repeats_counts_back_to_back_runs() -> None:
    assert max_ngram_repeats("a b a b a b c") == 3
    assert max_ngram_repeats("the cat sat on the mat") == 1
    assert max_ngram_repeats("Go go GO go!") == 4
    assert max_ngram_repeats("") == 0


def test_low_logprob_falls_back_and_the_best_attempt_wins() -> None:
    bad0 = _result("I am a lawyer.", avg_logprob=-1.3)
    bad1 = _result("Zebra pickle umbrella.", avg_logprob=-2.5)
    loop = _result("and the " * 30, avg_logprob=-0.1)
    assert needs_fallback(bad0, RULES)
    chosen = _best([(bad0, 0.0), (loop, 0.2), (bad1, 0.4)], RULES)
    assert chosen.text == "I am a lawyer." and chosen.temperature == 0.0
    accepted = _result("This is a test.", avg_logprob=-0.4)
    assert _best([(bad0, 0.0), (accepted, 0.2)], RULES).temperature == 0.2


def test_silence_gate() -> None:
    rng = np.random.default_rng(0)
    assert is_silent(np.zeros(16000, np.float32), RULES)
    assert is_silent(rng.normal(0, 1e-4, 16000).astype(np.float32), RULES)
    assert not is_silent(rng.normal(0, 0.1, 16000).astype(np.float32), RULES)


def test_english_check() -> None:
    assert looks_english("The king has no way of doing this. There is one more thing to do.")
    assert not looks_english("これはテスト文です")
    assert not looks_english("Kore wa tesuto bun desu.")
    assert not looks_english("")
    assert not looks_english("Hello")
