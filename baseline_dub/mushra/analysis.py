"""webMUSHRA results: BS.1534-3 post-screening, per-condition mean and 95 % CI, box plot, tables.

Input: webMUSHRA's ``results/<testId>/mushra.csv`` (columns ``session_test_id``, optional questionnaire
columns, ``session_uuid``, ``trial_id``, ``rating_stimulus``, ``rating_score``, ``rating_time``,
``rating_comment``). An assessor is one ``session_uuid``; an item is one ``trial_id`` (a page). If a
session sent the same rating twice, its last row counts.

Post-screening (ITU-R BS.1534-3, 4.1.2): an assessor is excluded who rates the hidden reference
(``reference``) below 90 for more than 15 % of the items they rated, or who rates the mid-range anchor
(``anchor70``, where the test has one) above 90 for more than 15 % of the items. As 4.1.2 cautions,
an item whose mid anchor more than 25 % of the assessors rate above 90 was not degraded enough by the
anchor, so nobody's mid-anchor score on that item counts against them (the item still counts in the
denominator).

Statistics over the kept assessors, per condition over all their ratings (every assessor and item):
mean, sample standard deviation, and the 95 % confidence interval ``mean +- t(0.975, n-1) * s / sqrt(n)``
(Student's t, ``scipy.stats``). A condition with a single rating has no std or interval: ``n/a`` in the
tables, an empty field in ``mushra_stats.csv`` (never ``nan``).

A results file without hidden-reference ratings (another webMUSHRA test's) is analysed with nobody
excluded and an explicit warning that screening could not apply; one without mid-anchor ratings is
screened on the reference alone, with a warning. A file that is not UTF-8 (a UTF-16 re-save) is refused.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from baseline_dub.errors import DataError
from baseline_dub.mushra.webmushra import ANCHORS, LOW_ANCHOR, MID_ANCHOR, REFERENCE, write_text_atomic

REQUIRED_COLUMNS = ("session_uuid", "trial_id", "rating_stimulus", "rating_score")
REFERENCE_MIN = 90.0
MID_ANCHOR_MAX = 90.0
MAX_FRACTION = 0.15
MID_ANCHOR_ITEM_FRACTION = 0.25
STATS_COLUMNS = ("condition", "n", "mean", "std", "ci95", "ci_low", "ci_high", "median")


@dataclass(frozen=True)
class Rating:
    """One score: who (session uuid), which page (trial id), which condition, 0-100."""

    assessor: str
    item: str
    condition: str
    score: float


@dataclass(frozen=True)
class Screening:
    """One assessor's post-screening: items rated, failures under each rule, and the verdict."""

    assessor: str
    items: int
    reference_below: int
    mid_anchor_above: int
    excluded: bool
    reason: str


@dataclass(frozen=True)
class ConditionStats:
    """Mean, sample std, 95 % t-interval half-width and bounds, and median of one condition's scores."""

    condition: str
    n: int
    mean: float
    std: float
    ci95: float
    ci_low: float
    ci_high: float
    median: float


@dataclass(frozen=True)
class MushraResults:
    """The analysis: every assessor's screening and the statistics over those kept."""

    screening: tuple[Screening, ...]
    stats: tuple[ConditionStats, ...]
    ratings: tuple[Rating, ...]
    lenient_items: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def excluded(self) -> tuple[Screening, ...]:
        return tuple(s for s in self.screening if s.excluded)

    def lines(self) -> list[str]:
        """A short summary for the command line."""
        out = [f"{len(self.screening)} assessor(s), {len(self.excluded)} excluded by post-screening"]
        out += [f"  excluded {s.assessor}: {s.reason}" for s in self.excluded]
        out += [f"  {c.condition:>12}: {c.mean:6.1f} +- {_number(c.ci95, '5.1f', 'n/a'):>5} (n={c.n})"
                for c in self.stats]
        return out


def _number(value: float, spec: str, missing: str = "") -> str:
    """``value`` formatted with ``spec``, or ``missing`` when it is undefined (NaN: a std of one rating)."""
    return missing if math.isnan(value) else format(value, spec)


def _decode(path: Path) -> str:
    """The file's text, or ``DataError`` saying in one line that it is not UTF-8 and how to convert it."""
    data = path.read_bytes()
    boms = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}
    for bom, name in boms.items():
        if data.startswith(bom):
            raise DataError(f"{path}: the file is {name} text, not UTF-8 as webMUSHRA writes it (was it re-saved "
                            f"by a spreadsheet?); convert it with `iconv -f UTF-16 -t UTF-8 {path.name}` or "
                            "analyse the mushra.csv webMUSHRA wrote")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: byte 0x{data[exc.start]:02X} at offset {exc.start} is not UTF-8 text; "
                        "webMUSHRA writes UTF-8: re-save the file as UTF-8 CSV or analyse the mushra.csv "
                        "webMUSHRA wrote") from None


