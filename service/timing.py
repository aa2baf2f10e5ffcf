"""Stage timings reported with every answer (``timings_ms``)."""

from __future__ import annotations

import time

STAGES = ("embed", "retrieve", "compose", "total")
"""The keys of an answer's ``timings_ms``, always all present."""


def ms_since(t0: float) -> float:
    """Milliseconds since ``t0`` (a ``time.perf_counter()`` value), rounded to 0.01."""
    return round((time.perf_counter() - t0) * 1000, 2)
