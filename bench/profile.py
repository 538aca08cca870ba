"""Where an answer's time goes, per question kind, with every learned part on and every question new.

    .venv/bin/python -m bench.profile                  # 60 questions per kind, stages table
    .venv/bin/python -m bench.profile --per-kind 200 --cprofile what_if   # + the hottest functions

Builds the demo models and the served assistant exactly as `modeldesk serve` does
(`Assistant.from_settings`: SQLite sessions, guard state and audit log, monitoring, the guard's
learned judge, the planner's classifier, embedded Chroma) in a temporary data directory, warms it
up, then answers new questions one at a time (bench/questions.py: random real records, what-ifs
with random amounts), one principal per question so budgets measure nothing but cost.

Each stage's time is *exclusive*: a stage called inside another (the encoder inside the judge,
retrieval inside a tool) is taken out of its caller, so a row's stages add up to the whole answer.
Stages: planning (parse, classify, plan), guard screening (rules + judge, less the encoder),
encoder (sentence embeddings, whoever asked), stream signals (guard review before the tools and
observe after them: budgets and probing detection), scoring/tools (model tools, less retrieval),
retrieval (knowledge search, less the encoder), writing (the answer's text), and the state writes
(sessions, monitoring, audit). "other" is the rest of `Assistant.answer` (shaping, models). The
HTTP layer is not in these figures; bench/load measures it from outside.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import pct, print_table, write_json
from bench.questions import KINDS, RAISED_BUDGETS, Questions, encoder_p50

STAGES = ["planning", "guard screening", "encoder", "stream signals", "scoring/tools", "retrieval", "writing",
          "sessions", "monitoring", "audit", "other"]


class Stages:
    """Exclusive wall time per named stage, for the answer being timed."""

    def __init__(self) -> None:
        self.stack: list[list] = []  # [name, started, time spent in nested stages]
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, owner: object, attribute: str, stage: str) -> None:
        fn = getattr(owner, attribute)

        def timed(*args, **kwargs):
            frame = [stage, time.perf_counter(), 0.0]
            self.stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                self.stack.pop()
                took = time.perf_counter() - frame[1]
                self.spent[stage] += took - frame[2]
                if self.stack:
                    self.stack[-1][2] += took

        setattr(owner, attribute, timed)

    def reset(self) -> None:
        self.spent = defaultdict(float)


def build(data_dir: Path):
    """The served assistant, as `modeldesk serve` builds it, over the demo models and corpus."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from assistant.config import load_settings
    from assistant.demo import build_demo_models
    from assistant.engine import Assistant

    build_demo_models(data_dir / "demo" / "models")
    settings = load_settings(data_dir=data_dir, guard_budgets=RAISED_BUDGETS)
    import torch

    torch.set_num_threads(settings.torch_threads)  # as `modeldesk serve` does
    assistant = Assistant.from_settings(settings)
    assistant.registry.check()
    assistant.knowledge.ingest(settings.knowledge_paths)
    return assistant, settings


def instrument(assistant) -> Stages:
    import assistant.engine as engine

    stages = Stages()
    stages.wrap(assistant.planner, "plan", "planning")
    guard = assistant.guard
    if guard is not None:
        stages.wrap(guard, "gate", "guard screening")
        stages.wrap(guard, "screen", "guard screening")
        stages.wrap(guard, "review", "stream signals")
        stages.wrap(guard, "observe", "stream signals")
    embedder = getattr(assistant.knowledge, "embedder", None)
    if embedder is not None:
        stages.wrap(embedder, "embed", "encoder")
    judge = getattr(guard, "judge", None)
    if judge is not None and judge.embedder is not embedder:
        stages.wrap(judge.embedder, "embed", "encoder")
    stages.wrap(engine, "run_tool", "scoring/tools")
    if assistant.knowledge is not None:
        stages.wrap(assistant.knowledge, "search", "retrieval")
        stages.wrap(assistant.knowledge, "documents", "retrieval")
    stages.wrap(assistant.writer, "write", "writing")
    stages.wrap(assistant.sessions, "load", "sessions")
    stages.wrap(assistant.sessions, "save", "sessions")
    if assistant.monitor is not None:
        stages.wrap(assistant.monitor, "observe", "monitoring")
    if assistant.audit is not None:
        stages.wrap(assistant.audit, "record", "audit")
    return stages


def encoder_pass_ms(assistant, questions: Questions, n: int = 200) -> float:
    """p50 of one encoder pass on a new message (the unit of the one-question-at-a-time goal)."""
    return encoder_p50(assistant.knowledge.embedder, questions, n)


