"""Profiles: public user views and follows."""
