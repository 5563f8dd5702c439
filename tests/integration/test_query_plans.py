"""Every named query, planned against a seeded and ANALYZEd database, uses an index on the big
tables: no sequential scan in the plan PostgreSQL runs for it; and its cost does not grow with
the data: the buffers one call touches at four times the XS data stay those at XS.

brisk's connections run prepared statements with plan_cache_mode=force_generic_plan (planned
once, without the parameter values), so the generic plan is the one that runs and must be an
index plan; the custom plan (what `auto` may pick) is held to the same rule."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from brisk.db.plans import (
    PlanCacheMode,
    explain,
    indexes_used,
    nodes,
    seq_scans,
    shared_buffers,
)
from brisk.db.queries import REGISTRY
from brisk.doctor.samples import ARGS, Sample, prelude_for, request_queries, sample_from
from brisk.lab.seed import SCALES, Scale, seed_database
from brisk.services import all_queries
from tests.conftest import create_scratch_database, drop_database

# The tables that grow with use. `users` is left out: at the seeded scale a hash join over all
# users is legitimately the cheapest plan for a viewer following a large share of them.
BIG_TABLES = frozenset(
    {
        "articles",
        "favorites",
        "favorite_tags",
        "follows",
        "comments",
        "article_tags",
        "notifications",
    }
)


@contextlib.asynccontextmanager
async def _seeded_at(
    admin_url: str, scale: Scale, prefix: str
) -> AsyncIterator[tuple[asyncpg.Connection, Sample]]:
    url = await create_scratch_database(admin_url, prefix)
    await seed_database(url, scale, seed=7)
    conn = await asyncpg.connect(url)
    await conn.execute("VACUUM ANALYZE")
    try:
        yield conn, await sample_from(conn)
    finally:
        await conn.close()
        await drop_database(admin_url, url)


@pytest.fixture(scope="module")
async def seeded(servers: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Connection, Sample]]:
    async with _seeded_at(servers[0], SCALES["XS"], "brisk_plans") as seeded:
        yield seeded


@pytest.fixture(scope="module")
async def grown(servers: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Connection, Sample]]:
    """The same data set four times over: its busiest tag, author, article and inbox too."""
    xs = SCALES["XS"]
    larger = dataclasses.replace(xs, users=4 * xs.users, articles=4 * xs.articles)
    async with _seeded_at(servers[0], larger, "brisk_grown") as seeded:
        yield seeded


REQUEST_QUERIES = request_queries(all_queries())


def test_every_request_query_has_sample_arguments() -> None:
    assert sorted(ARGS) == REQUEST_QUERIES


@pytest.mark.parametrize("name", REQUEST_QUERIES)
async def test_query_uses_indexes(seeded: tuple[asyncpg.Connection, Sample], name: str) -> None:
    conn, sample = seeded
    query = REGISTRY[name]
    args = ARGS[name](sample)
    custom = await explain(conn, query, args, mode="force_custom_plan", analyze=True)
    generic = await explain(conn, query, args, mode="force_generic_plan", analyze=False)
    assert seq_scans(custom, BIG_TABLES) == [], (
        f"{name}: custom plan scans a big table sequentially"
    )
    assert seq_scans(generic, BIG_TABLES) == [], (
        f"{name}: generic plan scans a big table sequentially"
    )


# Issue 12: queries that still cost in proportion to a row's fan-out, which grows with the data
# (strict: one that stops growing fails here until it leaves this list). None since the
# favorites' tag links (ADR 0025) took the last two off it.
_FAN_OUT = "its cost is one row's fan-out"
GROWING: dict[str, str] = {}
# One more B-tree level per lookup is not growth: a page of 20 cards does ~100 lookups.
SLACK_BUFFERS = 50
SLACK_TRIGGER_CALLS = 5
# A page's lookups are ~100 rows; a few more index entries past a page is not growth.
SLACK_ROWS = 100
GROWTH = 1.5


@dataclasses.dataclass(frozen=True)
class _Cost:
    buffers: int
    trigger_calls: int
    rows_read: int


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans return or read and filter out, over all their loops: dense
    index-only scans can read thousands of rows in a few buffers."""
    total = 0
    for node in nodes(plan):
        if "Scan" in node["Node Type"] and "Relation Name" in node:
            loops = max(1, int(node.get("Actual Loops", 1)))
            kept = int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0))
            total += kept * loops
    return total


