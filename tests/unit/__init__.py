<<<<<<< HEAD
"""Unit tests of pure modules: no model, no store (except where a test says so)."""
=======
"""Unit tests of pure modules (no model, no store, no server)."""
>>>>>>> wt/qtype
