"""`brisk seed`: bulk-load a large, skewed, deterministic data set with COPY for the lab."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
import typer
from argon2 import PasswordHasher
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brisk.db.counters import recount
from brisk.db.migrations import migrate
from brisk.db.pool import Connection

ProgressFn = Callable[[str, int, int], None]
Row = tuple[object, ...]

SEED_PASSWORD = "password123"  # noqa: S105 - published on purpose: every seeded user has it
# A fixed end, not now(): the same seed must give the same rows whenever it runs.
_END = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
_YEAR = 365.25 * 86_400
_GOLDEN = (math.sqrt(5) - 1) / 2
_REPORT_EVERY = 10_000
# Load order: a table's rows only reference ids of tables loaded before it.
_COLUMN_NAMES = {
    "users": "username email password_hash bio image created_at updated_at",
    "tags": "name",
    "articles": "slug author_id title description body created_at updated_at favorites_count",
    "follows": "follower_id followee_id created_at",
    "article_tags": "article_id tag_id",
    "favorites": "user_id article_id created_at",
    "comments": "article_id author_id body created_at updated_at",
}
_COLUMNS = {table: names.split() for table, names in _COLUMN_NAMES.items()}
# Notifications come last: derived from the rows above (see _load_notifications), not copied.
_TABLES = (*_COLUMNS, "notifications")
# How long before the data set ends each user last read their notifications, at most.
_LAST_READ_DAYS = 180

_FIRST = "ada alan anna ben carl dana eve finn grace hugo ines jon kate leo mia nils ola paul "
_FIRST += "quinn rosa sam tara uma vera will xena yuri zoe"
_LAST = "adams baker chen diaz evans fox garcia hill ito jones khan lee moreau novak okafor "
_LAST += "park quist rossi silva tanaka ueda voss weber xu young zhang"
_WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "cache index query latency pool worker async thread lock queue stream buffer vector "
    "schema table row column shard replica primary commit rollback snapshot bloom filter "
    "graph tree heap hash sort merge join scan plan cost budget metric trace span log "
    "alert deploy build test release version branch patch review design pattern model "
    "service client server request response socket packet frame codec parser token "
    "fast slow simple robust lazy eager small large hidden shared local remote stale fresh "
    "really quietly often never always mostly the a of to and in with without for under"
).split()
_TAG_WORDS = (  # noqa: SIM905
    "programming python postgres performance databases caching webdev devops javascript "
    "rust golang testing security architecture design career tutorial opensource linux "
    "cloud kubernetes docker api async observability sql redis frontend backend mobile "
    "ai machinelearning datascience productivity beginners news discuss showdev git"
).split()


@dataclass(frozen=True)
class Scale:
    """How much to generate; skews are Zipf exponents (0 = uniform, 1 = classic Zipf)."""

    users: int
    articles: int
    follows_per_user: float
    favorites_per_article: float
    comments_per_article: float
    tags: int
    tags_per_article: float = 3.0
    user_skew: float = 0.8  # who writes the articles and who gets followed
    article_skew: float = 1.0  # which articles draw the favorites and comments
    tag_skew: float = 1.0
    activity_skew: float = 0.5  # who does the favoriting and commenting
    years: float = 2.0
    # Follows undone since: gone from `follows`, their notifications kept (ADR 0005).
    past_follows_per_user: float = 0.0

    def __post_init__(self) -> None:
        if self.users < 2 or self.articles < 1 or self.tags < 1:
            raise ValueError("a scale needs at least 2 users, 1 article and 1 tag")


# Past follows bring S to the 1M notifications of the dashboard benchmark (docs/BENCHMARKS.md).
SCALES: dict[str, Scale] = {
    "XS": Scale(500, 5_000, 10, 5, 2, 50, past_follows_per_user=10),
    "S": Scale(10_000, 100_000, 20, 5, 2, 500, past_follows_per_user=20),
    "M": Scale(100_000, 1_000_000, 20, 5, 2, 2_000, past_follows_per_user=20),
    "L": Scale(1_000_000, 10_000_000, 20, 5, 2, 5_000, past_follows_per_user=20),
}


class AlreadySeededError(Exception):
    """The brisk tables already hold rows and replacing them was not asked for."""


class _Zipf:
    """0-based ranks with P(r) ∝ (r+1)^-s, by inverting the continuous CDF: one pow per draw."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self._n, self._random, self._a = n, rng.random, 1.0 - s
        self._log = abs(self._a) < 1e-9
        self._span = math.log(n + 1) if self._log else (n + 1) ** self._a - 1.0

    def draw(self) -> int:
        u = self._random()
        x = math.exp(u * self._span) if self._log else (1.0 + u * self._span) ** (1.0 / self._a)
        return min(int(x), self._n) - 1