async def _cost(conn: asyncpg.Connection, name: str, sample: Sample) -> _Cost:
    """One call as the app runs it (generic plan, after what the app runs before it), warm.
    The buffers are the plan's; a cascade's work is not in them, but its trigger calls (one
    per row it visits) are counted."""
    query, args, prelude = REGISTRY[name], ARGS[name](sample), prelude_for(name, sample)
    mode: PlanCacheMode = "force_generic_plan"
    await explain(conn, query, args, mode=mode, analyze=True, prelude=prelude)
    plan = await explain(conn, query, args, mode=mode, analyze=True, prelude=prelude)
    root = plan["Plan"]
    return _Cost(
        buffers=shared_buffers(plan),
        trigger_calls=sum(int(t.get("Calls", 0)) for t in plan.get("Triggers", ())),
        rows_read=_rows_read(root),
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=GROWING[n]))
        if n in GROWING
        else n
        for n in REQUEST_QUERIES
    ],
)
async def test_query_cost_does_not_grow_with_the_data(
    seeded: tuple[asyncpg.Connection, Sample],
    grown: tuple[asyncpg.Connection, Sample],
    name: str,
) -> None:
    small = await _cost(seeded[0], name, seeded[1])
    large = await _cost(grown[0], name, grown[1])
    assert large.buffers <= GROWTH * small.buffers + SLACK_BUFFERS, (
        f"{name}: {small.buffers} buffers a call at XS, {large.buffers} at 4x XS: "
        "its cost grows with the data"
    )
    assert large.trigger_calls <= GROWTH * small.trigger_calls + SLACK_TRIGGER_CALLS, (
        f"{name}: {small.trigger_calls} trigger calls at XS, {large.trigger_calls} at 4x XS: "
        "a cascade grows"
    )
    assert large.rows_read <= GROWTH * small.rows_read + SLACK_ROWS, (
        f"{name}: its scans read {small.rows_read} rows at XS, {large.rows_read} at 4x XS"
    )


# The plan shape that keeps a page flat whatever the planner estimates (at small scale a plan
# that will not stay flat can still be cheap: before migration 0006 the per-tag page scanned
# the newest articles and probed their tags at XS, and sorted all 221,380 of the tag's
# articles at M): the page's index, read in page order, and no sort of more than a page.
PAGE_INDEX = {
    "list-articles": "articles_created_idx",
    "list-articles-by-author": "articles_author_created_idx",
    "list-articles-by-tag": "article_tags_tag_created_idx",
    "list-articles-by-author-tagged": "article_tags_tag_author_created_idx",
    "list-articles-favorited-by": "favorites_user_page_idx",
    "list-articles-favorited-by-tagged": "favorite_tags_page_idx",
    "list-comments": "comments_article_created_idx",
    "list-notifications": "notifications_recipient_idx",
    "list-unread-notifications": "notifications_unread_idx",
}
LARGEST_PAGE = 100  # list-comments' sample asks for 100


@pytest.mark.parametrize("name", sorted(PAGE_INDEX))
async def test_a_page_comes_from_its_index_in_page_order(
    grown: tuple[asyncpg.Connection, Sample], name: str
) -> None:
    conn, sample = grown
    plan = await explain(conn, REGISTRY[name], ARGS[name](sample), mode="force_generic_plan",
                         analyze=True)  # fmt: skip
    assert PAGE_INDEX[name] in indexes_used(plan)
    for node in nodes(plan["Plan"]):
        if node["Node Type"] == "Sort":
            fed = sum(int(c["Actual Rows"] * c["Actual Loops"]) for c in node["Plans"])
            assert fed <= LARGEST_PAGE, f"{name}: sorts {fed} rows for a page"


async def test_the_unread_count_reads_no_notification(
    grown: tuple[asyncpg.Connection, Sample],
) -> None:
    conn, sample = grown
    name = "count-unread-notifications"
    plan = await explain(conn, REGISTRY[name], ARGS[name](sample), mode="force_generic_plan",
                         analyze=True)  # fmt: skip
    assert {n.get("Relation Name") for n in nodes(plan["Plan"])} - {None} == {"users"}
