"""What one hot query may cost, and the causes a plan shows when it costs more.

The budget is per call of a query as the app runs it, with the data's busiest rows as
parameters (brisk.db.samples), measured warm (the second of two runs):

- execution time, cascading triggers included: at most 5 ms;
- shared buffers touched (hit + read, the whole plan): at most 2,000 (8 KiB each, 16 MiB).

(`brisk doctor --budget-ms/--budget-buffers` change them; the tests judge XS data by buffers
alone, since a time depends on the machine.)

A query within both at every size is one whose cost does not grow with the tables; one past
either is flagged with what its plan shows: a sort over many rows, rows read then removed by
a filter, index-only scans that visit the heap, many lookups into one table, the time spent
in cascading triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from brisk.db.plans import shared_buffers

BUDGET_MS = 5.0
BUDGET_BUFFERS = 2_000


@dataclass(frozen=True)
class Budget:
    ms: float = BUDGET_MS
    buffers: int = BUDGET_BUFFERS


# A plan node is named as a cause past these (rows summed over the node's loops).
MANY_ROWS = 1_000
MANY_LOOPS = 1_000
MANY_HEAP_FETCHES = 100
SLOW_TRIGGER_MS = 1.0


@dataclass(frozen=True)
class Cost:
    execution_ms: float
    buffers: int
    causes: tuple[str, ...]

    def over(self, budget: Budget) -> bool:
        return self.execution_ms > budget.ms or self.buffers > budget.buffers


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def _rows(node: dict[str, Any]) -> int:
    return int(node.get("Actual Rows", 0) * max(1, node.get("Actual Loops", 1)))


def _on(node: dict[str, Any]) -> str:
    relation = node.get("Relation Name") or node.get("Index Name")
    return f" on {relation}" if relation else ""


def _node_causes(node: dict[str, Any]) -> Iterator[str]:
    kind = node["Node Type"]
    if kind in ("Sort", "Incremental Sort"):
        fed = sum(_rows(child) for child in node.get("Plans", ()))
        if fed >= MANY_ROWS:
            yield f"sorts {fed:,} rows to return {_rows(node):,}"
    for key in ("Rows Removed by Filter", "Rows Removed by Join Filter"):
        removed = int(node.get(key, 0) * max(1, node.get("Actual Loops", 1)))
        if removed >= MANY_ROWS:
            yield f"reads {removed:,} rows{_on(node)} that a filter then removes"
    fetches = int(node.get("Heap Fetches", 0))
    if kind == "Index Only Scan" and fetches >= MANY_HEAP_FETCHES:
        yield (
            f"index-only scan{_on(node)} visits the heap {fetches:,} times "
            "(visibility map behind: VACUUM it)"
        )
    loops = int(node.get("Actual Loops", 1))
    if kind.startswith(("Index", "Bitmap Heap")) and loops >= MANY_LOOPS:
        yield f"{loops:,} lookups{_on(node)}"
    if kind == "Seq Scan" and _rows(node) >= MANY_ROWS:
        yield f"sequential scan{_on(node)} of {_rows(node):,} rows"
    elif kind.startswith(("Index", "Bitmap Heap")) and _rows(node) >= MANY_ROWS:
        yield f"reads {_rows(node):,} rows{_on(node)}"


def causes(explained: dict[str, Any]) -> list[str]:
    """What a plan (EXPLAIN ANALYZE, FORMAT JSON) shows that makes it cost, biggest first."""
    found = list(dict.fromkeys(c for n in _nodes(explained["Plan"]) for c in _node_causes(n)))
    for trigger in sorted(explained.get("Triggers", ()), key=lambda t: -t.get("Time", 0.0)):
        if trigger.get("Time", 0.0) >= SLOW_TRIGGER_MS:
            # A foreign key's cascade is named by its constraint (the trigger's name is an oid).
            what = trigger.get("Constraint Name") or trigger["Trigger Name"]
            found.append(
                f"trigger for {what} on {trigger.get('Relation', '?')}: "
                f"{trigger.get('Calls', 0):,} calls, {trigger['Time']:.1f} ms"
            )
    return found


def cost(explained: dict[str, Any]) -> Cost:
    return Cost(
        execution_ms=float(explained.get("Execution Time", 0.0)),
        buffers=shared_buffers(explained),
        causes=tuple(causes(explained)),
    )


def verdict(spent: Cost, budget: Budget) -> str:
    """The finding's text for a query past its budget."""
    over = []
    if spent.execution_ms > budget.ms:
        over.append(f"{spent.execution_ms:,.1f} ms > {budget.ms:g} ms")
    if spent.buffers > budget.buffers:
        over.append(f"{spent.buffers:,} buffers > {budget.buffers:,}")
    why = "; ".join(spent.causes) or "no single node stands out: many small steps"
    return f"{', '.join(over)} per call: {why}"
