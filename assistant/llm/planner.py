"""Planning through the LLM's tool calling, behind the same `Planner` interface as the rule planner.

The LLM sees the question, the session's current model and record, and the registry's models; it
never sees a document (retrieval runs after planning), so text inside documents cannot choose a
tool call. Its calls are checked (assistant.llm.validation) and then go through the guard's
screening and review, the budgets and the audit exactly as the deterministic planner's do, because
the engine treats both plans alike. Any failure returns the deterministic plan.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.conversation.planner import Plan, Planner
from assistant.conversation.state import SessionState
from assistant.conversation.tools import Toolbox, langchain_tools
from assistant.llm.client import LLMClient, LLMError
from assistant.llm.validation import check_calls
from assistant.models.registry import Registry

log = logging.getLogger("modeldesk.llm")

SYSTEM = """You choose the tool calls that answer a question about the bank's machine-learning models.
Rules:
- Use only the model ids, record ids, feature names and values listed here or written in the question. Never invent one.
- Risk tier or score of a record: predict. Why / reasons: explain. What if an input changed: what_if. How to reach a lower tier: counterfactual.
- Accuracy: performance. Which inputs matter: feature_importance. What an input means: define_feature. Documents, limitations, policies: search_knowledge. Incidents: list_incidents. Is it safe: security_posture.
- If no tool fits, call none and reply with one short sentence.
Models:
{models}
{context}"""


def unsure(plan: Plan) -> bool:
    """The rule planner recognised no operation: what it would do is search documents or show help."""
    return plan.by_default or plan.out_of_scope or (not plan.steps and not plan.clarify and not plan.reset)


class LLMPlanner:
    """The LLM plans (for every question, or only those the rules do not recognise); the rules are the fallback."""

    def __init__(self, registry: Registry, client: LLMClient, fallback: Planner, *, mode: str = "unsure"):
        self.registry, self.client, self.fallback, self.mode = registry, client, fallback, mode
        # The contract's tools, as the same StructuredTools; only their schemas go to the LLM: the calls run
        # through the engine (guard, budgets, audit), never through LangChain.
        self.tools = langchain_tools(Toolbox(registry))
        self.last: dict[str, Any] = {}  # what the latest plan() did, for the benchmark

    def plan(self, question: str, state: SessionState, model_hint: str | None = None) -> Plan:
        rules = self.fallback.plan(question, state, model_hint)
        if self.mode == "off" or (self.mode == "unsure" and not unsure(rules)):
            self.last = {"source": "rules"}
            return rules
        stats = self.client.stats
        try:
            reply = self.client.complete(self._messages(question, state, model_hint), purpose="plan", tools=self.tools)
        except LLMError as exc:
            stats.fallback("plan", exc.reason)
            log.info("LLM planning failed (%s); the rule planner's plan is used", exc.reason)
            self.last = {"source": "rules", "fallback": exc.reason}
            return rules
        calls = reply.tool_calls
        problems = [f"malformed call {c.get('name') or ''}: {c.get('error') or 'arguments are not JSON'}"
                    for c in reply.invalid_tool_calls]
        steps, invalid = check_calls(calls, self.registry)
        problems += invalid
        # A record the user never named (in this message or earlier in the conversation) is a guess.
        known = {question.lower(), (state.record_id or "").lower()}
        problems += [f"{s.name}: record {s.arguments['record_id']} was not named in the conversation" for s in steps
                     if s.arguments.get("record_id") and not any(str(s.arguments["record_id"]).lower() in k
                                                                 for k in known if k)]
        self.last = {"source": "llm", "calls": calls, "problems": problems, "seconds": reply.seconds}
        if problems:
            stats.fallback("plan", "invalid_plan")
            log.info("LLM plan rejected: %s", "; ".join(problems)[:500])
            self.last["source"] = "rules"
            return rules
        if not steps:
            stats.fallback("plan", "no_tool_call")
            self.last["source"] = "rules"
            return rules
        stats.use("plan")
        context = [c for c in (state.model_id, state.record_id) if c and any(c in s.arguments.values() for s in steps)
                   and c not in question]
        return Plan(steps=steps, context=context if state.turns else [])

    def _messages(self, question: str, state: SessionState, model_hint: str | None) -> list[Any]:
        from langchain_core.messages import HumanMessage, SystemMessage

        lines = []
        for m in self.registry:
            spec = m.spec
            features = ", ".join(f"{f.name} ({f.type}{': ' + '/'.join(map(str, f.values)) if f.values else ''})"
                                 for f in spec.features)
            example = str(m.records.index[0]) if spec.records is not None and len(m.records) else "none"
            lines.append(f"- {spec.id}: {spec.name}; {spec.entity} ids like {example}; features: {features}; "
                         f"tiers: {', '.join(t.name for t in spec.risk_tiers)}")
        context = []
        if model_hint or state.model_id:
            context.append(f"The conversation is about model {model_hint or state.model_id}.")
        if state.record_id:
            context.append(f"The last {self._entity(state.model_id)} discussed is {state.record_id}.")
        system = SYSTEM.format(models="\n".join(lines), context=" ".join(context))
        return [SystemMessage(content=system), HumanMessage(content=question)]

    def _entity(self, model_id: str | None) -> str:
        try:
            return self.registry.get(model_id).spec.entity if model_id else "record"
        except Exception:  # noqa: BLE001 - a model removed since the last turn
            return "record"
