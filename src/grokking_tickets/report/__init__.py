"""Figures and the claims table; they read the run store and never train."""
