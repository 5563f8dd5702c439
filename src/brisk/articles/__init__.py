"""Articles: lists, feed, create/update/delete and favorites."""
