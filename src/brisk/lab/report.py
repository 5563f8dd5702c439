"""The bench's report: terminal tables (rich), JSON, Markdown, and a self-contained HTML page
whose plots are SVG drawn here (no script, no CDN)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# Keys the JSON report always has (CI checks them; figures vary by machine).
REQUIRED = ("before", "after", "article", "techniques", "claims", "profiles", "generator", "meta")
METRICS = (
    ("avg_ms", "Avg response time", "ms"),
    ("p95_ms", "P95 latency", "ms"),
    ("throughput_rps", "Throughput", "req/s"),
)
COLORS = (
    "#c0392b",
    "#2471a3",
    "#229954",
    "#d68910",
    "#7d3c98",
    "#17a589",
    "#566573",
    "#cb4335",
    "#2e86c1",
    "#28b463",
    "#b9770e",
    "#884ea0",
)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = (
        f"{value:,.0f}"
        if abs(value) >= 100
        else f"{value:,.1f}"
        if abs(value) >= 10
        else f"{value:,.2f}"
    )
    return f"{text} {unit}".strip()


def table_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(metric, before, after, change, article before, article after)."""
    rows = []
    for key, label, unit in METRICS:
        before, after = report["before"][key], report["after"][key]
        change = after / before if key == "throughput_rps" else before / after if after else 0
        word = "more" if key == "throughput_rps" else "lower"
        article = report["article"]
        rows.append(
            (
                label,
                _fmt(before, unit),
                _fmt(after, unit),
                f"{change:.1f}x {word}",
                _fmt(article["before"][key], unit),
                _fmt(article["after"][key], unit),
            )
        )
    return rows


def _profile_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, p in report["profiles"].items():
        closed, spread, opened = p["closed"], p["spread"], p["open"]
        low, high = spread["throughput_rps"]
        rows.append(
            [
                name,
                _fmt(closed["throughput_rps"]),
                f"{_fmt(low)}-{_fmt(high)}",
                _fmt(closed["avg_ms"]),
                _fmt(closed["p95_ms"]),
                _fmt(closed["p99_ms"]),
                f"{opened['rate']:g}",
                _fmt(opened["p50_ms"]),
                _fmt(opened["p95_ms"]),
                _fmt(opened["p99_ms"]),
                _fmt(opened["p999_ms"]),
                str(int(closed["errors"]) + int(opened["errors"])),
                _fmt(p.get("db_calls_per_request")),
            ]
        )
    return rows


TERMINAL_HEADER = [
    "profile",
    "req/s",
    "min-max",
    "avg",
    "P95",
    "",
    "rate",
    "",
    "",
    "P99",
    "",
    "err",
    "DB/req",
]
TABLE_HEADER = ["Metric", "Before", "After", "Change", "Article before", "Article after"]
PROFILE_HEADER = [
    "profile",
    "req/s (median)",
    "req/s (min-max)",
    "avg ms",
    "P95 ms",
    "P99 ms",
    "open rate",
    "open P50",
    "open P95",
    "open P99",
    "open P99.9",
    "errors",
    "DB calls/req",
]


KIND_HEADER = [
    "kind",
    "share",
    "req/s",
    "avg ms",
    "P50 ms",
    "P95 ms",
    "P99 ms",
    "DB queries/req",
    "cache hit",
    "non-2xx",
]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def kind_rows(profile: dict[str, Any]) -> list[list[str]]:
    """One row per kind of request of a profile's open-model run (brisk.lab.kinds)."""
    rows = []
    for kind, k in profile.get("kinds", {}).items():
        failed = sum(n for status, n in k["statuses"].items() if not status.startswith("2"))
        rows.append(
            [
                kind,
                _percent(k["share"]),
                _fmt(k["throughput_rps"]),
                _fmt(k["avg_ms"]),
                _fmt(k["p50_ms"]),
                _fmt(k["p95_ms"]),
                _fmt(k["p99_ms"]),
                _fmt(k["db_queries_per_request"]),
                _percent(k["cache_hit_ratio"]),
                str(failed),
            ]
        )
    return rows


def _kind_title(name: str, profile: dict[str, Any]) -> str:
    return f"{name} per kind (open model at {profile['open']['rate']:g} req/s)"


