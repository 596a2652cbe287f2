"""Analyses of finished runs (they read the run store and never train)."""
