"""The lab's mix driven in-process through the ASGI app (no HTTP server, no load generator):
CPU per request of the mix and of each kind, the Redis commands and queries a kind makes, and
optionally a cProfile of one kind in the mix (issue 17).

    BRISK_DATABASE_URL=postgresql://.../a_copy BRISK_REDIS_URL=redis://127.0.0.1:6379/13 \\
        python scripts/profile_mix.py [--rounds 3] [--requests 20000] [--profile favorite]

The app runs on uvloop in this process, 16 requests in flight (as the lab's wrk); its CPU
(`time.process_time`, so PostgreSQL's and Redis's are not counted) is split per kind by timing
each request's own task and charging the background work (refills, refresh-ahead) to the mix
as a whole. Writes change the database: point it at a copy (`CREATE DATABASE x TEMPLATE
brisk_lab_s_42`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import os
import pstats
import statistics
import time
import urllib.parse
from collections import Counter, defaultdict
from typing import Any

import httpx
import uvloop
from asgi_lifespan import LifespanManager

from brisk.api import fastpath
from brisk.app import create_app
from brisk.lab.seed import SEED_PASSWORD
from brisk.lab.workload import REVALIDATED, VIEWERS, Request, Sample, build_requests
from brisk.settings import Settings

CONCURRENCY = 16
# The L1 misses of the request running (the cache observer appends to it).
MISSED: contextvars.ContextVar[list[str]] = contextvars.ContextVar("missed")
WHY: Counter[str] = Counter()
# GETs the fast path did not answer, by kind (counted through a wrapped fastpath._hit).
FULL_PATH: Counter[str] = Counter()
_hit = fastpath._hit


def _counted_hit(scope: Any, body: bytes, control: bytes) -> Any:
    scope["fast"] = True
    return _hit(scope, body, control)


fastpath._hit = _counted_hit


async def _sample(client: httpx.AsyncClient) -> Sample:
    """As workload.sample_service, through the app itself."""
    articles: list[dict[str, Any]] = []
    for page in range(5):
        listing = (await client.get(f"/api/articles?limit=100&offset={page * 100}")).json()
        articles += listing["articles"]
    tags = [str(t) for t in (await client.get("/api/tags")).json()["tags"]][:50]
    slugs = [str(a["slug"]) for a in articles]
    authors = list(dict.fromkeys(str(a["author"]["username"]) for a in articles))
    tokens = []
    for name in authors[:VIEWERS]:
        body = {"user": {"email": f"{name}@example.com", "password": SEED_PASSWORD}}
        tokens.append((await client.post("/api/users/login", json=body)).json()["user"]["token"])
    etags = {}
    for slug in slugs[:REVALIDATED]:
        etags[slug] = (await client.get(f"/api/articles/{urllib.parse.quote(slug)}")).headers[
            "etag"
        ]
    return Sample(slugs=slugs, usernames=authors, tags=tags, tokens=tokens, etags=etags)


def _scope(request: Request) -> dict[str, Any]:
    path, _, query = request.path.partition("?")
    headers = [(b"host", b"bench"), (b"user-agent", b"wrk")]
    if request.token:
        headers.append((b"authorization", f"Token {request.token}".encode()))
    if request.if_none_match:
        headers.append((b"if-none-match", request.if_none_match.encode()))
    if request.body:
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(request.body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": urllib.parse.unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: Any, request: Request) -> int:
    body = request.body.encode()
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = _scope(request)
    missed: list[str] = []
    MISSED.set(missed)
    await app(scope, receive, send)
    if request.method == "GET" and not scope.get("fast"):
        FULL_PATH[request.kind] += 1
        WHY[f"{request.kind}: {','.join(sorted(set(missed))) or '-'}"] += 1
    return status


async def _drive(app: Any, requests: list[Request], cpu: Counter[str]) -> Counter[str]:
    """Every request once, CONCURRENCY at a time; each request's own CPU charged to its kind
    (a task's time between its switches: approximated by timing it where it runs alone)."""
    statuses: Counter[str] = Counter()
    queue = iter(requests)

    async def worker() -> None:
        for request in queue:
            status = await _call(app, request)
            statuses[f"{request.kind} {status}"] += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


async def _run(args: argparse.Namespace) -> None:
    settings = Settings()
    if args.no_fastpath:
        fastpath.CachedReadFastPath._cached = lambda self, scope: None  # type: ignore[method-assign]
    app = create_app(settings)
    async with LifespanManager(app):
        services = app.state.services
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            sample = await _sample(client)
        requests = build_requests(sample, count=args.requests, seed=42)
        kinds = sorted({r.kind for r in requests})
        await _drive(app, requests[:2000], Counter())  # warm
        await services.cache.settle()
        per_kind: dict[str, list[float]] = defaultdict(list)
        mix: list[float] = []
        calls: Counter[str] = Counter()

        def cache_calls(layer: str, family: str, result: str, _s: float) -> None:
            calls[f"{layer} {family} {result}"] += 1
            if layer == "l1" and result == "miss":
                held = MISSED.get(None)
                if held is not None:
                    held.append(family)

        def db_calls(name: str, _s: float) -> None:
            calls[f"db {name}"] += 1

        for _ in range(args.rounds):
            FULL_PATH.clear()
            WHY.clear()
            services.cache.observers.append(cache_calls)
            services.db.observers.append(db_calls)
            started = time.process_time()
            statuses = await _drive(app, requests, Counter())
            await services.cache.settle()
            mix.append(1000 * (time.process_time() - started) / len(requests))
            services.cache.observers.remove(cache_calls)
            services.db.observers.remove(db_calls)
            if args.kinds:
                for kind in kinds:
                    alone = [r for r in requests if r.kind == kind]
                    started = time.process_time()
                    await _drive(app, alone, Counter())
                    await services.cache.settle()
                    per_kind[kind].append(1000 * (time.process_time() - started) / len(alone))
        print("statuses:", dict(sorted(statuses.items())))
        full = {k: round(1000 * v / len(requests), 1) for k, v in sorted(FULL_PATH.items())}
        print("full path per 1,000 requests:", full)
        if args.why:
            for why, count in WHY.most_common(30):
                print(f"  {why:60} {1000 * count / len(requests):6.1f}")
        if args.calls:
            print("per 1,000 requests of the mix:")
            for name, count in sorted(calls.items()):
                print(f"  {name:50} {1000 * count / args.rounds / len(requests):8.1f}")
        print(f"mix: {statistics.median(mix):.4f} ms/req  runs {[round(m, 4) for m in mix]}")
        shares = Counter(r.kind for r in requests)
        weighted = 0.0
        for kind in kinds:
            if per_kind[kind]:
                ms = statistics.median(per_kind[kind])
                weighted += ms * shares[kind] / len(requests)
                print(f"  {kind:20} {100 * shares[kind] / len(requests):5.1f}%  {ms:.4f} ms/req")
        if weighted:
            print(f"  weighted sum of kinds alone: {weighted:.4f} ms/req")
        if args.profile:
            chosen = [r for r in requests if args.profile in ("mix", r.kind)]
            profiler = cProfile.Profile()
            profiler.enable()
            await _drive(app, chosen, Counter())
            await services.cache.settle()
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats(args.sort).print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--kinds", action="store_true", help="also each kind alone")
    parser.add_argument("--profile", help="cProfile one more round of the mix ('mix') or a kind")
    parser.add_argument("--no-fastpath", action="store_true", help="every read the full path")
    parser.add_argument("--why", action="store_true", help="what full-path reads missed")
    parser.add_argument("--calls", action="store_true", help="cache and db calls in the mix")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("BRISK_SECRET_KEY", "profile-mix-" + "x" * 40)
    # The sample signs in 16 users on every run.
    os.environ.setdefault("BRISK_LIMITS__LOGIN_PER_ADDRESS", "100000/minute")
    os.environ.setdefault("BRISK_LIMITS__LOGIN_PER_ACCOUNT", "100000/minute")
    uvloop.run(_run(args))


if __name__ == "__main__":
    main()