def read_ratings(path: str | Path) -> list[Rating]:
    """Read a webMUSHRA ``mushra.csv``; raises ``DataError`` for a missing or non-UTF-8 file, column or bad score."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such results file; webMUSHRA writes results/<testId>/mushra.csv")
    text = _decode(path)
    latest: dict[tuple[str, str, str], Rating] = {}
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}; is this webMUSHRA's mushra.csv?")
        for line, row in enumerate(reader, start=2):
            try:
                score = float(row["rating_score"])
            except (TypeError, ValueError):
                raise DataError(f"{path}, line {line}: rating_score {row['rating_score']!r} is not a number") from None
            if not 0.0 <= score <= 100.0:
                raise DataError(f"{path}, line {line}: rating_score {score} is outside 0-100")
            rating = Rating(row["session_uuid"], row["trial_id"], row["rating_stimulus"], score)
            latest[(rating.assessor, rating.item, rating.condition)] = rating
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc}); analyse the mushra.csv webMUSHRA wrote") from None
    if not latest:
        raise DataError(f"{path}: holds no ratings")
    return list(latest.values())


def lenient_mid_anchor_items(ratings: Sequence[Rating]) -> list[str]:
    """Items whose mid anchor more than 25 % of the assessors rated above 90 (not used to exclude anyone)."""
    per_item: dict[str, list[float]] = defaultdict(list)
    for r in ratings:
        if r.condition == MID_ANCHOR:
            per_item[r.item].append(r.score)
    return sorted(item for item, scores in per_item.items()
                  if sum(s > MID_ANCHOR_MAX for s in scores) / len(scores) > MID_ANCHOR_ITEM_FRACTION)


def screen(ratings: Sequence[Rating], mid_anchor_rule: bool = True) -> list[Screening]:
    """BS.1534-3 post-screening of every assessor (rules in the module doc), in first-seen order."""
    per: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in ratings:
        per[r.assessor][r.item][r.condition] = r.score
    lenient = set(lenient_mid_anchor_items(ratings))
    result = []
    for assessor, items in per.items():
        refs = [c[REFERENCE] for c in items.values() if REFERENCE in c]
        mids = [(item, c[MID_ANCHOR]) for item, c in items.items() if MID_ANCHOR in c]
        below = sum(s < REFERENCE_MIN for s in refs)
        above = sum(s > MID_ANCHOR_MAX and item not in lenient for item, s in mids)
        reasons = []
        if refs and below / len(refs) > MAX_FRACTION:
            reasons.append(f"hidden reference below {REFERENCE_MIN:g} in {below} of {len(refs)} items")
        if mid_anchor_rule and mids and above / len(mids) > MAX_FRACTION:
            reasons.append(f"mid anchor above {MID_ANCHOR_MAX:g} in {above} of {len(mids)} items")
        result.append(Screening(assessor, len(items), below, above, bool(reasons), "; ".join(reasons)))
    return result


def _order(conditions: set[str], means: dict[str, float]) -> list[str]:
    """Reference first, then systems by descending mean, then the anchors (mid, low)."""
    systems = sorted((c for c in conditions if c != REFERENCE and c not in ANCHORS), key=lambda c: (-means[c], c))
    tail = [c for c in (MID_ANCHOR, LOW_ANCHOR) if c in conditions]
    return ([REFERENCE] if REFERENCE in conditions else []) + systems + tail


def condition_stats(ratings: Sequence[Rating]) -> list[ConditionStats]:
    """Per-condition statistics over ``ratings`` (all assessors and items pooled), in report order."""
    scores: dict[str, list[float]] = defaultdict(list)
    for r in ratings:
        scores[r.condition].append(r.score)
    out = {}
    for condition, values in scores.items():
        x = np.asarray(values, dtype=np.float64)
        n = len(x)
        std = float(x.std(ddof=1)) if n > 1 else math.nan
        half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
        mean = float(x.mean())
        out[condition] = ConditionStats(condition, n, mean, std, half, mean - half, mean + half,
                                        float(np.median(x)))
    order = _order(set(out), {c: s.mean for c, s in out.items()})
    return [out[c] for c in order]


def screening_warnings(ratings: Sequence[Rating], stats: Sequence[ConditionStats], mid_anchor_rule: bool) -> list[str]:
    """What post-screening or the statistics could not do on these ratings, one sentence each."""
    conditions = {r.condition for r in ratings}
    assessors = len({r.assessor for r in ratings})
    warnings = []
    if REFERENCE not in conditions:
        warnings.append(
            f"no '{REFERENCE}' (hidden reference) ratings, conditions {', '.join(sorted(conditions))}: BS.1534-3 "
            f"post-screening could not be applied and all {assessors} assessor(s) were kept; is this the results "
            "file of a test built by `baseline-dub mushra build`?")
    elif mid_anchor_rule and MID_ANCHOR not in conditions:
        warnings.append(f"no '{MID_ANCHOR}' (mid anchor) ratings: assessors were screened on the hidden reference "
                        "only; the mid-anchor rule could not be applied")
    single = [c.condition for c in stats if c.n < 2]
    if single:
        warnings.append(f"one rating only for {', '.join(single)}: no standard deviation or 95 % CI (shown as n/a)")
    return warnings


def analyze(path: str | Path, mid_anchor_rule: bool = True) -> MushraResults:
    """Read, screen and summarise a webMUSHRA results file (nothing written; see ``write_report``)."""
    ratings = read_ratings(path)
    screening = screen(ratings, mid_anchor_rule)
    dropped = {s.assessor for s in screening if s.excluded}
    kept = [r for r in ratings if r.assessor not in dropped]
    lenient = tuple(lenient_mid_anchor_items(ratings)) if mid_anchor_rule else ()
    stats = condition_stats(kept)
    warnings = screening_warnings(ratings, stats, mid_anchor_rule)
    return MushraResults(tuple(screening), tuple(stats), tuple(kept), lenient, tuple(warnings))


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def markdown(results: MushraResults) -> str:
    """The report: screening outcome (count and who) and the per-condition table."""
    excluded = results.excluded
    lines = ["# MUSHRA results", "",
             f"{len(results.screening)} assessor(s); {len(excluded)} excluded by ITU-R BS.1534-3 post-screening "
             f"(hidden reference below {REFERENCE_MIN:g} in more than {MAX_FRACTION:.0%} of items, or mid anchor "
             f"above {MID_ANCHOR_MAX:g} in more than {MAX_FRACTION:.0%} of items)."]
    lines += [f"- excluded `{s.assessor}`: {s.reason}" for s in excluded]
    lines += [f"- **warning**: {w}" for w in results.warnings]
    if results.lenient_items:
        lines.append(f"- mid anchor rated above {MID_ANCHOR_MAX:g} by more than {MID_ANCHOR_ITEM_FRACTION:.0%} of "
                     f"assessors on {', '.join(results.lenient_items)}: those items excluded nobody")
    lines += ["", "| condition | n | mean | 95% CI | median | std |", "|---|---:|---:|---:|---:|---:|"]
    for c in results.stats:
        ci = "n/a" if math.isnan(c.ci95) else f"[{c.ci_low:.1f}, {c.ci_high:.1f}]"
        std = _number(c.std, ".1f", "n/a")
        lines.append(f"| {c.condition} | {c.n} | {c.mean:.1f} | {ci} | {c.median:.1f} | {std} |")
    if not results.stats:
        lines.append("| (no assessor kept) | 0 | | | | |")
    return "\n".join(lines) + "\n"


def box_plot(results: MushraResults, path: Path) -> Path:
    """Box plot of the kept scores per condition, with each mean and its 95 % CI, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c.condition for c in results.stats]
    data = [[r.score for r in results.ratings if r.condition == n] for n in names]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(names) + 1.5), 4.5))
    try:
        if names:
            ax.boxplot(data, tick_labels=names, showfliers=True)
            xs = np.arange(1, len(names) + 1)
            ax.errorbar(xs, [c.mean for c in results.stats], yerr=[np.nan_to_num(c.ci95) for c in results.stats],
                        fmt="D", color="tab:red", capsize=4, label="mean, 95% CI")
            ax.legend(loc="lower left")
        ax.set_ylim(0, 100)
        ax.set_yticks(range(0, 101, 20))
        ax.grid(axis="y", alpha=0.4)
        ax.set_ylabel("MUSHRA score")
        ax.set_title(f"MUSHRA, {len(results.screening) - len(results.excluded)} assessor(s) kept")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        fig.savefig(tmp, format="png", dpi=120)
        tmp.replace(path)
    finally:
        plt.close(fig)
    return path


def write_report(results: MushraResults, out: Path) -> dict[str, Path]:
    """Write ``mushra_stats.csv``, ``screening.csv``, ``mushra_results.md`` and ``mushra_boxplot.png``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"stats": out / "mushra_stats.csv", "screening": out / "screening.csv",
             "markdown": out / "mushra_results.md", "boxplot": out / "mushra_boxplot.png"}
    write_text_atomic(paths["stats"], _csv(STATS_COLUMNS, [
        [c.condition, c.n, *(_number(v, ".4f") for v in (c.mean, c.std, c.ci95, c.ci_low, c.ci_high, c.median))]
        for c in results.stats]))
    write_text_atomic(paths["screening"], _csv(
        ("assessor", "items", "reference_below_90", "mid_anchor_above_90", "excluded", "reason"),
        [[s.assessor, s.items, s.reference_below, s.mid_anchor_above, int(s.excluded), s.reason]
         for s in results.screening]))
    write_text_atomic(paths["markdown"], markdown(results))
    box_plot(results, paths["boxplot"])
    return paths
