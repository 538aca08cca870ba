"""The assistant: `Assistant.answer(question, principal)` — one engine behind every channel."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from assistant.answer import Answer, Principal, Refusal, ToolCall
from assistant.config import Settings
from assistant.conversation.language import detect, not_understood
from assistant.conversation.meaning import FeatureMeaning
from assistant.conversation.planner import Plan, Planner, RulePlanner, _advance
from assistant.conversation.state import MemorySessions, SessionStore
from assistant.conversation.tools import Toolbox, run_tool
from assistant.conversation.writer import TemplateWriter, Writer
from assistant.errors import AssistantError, BadInput
from assistant.guard.refusals import text as refusal_text
from assistant.models.registry import Registry
from assistant.policy import shape

MAX_MESSAGE_CHARS = 4000
# What a principal locked by the guardrails may still ask: documents and public descriptions, no scoring.
# Cosine similarity (local MiniLM) a passage needs for a question with no model operation to be
# answered from documents rather than with the help text.
RELEVANT = 0.35
ALERT_ROLES = {"security", "admin"}  # who may list probing alerts (Toolbox.probing_alerts)
LOCKED_OK = {"search_knowledge", "list_incidents", "describe_model", "risk_tiers", "security_posture"}


class Assistant:
    """Understands a question, calls the tools, and writes a grounded answer shaped by role."""

    def __init__(self, registry: Registry, knowledge: Any = None, *, sessions: SessionStore | None = None,
                 planner: Planner | None = None, writer: Writer | None = None, monitor: Any = None,
                 guard: Any = None, audit: Any = None, llm: Any = None):
        self.registry = registry
        self.knowledge = knowledge
        self.sessions = sessions or MemorySessions()
        # Monitoring (assistant.monitoring): records every scored input row; posture reads it back.
        self.monitor = monitor
        # Guardrails (assistant.guard.Guard) and the audit log (assistant.audit); None runs without them.
        self.guard = guard
        self.audit = audit
        embedder = getattr(knowledge, "embedder", None)
        self.planner = planner or RulePlanner(registry, meaning=FeatureMeaning(embedder) if embedder else None)
        self.writer = writer or TemplateWriter()
        # The optional LLM backend (assistant.llm.LLMClient), shared by an LLM planner and writer: one
        # deadline per answer, its counters in /metrics. None: the deterministic engine alone.
        self.llm = llm

    @classmethod
    def from_settings(cls, settings: Settings, *, knowledge: Any = None) -> "Assistant":
        """The embedded default: models from the configured folders, the knowledge base, SQLite state.

        With MODELDESK_REDIS_URL set, sessions, guard state and the audit log live in Redis instead.
        While the session store is down, questions are answered without the conversation's memory.
        """
        if knowledge is None:
            from knowledge.base import KnowledgeBase

            knowledge = KnowledgeBase(settings)
        from assistant.audit import open_audit_log

        registry = Registry(settings.models_dirs)
        guard = None
        if settings.guardrails:
            from assistant.guard.guard import Guard

            guard = Guard.from_settings(settings, registry, embedder=getattr(knowledge, "embedder", None))
        from assistant.monitoring import Monitor

        from assistant.conversation.state import ForgetfulWhenDown, open_sessions

        from pathlib import Path

        from assistant.conversation.operations import OperationClassifier

        classifier = OperationClassifier.find(Path(settings.understanding) if settings.understanding else None)
        planner: Planner = RulePlanner(registry, classifier, meaning=FeatureMeaning(knowledge.embedder)
                                       if getattr(knowledge, "embedder", None) else None)
        writer: Writer | None = None
        from assistant.llm import LLMClient

        llm = LLMClient.from_settings(settings)
        if llm is not None:  # MODELDESK_LLM_BASE_URL: the LLM plans and phrases, the rules stay the fallback
            from assistant.llm.planner import LLMPlanner
            from assistant.llm.writer import GroundedWriter

            planner = LLMPlanner(registry, llm, planner, mode=settings.llm_planning)
            writer = GroundedWriter(llm, registry)
        return cls(registry, knowledge, sessions=ForgetfulWhenDown(open_sessions(settings)),
                   planner=planner, writer=writer, guard=guard, audit=open_audit_log(settings),
                   monitor=Monitor.from_settings(settings, registry), llm=llm)

    @property
    def alert_sinks(self) -> list:
        """Callables told about every probing alert (e.g. a Slack security channel); empty without guardrails."""
        return self.guard.sinks if self.guard is not None else []

    def answer(self, question: str, principal: Principal, session_id: str | None = None,
               model_id: str | None = None, *, answer_id: str | None = None) -> Answer:
        """Answer one message. Every call — answered, refused or failed — is written to the audit log."""
        started = time.perf_counter()
        ts = time.time()
        try:
            with self.llm.answering() if self.llm is not None else contextlib.nullcontext():
                answer = self._answer(question, principal, session_id, model_id)
        except AssistantError as exc:
            self._audit(question, principal, None, started, ts, model_id, answer_id, session_id, error=exc)
            raise
        self._audit(question, principal, answer, started, ts, model_id, answer_id, session_id)
        return answer

    def _answer(self, question: str, principal: Principal, session_id: str | None, model_id: str | None) -> Answer:
        question = (question or "").strip()
        if not question:
            raise BadInput("the message is empty; ask a question such as \"What is the risk tier for C-10293?\"")
        if len(question) > MAX_MESSAGE_CHARS:
            raise BadInput(f"the message is {len(question):,} characters; the limit is {MAX_MESSAGE_CHARS:,}")
        if model_id is not None:
            self.registry.get(model_id)  # unknown model → NotFound with suggestions
        session_id = session_id or uuid.uuid4().hex
        locked = self.guard.gate(principal) if self.guard is not None else None
        state = self.sessions.load(session_id)
        plan = _for_role(self.planner.plan(question, state, model_id), principal.role, question)
        if self.guard is not None:
            models = [s.arguments.get("model_id") for s in plan.steps] + [model_id, state.model_id]
            refused = self.guard.screen(principal, question, [m for m in dict.fromkeys(models) if m], plan.steps)
            if refused is not None:
                state.turns += 1
                self.sessions.save(session_id, state)
                return _refused(session_id, refused)
            if locked is not None and any(s.name not in LOCKED_OK for s in plan.steps):
                return _refused(session_id, locked)  # documents stay open to a locked principal
        if plan.reset:
            state = state.reset()
        answer, executed = self._respond(question, plan, principal, session_id)
        if state.memory_unavailable and (plan.clarify or not plan.steps):
            answer.text = ("_The conversation store is unavailable right now, so I can't use the earlier turns of "
                           "this conversation; please name the customer or model again._\n\n" + answer.text)
        if plan.clarify:
            state.pending = question  # answered by the next message ("the churn one")
        if executed:
            state = _advance(state, executed)
        state.turns += 1
        self.sessions.save(session_id, state)
        return answer

    def _respond(self, question: str, plan: Plan, principal: Principal, session_id: str) -> tuple[Answer, list]:
        if plan.clarify:
            options = f" Options: {', '.join(plan.options)}." if plan.options else ""
            return Answer(session_id=session_id, text=plan.clarify + options, clarification=plan.options), []
        if not plan.steps:
            text = "Starting over. What would you like to know?" if plan.reset else self._scope(question)
            return Answer(session_id=session_id, text=text), []
        language = detect(question)
        if plan.by_default and not language.supported:
            # Nothing recognised (no record, no model) in a language the planner does not read: say so
            # in that language, rather than answer from documents matched on foreign words.
            return Answer(session_id=session_id, text=not_understood(language)), []
        steps, notices, refusals = list(plan.steps), [], []
        if self.guard is not None:
            review = self.guard.review(principal, steps, question)
            if review.lock is not None:
                return _refused(session_id, review.lock), []
            steps, notices, refusals = review.steps, review.notices, review.refused
        # Under model-wide probing, analysts' what-ifs are answered like a business user's: tiers only.
        shown_as = "business" if self.guard is not None and review.coarse else principal.role
        toolbox = Toolbox(self.registry, self.knowledge, role=principal.role, monitor=self.monitor,
                          alerts=getattr(self.guard, "alerts_for_model", None), guard=self.guard)
        calls: list[ToolCall] = []
        results = []
        errors: list[str] = []
        executed = []
        for step in steps:
            try:
                result = run_tool(toolbox, step.name, step.arguments)
            except AssistantError as exc:
                calls.append(ToolCall(name=step.name, arguments=step.arguments, error=exc.message))
                errors.append(_sentence(exc.message))
                continue
            if self.monitor is not None:
                self.monitor.observe(step.name, result)  # never raises: monitoring must not break an answer
            calls.append(ToolCall(name=step.name, arguments=step.arguments,
                                  result=shape(result.model_dump(mode="json"), shown_as)))
            results.append((step.name, result))
            executed.append(step)
        if plan.by_default and not errors and not _relevant(results):
            # Nothing asked of a model and nothing in the documents close to it: say what ModelDesk does.
            return Answer(session_id=session_id, text=plan.fallback or self._scope(question)), []
        if self.guard is not None and executed:
            self.guard.observe(principal, question, [(s, r) for s, (_, r) in zip(executed, results)])
        if refusals and not results:
            first = refusals[0][1]
            return _refused(session_id, first, notes=[_sentence(e) for e in errors]), executed
        written = self.writer.write(question, results, shown_as)
        declined = list(dict.fromkeys(refusal_text(r) for _, r in refusals))
        generalised = getattr(review, "generalised", None) if self.guard is not None else None
        text = "\n\n".join(p for p in [*notices, written.text, *declined, *errors] if p)
        context = None
        if plan.context:
            context = "Continuing with " + ", ".join(plan.context) + "."
            text = f"_{context}_\n\n{text}"
        return Answer(session_id=session_id, text=text, facts=written.facts, citations=written.citations,
                      tool_calls=calls, context=context, refused=generalised is not None,
                      refusal=generalised), executed

    def _audit(self, question: str, principal: Principal, answer: Answer | None, started: float, ts: float,
               model_id: str | None, answer_id: str | None, session_id: str | None, *,
               error: AssistantError | None = None) -> None:
        if self.audit is None:
            return
        from assistant.audit import AuditEntry

        latency = (time.perf_counter() - started) * 1000
        try:
            if answer is None:
                entry = AuditEntry(ts=ts, principal=principal.id, role=principal.role, channel=principal.channel,
                                   session_id=session_id, question=question or "", model_id=model_id, verdict="error",
                                   category=getattr(error, "code", None), latency_ms=latency, answer_id=answer_id,
                                   detail=error.message if error else None, login=principal.login)
            else:
                used = model_id or next((t.arguments.get("model_id") for t in answer.tool_calls
                                         if t.arguments.get("model_id")), None)
                verdict = None
                if answer.refusal is not None and answer.refusal.category == "locked":
                    verdict = "locked"
                elif not answer.refused and answer.text.startswith("Note: you have asked many"):
                    verdict = "warned"
                entry = AuditEntry.for_answer(question, principal, answer, latency_ms=latency, model_id=used,
                                              verdict=verdict, answer_id=answer_id, ts=ts)
            self.audit.record(entry)  # never raises: the audit trail must not break a request
        except Exception:  # noqa: BLE001 - a malformed entry is logged, the answer still goes out
            import logging

            logging.getLogger("modeldesk.audit").exception("could not write an audit entry")

    def _scope(self, question: str) -> str:
        """What ModelDesk answers, for a message it cannot (in the message's language when it is not English)."""
        language = detect(question)
        return self.help_text() if language.supported else not_understood(language)

    def help_text(self) -> str:
        names = ", ".join(f"{m.spec.name} (`{m.id}`)" for m in self.registry) or "no models yet"
        return ("I explain the predictions of the bank's models and their security posture. You can ask: "
                "the risk tier of a customer and why; what-ifs (\"what if her balance were $500 lower?\"); "
                "how many customers in a group are high risk; how accurate a model is and where it goes wrong; "
                "its limitations and policies; incidents and whether it is safe to rely on right now. "
                f"Models: {names}.")


def _for_role(plan: Plan, role: str, question: str) -> Plan:
    """Probing alerts asked for by someone who may not see the alert list (it names principals;
    security staff only). "Is anyone probing the churn model?": that model's security posture, which
    counts its alerts. With no model, the question is more likely about something in the documents
    ("who put a doctored model on Hugging Face?"): searched, with the help text if nothing fits."""
    if role in ALERT_ROLES or not any(s.name == "probing_alerts" for s in plan.steps):
        return plan
    steps = []
    for step in plan.steps:
        if step.name == "probing_alerts":
            model_id = step.arguments.get("model_id")
            step = step.model_copy(update={"name": "security_posture", "arguments": {"model_id": model_id}} if model_id
                                   else {"name": "search_knowledge", "arguments": {"query": question}})
        if not any(s.name == step.name and s.arguments == step.arguments for s in steps):
            steps.append(step)
    if not all(s.name == "search_knowledge" for s in steps):
        return plan.model_copy(update={"steps": steps})
    return plan.model_copy(update={"steps": steps, "by_default": True,
                                   "fallback": "Probing alerts are visible to the security team only. I can tell you "
                                               "a model's security posture, which counts its alerts: ask \"is the "
                                               "<model> model safe to rely on?\""})


def _refused(session_id: str, refusal: Refusal, notes: list[str] | None = None) -> Answer:
    return Answer(session_id=session_id, text="\n\n".join([refusal_text(refusal), *(notes or [])]), refused=True,
                  refusal=refusal)


def _relevant(results: list) -> bool:
    """Some passage found for a question searched by default is close to it in meaning."""
    for _, result in results:
        for passage in getattr(result, "passages", []) or []:
            if passage.relevance is None or passage.relevance >= RELEVANT:
                return True
    return False


def _sentence(message: str) -> str:
    message = message[0].upper() + message[1:] if message else message
    return message if message.endswith((".", "?", "!")) else message + "."
