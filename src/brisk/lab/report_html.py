"""The bench's HTML report: one self-contained page (inline SVG, no script, no CDN) with the
article's table, per-profile and per-kind figures, the open run over time, and statuses."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from brisk.lab import plots
from brisk.lab.report import (
    KIND_HEADER,
    PROFILE_HEADER,
    TABLE_HEADER,
    claim_lines,
    kind_rows,
    kind_title,
    profile_rows,
    run_line,
    status_rows,
    table_rows,
)

_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;
padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
td.met{color:#0a6e31;font-weight:bold}td.not-met{color:#b00020;font-weight:bold}
p.note{color:#555;font-size:13px}"""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        marked = {"met": ' class="met"', "not met": ' class="not-met"'}.get(text, "")
        return f"<td{marked}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cdf(profiles: dict[str, Any], palette: dict[str, str]) -> str:
    """Latency by fraction of requests answered, one line per profile (open model)."""
    series = {name: [(100 * q, ms) for q, ms in p["open"]["cdf"]] for name, p in profiles.items()}
    return plots.lines(series, palette, x_unit="% of requests answered within", y_unit="ms")


_ABSENT = '<p class="note">Not in this report (measured by an older brisk).</p>'


def _over_time(profiles: dict[str, Any], palette: dict[str, str], key: str, unit: str) -> str:
    series = {
        name: [(s["t"], s[key]) for s in p["open"]["timeline"]]
        for name, p in profiles.items()
        if p["open"].get("timeline")
    }
    if not series:
        return _ABSENT
    return plots.lines(series, palette, x_unit="seconds into the open run", y_unit=unit)


def _contribution(report: dict[str, Any]) -> list[tuple[str, float, str]]:
    items = []
    for i, (technique, t) in enumerate(report["techniques"].items()):
        colour = plots.PALETTE[i % len(plots.PALETTE)]
        if "alone_on_before_x" in t:
            items.append((f"+{technique} on before", t["alone_on_before_x"], colour))
        if "missing_from_after_x" in t:
            items.append((f"-{technique} from after", t["missing_from_after_x"], colour))
    return items


def _kinds(profiles: dict[str, Any], palette: dict[str, str]) -> str:
    kinds = sorted({k for p in profiles.values() for k in p.get("kinds", {})})
    points = {
        name: {k: v["p95_ms"] for k, v in p.get("kinds", {}).items()}
        for name, p in profiles.items()
    }
    return plots.dots(kinds, points, palette, "P95 ms") if kinds else _ABSENT


def html_page(report: dict[str, Any]) -> str:
    profiles, meta = report["profiles"], report["meta"]
    palette = plots.colours(list(profiles))
    throughput = [(n, p["closed"]["throughput_rps"], palette[n]) for n, p in profiles.items()]
    p95 = [(n, p["closed"]["p95_ms"], palette[n]) for n, p in profiles.items()]
    status_header, statuses = status_rows(report)
    kinds = "".join(
        f"<h3>{html.escape(kind_title(name, p))}</h3>{_table(KIND_HEADER, kind_rows(p))}"
        for name, p in profiles.items()
        if p.get("kinds")
    )
    claims = "".join(f"<li>{html.escape(line)}</li>" for line in claim_lines(report))
    contribution = _contribution(report)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>brisk bench</title>
<style>{_STYLE}</style></head><body>
<h1>brisk bench — scale {html.escape(meta["scale"])}</h1>
<p>{html.escape(run_line(report))}</p>
<h2>The article's table, measured here</h2>
{_table(TABLE_HEADER, table_rows(report))}
<p class="note">"Article's after": whether brisk as shipped meets the article's own after
figure on this machine (absolute times are the machine's; the ratios are the lab's claims).</p>
<h2>Throughput by profile (closed model, median)</h2>{plots.bars(throughput, "req/s")}
<h2>P95 latency by profile (closed model, median)</h2>{plots.bars(p95, "ms")}
<h2>P95 per kind of request (open model)</h2>{_kinds(profiles, palette)}
<h2>Throughput over the open run</h2>{_over_time(profiles, palette, "throughput_rps", "req/s")}
<h2>P99 over the open run (per second)</h2>{_over_time(profiles, palette, "p99_ms", "ms")}
<h2>Latency by share of requests (open model)</h2>{_cdf(profiles, palette)}
<h2>Answers by status</h2>{_table(status_header, statuses)}
<h2>Profiles</h2>{_table(PROFILE_HEADER, profile_rows(report))}
<h2>Per kind of request</h2>{kinds}
{
        f"<h2>Per-technique contribution (throughput x)</h2>{plots.bars(contribution, 'x')}"
        if contribution
        else ""
    }
<h2>The article's four claims</h2><ul>{claims}</ul>
</body></html>
"""
