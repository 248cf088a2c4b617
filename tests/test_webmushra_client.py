"""A built MUSHRA test, walked end to end in the real webMUSHRA in headless Chromium, then analysed.

A copy of ../shared/clients/webMUSHRA goes to a temporary folder (never the repository), the built test
into its ``configs/``; PHP's built-in server serves it; ``tests/support/browser/webmushra_walk.js`` opens it,
plays the reference and every condition of every page (counting what webMUSHRA's audio graph really
outputs), sets each slider to a known score, presses Next through the pages and "Send Results". Then
``baseline-dub mushra analyze`` reads the ``results/<testId>/mushra.csv`` webMUSHRA wrote, and its
per-condition means must equal the scores given. webMUSHRA reports its own errors as console lines
starting "ERROR:"; there must be none. (On PHP 8 webMUSHRA's ``service/write.php`` answers 500 after
writing the CSV, a bug of its own in a non-MUSHRA section: that is the one bad response allowed.)
"""

from __future__ import annotations

import csv
import shutil

import pytest
import soundfile as sf
import yaml

from baseline_dub.cli import main
from baseline_dub.mushra.webmushra import REFERENCE, results_id
from support.webmushra import webmushra_copy

PLAY_MS = 400
# Scores per condition on the first and second page (by item id); the hidden reference stays >= 90 and
# the mid anchor <= 90 so that post-screening keeps the one assessor.
SCORES = {"reference": (100, 94), "baseline": (62, 41), "other": (33, 57), "anchor70": (71, 48), "anchor35": (12, 25)}


@pytest.fixture()
def served_test(mushra_build, tmp_path, php_server):
    """(base URL, webMUSHRA copy, test name) with the session's built test copied into its configs/."""
    webmushra = webmushra_copy(tmp_path / "webMUSHRA")
    name = mushra_build.out.name
    shutil.copytree(mushra_build.out, webmushra / "configs" / name)
    return php_server(webmushra), webmushra, name


def test_walk_rate_send_and_analyze_in_webmushra(mushra_build, served_test, browser, tmp_path, capsys,
                                                 record_property):
    url, webmushra, name = served_test
    items = [i.item for i in mushra_build.items]
    ratings = {item: {c: SCORES[c][k] for c in SCORES} for k, item in enumerate(items)}
    run = browser("webmushra_walk.js", {"url": f"{url}/?config={name}/{mushra_build.config.name}",
                                        "ratings": ratings, "playMs": PLAY_MS})
    assert run.ok, run.describe()
    assert run.console_lines("ERROR:") == [], run.describe()
    assert run.page_errors == [] and run.failed_requests == [], run.describe()
    assert [r["url"].removeprefix(url) for r in run.bad_responses] == ["/service/write.php"], run.describe()
    result = run.result
    rate = result["sampleRate"]
    stimulus_rate = sf.info(str(mushra_build.out / mushra_build.items[0].file_of(REFERENCE))).samplerate
    record_property("audio_context_rate", rate)
    assert result["errors"] == [] and result["contextState"] == "running"
    # The browser decodes (and resamples) every stimulus to the context's rate; webMUSHRA accepts that.
    assert result["stimulusRates"] == {item: rate for item in items}
    # Pages: the welcome page, both items (shuffled), the finish page.
    assert [p["type"] for p in result["pages"]] == ["generic", "mushra", "mushra", "finish"]
    assert sorted(p["id"] for p in result["pages"] if p["type"] == "mushra") == items
    # Every condition, and the reference button, really played at least PLAY_MS of non-silent audio.
    for item in items:
        played = result["played"][item]
        assert set(played) == {*SCORES, "__reference_button"}
        assert all(p["frames"] >= rate * PLAY_MS / 1000 for p in played.values()), played
        assert sum(p["rms"] for p in played.values()) > 0.01, played

    results = webmushra / "results" / results_id(name) / "mushra.csv"
    with results.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted((r["trial_id"], r["rating_stimulus"], float(r["rating_score"])) for r in rows) == sorted(
        (item, c, float(score)) for item, scores in ratings.items() for c, score in scores.items())
    assert len({r["session_uuid"] for r in rows}) == 1

    report = tmp_path / "report"
    assert main(["mushra", "analyze", str(results), "--out", str(report)]) == 0
    out, err = capsys.readouterr()
    assert "1 assessor(s), 0 excluded" in out and "warning" not in err
    with (report / "mushra_stats.csv").open() as fh:
        means = {r["condition"]: float(r["mean"]) for r in csv.DictReader(fh)}
    assert means == pytest.approx({c: sum(s) / 2 for c, s in SCORES.items()}, abs=1e-4)
    assert "nan" not in (report / "mushra_results.md").read_text()
    print(f"webMUSHRA's AudioContext ran at {rate} Hz; the {stimulus_rate} Hz stimuli played, resampled by the browser")


def test_pyyaml_config_stops_webmushra_on_the_welcome_page(mushra_build, served_test, browser):
    """The original bug, in the real client: PyYAML's compact lists make webMUSHRA drop every MUSHRA page."""
    url, webmushra, name = served_test
    config = webmushra / "configs" / name / "old.yaml"
    config.write_text(yaml.safe_dump(yaml.safe_load(mushra_build.config.read_text()), sort_keys=False), "utf-8")
    run = browser("webmushra_walk.js", {"url": f"{url}/?config={name}/old.yaml", "ratings": {}, "playMs": PLAY_MS})
    assert not run.ok and "webMUSHRA reported errors on load" in run.error
    assert "ERROR: Type not specified." in run.console_lines("ERROR:"), run.describe()
