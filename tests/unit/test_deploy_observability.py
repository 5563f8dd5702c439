"""The Grafana dashboard and the Prometheus rules only use metrics brisk really exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from brisk.observability.metrics import Metrics
from tests.conftest import REPO_ROOT

FOLDER = REPO_ROOT / "deploy" / "observability"
NAME = re.compile(r"\b((?:brisk|http_server)_[a-z_]+)\b")


def exported() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        for suffix in ("_bucket", "_count", "_sum", "_total"):
            names.add(family.name + suffix)
    return names


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def test_dashboard_queries_use_exported_metrics() -> None:
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    exprs = list(_exprs(dashboard))
    assert len(exprs) > 20
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert "http_server_request_duration_seconds_bucket" in used
    assert used <= exported(), used - exported()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_rules_use_exported_metrics() -> None:
    rules = (FOLDER / "brisk-rules.yml").read_text()
    used = {n for n in NAME.findall(rules) if not n.startswith("brisk:")}
    assert "brisk_cache_requests_total" in used
    assert used <= exported(), used - exported()
