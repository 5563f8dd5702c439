"""`brisk doctor`: explain the hot queries on the configured database and say what is wrong."""
