"""The lab report's charts as inline SVG (no script, no CDN; ADR 0018): horizontal bars, dot
rows and lines, each on a log axis when its values span more than a decade."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

# Okabe-Ito's colour-blind-safe set, then four more that stay apart from it: one per profile,
# the same profile the same colour in every chart.
PALETTE = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
    "#7F3C8D", "#8C564B", "#999999", "#17BECF", "#BCBD22",
)  # fmt: skip
# Values whose largest is this many times their smallest go on a log axis.
LOG_SPAN = 20.0
_FONT = 'font-family="sans-serif" font-size="11"'


def colours(names: Sequence[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


class Axis:
    """Maps values onto [start, end] pixels, linear or log10, with readable ticks."""

    def __init__(self, values: Sequence[float], start: float, end: float) -> None:
        positive = [v for v in values if v > 0] or [1.0]
        low, high = min(positive), max(positive)
        self.log = high / low >= LOG_SPAN
        if self.log:
            self.low, self.high = math.log10(low) - 0.05, math.log10(high) + 0.05
        else:
            self.low, self.high = 0.0, high * 1.08 or 1.0
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        v = math.log10(max(value, 10**self.low)) if self.log else value
        return self.start + (self.end - self.start) * (v - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.floor(self.low), math.ceil(self.high)
            steps = (1, 2, 5) if last - first <= 3 else (1,)
            found = [m * 10.0**e for e in range(first, last + 1) for m in steps]
            return [t for t in found if self.low <= math.log10(t) <= self.high]
        raw = self.high / 5
        step = 10 ** math.floor(math.log10(raw))
        step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
        return [i * step for i in range(int(self.high / step) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _svg(width: float, height: float, parts: list[str]) -> str:
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
    return head + f"{_FONT}>" + "".join(parts) + "</svg>"


def _grid(axis: Axis, across: tuple[float, float], unit: str, *, vertical: bool) -> list[str]:
    """Tick lines across the plot, their labels, and the axis's unit and scale."""
    a, b = across
    parts = []
    for tick in axis.ticks():
        at = axis(tick)
        if vertical:
            line = f'x1="{at:.1f}" y1="{a}" x2="{at:.1f}" y2="{b}"'
            label = f'x="{at:.1f}" y="{b + 13}" text-anchor="middle"'
        else:
            line = f'x1="{a}" y1="{at:.1f}" x2="{b}" y2="{at:.1f}"'
            label = f'x="{a - 4}" y="{at + 4:.1f}" text-anchor="end"'
        parts.append(f'<line {line} stroke="#e3e3e3"/><text {label}>{_number(tick)}</text>')
    scale = "log scale" if axis.log else "linear"
    where = (
        f'x="{axis.end:.1f}" y="{b + 27}" text-anchor="end"'
        if vertical
        else f'x="4" y="{axis.end + 4:.1f}"'
    )
    parts.append(f'<text {where} fill="#555">{html.escape(unit)} ({scale})</text>')
    return parts


def bars(items: Sequence[tuple[str, float, str]], unit: str, *, width: int = 720) -> str:
    """One horizontal bar per (label, value, colour)."""
    row, left, right = 22, 190, 80
    top, bottom = 6, 6 + row * len(items)
    axis = Axis([v for _, v, _ in items], left, width - right)
    parts = _grid(axis, (top, bottom), unit, vertical=True)
    for i, (label, value, colour) in enumerate(items):
        y, end = top + i * row, axis(value)
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{max(end - left, 1):.1f}" height="{row - 7}" '
            f'fill="{colour}"/><text x="{end + 4:.1f}" y="{y + 15}">{_number(value)}</text>'
        )
    return _svg(width, bottom + 34, parts)


LEGEND_ROW = 16


def _legend(
    names: Sequence[str], palette: dict[str, str], y: float, left: float, width: float
) -> tuple[list[str], float]:
    """Colour keys in rows that wrap at `width`; returns them and the height they take."""
    parts, x, rows = [], left, 1
    for name in names:
        step = 24 + 6.5 * len(name)
        if x + step > width and x > left:
            x, rows = left, rows + 1
        at = y + (rows - 1) * LEGEND_ROW
        parts.append(
            f'<rect x="{x:.0f}" y="{at - 9}" width="12" height="9" fill="{palette[name]}"/>'
            f'<text x="{x + 16:.0f}" y="{at}">{html.escape(name)}</text>'
        )
        x += step
    return parts, rows * LEGEND_ROW


def dots(
    rows: Sequence[str],
    points: Mapping[str, Mapping[str, float]],
    palette: dict[str, str],
    unit: str,
    *,
    width: int = 720,
) -> str:
    """One row per label, one dot per series on it (points[series][row] = value)."""
    row, left, right = 20, 130, 30
    top, bottom = 6, 6 + row * len(rows)
    axis = Axis([v for series in points.values() for v in series.values()], left, width - right)
    parts = _grid(axis, (top, bottom), unit, vertical=True)
    for i, label in enumerate(rows):
        y = top + i * row + row / 2
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{html.escape(label)}</text>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#f2f2f2"/>'
        )
        for name, series in points.items():
            if label in series:
                parts.append(
                    f'<circle cx="{axis(series[label]):.1f}" cy="{y:.1f}" r="4.5" '
                    f'fill="{palette[name]}" fill-opacity="0.85"><title>{html.escape(name)}: '
                    f"{_number(series[label])} {html.escape(unit)}</title></circle>"
                )
    legend, tall = _legend(list(points), palette, bottom + 46, left, width)
    return _svg(width, bottom + 40 + tall, parts + legend)


def lines(
    series: Mapping[str, Sequence[tuple[float, float]]],
    palette: dict[str, str],
    *,
    x_unit: str,
    y_unit: str,
    width: int = 720,
    height: int = 240,
) -> str:
    """One line per series of (x, y) points; y on a log axis when it spans decades."""
    left, right, top, bottom = 60, 20, 8, height - 34
    xs = [x for points in series.values() for x, _ in points] or [1.0]
    x_axis = Axis([max(xs)], left, width - right)  # one value: a linear axis from 0
    ys = [y for points in series.values() for _, y in points]
    y_axis = Axis(ys, bottom, top)
    parts = _grid(x_axis, (top, bottom), x_unit, vertical=True)
    parts += _grid(y_axis, (left, width - right), y_unit, vertical=False)
    for name, points in series.items():
        path = " ".join(f"{x_axis(x):.1f},{y_axis(y):.1f}" for x, y in points if y > 0)
        parts.append(
            f'<polyline fill="none" stroke="{palette[name]}" stroke-width="1.8" points="{path}"/>'
        )
    legend, tall = _legend(list(series), palette, height + 8, left, width)
    return _svg(width, height + tall, parts + legend)
