"""brisk: a fast, measured RealWorld (Conduit) API on PostgreSQL and Redis."""

__version__ = "0.1.0"
__all__ = ["__version__"]
