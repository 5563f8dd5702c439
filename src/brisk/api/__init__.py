"""HTTP edge: dependencies, error mapping, health and the JSON response type."""
