"""The lab's pure parts: the request mix and the report's renderings."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brisk.lab.kinds import by_kind, statuses, timeline
from brisk.lab.openloop import encode
from brisk.lab.report import REQUIRED, kind_rows, markdown, status_rows, table_rows
from brisk.lab.report_html import html_page
from brisk.lab.workload import (
    MIX,
    WRITES,
    Sample,
    build_requests,
    read_requests,
    write_requests,
)

SAMPLE = Sample(
    slugs=[f"slug-{i}" for i in range(200)],
    usernames=[f"user{i}" for i in range(50)],
    tags=["python", "postgres", "c++ & rust"],
    tokens=["t1", "t2"],
    etags={"slug-0": '"tag-0"', "slug-1": '"tag-1"'},
)


def test_mix_has_every_kind_and_five_percent_writes() -> None:
    requests = build_requests(SAMPLE, count=2_000)
    kinds = Counter(r.kind for r in requests)
    assert set(kinds) == set(MIX)
    writes = sum(n for kind, n in kinds.items() if kind in WRITES)
    assert writes / len(requests) == sum(MIX[k] for k in WRITES) / sum(MIX.values())
    assert 0.04 <= writes / len(requests) <= 0.06
    assert all(r.token for r in requests if r.kind in WRITES | {"dashboard", "feed"})


def test_every_prefix_keeps_the_mix() -> None:
    # The open run answers a prefix of the file; at a low rate, only a few hundred requests.
    requests = build_requests(SAMPLE, count=2_000)
    block = sum(MIX.values())
    for end in (block, 3 * block, 7 * block):
        assert Counter(r.kind for r in requests[:end]) == {
            k: n * end // block for k, n in MIX.items()
        }
    assert len({tuple(r.kind for r in requests[i : i + block]) for i in (0, block, 2 * block)}) == 3


def test_mix_is_seeded_and_skewed() -> None:
    assert build_requests(SAMPLE, seed=1) == build_requests(SAMPLE, seed=1)
    assert build_requests(SAMPLE, seed=1) != build_requests(SAMPLE, seed=2)
    slugs = Counter(r.path.split("/")[3] for r in build_requests(SAMPLE) if r.kind == "article")
    # Popular articles first: the top one is asked for far more than an average one.
    assert slugs.most_common(1)[0][1] > 5 * (sum(slugs.values()) / len(SAMPLE.slugs))


def test_request_file_round_trips(tmp_path: Path) -> None:
    requests = build_requests(SAMPLE, count=300)
    write_requests(requests, tmp_path / "r.tsv")
    assert read_requests(tmp_path / "r.tsv") == requests
    # Tags are URL-encoded, so a line never holds a stray tab or space.
    assert all(" " not in r.path for r in requests)


def test_revalidating_clients_send_the_etag_they_hold() -> None:
    revalidations = [r for r in build_requests(SAMPLE) if r.kind == "article_revalidate"]
    assert revalidations
    for r in revalidations:
        slug = r.path.split("/")[3]
        assert r.if_none_match == SAMPLE.etags[slug]
        assert not r.token  # the shared, anonymous body
        assert b"\r\nIf-None-Match: " + r.if_none_match.encode() + b"\r\n" in encode(r, "h", 1)
    # A service that sends no ETags gets plain reads of the same kind.
    plain = Sample(SAMPLE.slugs, SAMPLE.usernames, SAMPLE.tags, SAMPLE.tokens)
    plain_revalidations = [r for r in build_requests(plain) if r.kind == "article_revalidate"]
    assert plain_revalidations
    assert all(r.if_none_match == "" for r in plain_revalidations)
    assert all(b"If-None-Match" not in encode(r, "h", 1) for r in plain_revalidations)


def _load(rps: float, ms: float) -> dict[str, Any]:
    cdf = [[q, ms * (1 + 3 * q)] for q in (0.1, 0.5, 0.9, 0.99, 1.0)]
    closed = {"throughput_rps": rps, "avg_ms": ms, "p50_ms": ms, "p95_ms": 2 * ms,
              "p99_ms": 3 * ms, "p999_ms": 4 * ms, "max_ms": 5 * ms, "errors": 0}  # fmt: skip
    timeline = [{"t": t, "throughput_rps": rps / 2, "p99_ms": 3 * ms, "errors": 0} for t in (0, 1)]
    opened = closed | {"rate": rps / 2, "cdf": cdf, "requests": 10, "timeline": timeline}
    spread = {k: [v, v] for k, v in closed.items() if k != "errors"}
    records = [["article", ms / 1e3, 200, 0.5, 2, 1, 1], ["tags", ms / 2e3, 404, 1.5, 0, 1, 0]]
    return {"closed": closed, "spread": spread, "open": opened, "db_calls_per_request": 2.0,
            "kinds": by_kind(records, 2.0)}  # fmt: skip


def synthetic_report() -> dict[str, Any]:
    profiles = {"before": _load(40, 400), "after": _load(900, 18)}
    profiles["before+indexes"] = _load(200, 80) | {"technique": "indexes", "change": "+"}
    return {
        "before": {"avg_ms": 400.0, "p95_ms": 800.0, "throughput_rps": 40.0},
        "after": {"avg_ms": 18.0, "p95_ms": 36.0, "throughput_rps": 900.0},
        "article": {"before": {"avg_ms": 800, "p95_ms": 2000, "throughput_rps": 500},
                    "after": {"avg_ms": 300, "p95_ms": 500, "throughput_rps": 2000}},
        "techniques": {"indexes": {"alone_on_before_x": 5.0, "missing_from_after_x": 3.0}},
        "claims": {
            "indexes": {"with_ms": 1.0, "without_ms": 10.0, "reduction_pct": 90.0,
                        "article_reduction_pct": 70, "queries": {}},
            "cache": {"after": 1.0, "after_without_cache": 2.0, "before": 50.0,
                      "before_with_cache": 20.0},
            "parallel": {"sequential": {"avg_ms": 7.0}, "concurrent": {"avg_ms": 4.0},
                         "single": {"avg_ms": 2.5}, "saved_by_concurrent_ms": 3.0,
                         "saved_by_single_round_trip_ms": 4.5, "article_saved_ms": 400},
            "pooling": {"pool_size": 2, "clients": 20} | {
                case: {"errors": 0, "p50_ms": 10.0, "p99_ms": 50.0, "throughput_rps": 100.0}
                for case in ("without_pool", "with_pool", "brisk")},
        },
        "profiles": profiles,
        "generator": {"wrk_rps": 30000.0, "open_model_rps": 11000.0, "service_max_rps": 900.0,
                      "headroom_x": 33.3, "ok": True},
        "meta": {"scale": "XS", "commit": "abc1234", "started": "2026-01-02T03:04:05Z",
                 "cpus": 2, "cpu_model": "cpu <x>",
                 "python": "3.11", "system": "Linux", "load_average": [1.0, 1.0, 1.0],
                 "repetitions": 3, "seconds": 8, "connections": 16},
    }  # fmt: skip


def test_table_puts_the_article_beside_the_measurement() -> None:
    rows = {row[0]: row for row in table_rows(synthetic_report())}
    assert rows["Throughput"][1:] == ("40.0 req/s", "900 req/s", "22.5x more", "500 req/s",
                                      "2,000 req/s", "not met")  # fmt: skip
    assert rows["P95 latency"][6] == "met"  # 36 ms against the article's 500
    assert rows["P95 latency"][3] == "22.2x lower"
    assert rows["Avg response time"][4:6] == ("800 ms", "300 ms")


def test_html_is_self_contained_with_plots() -> None:
    page = html_page(synthetic_report())
    # Throughput, P95, P95 per kind, throughput and P99 over time, the CDF, the contributions.
    assert page.count("<svg") == 7
    assert "<polyline" in page
    assert page.count("<circle") == 6  # 3 profiles x 2 kinds
    throughput = page.split("<h2>Throughput by profile")[1].split("</svg>")[0]
    assert "req/s (log scale)" in throughput  # 40 to 900 req/s: more than a decade
    fills = re.findall(r'<rect [^>]*fill="(#[0-9A-Fa-f]{6})"', throughput)
    assert len(fills) == 3
    assert len(set(fills)) == 3  # a colour per profile
    assert "2026-01-02T03:04:05Z" in page  # the run's date
    assert "not met" in page
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "cpu &lt;x&gt;" in page  # escaped


def test_markdown_and_json_render() -> None:
    report = synthetic_report()
    md = markdown(report)
    assert "| Throughput | 40.0 req/s | 900 req/s |" in md
    assert "commit" in md.lower()
    assert set(REQUIRED) <= set(json.loads(json.dumps(report)))


def test_records_break_down_per_kind_and_over_time() -> None:
    # [kind, latency s, status, answered at s, DB queries, cache hits, cache misses]
    records = [["feed", 0.010 * i, 200, i / 10, 3, 1, 1] for i in range(1, 21)]
    records += [["tags", 0.001, 200, 0.1, 0, 2, 0], ["tags", 0.002, 503, 1.9, -1, -1, -1]]
    kinds = by_kind(records, 2.0)
    assert set(kinds) == {"feed", "tags"}
    feed = kinds["feed"]
    assert feed["requests"] == 20
    assert feed["share"] == pytest.approx(20 / 22)
    assert feed["throughput_rps"] == pytest.approx(10.0)
    assert feed["p50_ms"] == pytest.approx(100.0)
    assert feed["p95_ms"] == pytest.approx(190.0)
    assert feed["max_ms"] == pytest.approx(200.0)
    assert feed["db_queries_per_request"] == pytest.approx(3.0)
    assert feed["cache_hit_ratio"] == pytest.approx(0.5)
    # A request without Server-Timing counts in the latency, not in the per-request costs.
    assert kinds["tags"]["db_queries_per_request"] == pytest.approx(0.0)
    assert kinds["tags"]["cache_hit_ratio"] == pytest.approx(1.0)
    assert kinds["tags"]["statuses"] == {"200": 1, "503": 1}
    assert statuses(records) == {"200": 21, "503": 1}
    seconds = timeline(records, 2.0)
    assert [s["t"] for s in seconds] == [0.0, 1.0]
    # The answer at 2.0 s is past the last whole second: left out of the time series.
    assert sum(s["throughput_rps"] for s in seconds) == pytest.approx(21.0)
    assert seconds[1]["errors"] == 1
    assert seconds[1]["p99_ms"] == pytest.approx(190.0)  # the slowest answer within that second


def test_kind_table_rows_show_the_breakdown() -> None:
    rows = {row[0]: row for row in kind_rows(synthetic_report()["profiles"]["after"])}
    assert rows["article"][1] == "50%"
    assert rows["article"][8] == "50%"  # one hit, one miss
    assert rows["tags"][9] == "1"  # its 404
    assert "after per kind" in markdown(synthetic_report())


def test_statuses_per_profile_separate_answers_from_failures() -> None:
    report = synthetic_report()
    report["profiles"]["after"]["open"] |= {"statuses": {"200": 95, "503": 3}, "errors": 5}
    report["profiles"]["after"]["closed"]["errors"] = 7
    header, rows = status_rows(report)
    assert header == ["profile", "200", "503", "open: no answer", "closed: failed"]
    assert {row[0]: row[1:] for row in rows}["after"] == ["95", "3", "2", "7"]


def test_soak_errors_are_broken_down_by_status() -> None:
    from types import SimpleNamespace

    from brisk.lab.soak import _report, _window, errors_by_status

    # 3 refused answers (two 503s, one 429) and 2 requests that got no answer at all.
    failing = SimpleNamespace(
        requests=100, errors=5, statuses={"200": 95, "503": 2, "429": 1}, throughput_rps=10.0,
        p50_ms=1.0, p99_ms=4.0, max_ms=9.0,
    )  # fmt: skip
    clean = SimpleNamespace(**{**vars(failing), "errors": 0, "statuses": {"200": 100}})
    assert errors_by_status(failing) == {"429": 1, "503": 2, "no answer": 2}
    assert errors_by_status(clean) == {}
    windows = [_window(i + 1, 0.0, r, 2**20, 30.0) for i, r in enumerate([clean, failing, failing])]
    report = _report(10.0, 7.0, 2**20, windows)
    assert report["errors"] == 10
    assert report["errors_by_status"] == {"429": 2, "503": 4, "no answer": 4}
    assert report["ok"] == {"rss_growth": True, "errors": False, "p99": True}
