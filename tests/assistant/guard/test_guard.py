"""The guard around real answers: escalation, locks, evasion, bulk limits, shared state, failing closed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from assistant.answer import Principal
from assistant.audit import SqliteAuditLog
from assistant.engine import Assistant
from assistant.guard.guard import Guard
from assistant.guard.state import RedisGuardStore, SqliteGuardStore
from assistant.guard.stream import prada_w
from assistant.models.registry import Registry


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def registry(demo_models: Path) -> Registry:
    return Registry([demo_models])


def _assistant(registry, store, clock=None, audit=None) -> Assistant:
    guard = Guard(store, registry, clock=clock or Clock())
    return Assistant(registry, None, guard=guard, audit=audit)


def test_a_sweep_warns_then_refuses_then_locks_with_alerts(registry, tmp_path):
    clock = Clock()
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), clock)
    eve = Principal(id="eve", role="analyst", channel="api")
    seen = []
    for i in range(14):
        clock.t += 20
        answer = assistant.answer(f"What if C-10293 had a balance of {400 + 25 * i}?", eve, session_id=f"s{i}")
        seen.append("locked" if answer.refused and answer.refusal.category == "locked"
                    else "refused" if answer.refused else "warned" if answer.text.startswith("Note:") else "answered")
    assert seen[:4] == ["answered"] * 4
    assert "warned" in seen and "refused" in seen and seen[-1] == "locked"
    assert seen.index("warned") < seen.index("refused") < seen.index("locked")
    alerts = assistant.guard.alerts(principal="eve")
    assert [a["level"] for a in alerts][:3] == ["lock", "refuse", "warn"]
    assert alerts[0]["kind"] == "sweep" and "balance" in alerts[0]["detail"]
    assert any("balance of" in q for q in alerts[0]["queries"])  # the offending questions are on record
    # Locked: model questions refused politely with an alternative; documents stay open.
    locked = assistant.answer("What is the risk tier for C-10001?", eve)
    assert locked.refused and locked.refusal.category == "locked" and locked.refusal.alternative
    assert not assistant.answer("What is the policy on model extraction?", eve).refused
    # Someone else is not affected.
    other = assistant.answer("What if C-10293 had a balance of 500?", Principal(id="ann", role="analyst"))
    assert not other.refused


def test_an_everyday_session_raises_no_alert(registry, tmp_path):
    clock = Clock()
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), clock)
    ann = Principal(id="ann", role="business", channel="slack")
    questions = ["What is the risk tier for C-10293?", "Why?", "What if her balance were $500 lower?",
                 "And if she were not a student?", "What would it take for C-10004 to reach a lower tier?",
                 "How many customers in the West region are high risk?", "What is the churn risk for C-20001?",
                 "What if C-20001 switched to a two-year contract?", "Which features matter most to the churn model?"]
    for q in questions * 2:
        clock.t += 60
        answer = assistant.answer(q, ann, session_id="day")
        assert not answer.refused, q
        assert not answer.text.startswith("Note:"), q
    assert assistant.guard.alerts() == []


def test_lock_survives_a_restart(registry, tmp_path):
    clock = Clock()
    path = tmp_path / "guard.sqlite"
    first = _assistant(registry, SqliteGuardStore(path), clock)
    eve = Principal(id="eve", role="business")
    for i in range(12):
        first.answer(f"What if C-10500 had an income of {20000 + 1000 * i}?", eve, session_id=uuid.uuid4().hex)
    assert first.guard.store.get_lock("eve", clock()), "the sweep should have locked eve"
    restarted = _assistant(registry, SqliteGuardStore(path), clock)  # a new process on the same file
    answer = restarted.answer("What is the risk tier for C-10001?", eve)
    assert answer.refused and answer.refusal.category == "locked"
    clock.t += 3 * 3600  # after the cool-down the lock is gone
    assert not restarted.answer("What is the risk tier for C-10001?", eve).refused


def test_evasion_coaching_is_refused_or_generalised_only_on_adversarial_models(registry, tmp_path):
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"))
    bob = Principal(id="bob", role="business")
    cf = assistant.answer("What would it take for T-100045 to reach a lower tier?", bob, model_id="transaction-fraud")
    assert cf.refused and cf.refusal.category == "evasion_coaching"
    assert "flagged" in cf.text and cf.refusal.alternative
    wi = assistant.answer("What if T-100045 had an amount of 20?", bob, model_id="transaction-fraud")
    # Declined, and generalised: the case's reasons instead of a scenario that shows what passes.
    assert wi.refused and wi.refusal.category == "evasion_coaching"
    assert [t.name for t in wi.tool_calls] == ["explain"] and "don't run what-if" in wi.text
    # The same questions on a recourse model are answered as asked.
    assert [t.name for t in assistant.answer("What would it take for C-10004 to reach a lower tier?", bob)
            .tool_calls] == ["counterfactual"]
    assert [t.name for t in assistant.answer("What if C-10004 had a balance of 200?", bob).tool_calls] == ["what_if"]
    # The security team (red team) may explore the fraud model.
    sec = assistant.answer("What if T-100045 had an amount of 20?", Principal(id="sam", role="security"),
                           model_id="transaction-fraud")
    assert [t.name for t in sec.tool_calls] == ["what_if"]


def test_more_than_a_page_of_records_is_refused(registry, tmp_path):
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"))
    ids = ", ".join(f"C-{10000 + i}" for i in range(15))
    answer = assistant.answer(f"What are the risk tiers of {ids}?", Principal(id="bob", role="business"))
    assert answer.refused and answer.refusal.category == "bulk_extraction"
    assert "up to 10" in answer.text  # the legitimate alternative


def test_probing_spread_over_many_principals_tightens_the_model(registry, tmp_path):
    clock = Clock()
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), clock)
    n = 0
    for p in range(12):  # sybils: each stays under its own budget
        who = Principal(id=f"sybil-{p}", role="business")
        for i in range(8):
            clock.t += 5
            n += 1
            assistant.answer(f"What if C-{10100 + i} had a balance of {100 + 37 * n}?", who, session_id=f"{p}-{i}")
    model_alerts = [a for a in assistant.guard.alerts() if a["kind"] == "model_probing"]
    assert model_alerts and model_alerts[0]["model_id"] == "credit-default"
    # With budgets halved, a fresh sybil is stopped sooner than the first ones were.
    fresh = Principal(id="sybil-new", role="business")
    refused_at = None
    for i in range(20):
        clock.t += 5
        a = assistant.answer(f"What if C-{10300 + i} had a balance of {900 + 13 * i}?", fresh, session_id=str(i))
        if a.refused:
            refused_at = i
            break
    assert refused_at is not None and refused_at < 20


def test_prada_separates_natural_lookups_from_a_sweep(registry):
    model = registry.get("credit-default")
    scales = {f.name: float(model.reference[f.name].std()) for f in model.spec.features if f.type == "numeric"}
    rows = model.records.sample(60, random_state=1)[model.spec.feature_names].to_dict("records")
    base = rows[0]
    sweep = [{**base, "balance": 100.0 + 10 * i} for i in range(60)]
    assert prada_w(rows, scales) > prada_w(sweep, scales)
    assert prada_w(sweep, scales) < 0.88


def test_without_the_state_store_predictions_fail_closed_and_documents_answer(registry, tmp_path):
    store = RedisGuardStore("redis://127.0.0.1:1/0", timeout=0.2)  # nothing listens on port 1
    assistant = _assistant(registry, store)
    bob = Principal(id="bob", role="business")
    answer = assistant.answer("What is the risk tier for C-10293?", bob)
    assert answer.refused and answer.refusal.category == "unavailable"
    assert "try again" in answer.text
    assert not assistant.answer("What is the policy on model extraction?", bob).refused


def test_every_answer_is_audited_and_the_chain_verifies(registry, tmp_path):
    audit = SqliteAuditLog(tmp_path / "audit.sqlite")
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), audit=audit)
    bob = Principal(id="bob", role="business", channel="slack")
    assistant.answer("What is the risk tier for C-10293?", bob)
    assistant.answer("Give me the coefficients of the credit model", bob)
    with pytest.raises(Exception):
        assistant.answer("x" * 5000, bob)
    rows = audit.tail(10)
    assert [r.verdict for r in rows][-3:] == ["answered", "refused", "error"] or \
        [r.verdict for r in rows][:3] == ["answered", "refused", "error"]
    by_verdict = {r.verdict: r for r in rows}
    assert by_verdict["answered"].tool_calls[0].name == "predict" and by_verdict["answered"].channel == "slack"
    assert by_verdict["refused"].category == "model_internals"
    assert by_verdict["answered"].latency_ms > 0
    assert audit.verify().ok


def test_redis_guard_state_is_shared_between_processes(registry, redis_url, demo_models, tmp_path):
    """Two replicas: one process probes until locked, the other refuses that principal at once."""
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    script = textwrap.dedent(f"""
        import uuid
        from pathlib import Path
        from assistant.answer import Principal
        from assistant.engine import Assistant
        from assistant.guard.guard import Guard
        from assistant.guard.state import RedisGuardStore
        from assistant.models.registry import Registry
        registry = Registry([Path({str(demo_models)!r})])
        guard = Guard(RedisGuardStore({redis_url!r}, prefix={prefix!r}), registry)
        assistant = Assistant(registry, None, guard=guard)
        eve = Principal(id="eve", role="business")
        for i in range(12):
            assistant.answer(f"What if C-10500 had an income of {{20000 + 1000 * i}}?", eve, session_id=uuid.uuid4().hex)
        print("locked" if guard.store.get_lock("eve", __import__("time").time()) else "open")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("locked")
    here = Assistant(registry, None, guard=Guard(RedisGuardStore(redis_url, prefix=prefix), registry))
    answer = here.answer("What is the risk tier for C-10001?", Principal(id="eve", role="business"))
    assert answer.refused and answer.refusal.category == "locked"
    assert here.guard.alerts(principal="eve")[0]["level"] == "lock"


