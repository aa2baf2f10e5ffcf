"""What the service needs from the outside world, as small Protocols (structural: no base classes, no casts).

``indexer.embedding.Embedder`` is an :class:`Encoder`; ``indexer.collection.Store`` is a :class:`PassageStore`.
Tests, eval and the service hand the real ones in; anything else with these methods works too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
from qdrant_client import models

from indexer.payload import SentenceVectors


class Encoder(Protocol):
    """Normalised float32 text embeddings (rows of unit length)."""

    @property
    def dim(self) -> int: ...

    @property
    def name(self) -> str: ...

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


class PassageStore(Protocol):
    """Read access to the chunk collection (the payload mapping lives in ``indexer.payload``)."""

    collection: str
    embedded: bool
    """Embedded (one process, searched in memory by the service) or a Qdrant server."""
    generation: int
    """Changes whenever this process writes the collection."""

    def exists(self) -> bool: ...

    def query(self, vector: Any, using: str, limit: int, flt: models.Filter | None) -> list[models.ScoredPoint]: ...

    def query_both(
        self, dense: Any, sparse: models.SparseVector, limit: int, flt: models.Filter | None
    ) -> tuple[list[models.ScoredPoint], list[models.ScoredPoint]]: ...

    def query_fused(
        self, dense: Any, sparse: models.SparseVector, prefetch_limit: int, limit: int, flt: models.Filter | None,
        fusion: models.Fusion, rescore: models.FormulaQuery | None = None,
    ) -> list[models.ScoredPoint]: ...

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def sentence_vectors(self, ids: list[str]) -> dict[str, SentenceVectors]: ...

    def scan_vectors(self, batch: int = 4096) -> Iterator[tuple[str, list[float], models.SparseVector]]: ...
