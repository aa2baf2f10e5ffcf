"""A stand-in for the embedding model in crash-trial subprocesses (only when this folder is on PYTHONPATH).

The crash trials kill ``python -m indexer ingest`` and ``python -m service`` and compare the store they leave,
after a normal run, with a clean run's: point ids and payloads. Dense vectors are not part of that comparison,
and computing them is nearly all of an ingest's time (about 68 minutes for the 2,000 full-size records on the
shared 2-core machine), which makes 2 x 21 full-size ingests impossible there. With this folder on PYTHONPATH
(``crash.py --stand-in-embedder``) Python imports this module at start-up and the model is replaced by a
deterministic one: each text's vector is drawn from a generator seeded with the text's SHA-256, normalised, with
the real model's dimension (384). Everything else -- reading, cleaning, chunking, content hashes, BM25 vectors,
payloads, upserts, stale-point deletes, the CLI and the HTTP service -- is the real code, and the processes are
still started as ``python -m indexer`` / ``python -m service`` and killed with SIGKILL.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

DIM = 384  # all-MiniLM-L6-v2's, so the collection is created exactly as with the real model


class StandInModel:
    """The part of SentenceTransformer that ``indexer.embedding.Embedder`` calls."""

    def get_embedding_dimension(self) -> int:
        return DIM

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(DIM)
            out[i] = v / np.linalg.norm(v)
        return out


def _install() -> None:
    from indexer import embedding

    def _load(self: embedding.Embedder) -> StandInModel:
        return StandInModel()

    embedding.Embedder._load = _load  # type: ignore[method-assign,assignment]


_install()