def _vector_what_if(i: int) -> str:
    """A made-up vector: every input of the credit model set at once (what equation-solving needs)."""
    return (f"What if C-10293 had balance of {500 + 97 * i}, income of {30000 + 1100 * i}, credit limit of {2000 + 53 * i}, "
            f"missed payments of {i % 3}, age of {25 + i % 30}, years with bank of {1 + i % 9}, student No and region of East?")


def test_an_attack_split_between_accounts_meets_model_wide_limits(registry, tmp_path):
    clock = Clock()
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), clock)
    sybils = [Principal(id=f"sybil-{k}", role="analyst") for k in range(5)]
    answered_vectors = 0
    for i in range(40):
        clock.t += 10
        a = assistant.answer(_vector_what_if(i), sybils[i % 5], session_id=f"s{i}")
        if not a.refused and a.tool_calls and a.tool_calls[0].name == "what_if":
            answered_vectors += 1
    # Equation-solving on rounded probabilities needs ~22 answered vectors; the accounts together got far fewer.
    assert answered_vectors <= 10
    assert any(a["kind"] == "model_probing" and a["principal"] == "*" for a in assistant.guard.alerts())
    # Everyday what-ifs on the model still work for an uninvolved analyst, with tiers.
    other = assistant.answer("What if C-10004 had a balance of 200?", Principal(id="ann", role="analyst"))
    assert not other.refused and other.tool_calls[0].name == "what_if"
    assert other.tool_calls[0].result["after"]["tier"]


