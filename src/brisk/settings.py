"""Configuration from the environment (prefix BRISK_, nested groups joined by __)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Literal, Self

import limits
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets that appear in tutorials and templates; a deployment using one is misconfigured.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "test", "xxx"})
# Words that mark a template's value however long it is ("change-me-to-something-random-...").
PLACEHOLDER_MARKS = ("changeme", "change-me", "change_me", "replace-me", "replaceme", "your-secret")
MIN_SECRET_LENGTH = 32
# Published in this source: anyone can forge tokens with it, so only explicit dev mode takes it.
DEV_SECRET = "brisk-dev-only-secret-never-use-in-production-0000"  # noqa: S105 - dev only


def is_weak_secret(secret: str) -> bool:
    """Too short, a known placeholder, or the dev secret published in this source."""
    folded = secret.strip().lower()
    return (
        len(secret) < MIN_SECRET_LENGTH
        or folded in PLACEHOLDER_SECRETS
        or folded == DEV_SECRET
        or any(mark in folded for mark in PLACEHOLDER_MARKS)
    )


class DbSettings(BaseModel):
    """PostgreSQL pool tuning; the URL itself is the top-level `database_url`."""

    pool_min_size: int = Field(default=1, ge=0)
    # None: sized at startup from the cores and the server's max_connections.
    pool_max_size: int | None = Field(default=None, ge=1)
    # How long a request may wait for a pooled connection before it gets a 503.
    acquire_timeout_seconds: float = Field(default=2.0, gt=0)
    command_timeout_seconds: float = Field(default=10.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # PgBouncer before 1.21 in transaction mode needs 0 (no named prepared statements).
    statement_cache_size: int = Field(default=1024, ge=0)
    # Every statement's generic plan is an index plan (tests/integration/test_query_plans.py), so
    # prepared statements are planned once per connection instead of on every call; "auto" let
    # PostgreSQL re-plan article pages each time (planning cost ~2x their execution).
    plan_cache_mode: Literal["auto", "force_generic_plan", "force_custom_plan"] = (
        "force_generic_plan"
    )
    # How many worker processes share the server, for sizing: set by `brisk serve --workers`.
    workers: int = Field(default=1, ge=1)
    # The URLs lead to PgBouncer in transaction mode: no startup parameter it does not track,
    # no named prepared statements unless statement_cache_size is set (ADR 0013). Detected
    # when PgBouncer refuses plan_cache_mode at startup; set it to say so.
    pgbouncer: bool = False
    # Read replicas (top-level `database_replica_urls`, ADR 0012): a replica serves reads only
    # while its measured lag is under this; a writer's own reads stay on the primary for
    # `read_your_writes_seconds` after each write; lag is measured every `replica_poll_seconds`.
    replica_max_lag_seconds: float = Field(default=1.0, gt=0)
    replica_poll_seconds: float = Field(default=0.2, gt=0)
    read_your_writes_seconds: float = Field(default=3.0, gt=0)

    @model_validator(mode="after")
    def _window_covers_lag(self) -> Self:
        # After the window, any replica in use has replayed the write: its lag is at most
        # max_lag, measured at most one poll ago (docs/adr/0012).
        needed = self.replica_max_lag_seconds + 2 * self.replica_poll_seconds
        if self.read_your_writes_seconds < needed:
            raise ValueError(
                f"db.read_your_writes_seconds must be at least replica_max_lag_seconds + "
                f"2 x replica_poll_seconds ({needed:g} s)"
            )
        return self


class RedisSettings(BaseModel):
    """Redis client tuning; the URL itself is the top-level `redis_url`."""

    socket_timeout_seconds: float = Field(default=0.25, gt=0)
    # Per process (per node on a Cluster). 32 was too few: at 64 concurrent cached dashboards
    # on a loaded machine, requests waited past the pool timeout and opened the cache breaker.
    max_connections: int = Field(default=64, ge=1)
    # How long a command may wait for a free pooled connection (backpressure, not a dead Redis:
    # that one fails fast or times out per socket and opens the breaker).
    pool_timeout_seconds: float = Field(default=1.0, gt=0)
    # standalone: one server; cluster: the URL names one or more startup nodes
    # (redis://h1:7000,h2:7001); sentinel: the URL names the sentinels and `sentinel_master`
    # the monitored primary. See brisk.cache.redis_client.
    mode: Literal["standalone", "cluster", "sentinel"] = "standalone"
    sentinel_master: str = "mymaster"
    sentinel_password: str | None = None


class CacheSettings(BaseModel):
    """The two-level cache (in-process L1, Redis L2); see brisk.cache and ADR 0006."""

    # Off: every read goes to PostgreSQL (the lab's "before" and its "after minus cache").
    enabled: bool = True
    # Prefix of every key and of the eviction channel, so several deployments (or test
    # sessions) can share one Redis without seeing each other's entries.
    namespace: str = Field(default="brisk", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    # L1: per process, bounded in bytes. Its TTL bounds how long another process may serve a
    # value after a write if an eviction message were lost; while the eviction subscription is
    # down, entries live only the degraded TTL (0: L1 off until resubscribed).
    l1_max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    l1_ttl_seconds: float = Field(default=10.0, ge=0)
    l1_degraded_ttl_seconds: float = Field(default=1.0, ge=0)
    # Redis failures in a row that open the breaker, and how often a probe checks it is back.
    breaker_failures: int = Field(default=3, ge=1)
    breaker_reset_seconds: float = Field(default=1.0, gt=0)
    # A loader holds the lease at most this long; others wait up to lease_wait for its value.
    lease_seconds: float = Field(default=2.0, gt=0)
    lease_wait_seconds: float = Field(default=0.5, ge=0)
    # At startup, how long to wait for the eviction subscription before serving degraded.
    subscribe_wait_seconds: float = Field(default=1.0, ge=0)
    # The outbox relay (ADR 0014): how often each process looks for invalidations left behind,
    # and how old one must be before it is taken from its writer (who applies its own at once).
    # A write's stale reads end within about grace + relay interval of Redis answering again.
    outbox_relay_seconds: float = Field(default=0.5, gt=0)
    outbox_grace_seconds: float = Field(default=1.0, ge=0)


class HttpSettings(BaseModel):
    # The server `brisk serve` runs (ADR 0003); `--server` overrides it.
    server: Literal["granian", "uvicorn"] = "granian"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_page_size: int = Field(default=100, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    # Proxies (IPs or CIDRs) whose X-Forwarded-For is believed; from anyone else it is ignored,
    # so a client cannot pick its own address (and escape the rate limits) by sending one.
    trusted_proxies: list[str] = []
    # On SIGTERM, readiness answers 503 this long while everything else is still served, so
    # load balancers take the instance out before it stops accepting (brisk.api.drain); 0: none.
    drain_seconds: float = Field(default=5.0, ge=0)
    # Then requests in flight get this long to finish before their connections close.
    shutdown_grace_seconds: int = Field(default=10, ge=1)
    # What a client may make the server hold (brisk.http_limits, ADR 0019): the request line and
    # headers at most this large (else 431), arriving within header_timeout of the connection
    # or of the request's first byte (else 408), a body within body_timeout of its head, and
    # idle kept-alive connections closed after keep_alive_seconds.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    keep_alive_seconds: int = Field(default=5, ge=1)


class AuthSettings(BaseModel):
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    algorithm: str = "HS256"
    # Secret rotation: tokens signed with these (the keys in use before the current one) are still
    # accepted until their own expiry, or until previous_secrets_valid_until when it is set.
    previous_secret_keys: list[SecretStr] = []
    previous_secrets_valid_until: datetime | None = None


class LimitSettings(BaseModel):
    """Abuse limits on login and register ("N/second|minute|hour|day"), counted in Redis so every
    process shares them; see ADR 0009."""

    enabled: bool = True
    login_per_address: str = "30/minute"
    login_per_account: str = "10/minute"
    register_per_address: str = "10/minute"
    register_per_account: str = "5/minute"
    # After a Redis error the limits are skipped (fail open) for this long, so a dead Redis costs
    # one timeout per process per period, not one per request.
    redis_retry_seconds: float = Field(default=5.0, gt=0)

    @field_validator(
        "login_per_address", "login_per_account", "register_per_address", "register_per_account"
    )
    @classmethod
    def _parses(cls, value: str) -> str:
        limits.parse(value)  # raises ValueError on anything but "N/unit" (or "N per unit")
        return value


class DashboardSettings(BaseModel):
    """GET /api/dashboard: how its independent reads run, and how long they may take together."""

    # single: one SQL statement that builds the whole response; concurrent: a pool connection
    # per read, all at once; sequential: one after another. single is the fastest by
    # throughput and by latency, loaded or idle (docs/BENCHMARKS.md, ADR 0005).
    strategy: Literal["concurrent", "sequential", "single"] = "single"
    # Past it the reads are cancelled (their connections go back to the pool) and the answer is 503.
    deadline_seconds: float = Field(default=3.0, gt=0)


class TelemetrySettings(BaseModel):
    """Metrics, Server-Timing, logs and /_perf (brisk.observability); tracing reads OTEL_*."""

    # Off: no telemetry middleware and no observers (what the instrumentation's cost is
    # measured against); /metrics still answers.
    enabled: bool = True
    # One JSON line per request on stderr.
    access_log: bool = True
    # The lines are written in batches (at most PIPE_BUF bytes each), at the latest this long
    # after a request; 0: one write per line, at once (docs/BENCHMARKS.md, issue 16).
    access_log_flush_seconds: float = Field(default=0.1, ge=0, le=5)
    # One in this many of the fast path's ordinary answers (an L1 hit answered before routing,
    # status < 400, faster than slow_query_seconds) gets a line, which says so
    # (`"sample_every"`); every other request always does, and the metrics count every one.
    # A line costs more than the rest of the fast path's telemetry together (ADR 0026); 1: a
    # line for every request.
    access_log_sample_every: int = Field(default=16, ge=1)
    # Route templates left out of the access log (still measured), e.g. the load balancer's
    # probes and Prometheus' scrapes: '["/health/live", "/health/ready", "/metrics"]'.
    access_log_exclude: list[str] = []
    # brisk's and uvicorn's log records below this level are dropped (the access log is not a
    # log record: access_log turns it off).
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Queries at least this slow are logged (name and time, never the parameters) and counted.
    slow_query_seconds: float = Field(default=0.1, gt=0)
    # What Server-Timing tells a client: "total" (app time only), "signed-in" (the db and
    # cache detail to requests with a token) or "all". The detail says whether a resource was
    # read recently (a cache hit), so by default nobody gets it; the lab asks for "all".
    server_timing: Literal["total", "signed-in", "all"] = "total"
    # host:port for GET /metrics on a listener of its own (then not on the API port), so
    # scrapers reach it on an internal address and clients of the API do not; empty: the API
    # port serves /metrics.
    metrics_address: str | None = None
    # How often the event-loop lag and the pool gauges are sampled.
    sample_interval_seconds: float = Field(default=0.5, gt=0)
    # The live page at /_perf (and its data at /_perf/data); off unless asked for.
    perf_page: bool = False
    perf_window_seconds: int = Field(default=300, ge=30, le=3600)


class Settings(BaseSettings):
    """Everything brisk reads from the environment; tests construct it directly."""

    model_config = SettingsConfigDict(
        env_prefix="BRISK_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    # Explicit development mode: allows the built-in dev secret and applies migrations on serve.
    dev: bool = False
    database_url: str | None = None
    # Read replicas (or PgBouncer databases in front of them), comma-separated; empty: every
    # read goes to database_url.
    database_replica_urls: Annotated[list[str], NoDecode] = []
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    # Where the embedded servers keep their data when no URLs are given.
    data_dir: str | None = None

    db: DbSettings = DbSettings()
    redis: RedisSettings = RedisSettings()
    cache: CacheSettings = CacheSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    dashboard: DashboardSettings = DashboardSettings()
    telemetry: TelemetrySettings = TelemetrySettings()

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: "url1,url2"
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Self:
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        weak = is_weak_secret(secret)
        if weak and not self.dev:
            raise ValueError(
                "BRISK_SECRET_KEY is missing, a placeholder, the published dev secret or shorter "
                f"than {MIN_SECRET_LENGTH} characters; set a random one "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))") '
                "or run in explicit dev mode (BRISK_DEV=1 / --dev)"
            )
        if weak:
            self.secret_key = SecretStr(DEV_SECRET)
        for previous in self.auth.previous_secret_keys:
            if is_weak_secret(previous.get_secret_value()) and not self.dev:
                raise ValueError(
                    "BRISK_AUTH__PREVIOUS_SECRET_KEYS: each must be at least "
                    f"{MIN_SECRET_LENGTH} characters and no placeholder or dev secret"
                )
        return self

    @property
    def previous_secrets(self) -> list[str]:
        return [s.get_secret_value() for s in self.auth.previous_secret_keys]

    @property
    def secret(self) -> str:
        assert self.secret_key is not None  # set by the validator
        return self.secret_key.get_secret_value()


def cpu_count() -> int:
    """Cores this process may run on (respects taskset / cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
