"""Whether the reads of the current request may go to a read replica (ADR 0012).

The default is no: only a request that the read-your-writes middleware cleared (a GET from a
client with no recent write) reads from replicas, and only through statements that write
nothing. Anything else -- writes, transactions, background work, cache fills -- reads the
primary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

_replica_ok: ContextVar[bool] = ContextVar("brisk_replica_reads", default=False)


def replica_reads_allowed() -> bool:
    return _replica_ok.get()


@contextmanager
def replica_reads(allowed: bool) -> Iterator[None]:
    """Within the block, lag-tolerant reads may (or may not) use a replica."""
    token = _replica_ok.set(allowed)
    try:
        yield
    finally:
        _replica_ok.reset(token)


def primary_only() -> AbstractContextManager[None]:
    """Reads in the block go to the primary: e.g. a cache fill, whose value every reader
    will see after an invalidation, must not come from a replica that has not replayed it."""
    return replica_reads(False)