class _Shuffle:
    """A seeded bijection between popularity ranks 0..n-1 and ids 1..n (affine mod n), so
    popular rows are spread over the id range without an n-sized permutation in memory."""

    def __init__(self, n: int, rng: random.Random) -> None:
        mul = rng.randrange(n // 3, n) if n > 2 else 1
        while math.gcd(mul, n) != 1:
            mul += 1
        self.n, self._mul, self._add = n, mul, rng.randrange(n)
        self._inverse = pow(mul, -1, n)

    def id_of(self, rank: int) -> int:
        return (rank * self._mul + self._add) % self.n + 1

    def rank_of(self, id_: int) -> int:
        return ((id_ - 1 - self._add) * self._inverse) % self.n


class _Timeline:
    """Creation times for ids 1..n, increasing with the id (as identity ids do in real life)."""

    def __init__(self, n: int, start: float, offset: float) -> None:
        self._start, self._step, self._offset = start, (_END - start) / n, offset

    def at(self, id_: int) -> float:
        return self._start + self._step * (id_ - 1 + (id_ * _GOLDEN + self._offset) % 1.0)


class _Popularity:
    """How many favorites (or comments) an article gets, from its popularity rank alone, so the
    articles pass (favorites_count) and the favorites pass agree without storing the counts."""

    def __init__(self, ranks: _Shuffle, per_article: float, s: float, cap: int, offset: float):
        self._ranks, self._s, self._cap, self._offset = ranks, s, cap, offset
        self._top = per_article * ranks.n / _harmonic(ranks.n, s)

    def count(self, id_: int) -> int:
        expected = self._top * (self._ranks.rank_of(id_) + 1) ** -self._s
        # Low-discrepancy rounding: the totals match the expectation without another RNG.
        return min(self._cap, int(expected + (id_ * _GOLDEN + self._offset) % 1.0))


def _harmonic(n: int, s: float) -> float:
    """Σ r^-s for r = 1..n: the head exactly, the tail as an integral (Euler-Maclaurin)."""
    head = min(n, 1_000)
    total = math.fsum(r**-s for r in range(1, head + 1))
    if n > head:
        lo, hi = head + 0.5, n + 0.5
        total += math.log(hi / lo) if s == 1 else (hi ** (1 - s) - lo ** (1 - s)) / (1 - s)
    return total


@dataclass(frozen=True)
class _Plan:
    scale: Scale
    seed: int
    user_time: _Timeline
    article_time: _Timeline
    famous: _Shuffle  # user popularity: authors and followees
    active: _Shuffle  # user activity: favoriters and commenters
    favorites: _Popularity
    comments: _Popularity
    paragraphs: tuple[str, ...]

    def rng(self, table: str) -> random.Random:
        # One stream per table: a table's rows do not depend on how much another table drew.
        return random.Random(f"{self.seed}/{table}")


def _plan(scale: Scale, seed: int) -> _Plan:
    rng = random.Random(f"{seed}/plan")
    start = _END - scale.years * _YEAR
    hits = _Shuffle(scale.articles, rng)
    # At most half the users on one article: distinct draws by rejection stay quick.
    cap = scale.users // 2
    skew = scale.article_skew
    return _Plan(
        scale=scale,
        seed=seed,
        user_time=_Timeline(scale.users, start, rng.random()),
        article_time=_Timeline(scale.articles, start, rng.random()),
        famous=_Shuffle(scale.users, rng),
        active=_Shuffle(scale.users, rng),
        favorites=_Popularity(hits, scale.favorites_per_article, skew, cap, rng.random()),
        comments=_Popularity(hits, scale.comments_per_article, skew, cap, rng.random()),
        # Bodies are assembled from a pool: lists never read them, and it keeps L fast.
        paragraphs=tuple(_sentence(rng, 20, 40) for _ in range(512)),
    )


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _sentence(rng: random.Random, shortest: int, longest: int) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(shortest, longest))).capitalize() + "."


