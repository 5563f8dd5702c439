"""What the doctor found: findings with a severity, and the report that holds them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    # seq_scan, budget, statistics, shared_buffers, missing_index, unused_index, invalid_index,
    # pool, cache, data
    check: str
    subject: str  # a query, table or index name
    message: str


@dataclass
class QueryPlan:
    name: str
    execution_ms: float
    planning_ms: float
    shared_hit_blocks: int
    shared_read_blocks: int
    rows: int
    seq_scans: list[str]
    indexes: list[str]
    # Past the documented budget (brisk.doctor.budget), and what the plan shows as the cause.
    over_budget: bool = False
    causes: list[str] = field(default_factory=list)


@dataclass
class Report:
    database: str
    min_rows: int
    queries: list[QueryPlan] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    pool: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)

    def add(self, severity: Severity, check: str, subject: str, message: str) -> None:
        self.findings.append(Finding(severity, check, subject, message))

    def problems(self, *, strict: bool = False) -> list[Finding]:
        """Errors, and with `strict` warnings too: what makes the exit status non-zero."""
        failing = {"error", "warning"} if strict else {"error"}
        return [f for f in self.findings if f.severity in failing]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = not self.problems()
        return data
