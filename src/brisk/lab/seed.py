"""`brisk seed`: bulk-load a large, skewed, deterministic data set with COPY for the lab."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated

import asyncpg
import typer
from argon2 import PasswordHasher
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brisk.cli.output import JsonFile, JsonFlag, emit_json
from brisk.db.counters import recount
from brisk.db.migrations import migrate
from brisk.db.pool import Connection
from brisk.lab.datagen import (
    _END,
    _GOLDEN,
    Row,
    Scale,
    _article_tags,
    _articles,
    _at,
    _comments,
    _favorites,
    _follows,
    _Plan,
    _plan,
    _tags,
    _users,
)
from brisk.servers import load_settings, resolved_servers

__all__ = [
    "SCALES",
    "SEED_PASSWORD",
    "AlreadySeededError",
    "ProgressFn",
    "Scale",
    "seed_command",
    "seed_database",
]

ProgressFn = Callable[[str, int, int], None]

SEED_PASSWORD = "password123"  # noqa: S105 - published on purpose: every seeded user has it
_REPORT_EVERY = 10_000
# Load order: a table's rows only reference ids of tables loaded before it.
_COLUMN_NAMES = {
    "users": "username email password_hash bio image created_at updated_at",
    "tags": "name",
    "articles": "slug author_id title description body created_at updated_at favorites_count"
    " tag_list",
    "follows": "follower_id followee_id created_at",
    "article_tags": "article_id tag_id created_at author_id",
    "favorites": "user_id article_id created_at article_created_at author_id",
    "comments": "article_id author_id body created_at updated_at",
}
_COLUMNS = {table: names.split() for table, names in _COLUMN_NAMES.items()}
# Notifications and the favorites' tag links come last: derived from the rows above (see
# _load_notifications, _FAVORITE_TAGS), not copied; the (author, tag) and feed totals are
# filled by the recount.
_LOADED = (*_COLUMNS, "notifications", "favorite_tags")
_TABLES = (*_LOADED, "author_tag_counts", "feed_counts")
# How long before the data set ends each user last read their notifications, at most.
_LAST_READ_DAYS = 180

# Past follows bring S to the 1M notifications of the dashboard benchmark (docs/BENCHMARKS.md).
SCALES: dict[str, Scale] = {
    "XS": Scale(500, 5_000, 10, 5, 2, 50, past_follows_per_user=10),
    "S": Scale(10_000, 100_000, 20, 5, 2, 500, past_follows_per_user=20),
    "M": Scale(100_000, 1_000_000, 20, 5, 2, 2_000, past_follows_per_user=20),
    "L": Scale(1_000_000, 10_000_000, 20, 5, 2, 5_000, past_follows_per_user=20),
}


class AlreadySeededError(Exception):
    """The brisk tables already hold rows and replacing them was not asked for."""


def _counted(rows: Iterable[Row], table: str, total: int, report: ProgressFn) -> Iterator[Row]:
    done = 0
    report(table, 0, total)
    for done, row in enumerate(rows, 1):
        yield row
        if done % _REPORT_EVERY == 0:
            report(table, done, max(total, done))
    report(table, done, done)


async def seed_database(
    url: str,
    scale: Scale,
    *,
    seed: int = 42,
    progress: ProgressFn | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Fill the brisk tables with `scale`'s data set (the same for the same seed) in one
    transaction; returns row counts per table. Raises AlreadySeededError on data unless `force`.
    Besides the tables, `progress` hears about the "indexes", "counters", "checks" and
    "vacuum" steps."""
    await migrate(url)
    report: ProgressFn = progress or (lambda _table, _done, _total: None)
    plan = _plan(scale, seed)
    # One hash for every user (argon2 costs ~50 ms); the salt comes from the seed, so the
    # same seed still means byte-identical rows.
    salt = random.Random(f"{seed}/password").randbytes(16)
    password_hash = PasswordHasher().hash(SEED_PASSWORD, salt=salt)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await _empty_tables(conn, force=force)
            deferred = await _defer_foreign_key_checks(conn)
            # Sorting 1M notifications and building indexes in memory, not in temp files.
            await conn.execute("SET LOCAL work_mem = '256MB'")
            await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            indexes = await drop_secondary_indexes(conn)
            counts = await _load(conn, plan, password_hash, report)
            await _build_indexes(conn, indexes, report)
            report("counters", 0, 1)
            await recount(Connection(conn, []))  # COPY bypassed the writes that keep them
            report("counters", 1, 1)
            await _check(conn, counts, foreign_keys=deferred, report=report)
        # VACUUM, not only ANALYZE: it also sets the visibility map, without which the lab's
        # index-only scans would visit the heap until autovacuum got round to these tables.
        report("vacuum", 0, 1)
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(_TABLES)}")
        report("vacuum", 1, 1)
    finally:
        await conn.close()
    return counts


