"""Formatting for the quality report: numbers, markdown tables, summary statistics and PNG plots."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from baseline_dub.atomic import atomic_write_bytes
from baseline_dub.report import metrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def number(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, never ``-0.0``."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


def fmt(value: object, digits: int = 2) -> str:
    """A table cell: text as is, numbers rounded, missing values as a dash."""
    value = metrics.as_float(value) if not isinstance(value, str) else value
    return "–" if value is None else value if isinstance(value, str) else number(value, digits)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def stats(values: Sequence[float | None], digits: int = 2) -> list[str]:
    """Count, mean, median, min and max of the values that are not missing, as table cells."""
    kept = np.array([v for v in values if v is not None], dtype=float)
    if kept.size == 0:
        return ["0", "–", "–", "–", "–"]
    return [str(kept.size), *(number(float(x), digits) for x in (kept.mean(), np.median(kept), kept.min(),
                                                                 kept.max()))]


def figure(path: Path, draw: Callable[[Axes], None], title: str, xlabel: str, ylabel: str) -> Path:
    """Draw one plot with ``draw(ax)`` and write it as a PNG atomically."""
    from matplotlib.figure import Figure  # Agg canvas, no pyplot state, no display needed

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    draw(ax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())
    return path


def histogram(out_dir: Path, name: str, values: Sequence[float | None], title: str, xlabel: str) -> str:
    """Plot a histogram into ``out_dir/plots/<name>.png``; returns the markdown that shows it."""
    kept = [v for v in values if v is not None]

    def draw(ax: Axes) -> None:
        if kept:
            low, high = min(kept), max(kept)
            if high - low <= 1e-6 * max(1.0, abs(high)):  # one value (up to rounding): one bar around it
                low, high = low - 0.5, high + 0.5
            ax.hist(kept, bins=min(30, max(5, len(kept) // 2)), range=(low, high), color="#4c72b0",
                    edgecolor="white")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)

    figure(out_dir / "plots" / f"{name}.png", draw, f"{title} (n={len(kept)})", xlabel, "count")
    return f"![{title}](plots/{name}.png)"


def stage_chart(out_dir: Path, totals: dict[str, tuple[float, float]]) -> str:
    """Bar chart of seconds per stage (with shares) into ``plots/stages.png``; returns its markdown."""
    def draw(ax: Axes) -> None:
        names = list(totals)[::-1]
        ax.barh(names, [totals[n][0] for n in names], color="#dd8452")
        for i, n in enumerate(names):
            ax.text(totals[n][0], i, f" {100 * totals[n][1]:.0f}%", va="center", fontsize=8)

    figure(out_dir / "plots" / "stages.png", draw, "time per stage, all done clips", "seconds", "stage")
    return "![time per stage](plots/stages.png)"
