"""Server-side SVG line charts: no JavaScript library, no CDN, readable without scripts.

`line_chart` draws one or more series (optionally with an interval band) on shared axes and
returns a safe SVG string for a template. Numbers only; callers format x ticks (e.g. dates).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2f5fd0", "#d0652f", "#1e8e3e", "#8e24aa", "#c0392b", "#00838f", "#6d4c41", "#546e7a")
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, AXIS_BAND = 48, 12, 12, 30
LEGEND_PER_ROW, LEGEND_ROW, LEGEND_CHARS = 2, 13, 40


@dataclass(frozen=True)
class Series:
    """One line on a chart."""

    name: str  # legend label
    points: Sequence[tuple[float, float]]  # (x, y) in drawing order
    band: Sequence[tuple[float, float, float]] = field(default=())  # optional (x, low, high) shaded interval


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) that cover [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    width: int = 560,
    height: int = 220,
    y_min: float | None = None,
    y_max: float | None = None,
    x_format: Callable[[float], str] = _fmt,
    y_format: Callable[[float], str] = _fmt,
) -> SafeString:
    """An accessible SVG (role=img with a title); an empty chart says "No data yet"."""
    xs = [x for s in series for x, _ in s.points] + [b[0] for s in series for b in s.band]
    ys = [y for s in series for _, y in s.points] + [v for s in series for b in s.band for v in b[1:]]
    legend_rows = -(-len(series) // LEGEND_PER_ROW)
    margin_bottom = AXIS_BAND + LEGEND_ROW * legend_rows
    height += LEGEND_ROW * legend_rows  # the plot keeps its height; the legend adds rows below it
    head = (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>')
    if not xs:  # a short placeholder rather than an empty frame
        return mark_safe(f'<svg class="chart" viewBox="0 0 {width} 40" role="img" aria-label="{escape(title)}: no data" '
                         f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
                         f'<text x="{width / 2}" y="24" text-anchor="middle">No data yet</text></svg>')
    y_ticks = nice_ticks(min(ys) if y_min is None else y_min, max(ys) if y_max is None else y_max)
    x_lo, x_hi = min(xs), max(xs)
    x_hi = x_hi if x_hi > x_lo else x_lo + 1
    y_lo, y_hi = y_ticks[0], y_ticks[-1]
    plot_w, plot_h = width - MARGIN_LEFT - MARGIN_RIGHT, height - MARGIN_TOP - margin_bottom

    def px(x: float) -> float:
        return MARGIN_LEFT + (x - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return MARGIN_TOP + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h

    parts = [head]
    for tick in y_ticks:
        parts.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{py(tick):.1f}" y2="{py(tick):.1f}"/>')
        parts.append(f'<text x="{MARGIN_LEFT - 4}" y="{py(tick) + 3:.1f}" text-anchor="end">{escape(y_format(tick))}</text>')
    for i in range(5):
        x = x_lo + (x_hi - x_lo) * i / 4
        parts.append(f'<text x="{px(x):.1f}" y="{height - margin_bottom + 14}" text-anchor="middle">{escape(x_format(x))}</text>')
    base_y = height - margin_bottom
    parts.append(f'<line class="axis" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{base_y}" y2="{base_y}"/>')
    parts.append(f'<line class="axis" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT}" y1="{MARGIN_TOP}" y2="{base_y}"/>')
    for index, s in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        if s.band:
            upper = " ".join(f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in s.band)
            lower = " ".join(f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(s.band))
            parts.append(f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.12" stroke="none"/>')
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        if len(s.points) == 1:
            parts.append(f'<circle cx="{px(s.points[0][0]):.1f}" cy="{py(s.points[0][1]):.1f}" r="3" fill="{color}"/>')
        elif s.points:
            parts.append(f'<polyline class="series" data-series="{escape(s.name)}" points="{coords}" fill="none" '
                         f'stroke="{color}" stroke-width="2"/>')
        legend_x = MARGIN_LEFT + (index % LEGEND_PER_ROW) * (plot_w / LEGEND_PER_ROW)
        legend_y = base_y + AXIS_BAND - 4 + LEGEND_ROW * (index // LEGEND_PER_ROW)
        parts.append(f'<rect x="{legend_x:.1f}" y="{legend_y - 8}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 14:.1f}" y="{legend_y + 1}">{escape(s.name[:LEGEND_CHARS])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
