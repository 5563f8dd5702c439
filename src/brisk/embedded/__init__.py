"""Real PostgreSQL and Valkey servers from PyPI wheels, for running brisk with no services."""

# The embedded extra is optional: importing this package fails with ImportError without it,
# which the CLI turns into an install hint.
from brisk.embedded.paths import default_data_dir
from brisk.embedded.services import EmbeddedServices, EmbeddedUrls

__all__ = ["EmbeddedServices", "EmbeddedUrls", "default_data_dir"]
