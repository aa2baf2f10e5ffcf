"""Results out: a Markdown table for the terminal and the README, a JSON file, a PNG chart."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from eval.metrics import METRIC_LABELS
from eval.runner import RunResult

DOC_COLUMNS = ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "map@10")
ANSWER_COLUMNS = ("ans_substr@1", "ans_substr@5", "ans_substr@10", "ans_word@5")
FACT_COLUMNS = ("fact_hits@4", "fact_hits@10", "fact_mrr@10", "fact_cover@10")
LABELS = {**METRIC_LABELS, "ans_substr@1": "ans@1", "ans_substr@5": "ans@5", "ans_substr@10": "ans@10",
          "ans_word@5": "ans(word)@5", "fact_hits@4": "fact Hits@4", "fact_hits@10": "fact Hits@10",
          "fact_mrr@10": "fact MRR@10", "fact_cover@10": "facts found@10",
          "answer_contains_gold": "answer has gold", "citations_verbatim": "citations verbatim",
          "answer_cites_relevant": "cites relevant doc", "not_found": "found:false"}
ANSWER_EVAL_COLUMNS = ("answer_contains_gold", "citations_verbatim", "answer_cites_relevant", "not_found")


def columns(result: RunResult) -> list[str]:
    cols = list(DOC_COLUMNS)
    if result.answer_queries:
        cols = [*ANSWER_COLUMNS, *cols]
    if result.fact_queries:
        cols = [*FACT_COLUMNS, *cols]
    present = {k for r in result.rows for k in r.metrics}
    return [c for c in cols if c in present] + [c for c in ANSWER_EVAL_COLUMNS if c in present]


def markdown(result: RunResult) -> str:
    cols = columns(result)
    lines = [
        f"**{result.dataset}**: {result.corpus_docs} documents, {result.queries} judged queries"
        + (f" ({result.answer_queries} with gold answers)" if result.answer_queries else "")
        + (f" ({result.fact_queries} with evidence facts)" if result.fact_queries else ""),
        "",
        "| configuration | " + " | ".join(LABELS.get(c, c) for c in cols) + " | ms/q |",
        "|---|" + "---:|" * (len(cols) + 1),
    ]
    best = {c: max(r.metrics.get(c, 0.0) for r in result.rows) for c in cols if c != "not_found"}
    for r in result.rows:
        cells = []
        for c in cols:
            v = r.metrics.get(c)
            text = "" if v is None else f"{v:.3f}"
            cells.append(f"**{text}**" if v is not None and c in best and v >= best[c] - 1e-12 else text)
        name = f"*{r.name}*" if r.kind == "baseline" else r.name
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r.ms_per_query:.0f} |")
    lines += ["", "Configurations:"] + [f"- `{r.name}`: {r.description}" for r in result.rows]
    return "\n".join(lines)


def write_json(result: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result), indent=1, default=str))


def chart(result: RunResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [c for c in columns(result) if c in
            ("ndcg@10", "mrr@10", "recall@5", "ans_substr@5", "fact_hits@4", "fact_hits@10")]
    names = [r.name for r in result.rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(names) * max(len(cols), 1) / 2 + 3), 4.5))
    width = 0.8 / max(len(cols), 1)
    for i, c in enumerate(cols):
        xs = [j + i * width for j in range(len(names))]
        ax.bar(xs, [r.metrics.get(c, 0.0) for r in result.rows], width, label=LABELS.get(c, c))
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))])
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(f"{result.dataset}: {result.queries} queries")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
