"""Reference retrievers over exactly the chunks the project indexed (read back from Qdrant).

* ``bm25s``: BM25 (bm25s defaults, k1=1.5 b=0.75, Lucene IDF) over the exact chunk texts, English stop words,
  PyStemmer English stemming;
* ``dense-exact``: brute-force cosine (numpy) between the query vector and the stored chunk vectors, i.e. the
  same model and the same vectors without any index in between.

Both return chunk indices into the :class:`eval.index.ChunkTable`, best first.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

from eval.index import ChunkTable


class BM25Baseline:
    def __init__(self, table: ChunkTable) -> None:
        self.stemmer = Stemmer.Stemmer("english")
        tokens = bm25s.tokenize(table.texts, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.model = bm25s.BM25()
        self.model.index(tokens, show_progress=False)
        self.size = len(table.texts)

    def search(self, queries: Sequence[str], k: int) -> list[list[int]]:
        k = min(k, self.size)
        tokens = bm25s.tokenize(list(queries), stopwords="en", stemmer=self.stemmer, show_progress=False,
                                return_ids=False)
        out: list[list[int]] = []
        for q in tokens:
            if not q:
                out.append([])
                continue
            ids, scores = self.model.retrieve([q], k=k, show_progress=False, n_threads=1)
            out.append([int(i) for i, s in zip(ids[0], scores[0], strict=True) if s > 0])
        return out


class DenseBaseline:
    def __init__(self, table: ChunkTable) -> None:
        self.matrix = table.vectors / np.linalg.norm(table.vectors, axis=1, keepdims=True).clip(1e-12)

    def search(self, query_vectors: np.ndarray, k: int) -> list[list[int]]:
        sims = query_vectors @ self.matrix.T
        k = min(k, sims.shape[1])
        out: list[list[int]] = []
        for row in sims:
            top = np.argpartition(-row, k - 1)[:k]
            out.append([int(i) for i in top[np.argsort(-row[top], kind="stable")]])
        return out
