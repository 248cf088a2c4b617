"""``baseline-dub mushra analyze`` on a synthetic webMUSHRA results file whose answer is known by hand.

Eight items (pages), four assessors:
- ``keep-a``: reference 100, baseline 60, anchor70 50, anchor35 20 on every item (a first, superseded
  baseline row of 0 on item 1 tests that a session's last rating counts);
- ``keep-b``: reference 80 on 1 of 8 items (12.5 % <= 15 %: kept), else 100; baseline 40, anchor70 40,
  anchor35 10;
- ``drop-ref``: reference 70 on 2 of 8 items (25 % > 15 %: excluded), baseline 90;
- ``drop-mid``: mid anchor 95 on 2 of 8 items (excluded by the mid-anchor rule), baseline 100.
Kept: a and b. baseline = 8 x 60 and 8 x 40: mean 50, s = sqrt(16 * 100 / 15), CI = t(0.975, 15) * s / 4.
"""

from __future__ import annotations

import csv
import math
import re

import matplotlib.image
import pytest

from baseline_dub.cli import main
from baseline_dub.errors import DataError
from baseline_dub.mushra.analysis import analyze, read_ratings, write_report

T_975_15 = 2.131449545559323  # Student's t, 97.5 % quantile, 15 degrees of freedom (tables)
HEADER = ["session_test_id", "email", "session_uuid", "trial_id", "rating_stimulus", "rating_score",
          "rating_time", "rating_comment"]


def _scores(assessor: str, item: int) -> dict[str, float]:
    if assessor == "keep-a":
        return {"reference": 100, "baseline": 60, "anchor70": 50, "anchor35": 20}
    if assessor == "keep-b":
        return {"reference": 80 if item == 3 else 100, "baseline": 40, "anchor70": 40, "anchor35": 10}
    if assessor == "drop-ref":
        return {"reference": 70 if item in (2, 5) else 100, "baseline": 90, "anchor70": 30, "anchor35": 10}
    return {"reference": 100, "baseline": 100, "anchor70": 95 if item in (1, 8) else 50, "anchor35": 10}


@pytest.fixture()
def results_csv(tmp_path):
    path = tmp_path / "results" / "anim_mushra" / "mushra.csv"
    path.parent.mkdir(parents=True)
    rows = [["anim_mushra", "", "keep-a", "item01", "baseline", 0, 1000, ""]]
    for assessor in ("keep-a", "keep-b", "drop-ref", "drop-mid"):
        for item in range(1, 9):
            for condition, score in _scores(assessor, item).items():
                rows.append(["anim_mushra", f"{assessor}@example.org", assessor, f"item{item:02d}", condition,
                             score, 12345, ""])
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_screening_excludes_the_right_assessors(results_csv):
    results = analyze(results_csv)
    verdict = {s.assessor: s.excluded for s in results.screening}
    assert verdict == {"keep-a": False, "keep-b": False, "drop-ref": True, "drop-mid": True}
    by = {s.assessor: s for s in results.screening}
    assert by["keep-b"].reference_below == 1 and by["keep-b"].items == 8
    assert by["drop-ref"].reference_below == 2 and "hidden reference" in by["drop-ref"].reason
    assert by["drop-mid"].mid_anchor_above == 2 and "mid anchor" in by["drop-mid"].reason


def test_means_and_confidence_intervals_by_hand(results_csv):
    stats = {c.condition: c for c in analyze(results_csv).stats}
    assert [c for c in stats] == ["reference", "baseline", "anchor70", "anchor35"]
    s = math.sqrt(16 * 100 / 15)
    assert stats["baseline"].n == 16
    assert stats["baseline"].mean == pytest.approx(50.0)
    assert stats["baseline"].std == pytest.approx(s)
    assert stats["baseline"].ci95 == pytest.approx(T_975_15 * s / 4)
    assert stats["baseline"].ci_low == pytest.approx(50.0 - T_975_15 * s / 4)
    assert stats["reference"].mean == pytest.approx((8 * 100 + 7 * 100 + 80) / 16)
    assert stats["anchor70"].mean == pytest.approx(45.0)
    assert stats["anchor35"].mean == pytest.approx(15.0)
    assert stats["baseline"].median == pytest.approx(50.0)


