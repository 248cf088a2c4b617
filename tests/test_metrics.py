"""The report's metric functions on inputs whose answer is known (computed here independently)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from baseline_dub.outputs.record import SegmentRecord
from baseline_dub.report import metrics


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _bleu_by_hand(hyp: str, ref: str) -> float:
    """Papineni BLEU-4 of one pair (whitespace tokens, all precisions non-zero, so no smoothing applies)."""
    h, r = hyp.split(), ref.split()
    logs = []
    for n in range(1, 5):
        hc, rc = _ngrams(h, n), _ngrams(r, n)
        logs.append(math.log(sum((hc & rc).values()) / sum(hc.values())))
    bp = 1.0 if len(h) > len(r) else math.exp(1 - len(r) / len(h))
    return 100 * bp * math.exp(sum(logs) / 4)


def _chrf_by_hand(hyp: str, ref: str, order: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) as sacrebleu 2 defines it: spaces removed, precision and recall averaged over
    character 1..6-gram orders, then F-beta."""
    h, r = hyp.replace(" ", ""), ref.replace(" ", "")
    precisions, recalls = [], []
    for n in range(1, order + 1):
        hc = Counter(h[i:i + n] for i in range(len(h) - n + 1))
        rc = Counter(r[i:i + n] for i in range(len(r) - n + 1))
        match = sum((hc & rc).values())
        precisions.append(match / sum(hc.values()))
        recalls.append(match / sum(rc.values()))
    p, rcl = sum(precisions) / order, sum(recalls) / order
    return 100 * (1 + beta**2) * p * rcl / (beta**2 * p + rcl)


def test_bleu_is_100_for_identical_and_0_for_disjoint_text():
    text = "I will never forgive you for what you did to my village."
    assert metrics.bleu([text], [text]) == pytest.approx(100.0)
    assert metrics.sentence_bleu(text, text) == pytest.approx(100.0)
    assert metrics.bleu(["completely other words here now"], ["nothing shared at all today"]) == 0.0


def test_bleu_matches_a_hand_computation():
    hyp, ref = "the small cat sat on the red mat today", "the small cat sat on a red mat today again"
    expected = _bleu_by_hand(hyp, ref)
    assert 0 < expected < 100
    assert metrics.sentence_bleu(hyp, ref) == pytest.approx(expected, abs=1e-6)
    assert metrics.bleu([hyp], [ref]) == pytest.approx(expected, abs=1e-6)


def test_chrf_matches_a_hand_computation():
    hyp, ref = "the cat sat on the mat", "the cats sat upon the mat"
    expected = _chrf_by_hand(hyp, ref)
    assert 0 < expected < 100
    assert metrics.sentence_chrf(hyp, ref) == pytest.approx(expected, abs=1e-6)
    assert metrics.chrf([hyp], [ref]) == pytest.approx(expected, abs=1e-6)
    assert metrics.chrf([hyp], [hyp]) == pytest.approx(100.0)


def test_corpus_scores_need_one_reference_per_hypothesis():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        metrics.bleu(["a", "b"], ["a"])


def test_normalize_text_spells_numbers_as_the_synthesizer_and_drops_punctuation():
    assert metrics.normalize_text("Don't stop—it's the 21st, OK?") == "dont stop its the twenty first ok"
    assert metrics.normalize_text("I have 2 cats & 1,000 dogs.") == "i have two cats and one thousand dogs"
    assert metrics.normalize_text("  ") == ""


def test_wer_of_known_edits():
    assert metrics.wer("the cat sat down", "the dog sat down") == pytest.approx(1 / 4)
    assert metrics.wer("the cat sat down", "the cat down") == pytest.approx(1 / 4)
    assert metrics.wer("the cat sat", "the big cat sat here") == pytest.approx(2 / 3)
    assert metrics.wer("I have 2 cats.", "i have two cats") == 0.0
    assert metrics.wer("...", "anything") is None
    errors = metrics.word_errors(["one two three", "four five", ""], ["one two tree", "", "noise"])
    assert (errors.substitutions, errors.deletions, errors.insertions, errors.reference_words) == (1, 2, 0, 5)
    assert errors.wer == pytest.approx(3 / 5)


def test_length_ratio_and_coverage_on_hand_made_segments():
    assert metrics.length_ratio(3.0, 2.0) == pytest.approx(1.5)
    assert metrics.length_ratio(None, 2.0) is None
    assert metrics.length_ratio(1.0, 0.0) is None
    assert metrics.coverage([1.0, 2.5, None, 0.5], 8.0) == pytest.approx(0.5)
    assert metrics.coverage([1.0], 0.0) is None


def test_next_overlaps_use_placed_starts_and_skip_unsynthesized_segments():
    segments = [SegmentRecord(**seg) for seg in [
        {"start": 0.0, "end": 2.0, "synth_seconds": 2.5, "placed_start": 0.0},   # ends 2.5, next at 2.2
        {"start": 5.0, "end": 6.0, "synth_seconds": None, "skipped": "no_speech"},
        {"start": 2.2, "end": 4.0, "synth_seconds": 1.0},                        # ends 3.2, next at 4.0
        {"start": 4.0, "end": 5.0, "synth_seconds": 1.5, "placed_start": 4.0},   # last synthesis
    ]]
    assert metrics.next_overlaps(segments) == [pytest.approx(0.3), None, 0.0, None]
    assert metrics.placed_span(segments[2]) == (2.2, 3.2)


def test_run_cost_arithmetic():
    assert metrics.real_time_factor(30.0, 120.0) == pytest.approx(0.25)
    assert metrics.real_time_factor(1.0, 0.0) is None
    totals = metrics.stage_totals([{"separate": 2.0, "translate": 1.0}, {"separate": 4.0, "synthesize": 3.0},
                                   {"remix": "bad"}])
    assert list(totals) == ["separate", "synthesize", "translate"]
    assert totals["separate"] == (pytest.approx(6.0), pytest.approx(0.6))
    assert totals["translate"][1] == pytest.approx(0.1)
    assert metrics.mean([1.0, None, 3.0]) == 2.0 and metrics.mean([None]) is None
    assert metrics.as_float(float("nan")) is None and metrics.as_float("2.5") == 2.5
