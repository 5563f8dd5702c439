"""The naive "before" app: the mix's endpoints written the way a first version often is.

A new PostgreSQL connection per request, `SELECT *`, one query per related row (N+1), reads
awaited one after another, no cache; run against a copy of the schema without secondary
indexes. Each of the lab's techniques can be switched on alone (environment, see `NaiveOptions`)
to measure what it is worth by itself. Never part of brisk proper: `uvicorn --factory
brisk.lab.naive.app:create_from_env`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from brisk.lab.naive import reads, writes
from brisk.lab.naive.connections import Connections
from brisk.lab.naive.context import Naive
from brisk.lab.naive.data import NaiveData
from brisk.security import TokenCodec


@dataclass(frozen=True)
class NaiveOptions:
    """Techniques added to the naive app (BRISK_LAB_<NAME>=1); all off is the lab's "before"."""

    pool: bool = False  # a bounded asyncpg pool instead of a connection per request
    concurrent: bool = False  # independent reads at once (each on its own connection)
    queries: bool = False  # projected columns, joins instead of N+1, stored counters
    cache: bool = False  # anonymous GET answers kept in process (context.CACHE_TTL_SECONDS)
    pool_size: int = 8
    # Never more connections than this at once, pool or not (see Connections).
    max_connections: int = 24

    @classmethod
    def from_env(cls) -> NaiveOptions:
        def on(name: str) -> bool:
            return os.environ.get(f"BRISK_LAB_{name.upper()}", "0") in ("1", "true")

        size = int(os.environ.get("BRISK_LAB_POOL_SIZE", "8"))
        cap = int(os.environ.get("BRISK_LAB_MAX_CONNECTIONS", "24"))
        names = ("pool", "concurrent", "queries", "cache")
        return cls(**{name: on(name) for name in names}, pool_size=size, max_connections=cap)


def create_app(url: str, secret: str, options: NaiveOptions) -> FastAPI:
    connections = Connections(
        url,
        pool=options.pool,
        pool_size=options.pool_size,
        cap=options.max_connections,
        fan_out=options.concurrent,
    )
    data = NaiveData(
        connections.connect_read, joined=options.queries, concurrent=options.concurrent
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await connections.open()
        yield
        await connections.close()

    app = FastAPI(lifespan=lifespan)
    app.state.naive = Naive(connections, data, TokenCodec(secret, 3600), options.cache)
    app.include_router(reads.router)
    app.include_router(writes.router)
    return app


def create_from_env() -> FastAPI:
    return create_app(
        os.environ["BRISK_DATABASE_URL"], os.environ["BRISK_SECRET_KEY"], NaiveOptions.from_env()
    )