def _how_many(rng: random.Random, mean: float, cap: int) -> int:
    """A per-row count around `mean`, exponentially spread: most rows few, some many."""
    return min(cap, int(rng.expovariate(1 / mean) + 0.5)) if mean > 0 else 0


def _distinct(rng: random.Random, draw: Callable[[], int], k: int, n: int, skip: int) -> list[int]:
    """k distinct ids in 1..n (not `skip`), popular ones first; when the popular ones run out,
    the rest come uniformly (k ≤ n/2, so that ends quickly)."""
    chosen: set[int] = set()
    for _ in range(3 * k + 10):
        if len(chosen) == k:
            break
        chosen.add(draw())
    chosen.discard(skip)
    while len(chosen) < k:
        pick = rng.randint(1, n)
        if pick != skip:
            chosen.add(pick)
    return sorted(chosen)


def _users(plan: _Plan, password_hash: str) -> Iterator[Row]:
    rng, first, last = plan.rng("users"), _FIRST.split(), _LAST.split()
    for i in range(1, plan.scale.users + 1):
        # The id suffix (digits after letters) alone makes the name unique.
        username = f"{rng.choice(first)}{rng.choice(last)}{i}"
        bio = _sentence(rng, 3, 12) if rng.random() < 0.6 else ""
        image = f"https://images.example.com/u/{i}.jpg" if rng.random() < 0.5 else ""
        created = plan.user_time.at(i)
        updated = created if rng.random() < 0.7 else rng.uniform(created, _END)
        email = f"{username}@example.com"
        yield username, email, password_hash, bio, image, _at(created), _at(updated)


def _tags(plan: _Plan) -> Iterator[Row]:
    # Tag id = popularity rank + 1, and the common names come first.
    for i in range(plan.scale.tags):
        word = _TAG_WORDS[i % len(_TAG_WORDS)]
        yield (word if i < len(_TAG_WORDS) else f"{word}-{i // len(_TAG_WORDS)}",)


def _articles(plan: _Plan, expected: dict[str, int]) -> Iterator[Row]:
    rng = plan.rng("articles")
    authors = _Zipf(plan.scale.users, plan.scale.user_skew, rng)
    for i in range(1, plan.scale.articles + 1):
        words = rng.choices(_WORDS, k=rng.randint(3, 7))
        body = "\n\n".join(rng.choices(plan.paragraphs, k=rng.randint(2, 4)))
        created = plan.article_time.at(i)
        updated = created if rng.random() < 0.8 else rng.uniform(created, _END)
        favorites = plan.favorites.count(i)
        # Exact totals for the favorites and comments progress bars, for free.
        expected["favorites"] += favorites
        expected["comments"] += plan.comments.count(i)
        author = plan.famous.id_of(authors.draw())
        title, description = " ".join(words).capitalize(), _sentence(rng, 6, 14)
        slug = f"{'-'.join(words)}-{i}"  # words have no digits: the id suffix keeps it unique
        yield slug, author, title, description, body, _at(created), _at(updated), favorites


