"""Offline retrieval and answer evals."""