def _claim_lines(report: dict[str, Any]) -> list[str]:
    c = report["claims"]
    idx, cache, par, pool = c["indexes"], c["cache"], c["parallel"], c["pooling"]
    lines = [
        f"Indexes: the hot lookups take {_fmt(idx['with_ms'])} ms with indexes against "
        f"{_fmt(idx['without_ms'])} ms without — {idx['reduction_pct']:.1f}% less "
        f"(article: {idx['article_reduction_pct']}% less).",
        f"Cache: {_fmt(cache['after'])} database calls per request as shipped, "
        f"{_fmt(cache['after_without_cache'])} with the cache off; naive "
        f"{_fmt(cache['before'])}, naive with a cache {_fmt(cache['before_with_cache'])}.",
        f"Parallel reads (dashboard, one client): sequential {_fmt(par['sequential']['avg_ms'])} "
        f"ms, concurrent {_fmt(par['concurrent']['avg_ms'])} ms, one round trip "
        f"{_fmt(par['single']['avg_ms'])} ms: {_fmt(par['saved_by_concurrent_ms'])} ms and "
        f"{_fmt(par['saved_by_single_round_trip_ms'])} ms saved (article: "
        f"{par['article_saved_ms']} ms).",
    ]
    cases = ", ".join(
        f"{name.replace('_', ' ')}: {pool[name]['errors']} errors, "
        f"P50 {_fmt(pool[name]['p50_ms'])} ms, P99 {_fmt(pool[name]['p99_ms'])} ms, "
        f"{_fmt(pool[name]['throughput_rps'])} req/s"
        for name in ("without_pool", "with_pool", "brisk")
    )
    lines.append(f"Pooling ({pool['clients']} clients, pool of {pool['pool_size']}): {cases}.")
    return lines


def print_report(report: dict[str, Any], console: Console) -> None:
    meta, gen = report["meta"], report["generator"]
    table = Table(title=f"brisk bench — scale {meta['scale']}, commit {meta['commit']}")
    for header in TABLE_HEADER:
        table.add_column(header, justify="left" if header == "Metric" else "right")
    for row in table_rows(report):
        table.add_row(*row)
    console.print(table)
    profiles = Table(title="Profiles: closed model (req/s, avg, P95) and open model (P99)")
    # The terminal gets the columns that fit 100 characters; the files have them all.
    keep = (0, 1, 2, 3, 4, 6, 9, 11, 12)
    for i in keep:
        header = TERMINAL_HEADER[i]
        profiles.add_column(header, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for cells in _profile_rows(report):
        profiles.add_row(*(cells[i] for i in keep))
    console.print(profiles)
    for name in ("before", "after", "after-cache"):
        if name in report["profiles"] and report["profiles"][name].get("kinds"):
            kinds = Table(title=_kind_title(name, report["profiles"][name]))
            for i, header in enumerate(KIND_HEADER):
                kinds.add_column(header, justify="left" if i == 0 else "right")
            for cells in kind_rows(report["profiles"][name]):
                kinds.add_row(*cells)
            console.print(kinds)
    for line in _claim_lines(report):
        console.print(f"• {line}")
    verdict = "[green]ok[/green]" if gen["ok"] else "[red]TOO LOW: figures are suspect[/red]"
    console.print(
        f"Load generator ceiling: wrk {_fmt(gen['wrk_rps'])} req/s, open model "
        f"{_fmt(gen['open_model_rps'])} req/s; fastest service {_fmt(gen['service_max_rps'])} "
        f"req/s ({gen['headroom_x']:.1f}x headroom) {verdict}"
    )


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    out = [
        f"# brisk bench — scale {meta['scale']}",
        "",
        f"Commit `{meta['commit']}`, {meta['cpus']} x {meta['cpu_model']}, Python "
        f"{meta['python']}, {meta['system']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in meta['load_average'])}, at the end "
        f"{', '.join(f'{x:.2f}' for x in meta.get('load_average_end', []))}; "
        f"{meta['repetitions']} runs of {meta['seconds']:g} s or more at "
        f"{meta['connections']} connections per profile.",
        "",
        "| Metric | Before | After | Change | Article before | Article after |",
        "|---|---|---|---|---|---|",
    ]
    out += [f"| {' | '.join(row)} |" for row in table_rows(report)]
    out += ["", f"| {' | '.join(PROFILE_HEADER)} |", "|" + "---|" * len(PROFILE_HEADER)]
    out += [f"| {' | '.join(row)} |" for row in _profile_rows(report)]
    for name, profile in report["profiles"].items():
        if profile.get("kinds"):
            out += ["", f"**{_kind_title(name, profile)}**", ""]
            out += [f"| {' | '.join(KIND_HEADER)} |", "|" + "---|" * len(KIND_HEADER)]
            out += [f"| {' | '.join(row)} |" for row in kind_rows(profile)]
    out += [""] + [f"- {line}" for line in _claim_lines(report)]
    gen = report["generator"]
    out += [
        "",
        f"Load generator ceiling: wrk {_fmt(gen['wrk_rps'])} req/s "
        f"({gen['headroom_x']:.1f}x the fastest profile), open model "
        f"{_fmt(gen['open_model_rps'])} req/s.",
        "",
    ]
    return "\n".join(out)


def _bars(items: list[tuple[str, float]], unit: str, *, width: int = 640) -> str:
    """Horizontal bars, one per item, scaled to the largest."""
    top = max((v for _, v in items), default=1.0) or 1.0
    row, left = 24, 170
    height = row * len(items) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">'
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        length = (width - left - 90) * value / top
        color = COLORS[i % len(COLORS)]
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{color}"/><text x="{left + length + 4:.1f}" y="{y + 15}">'
            f"{_fmt(value, unit)}</text>"
        )
    return "".join(parts) + "</svg>"


