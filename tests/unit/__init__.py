"""Unit tests of pure modules: no model, no store (except where a test says so)."""
