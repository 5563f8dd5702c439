"""The live cache hit ratio: from the app's own metrics when given its /metrics URL (by layer),
and from Redis INFO (the whole server's keyspace hits and misses)."""

from __future__ import annotations

import asyncio
import urllib.request
from collections import defaultdict
from typing import Any

import redis.asyncio as aioredis

from brisk.doctor.model import Report

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


async def check_cache(report: Report, *, redis_url: str | None, metrics_url: str | None) -> None:
    cache: dict[str, Any] = {}
    if metrics_url:
        try:
            layers = ratios_from_metrics(await asyncio.to_thread(_fetch, metrics_url))
        except OSError as exc:
            report.add("warning", "cache", metrics_url, f"could not read the app's metrics: {exc}")
        else:
            cache["app"] = layers
            for layer, c in layers.items():
                if c["hit"] + c["miss"] >= MIN_LOOKUPS and c["ratio"] < LOW_HIT_RATIO:
                    lookups = c["hit"] + c["miss"]
                    message = f"{layer} hit ratio {c['ratio']:.0%} over {lookups:.0f} lookups"
                    report.add("warning", "cache", layer, message)
                if c.get("error"):
                    report.add("warning", "cache", layer, f"{c['error']:.0f} {layer} errors")
    if redis_url:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=TIMEOUT_SECONDS)
        try:
            stats = await client.info("stats")
        except (aioredis.RedisError, OSError) as exc:
            report.add("warning", "cache", "redis", f"Redis did not answer INFO: {exc}")
        else:
            hits, misses = int(stats["keyspace_hits"]), int(stats["keyspace_misses"])
            cache["redis_server"] = {
                "keyspace_hits": hits,
                "keyspace_misses": misses,
                "ratio": hits / (hits + misses) if hits + misses else None,
            }
        finally:
            await client.aclose()
    if not cache:
        report.add("info", "cache", "cache", "no Redis URL and no --metrics-url: ratio unknown")
    report.cache = cache
