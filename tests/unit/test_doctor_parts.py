"""The doctor's pure parts: reading cache ratios from /metrics text, what counts as a problem."""

from __future__ import annotations

from typing import Any

import pytest

from brisk.doctor.budget import Budget, cost, verdict
from brisk.doctor.cache import ratios_from_metrics
from brisk.doctor.model import Report
from brisk.doctor.tuning import suggested_shared_buffers
from brisk.servers import display_url

EXPOSITION = """\
# HELP brisk_cache_requests_total Cache lookups.
# TYPE brisk_cache_requests_total counter
brisk_cache_requests_total{family="article",layer="l1",result="hit"} 90.0
brisk_cache_requests_total{family="tag",layer="l1",result="hit"} 10.0
brisk_cache_requests_total{family="article",layer="l1",result="miss"} 100.0
brisk_cache_requests_total{family="article",layer="l2",result="hit"} 30.0
brisk_cache_requests_total{family="article",layer="l2",result="miss"} 70.0
brisk_cache_requests_total{family="article",layer="l2",result="error"} 4.0
# HELP http_server_active_requests x
# TYPE http_server_active_requests gauge
http_server_active_requests 1.0
"""


def test_cache_ratios_per_layer_from_the_apps_metrics() -> None:
    layers = ratios_from_metrics(EXPOSITION)
    assert layers["l1"]["ratio"] == pytest.approx(0.5)
    assert layers["l2"]["ratio"] == pytest.approx(0.3)
    assert layers["l2"]["error"] == 4


def test_warnings_fail_only_when_strict() -> None:
    report = Report(database="x", min_rows=10)
    report.add("warning", "unused_index", "i", "never scanned")
    report.add("info", "cache", "cache", "unknown")
    assert report.problems() == []
    assert [f.check for f in report.problems(strict=True)] == ["unused_index"]
    report.add("error", "seq_scan", "q", "scan")
    assert report.as_json()["ok"] is False


def test_the_report_never_shows_the_database_password() -> None:
    shown = display_url("postgresql://brisk:hunter2@db.internal:5432/brisk")
    assert "hunter2" not in shown
    assert shown == "postgresql://brisk@db.internal:5432/brisk"


def _plan(root: dict[str, Any], ms: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {"Plan": root, "Execution Time": ms, **extra}


def _node(kind: str, rows: float = 1, loops: int = 1, **extra: Any) -> dict[str, Any]:
    return {"Node Type": kind, "Actual Rows": rows, "Actual Loops": loops, **extra}


def test_a_small_plan_is_within_budget_and_names_no_cause() -> None:
    plan = _plan(
        _node("Limit", 20, **{"Shared Hit Blocks": 40, "Shared Read Blocks": 2},
              Plans=[_node("Index Scan", 20, **{"Relation Name": "articles"})]),
        ms=0.4,
    )  # fmt: skip
    spent = cost(plan)
    assert spent.buffers == 42
    assert spent.causes == ()
    assert not spent.over(Budget())


def test_a_sort_over_many_rows_and_the_lookups_feeding_it_are_named() -> None:
    lookups = _node("Index Scan", 1, 221_380, **{"Relation Name": "articles"})
    links = _node("Index Only Scan", 221_380, **{"Index Name": "article_tags_tag_idx"})
    join = _node("Nested Loop", 221_380, Plans=[links, lookups])
    sort = _node("Sort", 20, Plans=[join])
    plan = _plan(sort | {"Shared Hit Blocks": 785_000, "Shared Read Blocks": 101_000}, ms=1049)
    spent = cost(plan)
    assert "sorts 221,380 rows to return 20" in spent.causes
    assert "221,380 lookups on articles" in spent.causes
    assert spent.over(Budget())
    text = verdict(spent, Budget())
    assert text.startswith("1,049.0 ms > 5 ms, 886,000 buffers > 2,000 per call: sorts")


def test_rows_removed_by_a_filter_and_heap_fetches_are_named() -> None:
    scan = _node(
        "Index Scan", 20, 1, **{"Relation Name": "articles", "Rows Removed by Filter": 12_958}
    )
    only = _node("Index Only Scan", 5, 1, **{"Index Name": "notifications_unread_idx",
                                           "Heap Fetches": 8_263})  # fmt: skip
    spent = cost(_plan(_node("Append", 25, Plans=[scan, only]), ms=70))
    assert "reads 12,958 rows on articles that a filter then removes" in spent.causes
    assert any("visits the heap 8,263 times" in c for c in spent.causes)


def test_cascading_triggers_are_named_by_their_constraint_and_time_counts() -> None:
    triggers = [
        {"Trigger Name": "RI_ConstraintTrigger_a_1",
         "Constraint Name": "notifications_article_id_fkey",
         "Relation": "articles", "Time": 567.1, "Calls": 1},
        {"Trigger Name": "RI_ConstraintTrigger_a_2", "Relation": "tags", "Time": 0.2, "Calls": 1},
    ]  # fmt: skip
    spent = cost(_plan(_node("Delete", 0), ms=980, Triggers=triggers))
    assert spent.causes == (
        "trigger for notifications_article_id_fkey on articles: 1 calls, 567.1 ms",
    )
    assert spent.over(Budget())
    assert not spent.over(Budget(ms=1000))
    assert spent.over(Budget(ms=1000, buffers=-1))


@pytest.mark.parametrize(
    ("hot_mib", "setting"),
    [(0, "1MB"), (100, "128MB"), (1_600, "2GB"), (2_277, "4GB"), (2_877, "4GB")],
)
def test_the_shared_buffers_warning_names_a_setting_that_holds_the_hot_indexes(
    hot_mib: int, setting: str
) -> None:
    """A quarter more than the hot indexes, rounded up to a power of two (M: 2.3-2.9 GiB)."""
    assert suggested_shared_buffers(hot_mib * 2**20) == setting