def test_reference_only_screening_keeps_the_mid_anchor_offender(results_csv):
    results = analyze(results_csv, mid_anchor_rule=False)
    assert [s.assessor for s in results.excluded] == ["drop-ref"]
    baseline = next(c for c in results.stats if c.condition == "baseline")
    assert baseline.mean == pytest.approx((8 * 60 + 8 * 40 + 8 * 100) / 24)


def test_report_files(results_csv, tmp_path):
    paths = write_report(analyze(results_csv), tmp_path / "report")
    md = paths["markdown"].read_text()
    assert "4 assessor(s); 2 excluded" in md and "`drop-ref`" in md and "`drop-mid`" in md
    assert "| baseline | 16 | 50.0 |" in md
    with paths["stats"].open() as fh:
        rows = {r["condition"]: r for r in csv.DictReader(fh)}
    assert float(rows["baseline"]["mean"]) == pytest.approx(50.0)
    assert float(rows["baseline"]["ci95"]) == pytest.approx(T_975_15 * math.sqrt(16 * 100 / 15) / 4, abs=1e-3)
    with paths["screening"].open() as fh:
        assert {r["assessor"]: r["excluded"] for r in csv.DictReader(fh)} == {
            "keep-a": "0", "keep-b": "0", "drop-ref": "1", "drop-mid": "1"}
    image = matplotlib.image.imread(paths["boxplot"])
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_cli_analyze(results_csv, capsys):
    assert main(["mushra", "analyze", str(results_csv)]) == 0
    out = capsys.readouterr().out
    assert "2 excluded" in out and "excluded drop-ref" in out
    assert (results_csv.parent / "mushra_results.md").is_file()
    assert (results_csv.parent / "mushra_boxplot.png").is_file()


