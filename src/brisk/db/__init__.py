"""PostgreSQL access: the pool, named SQL and migrations."""

from brisk.db.batches import drain
from brisk.db.pool import Database, Executor, create_database
from brisk.db.queries import Query, load_queries

__all__ = ["Database", "Executor", "Query", "create_database", "drain", "load_queries"]
