"""Concurrent embedding: several threads share one Embedder and get what one thread gets, requests are handed
out first come first served, and the model runs on the CPUs the process may use.

Vectors are compared by cosine, not per component: on a CPU with AMX/AVX-512-BF16 OpenVINO runs bf16 by
default, and a text embedded alone or padded in a batch then differs by ~5e-4 per component (f32 elsewhere:
~1e-7). ``SAME`` is far above what a different computation gives (another pooling, another text: < 0.99)."""

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
    ov_solo_properties,
    usable_cpus,
)
from indexer.settings import IndexerSettings
from tests.indexer.test_backends import sample_chunk_texts

SAME = 0.999
"""Least cosine between two computations of the same vectors, on either CPU kind."""


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.min(np.sum(a * b, axis=1)))


def test_threads_get_the_vectors_one_thread_gets(base_settings: IndexerSettings, embedder: Embedder) -> None:
    texts = sample_chunk_texts(base_settings)
    queries = [t.split("\n")[0][:80] for t in texts]  # short and long inputs interleaved below
    mixed = [x for pair in zip(queries, texts, strict=True) for x in pair]
    alone = np.stack([embedder.encode([t])[0] for t in mixed])
    with ThreadPoolExecutor(4) as pool:
        together = np.stack(list(pool.map(lambda t: embedder.encode([t])[0], mixed)))
        batches = list(pool.map(embedder.encode, [mixed[i::3] for i in range(3)]))
    assert min_cosine(together, alone) >= SAME
    for i, batch in enumerate(batches):
        assert min_cosine(batch, alone[i::3]) >= SAME
    # the pooled path is the one in use, and it reproduces sentence-transformers' own encode
    assert embedder.concurrent == min(2, usable_cpus())
    # sentence-transformers' own encode on a fresh Embedder: on the session one, after pooled inference, it leaves
    # OpenVINO in a state where later concurrent pooled inference can abort the process (seen 3 of 3 runs)
    reference = Embedder(base_settings)._encode_locked(mixed, None)
    assert min_cosine(alone, reference) >= SAME
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-4)


def test_a_lone_query_on_every_thread_gets_the_per_stream_vectors(base_settings: IndexerSettings) -> None:
    """The all-threads compilation (used when nothing else is in flight) pools to the same vectors as the
    one-thread streams used under concurrency. (A fresh Embedder: the session one has run sentence-transformers'
    own encode through the compiled model after the pool was in use, which OpenVINO does not survive here.)"""
    embedder = Embedder(base_settings)
    if usable_cpus() < 2:
        assert not embedder.solo
        return
    assert embedder.solo and embedder.runtime_info()["solo_all_threads"] is True
    texts = sample_chunk_texts(base_settings)
    mixed = [x for t in texts for x in (t.split("\n")[0][:80], t)]
    pool = embedder._pool
    assert pool is not None
    used = pool.solo_used
    alone = np.stack([embedder.encode_query(t) for t in mixed])  # one at a time: the solo request each time
    assert pool.solo_used == used + len(mixed)
    embedder.encode(mixed[:3])  # not a query (an ingest's batch): the stream requests only
    assert pool.solo_used == used + len(mixed)
    embedder._pool = _RequestPool(list(pool._free))  # the same stream requests, without the solo one
    try:
        streams = np.stack([embedder.encode_query(t) for t in mixed])
    finally:
        embedder._pool = pool
    assert min_cosine(alone, streams) >= SAME
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-4)


def test_the_solo_request_is_handed_out_only_when_nothing_else_runs() -> None:
    pool = _RequestPool(["a", "b"], solo="s")
    with pool.request() as first:  # not a query: never the solo request
        assert first in ("a", "b")
    with pool.request(solo=True) as first:
        assert first == "s"
    held = pool.request(solo=True)
    assert held.__enter__() == "s"
    got: list[str] = []
    release = threading.Event()

    def arrive() -> None:
        with pool.request(solo=True) as r:
            got.append(r)
            release.wait(5)

    late = threading.Thread(target=arrive)
    late.start()
    time.sleep(0.2)
    assert got == []  # the solo inference holds both cores: a caller arriving meanwhile waits for it
    held.__exit__(None, None, None)
    time.sleep(0.2)
    assert got in (["a"], ["b"])
    with pool.request(solo=True) as other:  # a stream is busy: the other stream, not the solo request
        assert other in ("a", "b") and other != got[0]
    release.set()
    late.join(5)
    assert pool.solo_used == 2


def test_solo_compilation_settings(base_settings: IndexerSettings) -> None:
    two = base_settings.model_copy(update={"embed_threads": 2, "embed_streams": 0,
                                           "embed_ov_config": {"ENABLE_CPU_PINNING": "NO", "NUM_STREAMS": "2"}})
    props = ov_solo_properties(two)
    assert props is not None
    assert (props["PERFORMANCE_HINT"], props["NUM_STREAMS"], props["INFERENCE_NUM_THREADS"]) == ("LATENCY", "1", "2")
    assert props["ENABLE_CPU_PINNING"] == "NO"
    assert ov_solo_properties(two.model_copy(update={"embed_streams": 1})) is None
    assert ov_solo_properties(two.model_copy(update={"embed_threads": 1})) is None
    assert ov_solo_properties(two.model_copy(update={"embed_solo": False})) is None


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


def test_a_caller_interrupted_while_waiting_leaves_the_pool_usable() -> None:
    """Ctrl-C lands wherever the main thread is, also inside the wait for a request: its place in the queue must
    go with it, or every later caller (an interrupted ingest's worker threads) waits forever."""
    pool = _RequestPool(["stream"], solo="solo")
    holder_in, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pool.request():
            holder_in.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holder_in.wait(5)

    def interrupted_wait(timeout: float | None = None) -> bool:
        raise KeyboardInterrupt

    pool._cond.wait = interrupted_wait  # type: ignore[method-assign]
    try:
        with pool.request():
            raise AssertionError("got a request while the only one was held")
    except KeyboardInterrupt:
        pass
    del pool._cond.wait  # back to the real method
    assert not pool._waiting
    release.set()
    holder.join(5)
    with pool.request(solo=True) as got:  # nothing in flight: the solo request, then the stream is free again
        assert got == "solo"
    with pool.request(solo=True) as got:
        assert got == "solo"
    assert pool._free == ["stream"] and not pool._solo_busy
