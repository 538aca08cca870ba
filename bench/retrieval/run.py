"""Retrieval benchmark for the knowledge base (issue 3): ingest speed, answer quality, latency, leaks.

Run: .venv/bin/python -m bench.retrieval.run [--atlas PATH] [--data-dir DIR] [--questions FILE] [--torch-threads N]

What it does, on a fresh data dir with the real embedded Chroma and the real embedding model:
1. ingests a copy of knowledge/corpus plus MITRE ATLAS, and reports chunks/s; then re-ingests
   unchanged (must embed nothing), after editing one document, and after reverting it;
2. asks every question in questions.yaml in each mode (dense, bm25, hybrid) as its labelled role
   and reports Recall@1, Recall@5 (hit if any relevant document is in the top k documents) and
   MRR@10 (reciprocal rank of the first relevant document, 0 beyond rank 10), plus query latency
   p50/p95 after a warm-up (searches ask for top_k=10; the three modes are interleaved per
   question so they see the same machine load), and times the query embedding, dense and hybrid
   search with the query vector already cached (the in-memory ranking, fusion and snippets), and the
   Chroma query (the dense path for collections too large to hold in memory) on their own to show
   where dense/hybrid time goes. Ingestion runs with torch's default
   threads; queries run with settings.torch_threads (MODELDESK_TORCH_THREADS), as `modeldesk serve` does;
3. asks every question again as `business` in every mode (ungrouped top 10 chunks, with and without
   the question's filters) and counts restricted chunks returned: the target is exactly 0.

Targets (issue 3): hybrid Recall@5 >= 0.95, hybrid MRR >= 0.85, query p50 <= 30 ms, 0 leaks.
The numbers are reported as measured; never edit questions.yaml to meet them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from assistant.config import load_settings
from bench.common import pct, print_table, write_json
from knowledge.base import KnowledgeBase

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO / "knowledge" / "corpus"
DEFAULT_ATLAS = Path("/work/shared/data/atlas/ATLAS.yaml")
MODES = ("dense", "bm25", "hybrid")
DEPTH = 10  # documents retrieved per question; MRR is computed to this depth
TARGETS = {"recall_at_5": 0.95, "mrr": 0.85, "p50_ms": 30.0}
EDITED_DOC = "runbooks/drift-monitoring-and-retraining.md"  # the document touched for the re-ingest test
WARMUP_QUERIES = ("risk tier", "model extraction through the API", "AML.T0020 poisoning", "who owns the churn model")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _torch_threads() -> int | None:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    return torch.get_num_threads()


def _field(doc: Any, name: str) -> Any:
    """A field of a listed document, whether the listing gives dicts or objects."""
    return doc.get(name) if isinstance(doc, dict) else getattr(doc, name, None)


def load_questions(path: Path) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    for number, item in enumerate(items, start=1):
        missing = {"q", "relevant", "role"} - set(item)
        if missing:
            raise SystemExit(f"{path}: question {number} lacks {', '.join(sorted(missing))}")
        item["n"] = number
    return items


def category(item: dict[str, Any]) -> str:
    """A coarse family for the breakdown table, from the first relevant document."""
    first = item["relevant"][0]
    if first.startswith("atlas:"):
        return "atlas"
    if first.startswith("incident:"):
        return "incidents"
    return first.split("/", 1)[0]


def check_labels(items: list[dict[str, Any]], access: dict[str, str]) -> list[str]:
    """Unknown doc ids are fatal; a role that cannot read any relevant doc is reported."""
    unknown = sorted({d for it in items for d in it["relevant"] if d not in access})
    if unknown:
        raise SystemExit(f"questions.yaml names documents that are not in the index: {', '.join(unknown)}")
    from knowledge.access import allowed_access

    problems = []
    for it in items:
        if it["role"] not in ("business", "analyst", "security"):
            raise SystemExit(f"question {it['n']}: role must be business, analyst or security, not {it['role']!r}")
        if not any(access[d] in allowed_access(it["role"]) for d in it["relevant"]):
            problems.append(f"question {it['n']} ({it['role']}) cannot read any of its relevant documents")
    return problems


def ingest_phase(kb: KnowledgeBase, paths: list[Path], corpus_copy: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    start = time.perf_counter()
    kb.embedder.embed(["warm up the embedding model"])
    out["model_load_s"] = round(time.perf_counter() - start, 3)

    log("ingesting corpus + ATLAS into a fresh store ...")
    first = kb.ingest(paths)
    if first.rejected_files:
        log(f"  rejected: {[(r.file, r.reason) for r in first.rejected_files]}")
    out["fresh"] = {
        "documents": first.documents, "chunks": first.chunks, "embedded": first.embedded,
        "seconds": first.seconds, "chunks_per_s": round(first.chunks / first.seconds, 2) if first.seconds else None,
        "rejected": first.rejected, "flagged_documents": first.flagged_documents,
    }
    log(f"  {first.summary()}")

    log("re-ingesting unchanged ...")
    again = kb.ingest(paths)
    out["reingest_unchanged"] = {"seconds": again.seconds, "embedded": again.embedded,
                                 "unchanged": again.unchanged, "changed": again.changed}
    log(f"  {again.summary()}")

    target = corpus_copy / EDITED_DOC
    original = target.read_text(encoding="utf-8")
    target.write_text(original.rstrip("\n") + " A rollback is also announced in #modeldesk-help.\n", encoding="utf-8")
    log(f"re-ingesting after editing {EDITED_DOC} ...")
    edited = kb.ingest(paths)
    out["reingest_one_edited"] = {"seconds": edited.seconds, "embedded": edited.embedded,
                                  "added": edited.added, "updated": edited.updated, "deleted": edited.deleted}
    log(f"  {edited.summary()}")
    target.write_text(original, encoding="utf-8")
    reverted = kb.ingest(paths)
    out["reingest_reverted"] = {"seconds": reverted.seconds, "embedded": reverted.embedded, "updated": reverted.updated}
    log(f"  reverted: {reverted.summary()}")
    return out


def rank_of(doc_ids: list[str], relevant: set[str]) -> int | None:
    for position, doc_id in enumerate(doc_ids, start=1):
        if doc_id in relevant:
            return position
    return None


def quality_phase(kb: KnowledgeBase, items: list[dict[str, Any]]) -> dict[str, Any]:
    # One KnowledgeBase (so one Retriever) per mode over the same store and embedder: a retriever may
    # cache query vectors, and hybrid must not be timed on the vector dense just computed for the same
    # question. Every timed search is then a first-time question, as a user's new question would be.
    bases = {mode: KnowledgeBase(kb.settings, embedder=kb.embedder, store=kb.store) for mode in MODES}
    roles = sorted({it["role"] for it in items} | {"business"})
    for mode in MODES:  # warm-up: query embedding path, Chroma, and one BM25 index per access set
        for role in roles:
            for query in WARMUP_QUERIES:
                bases[mode].search(query, role=role, top_k=DEPTH, mode=mode)
    # Modes are interleaved per question so that all three see the same machine load (on a shared box
    # a mode timed in its own pass can look faster or slower by luck), and dense and hybrid take turns
    # going first, because the first embedding of a new question text tends to be the slowest.
    log(f"asking {len(items)} questions in each of {', '.join(MODES)} (interleaved) ...")
    rows: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    for index, it in enumerate(items):
        for mode in (MODES if index % 2 == 0 else tuple(reversed(MODES))):
            start = time.perf_counter()
            results = bases[mode].search(it["q"], role=it["role"], top_k=DEPTH, mode=mode, filters=it.get("filters"))
            elapsed = (time.perf_counter() - start) * 1000
            latencies[mode].append(elapsed)
            docs = [r.doc_id for r in results]
            rows[mode].append({"n": it["n"], "rank": rank_of(docs, set(it["relevant"])), "top": docs[:5],
                               "ms": round(elapsed, 2)})
    per_mode: dict[str, Any] = {}
    for mode in MODES:
        count = len(rows[mode])
        per_mode[mode] = {
            "recall_at_1": sum(1 for r in rows[mode] if r["rank"] == 1) / count,
            "recall_at_5": sum(1 for r in rows[mode] if r["rank"] and r["rank"] <= 5) / count,
            "mrr": sum(1 / r["rank"] for r in rows[mode] if r["rank"]) / count,
            "p50_ms": pct(latencies[mode], 50),
            "p95_ms": pct(latencies[mode], 95),
            "questions": rows[mode],
        }
    return per_mode


def latency_breakdown(kb: KnowledgeBase, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Where dense/hybrid time goes: the query embedding; dense and hybrid search once the query's
    vector is cached (so everything but the embedding); and the Chroma query, which dense search
    uses only when the collection is too large to hold its vectors in memory.

    The Chroma query mirrors that fallback (same where clause, same candidate depth).
    """
    from knowledge.access import allowed_access
    from knowledge.retrieval import SearchFilters

    store = kb.store
    generation = store.generation()
    depth = max(kb.retriever.candidates, DEPTH * 10)
    embed_ms, chroma_ms = [], []
    cached_ms: dict[str, list[float]] = {"dense": [], "hybrid": []}
    for it in items:
        start = time.perf_counter()
        vector = store.embedder.embed_query(it["q"])
        embed_ms.append((time.perf_counter() - start) * 1000)
        for mode in cached_ms:
            kb.search(it["q"], role=it["role"], top_k=DEPTH, mode=mode, filters=it.get("filters"))  # caches the vector
            start = time.perf_counter()
            kb.search(it["q"], role=it["role"], top_k=DEPTH, mode=mode, filters=it.get("filters"))
            cached_ms[mode].append((time.perf_counter() - start) * 1000)
        clauses = [{"access": {"$in": list(allowed_access(it["role"]))}},
                   *SearchFilters.model_validate(it.get("filters") or {}).clauses()]
        where = store.live(generation, {"$and": clauses} if len(clauses) > 1 else clauses[0])
        start = time.perf_counter()
        store.query(vector, depth, where)
        chroma_ms.append((time.perf_counter() - start) * 1000)
    threads = _torch_threads()
    return {"embed_query_p50_ms": pct(embed_ms, 50), "embed_query_p95_ms": pct(embed_ms, 95),
            "dense_cached_vector_p50_ms": pct(cached_ms["dense"], 50),
            "dense_cached_vector_p95_ms": pct(cached_ms["dense"], 95),
            "hybrid_cached_vector_p50_ms": pct(cached_ms["hybrid"], 50),
            "hybrid_cached_vector_p95_ms": pct(cached_ms["hybrid"], 95),
            "chroma_query_p50_ms": pct(chroma_ms, 50), "chroma_query_p95_ms": pct(chroma_ms, 95),
            "candidates_per_list": depth, "torch_threads": threads}


