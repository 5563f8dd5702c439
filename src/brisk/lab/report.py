"""The bench's report: terminal tables (rich), JSON and Markdown; the rows every format shares
(the HTML page with its plots is brisk.lab.report_html)."""

from __future__ import annotations

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


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """(metric, before, after, change, article before, article after, whether brisk's after
    meets the article's after)."""
    rows: list[tuple[str, ...]] = []
    for key, label, unit in METRICS:
        before, after = report["before"][key], report["after"][key]
        change = after / before if key == "throughput_rps" else before / after if after else 0
        word = "more" if key == "throughput_rps" else "lower"
        article = report["article"]
        target = article["after"][key]
        met = after >= target if key == "throughput_rps" else after <= target
        rows.append(
            (
                label,
                _fmt(before, unit),
                _fmt(after, unit),
                f"{change:.1f}x {word}",
                _fmt(article["before"][key], unit),
                _fmt(article["after"][key], unit),
                "met" if met else "not met",
            )
        )
    return rows


def profile_rows(report: dict[str, Any]) -> list[list[str]]:
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
TABLE_HEADER = [
    "Metric",
    "Before",
    "After",
    "Change",
    "Article before",
    "Article after",
    "Article's after",
]
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
    "4xx/5xx",
]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def kind_rows(profile: dict[str, Any]) -> list[list[str]]:
    """One row per kind of request of a profile's open-model run (brisk.lab.kinds)."""
    rows = []
    for kind, k in profile.get("kinds", {}).items():
        # A 304 answers a revalidation: a success, as a 200 is.
        failed = sum(n for status, n in k["statuses"].items() if status >= "400")
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


def kind_title(name: str, profile: dict[str, Any]) -> str:
    return f"{name} per kind (open model at {profile['open']['rate']:g} req/s)"


def status_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Answers by HTTP status per profile (the open run: the generator that reads each one),
    and the closed runs' failures (wrk counts non-2xx/3xx, timeouts, socket errors)."""
    codes = sorted({c for p in report["profiles"].values() for c in p["open"].get("statuses", {})})
    rows = []
    for name, p in report["profiles"].items():
        statuses = p["open"].get("statuses", {})
        failed = int(p["open"]["errors"]) - sum(n for c, n in statuses.items() if c >= "400")
        cells = [str(statuses.get(code, 0)) for code in codes]
        rows.append([name, *cells, str(max(failed, 0)), str(int(p["closed"]["errors"]))])
    return ["profile", *codes, "open: no answer", "closed: failed"], rows


def run_line(report: dict[str, Any]) -> str:
    """When, for how long, how hard: what a reader needs to weigh the figures."""
    meta = report["meta"]
    load = ", ".join(f"{x:.2f}" for x in meta["load_average"])
    end = ", ".join(f"{x:.2f}" for x in meta.get("load_average_end", []))
    return (
        f"Run {meta.get('started', '?')} for {meta.get('duration_s', 0) / 60:.1f} min, commit "
        f"{meta['commit']}, {meta['cpus']} x {meta['cpu_model']}, Python {meta['python']}, "
        f"{meta['system']}; load average {load} at the start, {end or '?'} at the end. "
        f"Every profile on {meta.get('server', 'uvicorn')}, one worker pinned to a core. "
        f"Closed model: {meta['repetitions']} runs of {meta['seconds']:g} s or more per profile "
        f"at {meta['connections']} connections (medians); open model: one run per profile at "
        f"{100 * meta.get('open_fraction', 0.5):.0f}% of its closed throughput, 64 connections."
    )


def claim_lines(report: dict[str, Any]) -> list[str]:
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
    for cells in profile_rows(report):
        profiles.add_row(*(cells[i] for i in keep))
    console.print(profiles)
    for name in ("before", "after", "after-cache"):
        if name in report["profiles"] and report["profiles"][name].get("kinds"):
            kinds = Table(title=kind_title(name, report["profiles"][name]))
            for i, header in enumerate(KIND_HEADER):
                kinds.add_column(header, justify="left" if i == 0 else "right")
            for cells in kind_rows(report["profiles"][name]):
                kinds.add_row(*cells)
            console.print(kinds)
    for line in claim_lines(report):
        console.print(f"• {line}")
    verdict = "[green]ok[/green]" if gen["ok"] else "[red]TOO LOW: figures are suspect[/red]"
    console.print(
        f"Load generator ceiling: wrk {_fmt(gen['wrk_rps'])} req/s, open model "
        f"{_fmt(gen['open_model_rps'])} req/s; fastest service {_fmt(gen['service_max_rps'])} "
        f"req/s ({gen['headroom_x']:.1f}x headroom) {verdict}"
    )


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    out = [f"# brisk bench — scale {meta['scale']}", "", run_line(report), ""]
    out += [f"| {' | '.join(TABLE_HEADER)} |", "|" + "---|" * len(TABLE_HEADER)]
    out += [f"| {' | '.join(row)} |" for row in table_rows(report)]
    out += ["", f"| {' | '.join(PROFILE_HEADER)} |", "|" + "---|" * len(PROFILE_HEADER)]
    out += [f"| {' | '.join(row)} |" for row in profile_rows(report)]
    header, rows = status_rows(report)
    out += [
        "",
        "**Answers by status**",
        "",
        f"| {' | '.join(header)} |",
        "|" + "---|" * len(header),
    ]
    out += [f"| {' | '.join(row)} |" for row in rows]
    for name, profile in report["profiles"].items():
        if profile.get("kinds"):
            out += ["", f"**{kind_title(name, profile)}**", ""]
            out += [f"| {' | '.join(KIND_HEADER)} |", "|" + "---|" * len(KIND_HEADER)]
            out += [f"| {' | '.join(row)} |" for row in kind_rows(profile)]
    out += [""] + [f"- {line}" for line in claim_lines(report)]
    gen = report["generator"]
    out += [
        "",
        f"Load generator ceiling: wrk {_fmt(gen['wrk_rps'])} req/s "
        f"({gen['headroom_x']:.1f}x the fastest profile), open model "
        f"{_fmt(gen['open_model_rps'])} req/s.",
        "",
    ]
    return "\n".join(out)
