"""Users: registration, login and the current user."""
