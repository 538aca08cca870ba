"""The assistant: `Assistant.answer(question, principal)` — one engine behind every channel."""

from __future__ import annotations

import time
import uuid
from typing import Any

from assistant.answer import Answer, Principal, ToolCall
from assistant.config import Settings
from assistant.conversation.planner import Plan, Planner, RulePlanner, _advance
from assistant.conversation.state import MemorySessions, SessionStore, SqliteSessions
from assistant.conversation.tools import Toolbox, run_tool
from assistant.conversation.writer import TemplateWriter, Writer
from assistant.errors import AssistantError, BadInput
from assistant.models.registry import Registry
from assistant.policy import shape

MAX_MESSAGE_CHARS = 4000


class Assistant:
    """Understands a question, calls the tools, and writes a grounded answer shaped by role."""

    def __init__(self, registry: Registry, knowledge: Any = None, *, sessions: SessionStore | None = None,
                 planner: Planner | None = None, writer: Writer | None = None, monitor: Any = None,
                 guard: Any = None, audit: Any = None):
        self.registry = registry
        self.knowledge = knowledge
        self.sessions = sessions or MemorySessions()
        # Monitoring (assistant.monitoring): records every scored input row; posture reads it back.
        self.monitor = monitor
        # Guardrails (assistant.guard.Guard) and the audit log (assistant.audit); None runs without them.
        self.guard = guard
        self.audit = audit
        self.planner = planner or RulePlanner(registry, getattr(knowledge, "embedder", None))
        self.writer = writer or TemplateWriter()

    @classmethod
    def from_settings(cls, settings: Settings, *, knowledge: Any = None) -> "Assistant":
        """The embedded default: models from the configured folders, the knowledge base, SQLite sessions."""
        if knowledge is None:
            from knowledge.base import KnowledgeBase

            knowledge = KnowledgeBase(settings)
        return cls(Registry(settings.models_dirs), knowledge,
                   sessions=SqliteSessions(settings.data_dir / "state" / "sessions.sqlite"))

    def answer(self, question: str, principal: Principal, session_id: str | None = None,
               model_id: str | None = None) -> Answer:
        question = (question or "").strip()
        if not question:
            raise BadInput("the message is empty; ask a question such as \"What is the risk tier for C-10293?\"")
        if len(question) > MAX_MESSAGE_CHARS:
            raise BadInput(f"the message is {len(question):,} characters; the limit is {MAX_MESSAGE_CHARS:,}")
        if model_id is not None:
            self.registry.get(model_id)  # unknown model → NotFound with suggestions
        session_id = session_id or uuid.uuid4().hex
        state = self.sessions.load(session_id)
        plan = self.planner.plan(question, state, model_id)
        if plan.reset:
            state = state.reset()
        answer = self._respond(question, plan, principal, session_id)
        if plan.clarify:
            state.pending = question  # answered by the next message ("the churn one")
        if answer.tool_calls:
            state = _advance(state, [s for s, c in zip(plan.steps, answer.tool_calls) if c.error is None] or [])
        state.turns += 1
        self.sessions.save(session_id, state)
        return answer

    def _respond(self, question: str, plan: Plan, principal: Principal, session_id: str) -> Answer:
        if plan.clarify:
            options = f" Options: {', '.join(plan.options)}." if plan.options else ""
            return Answer(session_id=session_id, text=plan.clarify + options, clarification=plan.options)
        if not plan.steps:
            text = "Starting over. What would you like to know?" if plan.reset else self.help_text()
            return Answer(session_id=session_id, text=text)
        toolbox = Toolbox(self.registry, self.knowledge, role=principal.role, monitor=self.monitor,
                          alerts=getattr(self.guard, "alerts_for_model", None))
        calls: list[ToolCall] = []
        results = []
        errors: list[str] = []
        for step in plan.steps:
            started = time.perf_counter()
            try:
                result = run_tool(toolbox, step.name, step.arguments)
            except AssistantError as exc:
                calls.append(ToolCall(name=step.name, arguments=step.arguments, error=exc.message))
                errors.append(_sentence(exc.message))
                continue
            if self.monitor is not None:
                self.monitor.observe(step.name, result)  # never raises: monitoring must not break an answer
            calls.append(ToolCall(name=step.name, arguments=step.arguments,
                                  result=shape(result.model_dump(mode="json"), principal.role)))
            results.append((step.name, result))
            del started
        written = self.writer.write(question, results, principal.role)
        text = "\n\n".join(p for p in [written.text, *errors] if p)
        context = None
        if plan.context:
            context = "Continuing with " + ", ".join(plan.context) + "."
            text = f"_{context}_\n\n{text}"
        return Answer(session_id=session_id, text=text, facts=written.facts, citations=written.citations,
                      tool_calls=calls, context=context)

    def help_text(self) -> str:
        names = ", ".join(f"{m.spec.name} (`{m.id}`)" for m in self.registry) or "no models yet"
        return ("I explain the predictions of the bank's models and their security posture. You can ask: "
                "the risk tier of a customer and why; what-ifs (\"what if her balance were $500 lower?\"); "
                "how many customers in a group are high risk; how accurate a model is and where it goes wrong; "
                "its limitations and policies; incidents and whether it is safe to rely on right now. "
                f"Models: {names}.")


def _sentence(message: str) -> str:
    message = message[0].upper() + message[1:] if message else message
    return message if message.endswith((".", "?", "!")) else message + "."
