"""Tags in use."""