def http_overhead(assistant, settings, questions: Questions, kinds: list[str], n: int) -> dict[str, dict]:
    """The same kinds of new questions through the HTTP app in this process (FastAPI, auth, rate limit,
    metrics, feedback record, JSON): the whole request against `Assistant.answer` inside it."""
    from fastapi.testclient import TestClient

    from adapters.http.app import create_app

    keys = {f"profile-key-{i}": {"principal": f"profile-http-{i}", "role": "business"} for i in range(n)}
    app = create_app(settings.model_copy(update={"api_keys": keys, "rate_limit_per_minute": 10**6}),
                     assistant=assistant, ingested=(True, "ingested by the profile"))
    inner: list[float] = []
    answer = assistant.answer

    def timed_answer(*args, **kwargs):
        started = time.perf_counter()
        try:
            return answer(*args, **kwargs)
        finally:
            inner.append((time.perf_counter() - started) * 1000)

    assistant.answer = timed_answer
    out = {}
    with TestClient(app) as http:
        for kind in kinds:
            inner.clear()
            whole = []
            for i, key in enumerate(keys):
                started = time.perf_counter()
                response = http.post("/v1/chat", json={"message": questions.draw(kind)},
                                     headers={"Authorization": f"Bearer {key}"})
                whole.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            out[kind] = {"request_p50_ms": pct(whole, 50), "answer_p50_ms": pct(inner, 50),
                         "http_mean_ms": (sum(whole) - sum(inner)) / len(whole)}
    assistant.answer = answer
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=60, help="new questions answered per kind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--cprofile", nargs="*", choices=KINDS, default=None,
                        help="also print the hottest functions (cProfile) for these kinds (all when none named)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-http", dest="http", action="store_false",
                        help="skip the HTTP-path measurement (the same questions through the FastAPI app)")
    parser.add_argument("--out", default="profile", help="name of the JSON file under bench/results")
    args = parser.parse_args()

    from assistant.answer import Principal

    with tempfile.TemporaryDirectory(prefix="modeldesk-profile-") as tmp:
        started = time.perf_counter()
        assistant, settings = build(Path(tmp))
        questions = Questions.from_models_dir(settings.demo_dir / "models", seed=args.seed)
        judge = getattr(assistant.guard, "judge", None)
        print(f"assistant built in {time.perf_counter() - started:.0f} s; judge "
              f"{'on' if judge is not None else 'OFF'}; load average {os.getloadavg()[0]:.2f}", flush=True)
        warm = Questions.from_models_dir(settings.demo_dir / "models", seed=args.seed + 1000)
        for kind in args.kinds:  # first-use costs (explainers, caches, lazy imports) out of the figures
            for _ in range(10):
                assistant.answer(warm.draw(kind), Principal(id="warm", role="analyst"))
        encoder_ms = encoder_pass_ms(assistant, warm)
        stages = instrument(assistant)
        cprofile_kinds = set(args.cprofile if args.cprofile else KINDS) if args.cprofile is not None else set()
        results: dict[str, dict] = {}
        hot: dict[str, str] = {}
        n = 0
        for kind in args.kinds:
            per_stage: dict[str, list[float]] = defaultdict(list)
            totals, cpu, refused, no_tool = [], [], 0, 0
            profiler = cProfile.Profile() if kind in cprofile_kinds else None
            for _ in range(args.per_kind):
                n += 1
                text = questions.draw(kind)
                who = Principal(id=f"profile-{n:05d}", role="analyst" if n % 5 == 4 else "business")
                stages.reset()
                c0, t0 = time.process_time(), time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                answer = assistant.answer(text, who)
                if profiler is not None:
                    profiler.disable()
                total = time.perf_counter() - t0
                cpu.append((time.process_time() - c0) * 1000)
                totals.append(total * 1000)
                refused += answer.refused
                no_tool += not answer.tool_calls
                named = sum(stages.spent.values())
                for stage in STAGES[:-1]:
                    per_stage[stage].append(stages.spent.get(stage, 0.0) * 1000)
                per_stage["other"].append(max(0.0, total - named) * 1000)
            results[kind] = {"questions": args.per_kind, "p50_ms": pct(totals, 50), "p95_ms": pct(totals, 95),
                             "mean_ms": sum(totals) / len(totals), "cpu_mean_ms": sum(cpu) / len(cpu),
                             "refused": refused, "no_tool": no_tool,
                             "stages_mean_ms": {s: sum(v) / len(v) for s, v in per_stage.items()}}
            if profiler is not None:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(40)
                hot[kind] = out.getvalue()
            print(f"  {kind:<10} p50 {results[kind]['p50_ms']:.1f} ms, p95 {results[kind]['p95_ms']:.1f} ms", flush=True)
        http = http_overhead(assistant, settings, questions, [k for k in args.kinds if k in ("tier", "what_if")],
                             args.per_kind) if args.http else {}
        load = os.getloadavg()

    rows = []
    for kind, r in results.items():
        means = r["stages_mean_ms"]
        rows.append([kind, r["questions"], r["p50_ms"], r["mean_ms"], r["cpu_mean_ms"],
                     *[means[s] for s in STAGES], r["refused"], r["no_tool"]])
    print_table(f"Where an answer's time goes (mean ms per stage, exclusive; one question at a time, every "
                f"question new; one encoder pass p50 {encoder_ms:.1f} ms; load average {load[0]:.2f})",
                ["kind", "n", "p50", "mean", "cpu", *STAGES, "refused", "no tool"], rows)
    if http:
        print_table("Through the HTTP app in this process (POST /v1/chat): the whole request vs the answer inside it",
                    ["kind", "request p50 ms", "answer p50 ms", "HTTP layer mean ms"],
                    [[k, v["request_p50_ms"], v["answer_p50_ms"], v["http_mean_ms"]] for k, v in http.items()])
    for kind, text in hot.items():
        print(f"\n--- hottest functions, {kind} (tottime) ---")
        print(text[:9000])
    command = "python -m bench.profile " + " ".join(sys.argv[1:])
    path = write_json(args.out, {"command": command.strip(), "cpus": os.cpu_count(), "load_average": list(load),
                                 "judge": judge is not None, "encoder_pass_p50_ms": encoder_ms,
                                 "stages": STAGES, "kinds": results, "http": http})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
