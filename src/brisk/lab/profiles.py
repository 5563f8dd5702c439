"""What the bench measures: the naive "before", brisk as shipped, and each technique added to
one or taken from the other."""

from __future__ import annotations

from dataclasses import dataclass, field

NAIVE_APP = "brisk.lab.naive.app:create_from_env"
BRISK_APP = "brisk.asgi:create_from_env"

# The techniques, in the article's words where it has them.
TECHNIQUES = {
    "indexes": "indexes on every query path",
    "queries": "projected columns, joins instead of N+1, stored counters",
    "parallel": "independent reads concurrently (brisk: in one round trip)",
    "pooling": "a bounded connection pool instead of a connection per request",
    "cache": "a cache in front of PostgreSQL",
}


@dataclass(frozen=True)
class Profile:
    name: str
    app: str  # NAIVE_APP or BRISK_APP
    database: str  # "shipped" (every index) or "bare" (no secondary index)
    env: dict[str, str] = field(default_factory=dict)
    technique: str | None = None
    change: str = ""  # "+" added to before, "-" removed from after

    @property
    def label(self) -> str:
        if self.technique is None:
            return self.name
        word = "with" if self.change == "+" else "without"
        return f"{self.name.split('+')[0].split('-')[0]} {word} {self.technique}"


BEFORE = Profile("before", NAIVE_APP, "bare")
AFTER = Profile("after", BRISK_APP, "shipped")
ADDED = (
    Profile("before+indexes", NAIVE_APP, "shipped", {}, "indexes", "+"),
    Profile("before+queries", NAIVE_APP, "bare", {"BRISK_LAB_QUERIES": "1"}, "queries", "+"),
    Profile("before+parallel", NAIVE_APP, "bare", {"BRISK_LAB_CONCURRENT": "1"}, "parallel", "+"),
    Profile("before+pooling", NAIVE_APP, "bare", {"BRISK_LAB_POOL": "1"}, "pooling", "+"),
    Profile("before+cache", NAIVE_APP, "bare", {"BRISK_LAB_CACHE": "1"}, "cache", "+"),
)
REMOVED = (
    Profile("after-indexes", BRISK_APP, "bare", {}, "indexes", "-"),
    Profile(
        "after-parallel",
        BRISK_APP,
        "shipped",
        {"BRISK_DASHBOARD__STRATEGY": "sequential"},
        "parallel",
        "-",
    ),
    Profile(
        "after-pooling", BRISK_APP, "shipped", {"BRISK_DB__POOL_MAX_SIZE": "1"}, "pooling", "-"
    ),
    Profile("after-cache", BRISK_APP, "shipped", {"BRISK_CACHE__ENABLED": "false"}, "cache", "-"),
)
ALL = (BEFORE, *ADDED, AFTER, *REMOVED)
QUICK = (BEFORE, AFTER)
