"""The dashboard: the user, their articles, their feed and their notifications in one call."""