def test_bad_results_files(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("session_uuid,trial_id,rating_stimulus\nx,item01,reference\n")
    with pytest.raises(DataError, match="rating_score"):
        read_ratings(bad)
    bad.write_text("session_uuid,trial_id,rating_stimulus,rating_score\nx,item01,reference,abc\n")
    with pytest.raises(DataError, match="line 2"):
        read_ratings(bad)
    assert main(["mushra", "analyze", str(tmp_path / "missing.csv")]) == 2
    assert "no such results file" in capsys.readouterr().err


def test_mid_anchor_item_most_rate_high_excludes_nobody(tmp_path):
    """BS.1534-3 4.1.2 caveat: an item whose mid anchor > 25 % of assessors rate above 90 excludes nobody."""
    path = tmp_path / "mushra.csv"
    rows = []
    for assessor in ("p", "q", "r", "s"):
        for item in range(1, 5):
            # item 1: p and q (50 %) rate the mid anchor 95, a lenient item; item 2: only q (25 %).
            high = (item == 1 and assessor in "pq") or (item == 2 and assessor == "q")
            for condition, score in (("reference", 100), ("baseline", 50), ("anchor70", 95 if high else 40)):
                rows.append(["t", assessor, f"item{item:02d}", condition, score, 1, ""])
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([h for h in HEADER if h != "email"])
        writer.writerows(rows)
    results = analyze(path)
    assert results.lenient_items == ("item01",)
    by = {s.assessor: s for s in results.screening}
    # p: only item01 high, which is lenient -> 0 of 4; q: item02 counts -> 1 of 4 = 25 % > 15 %: excluded.
    assert by["p"].mid_anchor_above == 0 and not by["p"].excluded
    assert by["q"].mid_anchor_above == 1 and by["q"].excluded
    assert [s.assessor for s in results.excluded] == ["q"]
    report = write_report(results, tmp_path / "report")["markdown"].read_text()
    assert "on item01: those items excluded nobody" in report


def test_a_utf16_results_file_is_one_clear_error(results_csv, capsys):
    """A spreadsheet's "Unicode text" re-save: UTF-16 with a 0xFF 0xFE byte-order mark."""
    utf16 = results_csv.with_name("mushra_utf16.csv")
    utf16.write_bytes(results_csv.read_text(encoding="utf-8").encode("utf-16"))
    assert utf16.read_bytes()[0] == 0xFF
    assert main(["mushra", "analyze", str(utf16)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert "UTF-16" in err and "iconv" in err
    latin1 = results_csv.with_name("mushra_latin1.csv")
    latin1.write_bytes(results_csv.read_bytes().replace(b"12345,", b"12345,Caf\xe9", 1))
    assert main(["mushra", "analyze", str(latin1)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "byte 0xE9" in err and "not UTF-8" in err


NAN = re.compile(r"\bnan\b", re.IGNORECASE)
FOREIGN = """\
session_test_id,email,age,gender,session_uuid,trial_id,rating_stimulus,rating_score,rating_time,rating_comment
default_example,a@example.org,30,female,5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11,trial_random_1,C1,81,20853,
default_example,a@example.org,30,female,5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11,trial_random_1,C3,35,20853,
default_example,a@example.org,30,female,5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11,trial_random_1,C2,56,20853,
default_example,a@example.org,30,female,5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11,trial_random_2,C2,60,15117,
default_example,a@example.org,30,female,5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11,trial_random_2,C1,77,15117,
default_example,a@example.org,30,female,5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11,trial_random_2,C3,28,15117,
default_example,b@example.org,41,male,d3f9a2c4-1e57-4c39-8f0e-7b6a5d4c3b22,trial_random_2,C3,40,9871,
default_example,b@example.org,41,male,d3f9a2c4-1e57-4c39-8f0e-7b6a5d4c3b22,trial_random_2,C1,90,9871,
default_example,b@example.org,41,male,d3f9a2c4-1e57-4c39-8f0e-7b6a5d4c3b22,trial_random_2,C2,66,9871,
"""


def test_another_webmushra_test_warns_that_screening_could_not_apply(tmp_path, capsys):
    """webMUSHRA's own example (conditions C1-C3, no ``reference`` or anchors): kept whole, said so, no NaN."""
    path = tmp_path / "default_example" / "mushra.csv"
    path.parent.mkdir()
    path.write_text(FOREIGN)
    assert main(["mushra", "analyze", str(path), "--out", str(tmp_path / "report")]) == 0
    out, err = capsys.readouterr()
    assert "warning: no 'reference' (hidden reference) ratings" in err and "could not be applied" in err
    assert "all 2 assessor(s) were kept" in err
    assert "2 assessor(s), 0 excluded" in out and not NAN.search(out)
    results = analyze(path)
    assert {c.condition: c.mean for c in results.stats} == pytest.approx({"C1": 248 / 3, "C2": 182 / 3, "C3": 103 / 3})
    assert [c.condition for c in results.stats] == ["C1", "C2", "C3"]
    files = [tmp_path / "report" / n for n in ("mushra_stats.csv", "screening.csv", "mushra_results.md")]
    for f in files:
        assert not NAN.search(f.read_text()), f
    assert "**warning**: no 'reference'" in files[2].read_text()


def test_single_ratings_show_no_nan_anywhere(tmp_path, capsys):
    """One assessor, one page: every condition has n=1, so no std or CI: 'n/a' and empty fields, never NaN."""
    path = tmp_path / "mushra.csv"
    path.write_text("".join(FOREIGN.splitlines(keepends=True)[:4]))
    assert main(["mushra", "analyze", str(path), "--out", str(tmp_path / "report")]) == 0
    out, err = capsys.readouterr()
    assert not NAN.search(out) and "+-   n/a (n=1)" in out
    assert "one rating only for C1, C2, C3" in err
    stats = (tmp_path / "report" / "mushra_stats.csv").read_text()
    assert not NAN.search(stats) and "C1,1,81.0000,,,,,81.0000" in stats
    md = (tmp_path / "report" / "mushra_results.md").read_text()
    assert not NAN.search(md) and "| C1 | 1 | 81.0 | n/a | 81.0 | n/a |" in md
    assert (tmp_path / "report" / "mushra_boxplot.png").stat().st_size > 1000


def test_reference_without_mid_anchor_screens_on_the_reference_only(tmp_path, capsys):
    path = tmp_path / "mushra.csv"
    path.write_text(FOREIGN.replace(",C3,", ",reference,"))
    results = analyze(path)
    assert any("the mid-anchor rule could not be applied" in w for w in results.warnings)
    assert not any("post-screening could not be applied" in w for w in results.warnings)
    # a's hidden reference is 35 and 28 (2 of 2 items below 90): excluded; b's (40 on 1 item) too.
    assert [s.assessor for s in results.excluded] == ["5b0c1b8e-6a0b-4bfb-9d3a-0c1f8e6f2a11",
                                                      "d3f9a2c4-1e57-4c39-8f0e-7b6a5d4c3b22"]