def leak_phase(kb: KnowledgeBase, items: list[dict[str, Any]], access: dict[str, str]) -> dict[str, Any]:
    """Every question as `business`, every mode, ungrouped top chunks: count restricted ones."""
    searches, leaks, examples = 0, 0, []
    for mode in MODES:
        log(f"leak check: every question as business in {mode} mode ...")
        for it in items:
            variants = [None] + ([it["filters"]] if it.get("filters") else [])
            for filters in variants:
                results = kb.search(it["q"], role="business", top_k=DEPTH, mode=mode, filters=filters, group=False)
                searches += 1
                for r in results:
                    if r.metadata.get("access") == "restricted" or access.get(r.doc_id) == "restricted":
                        leaks += 1
                        if len(examples) < 20:
                            examples.append({"n": it["n"], "mode": mode, "chunk_id": r.chunk_id})
    return {"searches": searches, "restricted_chunks_returned": leaks, "examples": examples}


def report(items, ingest_stats, quality, breakdown, leaks, label_problems, load_before, load_after) -> dict[str, Any]:
    fresh = ingest_stats["fresh"]
    print_table(
        "bench/retrieval: ingest (corpus + ATLAS, fresh embedded Chroma)",
        ["documents", "chunks", "fresh ingest s", "chunks/s", "re-ingest unchanged s", "embedded",
         "re-ingest 1 edited doc s", "embedded", "model load s"],
        [[fresh["documents"], fresh["chunks"], fresh["seconds"], fresh["chunks_per_s"],
          ingest_stats["reingest_unchanged"]["seconds"], ingest_stats["reingest_unchanged"]["embedded"],
          ingest_stats["reingest_one_edited"]["seconds"], ingest_stats["reingest_one_edited"]["embedded"],
          ingest_stats["model_load_s"]]],
    )
    rows = []
    for mode in MODES:
        m = quality[mode]
        met = (m["recall_at_5"] >= TARGETS["recall_at_5"] and m["mrr"] >= TARGETS["mrr"]
               and m["p50_ms"] <= TARGETS["p50_ms"])
        rows.append([mode, len(items), m["recall_at_1"], m["recall_at_5"], m["mrr"], m["p50_ms"], m["p95_ms"],
                     ("yes" if met else "NO") if mode == "hybrid" else "—"])
    print_table(
        f"bench/retrieval: {len(items)} questions (targets for hybrid: R@5 >= {TARGETS['recall_at_5']}, "
        f"MRR >= {TARGETS['mrr']}, p50 <= {TARGETS['p50_ms']:g} ms)",
        ["mode", "questions", "Recall@1", "Recall@5", "MRR@10", "p50 ms", "p95 ms", "targets met"], rows,
    )

    print_table(
        f"Latency breakdown (ms; {breakdown['candidates_per_list']} candidates per list, "
        f"torch threads {breakdown['torch_threads']}, load average {load_before[0]:.1f} on {os.cpu_count()} CPUs)",
        ["part", "p50", "p95"],
        [["query embedding", breakdown["embed_query_p50_ms"], breakdown["embed_query_p95_ms"]],
         ["dense search, query vector cached", breakdown["dense_cached_vector_p50_ms"],
          breakdown["dense_cached_vector_p95_ms"]],
         ["hybrid search, query vector cached", breakdown["hybrid_cached_vector_p50_ms"],
          breakdown["hybrid_cached_vector_p95_ms"]],
         ["Chroma query (dense path above the in-memory limit)", breakdown["chroma_query_p50_ms"],
          breakdown["chroma_query_p95_ms"]],
         ["BM25 search (whole call)", quality["bm25"]["p50_ms"], quality["bm25"]["p95_ms"]],
         ["hybrid search (whole call)", quality["hybrid"]["p50_ms"], quality["hybrid"]["p95_ms"]]],
    )

    def rank(mode: str, index: int) -> int:
        return quality[mode]["questions"][index]["rank"] or DEPTH + 1

    versus = {"better": 0, "same": 0, "worse": 0}
    for index in range(len(items)):
        best = min(rank("dense", index), rank("bm25", index))
        key = "better" if rank("hybrid", index) < best else "same" if rank("hybrid", index) == best else "worse"
        versus[key] += 1
    print_table("Hybrid rank of the first relevant doc vs the better of dense and bm25 for the same question",
                ["hybrid better", "same", "hybrid worse"], [[versus["better"], versus["same"], versus["worse"]]])

    groups: dict[str, list[int]] = defaultdict(list)
    for index, it in enumerate(items):
        groups[category(it)].append(index)
        groups[f"role={it['role']}"].append(index)
    brows = []
    for name in sorted(groups):
        idx = groups[name]
        line: list[object] = [name, len(idx)]
        for mode in MODES:
            qs = quality[mode]["questions"]
            line.append(sum(1 for i in idx if qs[i]["rank"] and qs[i]["rank"] <= 5) / len(idx))
        qs = quality["hybrid"]["questions"]
        line.append(sum(1 / qs[i]["rank"] for i in idx if qs[i]["rank"]) / len(idx))
        brows.append(line)
    print_table("Recall@5 by question family and role", ["group", "n", "dense", "bm25", "hybrid", "hybrid MRR"], brows)

    misses = []
    for index, it in enumerate(items):
        row = quality["hybrid"]["questions"][index]
        if not row["rank"] or row["rank"] > 1:
            misses.append([it["n"], it["q"][:60], ", ".join(it["relevant"])[:45], row["rank"] or "-",
                           quality["dense"]["questions"][index]["rank"] or "-",
                           quality["bm25"]["questions"][index]["rank"] or "-", ", ".join(row["top"][:3])[:70]])
    print_table("Hybrid: questions whose first relevant doc is not at rank 1 (ranks per mode; - = not in top 10)",
                ["#", "question", "relevant", "hybrid", "dense", "bm25", "hybrid top 3"], misses)

    print_table("Access control: every question as business, all modes, top-10 chunks",
                ["searches", "restricted chunks returned", "target"],
                [[leaks["searches"], leaks["restricted_chunks_returned"], 0]])
    for problem in label_problems:
        log(f"label warning: {problem}")

    payload = {
        "targets": TARGETS,
        "depth": DEPTH,
        "questions": len(items),
        "load_average": {"before": load_before, "after": load_after, "cpus": os.cpu_count()},
        "ingest": ingest_stats,
        "modes": {mode: {k: v for k, v in quality[mode].items() if k != "questions"} for mode in MODES},
        "latency_breakdown": breakdown,
        "hybrid_vs_best_single_mode": versus,
        "hybrid_meets_targets": bool(
            quality["hybrid"]["recall_at_5"] >= TARGETS["recall_at_5"] and quality["hybrid"]["mrr"] >= TARGETS["mrr"]
            and quality["hybrid"]["p50_ms"] <= TARGETS["p50_ms"]),
        "leaks": leaks,
        "label_warnings": label_problems,
        "per_question": [
            {"n": it["n"], "q": it["q"], "role": it["role"], "relevant": it["relevant"], "filters": it.get("filters"),
             **{mode: quality[mode]["questions"][i] for mode in MODES}}
            for i, it in enumerate(items)
        ],
    }
    path = write_json("retrieval", payload)
    print(f"wrote {path}")
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atlas", type=Path, default=Path(os.environ.get("MODELDESK_ATLAS", DEFAULT_ATLAS)),
                        help=f"MITRE ATLAS.yaml (default: $MODELDESK_ATLAS or {DEFAULT_ATLAS})")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="an empty or new folder for the fresh index (default: a temporary folder, removed afterwards)")
    parser.add_argument("--questions", type=Path, default=HERE / "questions.yaml")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch threads while answering queries (default: settings.torch_threads, as "
                             "`modeldesk serve` uses; ingestion always runs with torch's default)")
    args = parser.parse_args()

    if not args.atlas.is_file():
        raise SystemExit(f"ATLAS file not found: {args.atlas} (pass --atlas PATH)")
    owned = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="modeldesk-bench-retrieval-")) if owned else args.data_dir
    if not owned:
        if data_dir.exists() and any(data_dir.iterdir()):
            raise SystemExit(f"--data-dir {data_dir} is not empty; the benchmark needs a fresh store")
        data_dir.mkdir(parents=True, exist_ok=True)

    items = load_questions(args.questions)
    corpus_copy = data_dir / "corpus"  # a copy, so the re-ingest test can edit a file; doc ids are relative
    shutil.copytree(CORPUS, corpus_copy)
    paths = [corpus_copy, args.atlas.resolve()]
    settings = load_settings(data_dir=data_dir / "state", knowledge_path=os.pathsep.join(str(p) for p in paths))
    load_before = os.getloadavg()
    kb = KnowledgeBase(settings)
    try:
        ingest_stats = ingest_phase(kb, paths, corpus_copy)
        ingest_stats["torch_threads"] = _torch_threads()
        serving = args.torch_threads or getattr(settings, "torch_threads", None)
        if serving:  # as `modeldesk serve` does: small per-request embeddings on few threads
            import torch

            torch.set_num_threads(serving)
        access = {_field(d, "doc_id"): _field(d, "access") or "internal" for d in kb.documents(role="admin")}
        label_problems = check_labels(items, access)
        quality = quality_phase(kb, items)
        breakdown = latency_breakdown(kb, items)
        leaks = leak_phase(kb, items, access)
        report(items, ingest_stats, quality, breakdown, leaks, label_problems, load_before, os.getloadavg())
    finally:
        kb.close()
        if owned:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