def _follows(plan: _Plan, stream: str = "follows", per_user: float | None = None) -> Iterator[Row]:
    """(follower, followee, since); with another stream and rate, the follows undone since."""
    rng, n = plan.rng(stream), plan.scale.users
    stars = _Zipf(n, plan.scale.user_skew, rng)
    mean = plan.scale.follows_per_user if per_user is None else per_user

    def draw() -> int:
        return plan.famous.id_of(stars.draw())

    for follower in range(1, n + 1):
        k = _how_many(rng, mean, (n - 1) // 2)
        joined = plan.user_time.at(follower)
        for followee in _distinct(rng, draw, k, n, follower):
            since = max(joined, plan.user_time.at(followee))
            yield follower, followee, _at(rng.uniform(since, _END))


def _article_tags(plan: _Plan) -> Iterator[Row]:
    rng, n = plan.rng("article_tags"), plan.scale.tags
    popular = _Zipf(n, plan.scale.tag_skew, rng)

    def draw() -> int:
        return popular.draw() + 1

    for article in range(1, plan.scale.articles + 1):
        k = _how_many(rng, plan.scale.tags_per_article, min(10, n // 2))
        for tag in _distinct(rng, draw, k, n, 0):
            yield article, tag


def _favorites(plan: _Plan) -> Iterator[Row]:
    rng, n = plan.rng("favorites"), plan.scale.users
    fans = _Zipf(n, plan.scale.activity_skew, rng)

    def draw() -> int:
        return plan.active.id_of(fans.draw())

    for article in range(1, plan.scale.articles + 1):
        posted = plan.article_time.at(article)
        for user in _distinct(rng, draw, plan.favorites.count(article), n, 0):
            since = max(posted, plan.user_time.at(user))
            yield user, article, _at(rng.uniform(since, _END))


def _comments(plan: _Plan) -> Iterator[Row]:
    rng = plan.rng("comments")
    talkers = _Zipf(plan.scale.users, plan.scale.activity_skew, rng)
    for article in range(1, plan.scale.articles + 1):
        posted = plan.article_time.at(article)
        authors = [plan.active.id_of(talkers.draw()) for _ in range(plan.comments.count(article))]
        # Sorted by time, so comment ids grow with created_at within an article.
        thread = sorted((rng.uniform(max(posted, plan.user_time.at(a)), _END), a) for a in authors)
        for when, author in thread:
            yield article, author, _sentence(rng, 4, 30), _at(when), _at(when)


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
    Besides the tables, `progress` hears about the "counters", "checks" and "vacuum" steps."""
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
            counts = await _load(conn, plan, password_hash, report)
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
    return counts


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


def _scale_name(name: str) -> str:
    if name.upper() not in SCALES:
        raise typer.BadParameter(f"choose one of {', '.join(SCALES)}")
    return name.upper()


def seed_command(
    scale: Annotated[
        str,
        typer.Option(
            callback=_scale_name,
            metavar="XS|S|M|L",
            help="XS (tests), S = 10k users / 100k articles, M = 100k / 1M, L = 1M / 10M",
        ),
    ],
    seed: Annotated[int, typer.Option(help="the same seed loads the same rows")] = 42,
    database_url: Annotated[
        str | None, typer.Option(envvar="BRISK_DATABASE_URL", help="PostgreSQL URL")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="empty the brisk tables first, then load")
    ] = False,
) -> None:
    """Bulk-load a realistic, skewed data set for the performance lab (COPY, deterministic)."""
    console = Console(stderr=True)
    if not database_url:
        console.print("[red]no database: pass --database-url or set BRISK_DATABASE_URL[/red]")
        raise typer.Exit(2)
    chosen = SCALES[scale]
    started = time.perf_counter()
    try:
        counts = _run_with_progress(database_url, chosen, seed=seed, force=force, console=console)
    except AlreadySeededError as exc:
        console.print(f"[red]{exc}[/red]: nothing loaded; pass --force to replace it")
        raise typer.Exit(1) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        # The load is one transaction: a failure before the commit leaves the database as it was.
        console.print(f"[red]seed failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    _print_counts(counts, scale, time.perf_counter() - started)


def _run_with_progress(
    url: str, scale: Scale, *, seed: int, force: bool, console: Console
) -> dict[str, int]:
    columns = (TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        steps = (*_TABLES, "counters", "checks", "vacuum")
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