async def _empty_tables(conn: asyncpg.Connection, *, force: bool) -> None:
    # Locked first, so two seeders cannot both find the tables empty and both load.
    await conn.execute(f"LOCK TABLE {', '.join(_TABLES)} IN ACCESS EXCLUSIVE MODE")
    held = [t for t in _TABLES if await conn.fetchval(f"SELECT EXISTS (SELECT FROM {t})")]
    if held and not force:
        raise AlreadySeededError(f"the database already holds brisk data (in {', '.join(held)})")
    # Always, even when empty: ids must restart at 1, since the generators compute them.
    await conn.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")


async def _defer_foreign_key_checks(conn: asyncpg.Connection) -> bool:
    """Skip the per-row foreign-key triggers for this transaction when allowed; True if so.

    They are most of the load time (S on 2 cores: 25-31 s with them, 10-13 s without): each
    row runs a lookup and locks the row it references. `_check` then validates every foreign key
    with one anti-join per key. Nothing is dropped; only a role that may set
    session_replication_role gets this, and only while the tables have no triggers of
    their own (those must keep firing); anyone else gets the checked, slower load."""
    own = await conn.fetchval(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = ANY($1::regclass[]) AND NOT tgisinternal",
        list(_TABLES),
    )
    if own:
        return False
    try:
        async with conn.transaction():  # a savepoint: a refusal must not abort the load
            await conn.execute("SET LOCAL session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = ANY($1::regclass[])
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY i.indrelid, i.indexrelid
"""


async def drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drop every index that backs no constraint; returns the statements that rebuild them.

    Maintaining eight indexes row by row was most of the notifications' load (S: 1M rows);
    one sorted build per index after the load is several times cheaper. Inside the load's
    transaction, so a failure (or another session) still sees the indexes as they were; a
    unique index rebuilt over a duplicate fails the load like the row would have."""
    rows = await conn.fetch(_SECONDARY_INDEXES, list(_TABLES))
    if rows:
        await conn.execute(f"DROP INDEX {', '.join(row['name'] for row in rows)}")
    return [row["definition"] for row in rows]


async def _build_indexes(conn: asyncpg.Connection, indexes: list[str], report: ProgressFn) -> None:
    report("indexes", 0, len(indexes))
    for done, definition in enumerate(indexes, 1):
        await conn.execute(definition)
        report("indexes", done, len(indexes))


async def _load(
    conn: asyncpg.Connection, plan: _Plan, password_hash: str, report: ProgressFn
) -> dict[str, int]:
    scale = plan.scale
    expected = {
        "users": scale.users,
        "tags": scale.tags,
        "articles": scale.articles,
        "follows": round(scale.users * scale.follows_per_user),
        "article_tags": round(scale.articles * scale.tags_per_article),
        "favorites": 0,  # _articles adds them up
        "comments": 0,
    }
    generators: dict[str, Callable[[], Iterable[Row]]] = {
        "users": lambda: _users(plan, password_hash),
        "tags": lambda: _tags(plan),
        "articles": lambda: _articles(plan, expected),
        "follows": lambda: _follows(plan),
        "article_tags": lambda: _article_tags(plan),
        "favorites": lambda: _favorites(plan),
        "comments": lambda: _comments(plan),
    }
    counts = {}
    for table in _COLUMNS:
        # A generator, not a list: asyncpg streams it in 512 KiB messages, so memory stays
        # flat at any scale and PostgreSQL inserts while Python generates the next rows.
        rows = _counted(generators[table](), table, expected[table], report)
        status = await conn.copy_records_to_table(table, records=rows, columns=_COLUMNS[table])
        counts[table] = int(status.split()[-1])
    counts["notifications"] = await _load_notifications(conn, plan, report)
    report("favorite_tags", 0, 1)
    counts["favorite_tags"] = int((await conn.execute(_FAVORITE_TAGS)).split()[-1])
    report("favorite_tags", counts["favorite_tags"], counts["favorite_tags"])
    return counts


# What create-favorite writes beside each favorite (migration 0018): a link per article tag.
_FAVORITE_TAGS = """
INSERT INTO favorite_tags (user_id, tag_id, article_created_at, article_id)
SELECT f.user_id, at.tag_id, f.article_created_at, f.article_id
FROM favorites f JOIN article_tags at ON at.article_id = f.article_id
"""


_NOTIFICATIONS = """
INSERT INTO notifications
    (recipient_id, kind, actor_id, article_id, comment_id, created_at, read_at)
SELECT n.recipient_id, n.kind, n.actor_id, n.article_id, n.comment_id, n.created_at,
       CASE WHEN n.created_at < seen.at THEN seen.at END
FROM (
    SELECT followee_id, 'follow', follower_id, NULL::bigint, NULL::bigint, created_at
    FROM follows
    UNION ALL
    SELECT p.followee_id, 'follow', p.follower_id, NULL, NULL, p.created_at FROM past_follows p
    WHERE NOT EXISTS (
        SELECT FROM follows f WHERE f.follower_id = p.follower_id AND f.followee_id = p.followee_id)
    UNION ALL
    SELECT a.author_id, 'favorite', f.user_id, f.article_id, NULL, f.created_at
    FROM favorites f JOIN articles a ON a.id = f.article_id WHERE a.author_id <> f.user_id
    UNION ALL
    SELECT a.author_id, 'comment', c.author_id, c.article_id, c.id, c.created_at
    FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.author_id <> c.author_id
) n (recipient_id, kind, actor_id, article_id, comment_id, created_at)
CROSS JOIN LATERAL (SELECT n.recipient_id * $2::float8 AS spread) r
CROSS JOIN LATERAL (
    SELECT $1::timestamptz - interval '1 day' * $3::float8 * (r.spread - floor(r.spread)) ^ 2 AS at
) seen
ORDER BY n.created_at, n.kind, n.recipient_id, n.actor_id, n.article_id, n.comment_id
"""


async def _load_notifications(conn: asyncpg.Connection, plan: _Plan, report: ProgressFn) -> int:
    """What the write paths would have written for the loaded follows, favorites and comments,
    plus the follows undone since (generated and COPY-loaded like the rest; one that is also a
    current follow was followed again, which adds nothing). One INSERT in time order, so ids
    grow with created_at as in real life. Each user last read their notifications a fixed
    (golden-ratio spread) time before the end, mostly recently: what came before is read."""
    await conn.execute(
        "CREATE TEMP TABLE past_follows"
        " (follower_id bigint, followee_id bigint, created_at timestamptz) ON COMMIT DROP"
    )
    per_user = plan.scale.past_follows_per_user
    past = _follows(plan, "past_follows", per_user)
    expected = round(plan.scale.users * per_user)
    rows = _counted(past, "notifications", expected, report)
    await conn.copy_records_to_table("past_follows", records=rows, columns=_COLUMNS["follows"])
    status = await conn.execute(_NOTIFICATIONS, _at(_END), _GOLDEN, _LAST_READ_DAYS)
    loaded = int(status.split()[-1])
    report("notifications", loaded, loaded)
    return loaded


_FOREIGN_KEYS = """
SELECT c.conname, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
       array_agg(quote_ident(a.attname) ORDER BY k.n) AS columns,
       array_agg(quote_ident(r.attname) ORDER BY k.n) AS refs
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, ref, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = k.ref
WHERE c.contype = 'f' AND c.conrelid = ANY($1::regclass[])
GROUP BY c.oid, c.conname, c.conrelid, c.confrelid
"""


async def _check(
    conn: asyncpg.Connection, counts: dict[str, int], *, foreign_keys: bool, report: ProgressFn
) -> None:
    """Prove the load sound before it commits: ids 1..n (later tables computed them), and,
    when the triggers were skipped, every foreign key (read from the catalog)."""
    keys = await conn.fetch(_FOREIGN_KEYS, list(_TABLES)) if foreign_keys else []
    report("checks", 0, 4 + len(keys))
    for done, table in enumerate(("users", "tags", "articles", "comments"), 1):
        low, high = await conn.fetchrow(f"SELECT min(id), max(id) FROM {table}") or (0, 0)
        if counts[table] and (low, high) != (1, counts[table]):
            raise RuntimeError(f"{table} ids are {low}..{high}, expected 1..{counts[table]}")
        report("checks", done, 4 + len(keys))
    for done, key in enumerate(keys, 5):
        match = " AND ".join(
            f"p.{r} = c.{k}" for k, r in zip(key["columns"], key["refs"], strict=True)
        )
        present = " AND ".join(f"c.{k} IS NOT NULL" for k in key["columns"])
        orphans = await conn.fetchval(
            f"SELECT count(*) FROM {key['child']} c WHERE {present}"
            f" AND NOT EXISTS (SELECT FROM {key['parent']} p WHERE {match})"
        )
        if orphans:
            raise RuntimeError(f"{orphans} rows of {key['child']} break {key['conname']}")
        report("checks", done, 4 + len(keys))


def scale_name(name: str) -> str:
    if name.upper() not in SCALES:
        raise typer.BadParameter(f"choose one of {', '.join(SCALES)}")
    return name.upper()


def seed_command(
    scale: Annotated[
        str,
        typer.Option(
            callback=scale_name,
            metavar="XS|S|M|L",
            help="XS (tests), S = 10k users / 100k articles, M = 100k / 1M, L = 1M / 10M",
        ),
    ],
    seed: Annotated[int, typer.Option(help="the same seed loads the same rows")] = 42,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="BRISK_DATABASE_URL", help="PostgreSQL URL (default: embedded)"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="empty the brisk tables first, then load")
    ] = False,
    json_stdout: JsonFlag = False,
    json_file: JsonFile = None,
) -> None:
    """Bulk-load a realistic, skewed data set for the performance lab (COPY, deterministic)."""
    console = Console(stderr=True)
    settings = load_settings(dev=True, database_url=database_url)
    started = time.perf_counter()
    try:
        with resolved_servers(settings, console, need_redis=False) as resolved:
            assert resolved.database_url is not None
            counts = _run_with_progress(
                resolved.database_url, SCALES[scale], seed=seed, force=force, console=console
            )
    except AlreadySeededError as exc:
        console.print(f"[red]{exc}[/red]: nothing loaded; pass --force to replace it")
        raise typer.Exit(1) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        # The load is one transaction: a failure before the commit leaves the database as it was.
        console.print(f"[red]seed failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    seconds = time.perf_counter() - started
    emit_json(
        {"scale": scale, "seed": seed, "rows": counts, "seconds": round(seconds, 1)},
        to_stdout=json_stdout,
        path=json_file,
    )
    if not json_stdout:
        _print_counts(counts, scale, seconds)


def _run_with_progress(
    url: str, scale: Scale, *, seed: int, force: bool, console: Console
) -> dict[str, int]:
    columns = (TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        steps = (*_LOADED, "indexes", "counters", "checks", "vacuum")
        tasks = {t: bar.add_task(t, total=None, start=False) for t in steps}

        def update(table: str, done: int, total: int) -> None:
            if not done:
                bar.start_task(tasks[table])
            bar.update(tasks[table], completed=done, total=total)

        return asyncio.run(seed_database(url, scale, seed=seed, progress=update, force=force))


def _print_counts(counts: dict[str, int], scale: str, seconds: float) -> None:
    table = Table(title=f"brisk seed --scale {scale}", caption=f"loaded in {seconds:.1f} s")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    table.add_row("total", f"{sum(counts.values()):,}", style="bold")
    Console().print(table)
