"""A small demo data set for `brisk serve --demo`: a few users, articles, tags and comments."""

from __future__ import annotations

import asyncpg

from brisk.db.counters import recount
from brisk.db.pool import Connection
from brisk.security import hash_password

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published on purpose, demo data only
_USERS = ("alice", "bob", "carol")


def demo_email(username: str) -> str:
    return f"{username}@example.com"


# Login takes an email, not a username: what `make run` prints and the README lists.
DEMO_LOGINS = tuple((demo_email(name), DEMO_PASSWORD) for name in _USERS)
_ARTICLES = (
    ("alice", "Why indexes matter", "A range scan beats a sort", ["postgres", "performance"]),
    ("bob", "Caching without lies", "Invalidate after commit", ["cache", "performance"]),
    ("carol", "Measure first", "P95, not averages", ["observability"]),
    ("alice", "Pools and back-pressure", "A fast 503 beats a hang", ["postgres"]),
)


async def load_demo(url: str) -> None:
    """Insert the demo rows once; a second run finds them and does nothing."""
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT count(*) FROM users WHERE username = 'alice'"):
            return
        password_hash = await hash_password(DEMO_PASSWORD)
        async with conn.transaction():
            ids = {}
            for name in _USERS:
                ids[name] = await conn.fetchval(
                    "INSERT INTO users (username, email, password_hash, bio) "
                    "VALUES ($1, $2, $3, $4) RETURNING id",
                    name,
                    demo_email(name),
                    password_hash,
                    f"Hi, I am {name}.",
                )
            for n, (author, title, description, tags) in enumerate(_ARTICLES):
                article_id = await conn.fetchval(
                    "INSERT INTO articles (slug, author_id, title, description, body) "
                    "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    f"demo-{n}",
                    ids[author],
                    title,
                    description,
                    f"{description}.\n\nThe end.",
                )
                await conn.execute(
                    "INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", tags
                )
                await conn.execute(
                    "INSERT INTO article_tags (article_id, tag_id, created_at, author_id) "
                    "SELECT a.id, t.id, a.created_at, a.author_id FROM articles a, tags t"
                    " WHERE a.id = $1 AND t.name = ANY($2::text[])",
                    article_id,
                    tags,
                )
            await conn.execute(
                "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2), ($2, $3)",
                ids["alice"],
                ids["bob"],
                ids["carol"],
            )
            # Inserted directly, like a bulk load: bring the stored totals and tag lists along.
            await recount(Connection(conn, []))
    finally:
        await conn.close()