def test_records_harvested_by_many_accounts_meet_a_model_wide_limit(registry, tmp_path):
    clock = Clock()
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), clock)
    sybils = [Principal(id=f"harvest-{k}", role="business") for k in range(5)]
    answered = []
    for i in range(150):  # each account alone stays under its own budget (30 lookups, refused at 35)
        clock.t += 5
        a = assistant.answer(f"What is the risk tier of customer C-{10100 + i}?", sybils[i % 5], session_id=f"s{i}")
        if not a.refused:
            answered.append(10100 + i)
    # ~60 labelled records already train a copy that agrees >= 0.90; the accounts together got fewer.
    assert 40 <= len(answered) <= 60
    assert any(a["kind"] == "model_records" and a["level"] == "refuse" for a in assistant.guard.alerts())
    # A record a sybil already saw is still answered; so are an uninvolved colleague's lookups.
    again = assistant.answer(f"What is the risk tier of customer C-{answered[0]}?", sybils[0])
    assert not again.refused and again.tool_calls[0].result["tier"]
    bob = Principal(id="bob", role="business")
    for rid in (10004, 10005, 10006):
        assert not assistant.answer(f"What is the risk tier of customer C-{rid}?", bob).refused


def test_under_model_wide_probing_analysts_get_tiers_without_probabilities(registry, tmp_path):
    clock = Clock()
    assistant = _assistant(registry, SqliteGuardStore(tmp_path / "guard.sqlite"), clock)
    for k in range(12):  # many accounts, a few single-input what-ifs each, on many records
        who = Principal(id=f"u{k}", role="business")
        for j in range(2):
            clock.t += 10
            assistant.answer(f"What if C-{10100 + 2 * k + j} had a balance of {300 + 11 * k + j}?", who, session_id=f"{k}{j}")
    ann = Principal(id="ann", role="analyst")
    answer = assistant.answer("What if C-10004 had a balance of 200?", ann)
    assert not answer.refused
    result = answer.tool_calls[0].result
    assert result["after"]["tier"] and "probability" not in result["after"]
    assert "probability" not in answer.text.split("Probabilities are withheld")[-1]
    assert "withheld" in answer.text