def _cdf(series: list[tuple[str, list[tuple[float, float]]]], *, width: int = 640) -> str:
    """Latency CDF (log-scaled time axis) of each series' (fraction, ms) points."""
    import math

    height, left, bottom, top_pad = 300, 50, 40, 10
    values = [ms for _, points in series for _, ms in points if ms > 0]
    low = math.log10(max(min(values, default=0.1), 0.01))
    high = math.log10(max(values, default=1.0)) + 0.05
    span = max(high - low, 0.1)

    def x(ms: float) -> float:
        return left + (width - left - 20) * (math.log10(max(ms, 10**low)) - low) / span

    def y(q: float) -> float:
        return top_pad + (height - bottom - top_pad) * (1 - q)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height + 20 * len(series)}" font-family="sans-serif" font-size="11">',
        f'<line x1="{left}" y1="{y(0)}" x2="{width - 20}" y2="{y(0)}" stroke="#333"/>',
        f'<line x1="{left}" y1="{y(0)}" x2="{left}" y2="{y(1)}" stroke="#333"/>',
    ]
    for q in (0, 0.25, 0.5, 0.75, 0.9, 1.0):
        parts.append(f'<text x="{left - 4}" y="{y(q) + 4:.1f}" text-anchor="end">{q:g}</text>')
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        ms = 10.0**exponent
        if low <= exponent <= high:
            parts.append(
                f'<text x="{x(ms):.1f}" y="{y(0) + 15}" text-anchor="middle">{ms:g} ms</text>'
                f'<line x1="{x(ms):.1f}" y1="{y(0)}" x2="{x(ms):.1f}" y2="{y(1)}" '
                f'stroke="#ddd"/>'
            )
    for i, (label, points) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{x(ms):.1f},{y(q):.1f}" for q, ms in points if ms > 0)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>'
            f'<rect x="{left}" y="{height + 20 * i - 8}" width="12" height="8" fill="{color}"/>'
            f'<text x="{left + 16}" y="{height + 20 * i}">{html.escape(label)}</text>'
        )
    return "".join(parts) + "</svg>"


def html_page(report: dict[str, Any]) -> str:
    profiles = report["profiles"]
    throughput = [(name, p["closed"]["throughput_rps"]) for name, p in profiles.items()]
    cdf = [
        (f"{name} (open, {p['open']['rate']:g} req/s)", p["open"]["cdf"])
        for name, p in profiles.items()
    ]
    contribution = []
    for technique, t in report["techniques"].items():
        if "alone_on_before_x" in t:
            contribution.append((f"+{technique} on before", t["alone_on_before_x"]))
        if "missing_from_after_x" in t:
            contribution.append((f"-{technique} from after", t["missing_from_after_x"]))

    def table(header: list[str], rows: Sequence[Sequence[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    kinds = "".join(
        f"<h3>{html.escape(_kind_title(name, p))}</h3>{table(KIND_HEADER, kind_rows(p))}"
        for name, p in profiles.items()
        if p.get("kinds")
    )
    meta = report["meta"]
    load = ", ".join(f"{x:.2f}" for x in meta["load_average"])
    claims = "".join(f"<li>{html.escape(line)}</li>" for line in _claim_lines(report))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>brisk bench</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>brisk bench — scale {html.escape(meta["scale"])}</h1>
<p>Commit <code>{html.escape(meta["commit"])}</code>,
{meta["cpus"]} x {html.escape(meta["cpu_model"])}, load average {load} at start.</p>
<h2>The article's table, measured here</h2>
{table(TABLE_HEADER, table_rows(report))}
<h2>Throughput by profile (closed model, median)</h2>{_bars(throughput, "req/s")}
<h2>Per-technique contribution (throughput x)</h2>{_bars(contribution, "x")}
<h2>Latency CDF at a fixed arrival rate (open model)</h2>{_cdf(cdf)}
<h2>Profiles</h2>{table(PROFILE_HEADER, _profile_rows(report))}
<h2>Per kind of request</h2>{kinds}
<h2>The article's four claims</h2><ul>{claims}</ul>
</body></html>
"""
