"""Unit tests of pure modules (no model, no store, no server)."""
