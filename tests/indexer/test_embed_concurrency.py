"""Concurrent embedding (issue 13): several threads share one Embedder and get exactly what one thread gets,
requests are handed out first come first served, and the model runs on the CPUs the process may use."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from indexer.embedding import (
    Embedder,
    _cgroup2_quota,
    _RequestPool,
    ov_properties,
    usable_cpus,
)
from indexer.settings import IndexerSettings
from tests.indexer.test_backends import sample_chunk_texts


def test_threads_get_the_vectors_one_thread_gets(base_settings: IndexerSettings, embedder: Embedder) -> None:
    texts = sample_chunk_texts(base_settings)
    queries = [t.split("\n")[0][:80] for t in texts]  # short and long inputs interleaved below
    mixed = [x for pair in zip(queries, texts, strict=True) for x in pair]
    alone = np.stack([embedder.encode([t])[0] for t in mixed])
    with ThreadPoolExecutor(4) as pool:
        together = np.stack(list(pool.map(lambda t: embedder.encode([t])[0], mixed)))
        batches = list(pool.map(embedder.encode, [mixed[i::3] for i in range(3)]))
    np.testing.assert_allclose(together, alone, atol=1e-5)
    for i, batch in enumerate(batches):
        np.testing.assert_allclose(batch, alone[i::3], atol=1e-5)
    # the pooled path is the one in use, and it reproduces sentence-transformers' own encode
    assert embedder.concurrent == min(2, usable_cpus())
    reference = embedder._encode_locked(mixed, None)
    assert float(np.min(np.sum(alone * reference, axis=1))) > 0.9999
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)


def test_requests_are_served_in_arrival_order() -> None:
    pool = _RequestPool(["only"])
    order: list[str] = []
    held = pool.request()
    held.__enter__()

    def wait_for(name: str) -> None:
        with pool.request():
            order.append(name)

    first = threading.Thread(target=wait_for, args=("first",))
    first.start()
    time.sleep(0.2)  # "first" is queued before "second" arrives
    second = threading.Thread(target=wait_for, args=("second",))
    second.start()
    time.sleep(0.2)
    assert order == []
    held.__exit__(None, None, None)
    first.join(5)
    second.join(5)
    assert order == ["first", "second"]


def test_model_threads_follow_the_usable_cpus(base_settings: IndexerSettings) -> None:
    props = ov_properties(base_settings)
    cpus = usable_cpus()
    assert props["INFERENCE_NUM_THREADS"] == str(cpus)
    assert props["NUM_STREAMS"] == str(min(2, cpus))
    one = ov_properties(base_settings.model_copy(update={"embed_streams": 1, "embed_threads": 3,
                                                         "embed_ov_config": {"ENABLE_CPU_PINNING": "NO"}}))
    assert (one["NUM_STREAMS"], one["INFERENCE_NUM_THREADS"], one["PERFORMANCE_HINT"]) == ("1", "3", "LATENCY")
    assert one["ENABLE_CPU_PINNING"] == "NO"
    assert _cgroup2_quota("200000 100000\n") == 2.0
    assert _cgroup2_quota("max 100000\n") is None
