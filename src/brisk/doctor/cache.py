"""The live cache hit ratio: from the app's own metrics when given its /metrics URL (by layer),
and from Redis INFO (the whole server's keyspace hits and misses)."""

from __future__ import annotations

import asyncio
import urllib.request
from collections import defaultdict
from typing import Any

import redis.asyncio as aioredis

from brisk.cache.redis_client import close_redis, create_redis
from brisk.doctor.model import Report
from brisk.settings import RedisSettings

LOW_HIT_RATIO = 0.5
# Fewer lookups than this say nothing about a ratio.
MIN_LOOKUPS = 100
TIMEOUT_SECONDS = 3.0


def ratios_from_metrics(exposition: str) -> dict[str, dict[str, float]]:
    """{layer: {"hit", "miss", "error", "bypass", "ratio"}} from brisk_cache_requests_total."""
    # Imported here: `brisk serve` must set PROMETHEUS_MULTIPROC_DIR before prometheus_client
    # is first imported, and the CLI imports this module.
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(exposition):
        if family.name != "brisk_cache_requests":
            continue
        for s in family.samples:
            if s.name == "brisk_cache_requests_total":
                counts[s.labels["layer"]][s.labels["result"]] += s.value
    out: dict[str, dict[str, float]] = {}
    for layer, by_result in counts.items():
        lookups = by_result["hit"] + by_result["miss"]
        out[layer] = {**by_result, "ratio": by_result["hit"] / lookups if lookups else 0.0}
    return out


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - operator's URL
        return response.read().decode()  # type: ignore[no-any-return]


def _keyspace(stats: dict[str, Any]) -> tuple[int, int]:
    """Hits and misses from INFO stats: one server's, or summed over a cluster's nodes."""
    if "keyspace_hits" in stats:
        return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])
    nodes = [v for v in stats.values() if isinstance(v, dict) and "keyspace_hits" in v]
    return sum(int(n["keyspace_hits"]) for n in nodes), sum(
        int(n["keyspace_misses"]) for n in nodes
    )


def _check_app(report: Report, exposition: str) -> dict[str, Any]:
    layers = ratios_from_metrics(exposition)
    for layer, c in layers.items():
        lookups = c["hit"] + c["miss"]
        if lookups >= MIN_LOOKUPS and c["ratio"] < LOW_HIT_RATIO:
            message = f"{layer} hit ratio {c['ratio']:.0%} over {lookups:.0f} lookups"
            report.add("warning", "cache", layer, message)
        if c.get("error"):
            report.add("warning", "cache", layer, f"{c['error']:.0f} {layer} errors")
    return layers


async def check_cache(
    report: Report, *, redis_url: str | None, redis: RedisSettings, metrics_url: str | None
) -> None:
    cache: dict[str, Any] = {}
    if metrics_url:
        try:
            exposition = await asyncio.to_thread(_fetch, metrics_url)
        except OSError as exc:
            report.add("warning", "cache", metrics_url, f"could not read the app's metrics: {exc}")
        else:
            cache["app"] = _check_app(report, exposition)
    if redis_url:
        client = create_redis(
            redis_url, redis.model_copy(update={"socket_timeout_seconds": TIMEOUT_SECONDS})
        )
        try:
            hits, misses = _keyspace(await client.info("stats"))
        except (aioredis.RedisError, OSError) as exc:
            report.add("warning", "cache", "redis", f"Redis did not answer INFO: {exc}")
        else:
            cache["redis_server"] = {
                "keyspace_hits": hits,
                "keyspace_misses": misses,
                "ratio": hits / (hits + misses) if hits + misses else None,
            }
        finally:
            await close_redis(client)
    if not cache:
        report.add("info", "cache", "cache", "no Redis URL and no --metrics-url: ratio unknown")
    report.cache = cache
