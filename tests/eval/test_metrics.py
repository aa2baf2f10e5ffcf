"""The metrics glue on tiny hand-made runs whose values are known."""

from __future__ import annotations

import math

import pytest

from eval.configs import CONFIGS, GROUPS, INDEX_FIELDS, resolve
from eval.datasets import Dataset, Query
from eval.metrics import (
    answer_recall,
    collapse_docs,
    contains_answer,
    doc_metrics,
    fact_hits,
    is_fact_hit,
)


def test_perfect_run_scores_one() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    means, per_query = doc_metrics(qrels, {"q1": ["a", "x"], "q2": ["c", "b", "y"]})
    for metric in ("ndcg@10", "mrr@10", "map@10", "recall@5", "recall@10", "hit_rate@1"):
        assert means[metric] == pytest.approx(1.0), metric
    assert means["recall@1"] == pytest.approx(0.75)  # q2 has two relevant documents
    assert per_query["q2"]["recall@1"] == pytest.approx(0.5)


def test_known_ranking_gives_hand_computed_values() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}}
    rankings = {"q1": ["x", "a"], "q2": ["x", "y", "z", "b"], "q3": ["x"]}
    means, per_query = doc_metrics(qrels, rankings)
    assert per_query["q1"]["mrr@10"] == pytest.approx(0.5)
    assert per_query["q2"]["mrr@10"] == pytest.approx(0.25)
    assert per_query["q3"]["mrr@10"] == 0.0
    assert means["mrr@10"] == pytest.approx((0.5 + 0.25) / 3)
    assert per_query["q1"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert means["hit_rate@1"] == 0.0
    assert means["hit_rate@5"] == pytest.approx(2 / 3)


def test_missing_and_empty_rankings_score_zero_and_unjudged_queries_do_not_count() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}  # q2 has no relevant document
    means, per_query = doc_metrics(qrels, {})
    assert set(per_query) == {"q1"}
    assert means["ndcg@10"] == 0.0


def test_collapse_keeps_each_document_at_its_best_chunk() -> None:
    assert collapse_docs(["d2", "d1", "d2", "d3", "d1"]) == ["d2", "d1", "d3"]


def test_answer_recall_substring_and_word_variants() -> None:
    chunks = ["The capital is Parisian in style.", "Nothing here.", "It was in May, they said."]
    rec = answer_recall(chunks, ["Paris"])
    assert rec["ans_substr@1"] == 1.0 and rec["ans_word@1"] == 0.0
    rec = answer_recall(chunks, ["may"])
    assert rec["ans_substr@1"] == 0.0 and rec["ans_substr@5"] == 1.0 and rec["ans_word@5"] == 1.0
    assert contains_answer("PHILADELPHIA Eagles", ["Philadelphia Eagles"], word_boundary=True)
    assert not contains_answer("anything", ["  "])


def test_fact_hit_ignores_all_whitespace_but_nothing_else() -> None:
    fact = "The Justice Department is focused on the deals\nGoogle makes."
    assert is_fact_hit("Intro. The Justice  Department is\tfocused on the deals Google makes. Outro.", [fact])
    assert is_fact_hit("TheJusticeDepartmentisfocusedonthedealsGooglemakes.", [fact])
    assert not is_fact_hit("The justice Department is focused on the deals Google makes.", [fact])  # case
    assert not is_fact_hit("The Justice Department is focused on the deals Google made.", [fact])


def test_fact_hits_at_k_and_mrr() -> None:
    chunks = ["x"] * 5 + ["a b c"] + ["x"] * 4
    rec = fact_hits(chunks, ["a  b c", "never there"])
    assert rec["fact_hits@4"] == 0.0 and rec["fact_hits@10"] == 1.0
    assert rec["fact_mrr@10"] == pytest.approx(1 / 6)
    assert rec["fact_cover@10"] == pytest.approx(0.5)


def test_subset_keeps_gold_documents_and_a_fixed_sample_of_distractors() -> None:
    corpus = [{"_id": f"d{i}", "title": "", "text": f"text {i}"} for i in range(50)]
    queries = [Query("q1", "one"), Query("q2", "two"), Query("q3", "unjudged")]
    ds = Dataset("toy", corpus, queries, {"q1": {"d3": 1}, "q2": {"d40": 1}})
    sub = ds.subset(1, distractors=5)
    assert [q.qid for q in sub.queries] == ["q1"]
    ids = {r["_id"] for r in sub.corpus}
    assert "d3" in ids and len(ids) == 6
    assert ids == {r["_id"] for r in ds.subset(1, distractors=5).corpus}
    assert sub.corpus_hash() != ds.corpus_hash()


def test_configurations_resolve_and_query_group_never_reindexes() -> None:
    assert [c.name for c in resolve(["core"])] == GROUPS["core"]
    assert resolve(["default", "core"])[0].name == "default"
    for name in GROUPS["query"]:
        assert not set(CONFIGS[name].overrides) & set(INDEX_FIELDS)
    with pytest.raises(KeyError):
        resolve(["no-such-config"])
