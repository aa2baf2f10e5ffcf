"""What the service needs from the outside world, as small Protocols (structural: no base classes, no casts).

``indexer.embedding.Embedder`` is an :class:`Encoder`; either store backend (``indexer.collection.open_store``) is a
:class:`PassageStore`. Every type here is Newsdesk's own: no engine's models reach the service.
Tests, eval and the service hand the real ones in; anything else with these methods works too.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from indexer.collection import Candidate, EngineFusion, RecencyRequest, SearchFilters
from indexer.payload import SentenceVectors
from indexer.sparse import SparseVec


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
    generation: int
    """Changes whenever this process writes the collection."""

    def exists(self) -> bool: ...

    def query(self, vector: list[float] | SparseVec, using: str, limit: int,
              filters: SearchFilters | None) -> list[Candidate]: ...

    def query_both(self, dense: list[float], sparse: SparseVec, limit: int,
                   filters: SearchFilters | None) -> tuple[list[Candidate], list[Candidate]]: ...

    def query_fused(self, dense: list[float], sparse: SparseVec, prefetch_limit: int, limit: int,
                    filters: SearchFilters | None, fusion: EngineFusion,
                    recency: RecencyRequest | None = None) -> list[Candidate]: ...

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def sentence_vectors(self, ids: list[str]) -> dict[str, SentenceVectors]: ...
