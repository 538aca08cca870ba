"""Render the latest bench/results/*.json as the Markdown tables the README quotes.

Run: .venv/bin/python -m bench.report
"""

from __future__ import annotations

import json

from bench.common import RESULTS


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    out: list[str] = []
    predict = _load("predict")
    if predict:
        out += [f"**Predictions** — `python -m bench.predict` ({predict['when']})", "",
                "| model | estimator | record by id: predict + explain p50 / p95 ms | new values: score + explain p50 / p95 ms "
                "| cohort, 10,000 rows scored p50 ms | cohort from cached scores p50 ms | target p50 | met |",
                "|---|---|---|---|---|---|---|---|"]
        for r in predict["results"]:
            out.append(f"| {r['model']} | {r['estimator']} | {r['explain_by_id_p50_ms']:.1f} / {r['explain_by_id_p95_ms']:.1f} | "
                       f"{r['score_and_explain_p50_ms']:.1f} / {r['score_and_explain_p95_ms']:.1f} | "
                       f"{r['cohort_10k_scoring_p50_ms']:.0f} | {r['cohort_summary_cached_p50_ms']:.1f} | "
                       f"{r['target_p50_ms'] or '—'} | {'yes' if r['meets_target'] else 'no'} |")
        out.append("")
    retrieval = _load("retrieval")
    if retrieval:
        ingest = retrieval["ingest"]
        out += [f"**Retrieval** — `python -m bench.retrieval.run` ({retrieval['when']}; {retrieval['questions']} questions, "
                "demo corpus + MITRE ATLAS)", "",
                "| mode | Recall@1 | Recall@5 | MRR | query p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
        for mode, m in retrieval["modes"].items():
            out.append(f"| {mode} | {m['recall_at_1']:.2f} | {m['recall_at_5']:.2f} | {m['mrr']:.2f} | {m['p50_ms']:.1f} | {m['p95_ms']:.1f} |")
        fresh = ingest["fresh"]
        out += ["", f"Ingest: {fresh['chunks']} chunks from {fresh['documents']} documents in {fresh['seconds']:.0f} s "
                f"({fresh['chunks_per_s']:.1f} chunks/s); unchanged re-ingest {ingest['reingest_unchanged']['seconds']:.1f} s "
                f"with {ingest['reingest_unchanged']['embedded']} embeddings; one edited document re-embeds "
                f"{ingest['reingest_one_edited']['embedded']} chunk. Restricted chunks returned to `business` over "
                f"{retrieval['leaks']['searches']} searches: {retrieval['leaks']['restricted_chunks_returned']}. "
                "Targets: hybrid Recall@5 >= 0.95, MRR >= 0.85, p50 <= 30 ms.", ""]
    conversation = _load("conversation")
    if conversation:
        out += [f"**Conversation** — `python -m bench.conversation.run` ({conversation['when']}; guardrails and judge "
                "on, every message new, one colleague per question)", "",
                "| set | questions | operation | whole call | follow-up turns | follow-ups | refused |",
                "|---|---|---|---|---|---|---|"]
        for name in ("team", "held-out", "cross-domain dev", "cross-domain held-out 1", "cross-domain held-out 2"):
            s = conversation.get(name)
            if s:
                out.append(f"| {name} | {s['questions']} | {s['operation_accuracy']:.1%} | {s['exact_accuracy']:.1%} | "
                           f"{s['follow_up_turns']} | {s['follow_up_accuracy']:.1%} | {s.get('refused', 0)} |")
        security = [(n, conversation[n]) for n in ("security dev", "security held-out 1", "security held-out 2") if conversation.get(n)]
        if security:
            out += ["", "| ATLAS case-study questions (business role) | questions | right case study cited first | "
                    "cited at all | refused |", "|---|---|---|---|---|"]
            out += [f"| {n} | {s['questions']} | {s['first']:.1%} | {s['any']:.1%} | {s['refused']} |" for n, s in security]
        out += ["", "| question kind | set | n | p50 ms | p95 ms |", "|---|---|---|---|---|"]
        for name in ("team", "cross-domain dev"):
            for kind, v in (conversation.get(name) or {}).get("latency_ms", {}).items():
                out.append(f"| {kind} | {name} | {v['n']} | {v['p50']:.1f} | {v['p95']:.1f} |")
        out += ["", "Targets: operation >= 90%, whole call >= 80%, follow-ups >= 80%, right case study cited first "
                ">= 95%, no refusals; prediction questions p50 <= 50 ms and p95 <= 150 ms, document questions p50 <= 100 ms.",
                ""]
    load = _load("load")
    if load:
        out += [f"**Load** — `python -m bench.load` ({load['when']}; one server process, loopback; think = seconds "
                "between a client's questions, 0 = closed loop)", "",
                "| mix | clients | think s | requests/s | p50 ms | p95 ms | p99 ms | errors |", "|---|---|---|---|---|---|---|---|"]
        for r in load["runs"]:
            out.append(f"| {r['mix']} | {r['clients']} | {r['think_s']:g} | {r['throughput_rps']:.1f} | {r['p50_ms']:.0f} | "
                       f"{r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['errors']} |")
        out += ["", f"Target: {load['target']}.", ""]
    from bench.attacks.report import markdown as attacks_markdown

    out += attacks_markdown(_load("attacks"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
