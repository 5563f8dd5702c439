"""Named SQL from .sql files: `-- name: x` blocks; `-- fragment: y` reused by `-- include: y`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = re.compile(r"^--\s*(name|fragment):\s*(\S+)\s*$")
_INCLUDE = re.compile(r"^\s*--\s*include:\s*(\S+)\s*$")

# Every named query of every domain, by name: what the EXPLAIN test and `brisk doctor` walk.
REGISTRY: dict[str, Query] = {}


# Anything that writes, locks or takes a sequence value: such a statement must run on the primary.
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|truncate|lock|nextval|setval|pg_advisory\w*"
    r"|for\s+(no\s+key\s+)?(update|share)|for\s+key\s+share)\b",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"--[^\n]*")


def reads_only(sql: str) -> bool:
    """A plain SELECT (or WITH ... SELECT) that writes and locks nothing: it may run on a replica.

    Deliberately conservative: a word like `update` anywhere, even in a string, keeps the
    statement on the primary. The read-replica tests run every request against a replica
    that refuses writes, so a write classified as a read fails loudly there.
    """
    text = _COMMENT.sub("", sql).lstrip().lower()
    return text.startswith(("select", "with")) and _WRITES.search(text) is None


LIMIT_SLOT = "{limit}"
MAX_LITERAL_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Query:
    """One named SQL statement; the name labels metrics, logs and plans, never the parameters."""

    name: str
    sql: str
    # Whether the statement may run on a read replica (see reads_only); derived from `sql`.
    read_only: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "read_only", reads_only(self.sql))

    def with_limit(self, limit: int) -> Query:
        """The statement with its `{limit}` slot filled by a literal page size.

        A LIMIT given as a parameter is invisible to a prepared statement's generic plan, which
        then assumes 10% of the table and picks a scan, so PostgreSQL re-plans every call
        (planning cost ~7x the execution of an article page). With the size as a literal the
        generic plan is the index plan and is kept: one prepared statement per page size.
        """
        return _with_limit(self, limit)


@functools.lru_cache(maxsize=512)
def _with_limit(query: Query, limit: int) -> Query:
    if LIMIT_SLOT not in query.sql:
        raise ValueError(f"query {query.name!r} has no {LIMIT_SLOT} slot")
    if type(limit) is not int or not 1 <= limit <= MAX_LITERAL_LIMIT:
        raise ValueError(f"page size must be an int in 1..{MAX_LITERAL_LIMIT}, not {limit!r}")
    return Query(query.name, query.sql.replace(LIMIT_SLOT, str(limit)))


def _split_blocks(text: str, source: str) -> tuple[dict[str, str], dict[str, str]]:
    names: dict[str, list[str]] = {}
    fragments: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            kind, name = header.groups()
            table = names if kind == "name" else fragments
            if name in table:
                raise ValueError(f"{source}: {kind} {name!r} defined twice")
            current = table[name] = []
        elif current is not None:
            current.append(line)
    as_text = {k: "\n".join(v).strip() for k, v in names.items()}
    return as_text, {k: "\n".join(v).strip() for k, v in fragments.items()}


def _expand(sql: str, fragments: dict[str, str], source: str) -> str:
    def include(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fragments:
            raise ValueError(f"{source}: unknown fragment {name!r}")
        return fragments[name]

    return "\n".join(_INCLUDE.sub(include, line) for line in sql.splitlines())


def load_queries(path: Path | str) -> dict[str, Query]:
    """Parse a .sql file into named queries and add them to the global registry."""
    source = Path(path)
    names, fragments = _split_blocks(source.read_text(encoding="utf-8"), str(source))
    loaded = {}
    for name, sql in names.items():
        if name in REGISTRY and REGISTRY[name].sql != _expand(sql, fragments, str(source)):
            raise ValueError(f"{source}: query {name!r} is also defined elsewhere")
        loaded[name] = REGISTRY[name] = Query(name, _expand(sql, fragments, str(source)))
    return loaded
