"""Notifications: who followed you, favorited or commented on your articles."""
