"""The stand-in embedder of the full-size crash trials (scripts/trials/stand_in/sitecustomize.py).

The full crash trials replace the embedding model by a deterministic stand-in, because what they compare (point
ids and payloads) does not depend on the vectors. These tests hold that claim: the stand-in only acts when its
folder is on PYTHONPATH, its vectors are deterministic and shaped like the real model's, and an ingest with it
stores exactly the point ids and payloads that an ingest with the real model stores (but for the sentence
vectors, which are embeddings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.payload import SENTENCE_VECTORS
from tests.conftest import REPO

pytestmark = pytest.mark.trials

TRIALS = REPO / "scripts" / "trials"
STAND_IN = TRIALS / "stand_in"

PROBE = """
import json, numpy as np
from indexer import embedding
from indexer.settings import IndexerSettings
e = embedding.Embedder(IndexerSettings(_env_file=None, model_cache_dir=%r))
v = e.encode(["river works", "council vote", "river works"])
print(json.dumps({"model": type(e.model).__name__, "dim": e.dim, "shape": list(v.shape),
                  "same_text_same_vector": bool((v[0] == v[2]).all()), "different": bool((v[0] != v[1]).any()),
                  "norms": [float(np.linalg.norm(x)) for x in v]}))
"""


def _env(pythonpath: list[Path]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return env


def test_stand_in_vectors_are_deterministic_unit_vectors_of_the_model_dimension() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE % str(REPO / "data" / "models")], cwd=REPO,
                          env=_env([STAND_IN, REPO]), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["model"] == "StandInModel"
    assert got["dim"] == 384 and got["shape"] == [3, 384]
    assert got["same_text_same_vector"] and got["different"]
    assert got["norms"] == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)


def test_stand_in_ingest_stores_the_same_ids_and_payloads_as_the_real_model(tmp_path: Path) -> None:
    sys.path.insert(0, str(TRIALS))
    try:
        from common import base_env, build_corpus, snapshot
    finally:
        sys.path.remove(str(TRIALS))
    build_corpus(tmp_path / "corpus", 6, "samples")
    corpus = tmp_path / "corpus" / "corpus.jsonl"
    stores = {}
    for name, extra in (("model", {}), ("stand-in", {"PYTHONPATH": os.pathsep.join([str(STAND_IN), str(REPO)])})):
        store = tmp_path / name
        env = base_env(store, "standin", NEWSDESK_CHUNK_TOKENS="64", NEWSDESK_CHUNK_OVERLAP="16", **extra)
        done = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", "--json", str(corpus)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        # sentence vectors are embeddings stored in the payload: the one payload field the stand-in changes
        stores[name] = snapshot(store, "standin", ignore=(SENTENCE_VECTORS,))
    assert len(stores["model"]) > 6  # several chunks per record: the comparison covers many points
    assert stores["stand-in"] == stores["model"]
