"""The guard: one object the engine asks before and after every answer.

1. `gate`     — is the principal locked? (before anything runs)
2. `screen`   — does the message itself try to extract, invert or hijack? (input screening)
3. `review`   — would the planned tool calls cross a budget or a probing signal? Evasion coaching
                on adversarial models is refused or generalised; more than a page of per-record
                calls is refused. Escalation: answer → warn → refuse → lock, each step an alert.
4. `observe`  — record what was scored (the input vectors) for the next review.
State lives in a GuardStore (SQLite embedded, Redis scaled out), keyed by principal across
sessions and channels. If the store is down, prediction tools fail closed.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from pydantic import BaseModel

from assistant.answer import Principal, Refusal
from assistant.conversation.language import detect
from assistant.errors import AssistantError, Unavailable
from assistant.guard import screen as screening
from assistant.guard.budgets import DEFAULT_MODEL_BUDGET, Budget, ModelBudget, budgets_from, model_budget_from
from assistant.guard.refusals import refusal
from assistant.guard.state import GuardStore
from assistant.guard.stream import LEVELS, Signal, refusal_signal, signals, vector_key

log = logging.getLogger("modeldesk.guard")

PREDICTION_TOOLS = {"predict", "explain", "what_if", "counterfactual"}
_ABOUT_PEOPLE = {"membership_inference", "inversion", "bulk_extraction"}  # families that need someone or everyone
CONFIDENT = 0.9  # the judge's P(attack) at which its reading alone counts as evidence toward a lock
SYNTHETIC_TOOLS = {"what_if", "counterfactual"}


def is_synthetic(step: Any) -> bool:
    """A call on inputs someone chose (a what-if, a counterfactual, a described case), not a stored record."""
    return step.name in SYNTHETIC_TOOLS or (step.name == "predict" and bool(step.arguments.get("inputs")))
TRUSTED_ROLES = {"security", "admin"}  # red teams and model owners may explore adversarial models
_FRAUD_WORDS = re.compile(r"\b(?:fraud\w*|transactions?|transfers?|payments?|purchases?|merchants?|wires?|chargebacks?|"
                          r"flagged|card-not-present|cardholders?)\b", re.I)


@dataclass
class Review:
    """What may run: the steps to execute, the ones refused (with why), and notices for the answer."""

    steps: list[Any]
    refused: list[tuple[Any, Refusal]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    lock: Refusal | None = None
    coarse: bool = False  # withhold probabilities from this answer (the model is being probed from many accounts)
    generalised: Refusal | None = None  # the request was declined and a safer answer given in its place


class Guard:
    """Screening, budgets, probing detection, locks and alerts around the engine."""

    def __init__(self, store: GuardStore, registry: Any, budgets: dict[str, Budget] | None = None, *,
                 clock: Callable[[], float] = time.time, model_alert_factor: float = 3.0,
                 model_budget: ModelBudget | None = None, judge: Any = None):
        self.store = store
        self.registry = registry
        self.budgets = budgets or budgets_from(None)
        self.model_budget = model_budget or DEFAULT_MODEL_BUDGET
        self.clock = clock
        self.model_alert_factor = model_alert_factor
        self.judge = judge  # assistant.guard.judge.Judge: the learned second opinion (None: rules alone)
        self.sinks: list[Callable[[dict[str, Any]], None]] = []  # e.g. a Slack security channel
        self._scales: dict[str, dict[str, float]] = {}

    @classmethod
    def from_settings(cls, settings: Any, registry: Any, *, embedder: Any = None) -> "Guard":
        """`embedder`: the knowledge base's sentence model, shared with the judge (one encoder pass a message)."""
        from assistant.guard.state import open_guard_store

        from assistant.guard.judge import Judge

        value = getattr(settings, "guard_budgets", "") or None
        return cls(open_guard_store(settings), registry, budgets_from(value), model_budget=model_budget_from(value),
                   judge=Judge.find(getattr(settings, "guard_judge", "") or "", embedder=embedder))

    # -- 1. locks -----------------------------------------------------------------------------
    def gate(self, principal: Principal) -> Refusal | None:
        """A refusal when the principal is locked; None otherwise (also when the store is down)."""
        try:
            lock = self.store.get_lock(principal.id, self.clock())
        except Unavailable:
            return None  # prediction tools fail closed in review; documents stay available
        if not lock:
            return None
        until, reason = lock
        why = f"What triggered it: {reason}. " if reason else ""
        return refusal("locked", detail=f"{why}The pause ends at {time.strftime('%H:%M UTC', time.gmtime(until))}.")

    # -- 2. input screening -------------------------------------------------------------------
    def screen(self, principal: Principal, question: str, model_ids: list[str], steps: list[Any] | None = None) -> Refusal | None:
        """Refuse a message that asks for internals, bulk data, membership, inversion, injection or evasion.

        `steps`, the planned tool calls: the security team and admins discuss attacks (incidents,
        techniques, how an extraction worked, what an alert recorded) in any words, so for them a
        message that runs no prediction tool is never refused for its vocabulary."""
        if principal.role in TRUSTED_ROLES and steps is not None and not any(s.name in PREDICTION_TOOLS for s in steps):
            return None
        adversarial = self._adversarial(model_ids, question)
        finding = self._finding(question, adversarial)
        if finding is None:
            return None
        if finding.category == "evasion_coaching" and principal.role in TRUSTED_ROLES:
            return None
        now = self.clock()
        event = {"ts": now, "model_id": model_ids[0] if model_ids else None, "kind": "refusal",
                 "category": finding.category, "rule": finding.rule, "question": _clip(question),
                 "confident": finding.confident}
        try:
            self.store.append(principal.id, event)
            if finding.confident:
                # Escalation counts only refusals with evidence of intent behind them.
                recent = [e for e in self.store.events(principal.id, now - self._budget(principal).window)
                          if e.get("kind") == "refusal" and e.get("confident", True)]
                signal = refusal_signal(recent, self._budget(principal))
                # Two refused messages restrict nothing and are weak evidence on their own: the
                # security team hears from the refuse step on, so false refusals raise no alert.
                if signal and signal.level >= 2:
                    self._escalate(principal, event["model_id"], [signal])
        except Unavailable:
            log.warning("guard state store unavailable; refusal of %s not recorded", principal.id)
        return refusal(finding.category)

    def _finding(self, question: str, adversarial: bool) -> screening.Finding | None:
        """The rules' finding, weighed with the judge's: a message is refused when the rules match it
        (unless, read as typed, the judge is all but certain it is an everyday question) or when the
        judge reads it as an attack with confidence. The finding is `confident` (counts toward a lock)
        when the message was disguised (decoded), when rules and judge agree, or when the judge alone
        is nearly sure."""
        finding = screening.screen(question, adversarial=adversarial)
        decoded = finding is not None and "(" in finding.rule and "not in English" not in finding.rule
        if self.judge is None or decoded:
            return finding  # a decoded attack is never overruled, so the judge need not run
        try:
            verdict = self.judge.score(question, adversarial=adversarial)
        except Exception:  # a broken judge must not take the rules down with it
            log.exception("guard judge failed; screening on rules alone")
            return finding
        if finding is not None:
            if verdict.p_attack < self.judge.veto:
                log.info("rule %r overruled by the judge (p=%.3f)", finding.rule, verdict.p_attack)
                return None
            return replace(finding, confident=verdict.p_attack >= 0.5)
        english = detect(question).supported
        # The judge learned mostly from English: another language has its own, calibrated threshold.
        needed = self.judge.threshold if english else self.judge.threshold_other_languages
        if verdict.category in _ABOUT_PEOPLE and screening.aggregate_only(question):
            needed = max(needed, CONFIDENT)  # "how many rows were defaults?" names no one to disclose
        if verdict.p_attack >= needed:
            return screening.Finding(verdict.category, "judge", f"p={verdict.p_attack:.3f}",
                                     confident=verdict.p_attack >= CONFIDENT)
        return None

    def _adversarial(self, model_ids: list[str], question: str) -> bool:
        models = [m for m in (self._model(i) for i in model_ids) if m is not None]
        if models:
            return any(m.spec.adversarial for m in models)
        return bool(_FRAUD_WORDS.search(question)) and any(m.spec.adversarial for m in self.registry)

    # -- 3. review of the planned calls -------------------------------------------------------
    def review(self, principal: Principal, steps: list[Any], question: str) -> Review:
        out = Review(steps=[])
        probing = [s for s in steps if s.name in PREDICTION_TOOLS]
        if not probing:
            out.steps = list(steps)
            return out
        records = [s for s in probing if s.arguments.get("record_id")]
        if len(records) > screening.PAGE:
            for s in probing:
                out.refused.append((s, refusal("bulk_extraction")))
            out.steps = [s for s in steps if s not in probing]
            return out
        steps = [self._evasion(principal, s, out) for s in steps]
        steps = [s for s in steps if s is not None]
        now = self.clock()
        budget = self._budget(principal)
        try:
            by_model: dict[str, list[Any]] = {}
            for s in steps:
                if s.name in PREDICTION_TOOLS and s.arguments.get("model_id"):
                    by_model.setdefault(s.arguments["model_id"], []).append(s)
            blocked: set[int] = set()
            for model_id, planned in by_model.items():
                history = self.store.events(principal.id, now - budget.day, model_id)
                pending = [self._event(principal, s, question, now) for s in planned]
                tighten = 0.5 if self.store.get_mark(f"model:{model_id}", "tighten", now) else 1.0
                found = signals([e for e in history if e.get("kind") == "query"] + pending, budget, now,
                                self._scale(model_id), tighten=tighten)
                # A signal counts against the kind of call that feeds it: a plain lookup after a
                # what-if sweep is not itself a sweep (and vice versa).
                synthetic_planned = any(is_synthetic(s) for s in planned)
                record_planned = any(not is_synthetic(s) for s in planned)
                found = [f for f in found if f.kind == "prada" or (f.kind == "records" and record_planned)
                         or (f.kind in ("synthetic", "sweep") and synthetic_planned)]
                level = max((s.level for s in found), default=0)
                if level:
                    out.alerts += self._escalate(principal, model_id, found)
                if level >= 3:
                    out.lock = self.gate(principal) or refusal("locked")
                    blocked |= {id(s) for s in planned}
                elif level == 2:
                    kinds = {s.kind for s in found if s.level >= 2}
                    for s in planned:
                        synthetic = is_synthetic(s)
                        # PRADA judges chosen inputs: it stops what-ifs, never lookups of real records.
                        if (synthetic and kinds & {"synthetic", "sweep", "prada", "wide"}) or (not synthetic and "records" in kinds):
                            blocked.add(id(s))
                            out.refused.append((s, refusal("probing")))
                elif level == 1:
                    out.notices.append("Note: you have asked many similar questions about this model recently. "
                                       "Systematic querying is limited to protect the model; further questions like "
                                       "these may be declined.")
                if principal.role not in TRUSTED_ROLES and level < 3:
                    self._model_wide(principal, model_id, planned, pending, blocked, out, now)
                # Refused probes still count: someone who keeps going after a refusal reaches the lock.
                for s, event in zip(planned, pending):
                    if id(s) in blocked:
                        self.store.append(principal.id, {**event, "refused": True})
            out.steps = [s for s in steps if id(s) not in blocked]
        except Unavailable:
            # Fail closed: without the guard's records, budgets cannot be enforced on predictions.
            for s in steps:
                if s.name in PREDICTION_TOOLS:
                    out.refused.append((s, refusal("unavailable")))
            out.steps = [s for s in steps if s.name not in PREDICTION_TOOLS]
        return out

    def _model_wide(self, principal: Principal, model_id: str, planned: list[Any], pending: list[dict[str, Any]],
                    blocked: set[int], out: Review, now: float) -> None:
        """Limits across every principal: an attack split between accounts meets them as one attack."""
        mb = self.model_budget
        key = f"model:{model_id}"
        recent = [e for e in self.store.events(key, now - mb.window) if e.get("kind") == "query"]
        synthetic = {e.get("key") for e in recent if e.get("synthetic")}
        wide = {e.get("key") for e in recent if e.get("wide")}
        self._harvest(principal, model_id, recent, planned, pending, blocked, out, now)
        for s, event in zip(planned, pending):
            if id(s) in blocked or not event.get("synthetic"):
                continue
            group = [e for e in recent if e.get("record_id") == event.get("record_id") and e.get("synthetic")
                     and sorted(e.get("changed") or []) == event.get("changed")]
            reason = None
            if event.get("wide") and len(wide) >= mb.wide:
                reason = f"{len(wide)} what-ifs setting many inputs at once against the model from all users in the last hour"
            elif event.get("changed") and len({e.get("key") for e in group}) >= mb.sweep:
                reason = (f"{len(group)} what-ifs on {event.get('record_id')} varying {', '.join(event['changed'])} "
                          "from all users in the last hour")
            if reason:
                blocked.add(id(s))
                out.refused.append((s, refusal("probing")))
                out.alerts += self._model_alert(model_id, "model_probing", "refuse", reason, now)
        if principal.role == "analyst" and len(synthetic) >= mb.coarsen and any(e.get("synthetic") for e in pending):
            out.coarse = True
            out.notices.append("Probabilities are withheld from what-if answers on this model for now (risk tiers are "
                               "still given): it has received an unusual number of what-if questions.")
            out.alerts += self._model_alert(model_id, "model_probing", "warn",
                                            f"{len(synthetic)} distinct what-ifs against the model from all users in "
                                            "the last hour; what-if probabilities withheld", now)

    def _harvest(self, principal: Principal, model_id: str, recent: list[dict[str, Any]], planned: list[Any],
                 pending: list[dict[str, Any]], blocked: set[int], out: Review, now: float) -> None:
        """Labelled records harvested by several accounts at once: each stays under its own budget, but
        together the heavy looker-ups hold enough (row, tier) pairs to train a copy of the model.
        Past the limit, a heavy principal's lookups of records new to them are refused; records they
        have already seen, and everyone else's lookups, are answered as usual."""
        mb = self.model_budget
        seen: dict[str, set[str]] = {}
        for e in recent:
            if e.get("record_id") and not e.get("synthetic") and e.get("role") not in TRUSTED_ROLES:
                seen.setdefault(str(e.get("principal")), set()).add(str(e["record_id"]))
        mine = seen.setdefault(principal.id, set())
        new = [(s, e) for s, e in zip(planned, pending) if id(s) not in blocked and not e.get("synthetic")
               and e.get("record_id") and str(e["record_id"]) not in mine]
        if not new or len(mine) + len(new) < mb.harvest_min:
            return
        heavy = [p for p, ids in seen.items() if len(ids) >= mb.harvest_min and p != principal.id]
        harvested = len(set().union(*(seen[p] for p in heavy), mine))
        if harvested < mb.harvest:
            return
        for s, _ in new:
            blocked.add(id(s))
            out.refused.append((s, refusal("probing")))
        out.alerts += self._model_alert(model_id, "model_records", "refuse",
                                        f"{harvested} distinct records scored in the last hour by {len(heavy) + 1} "
                                        f"accounts each past {mb.harvest_min}; their lookups of new records refused",
                                        now)

    def _model_alert(self, model_id: str, kind: str, level: str, detail: str, now: float) -> list[str]:
        key = f"model:{model_id}"
        mark = f"alerted:{kind}:{level}"
        if self.store.get_mark(key, mark, now):
            return []
        self.store.set_mark(key, mark, "1", now + self.model_budget.window)
        alert_id = self._alert({"ts": now, "principal": "*", "role": None, "channel": None, "model_id": model_id,
                                "kind": kind, "level": level, "detail": detail, "queries": []})
        return [alert_id] if alert_id else []

    def _evasion(self, principal: Principal, step: Any, out: Review) -> Any:
        """On adversarial models, counterfactuals are refused and what-ifs generalised to the case's reasons."""
        if not is_synthetic(step) or principal.role in TRUSTED_ROLES:
            return step
        model = self._model(step.arguments.get("model_id"))
        if model is None or not model.spec.adversarial:
            return step
        if step.name in ("counterfactual", "predict"):  # a made-up case on a screening model: how to pass it
            out.refused.append((step, refusal("evasion_coaching")))
            return None
        out.notices.append(f"For {model.spec.name}, a model that screens adversaries, I don't run what-if scenarios "
                           "that would show how to change a case to avoid being flagged. Here is what drives this "
                           "case's current tier instead.")
        out.generalised = refusal("evasion_coaching")
        return type(step)(name="explain", arguments={"model_id": model.id, "record_id": step.arguments.get("record_id"),
                                                     "top_k": 3})

    # -- 4. after the answer ------------------------------------------------------------------
    def observe(self, principal: Principal, question: str, executed: list[tuple[Any, BaseModel]]) -> None:
        """Record the scored inputs of the calls that ran (never raises)."""
        now = self.clock()
        for step, result in executed:
            if step.name not in PREDICTION_TOOLS or not step.arguments.get("model_id"):
                continue
            try:
                event = self._event(principal, step, question, now, result)
                self.store.append(principal.id, event)
                if event.get("kind") == "query":
                    self._watch_model({**event, "principal": principal.id, "role": principal.role}, now)
            except (Unavailable, AssistantError) as exc:
                log.warning("guard could not record a query by %s: %s", principal.id, exc)

    def _watch_model(self, event: dict[str, Any], now: float) -> None:
        """Many principals probing one model (a sybil attack) tightens every principal's budget on it."""
        key = f"model:{event['model_id']}"
        self.store.append(key, event)
        budget = self.budgets["business"]
        events = self.store.events(key, now - budget.window)
        records = {e.get("record_id") for e in events if e.get("record_id") and not e.get("synthetic")}
        if len(records) >= self.model_budget.records:
            self._model_alert(event["model_id"], "model_records", "warn",
                              f"{len(records)} distinct records scored from all users in the last hour", now)
        recent = {e.get("key") for e in events if e.get("synthetic")}
        if len(recent) >= budget.synthetic.lock * self.model_alert_factor and not self.store.get_mark(key, "tighten", now):
            self.store.set_mark(key, "tighten", "1", now + budget.window)
            self._alert({"ts": now, "principal": "*", "role": None, "channel": None, "model_id": event["model_id"],
                         "kind": "model_probing", "level": "warn",
                         "detail": f"{len(recent)} distinct what-if scenarios against the model from all users in the "
                                   "last hour; per-user budgets halved for an hour", "queries": []})

    def _event(self, principal: Principal, step: Any, question: str, now: float,
               result: BaseModel | None = None) -> dict[str, Any]:
        args = step.arguments
        model_id = args.get("model_id")
        event: dict[str, Any] = {"ts": now, "model_id": model_id, "kind": "query", "tool": step.name,
                                 "record_id": args.get("record_id"), "channel": principal.channel,
                                 "question": _clip(question), "synthetic": is_synthetic(step)}
        if step.name == "predict" and args.get("inputs"):
            inputs = args["inputs"]
            event["changed"] = sorted(inputs)
            event["wide"] = len(inputs) >= self._wide_at(model_id)
            vector = _inputs(result) if result is not None else None
            event["vector"] = vector
            event["key"] = vector_key(vector) if vector else f"described|{vector_key(_flat(inputs))}"
        elif step.name == "what_if":
            changes = args.get("changes") or {}
            event["changed"] = sorted(changes)
            event["wide"] = len(changes) >= self._wide_at(model_id)
            vector = _inputs(getattr(result, "after", None)) if result is not None else None
            event["vector"] = vector
            event["key"] = vector_key(vector) if vector else f"{args.get('record_id')}|{vector_key(_flat(changes))}"
        elif step.name == "counterfactual":
            event["key"] = f"counterfactual|{args.get('record_id')}"
            event["vector"] = _inputs(getattr(result, "before", None)) if result is not None else None
        elif args.get("record_id"):
            vector = _inputs(result) if result is not None else None
            if vector is None and result is not None:
                vector = self._record_vector(model_id, args["record_id"])
            event["vector"] = vector
        else:
            event["kind"] = "cohort"
        return event

    # -- alerts -------------------------------------------------------------------------------
    def _escalate(self, principal: Principal, model_id: str | None, found: list[Signal]) -> list[str]:
        now = self.clock()
        top = max(found, key=lambda s: s.level)
        ids = []
        if top.level >= 3:
            budget = self._budget(principal)
            self.store.set_lock(principal.id, now + budget.cooldown, top.detail)
        mark = f"alerted:{model_id}:{top.kind}"
        if top.level < 3 and (self.store.get_mark(principal.id, mark, now) or "0") >= str(top.level):
            return ids  # this step was already reported in the window
        self.store.set_mark(principal.id, mark, str(top.level), now + self._budget(principal).window)
        ids.append(self._alert({"ts": now, "principal": principal.id, "role": principal.role,
                                "channel": principal.channel, "model_id": model_id, "kind": top.kind,
                                "level": LEVELS[top.level], "detail": top.detail, "queries": top.queries,
                                "signals": [{"kind": s.kind, "value": s.value, "level": LEVELS[s.level]} for s in found]}))
        return [i for i in ids if i]

    def _alert(self, alert: dict[str, Any]) -> str | None:
        try:
            alert_id = self.store.add_alert(alert)
        except Unavailable:
            log.error("guard could not store an alert: %s", alert.get("detail"))
            return None
        log.warning("probing alert %s: %s on %s: %s", alert.get("level"), alert.get("principal"), alert.get("model_id"),
                    alert.get("detail"))
        for sink in list(self.sinks):
            try:
                sink({**alert, "id": alert_id})
            except Exception:  # a failing notification channel must never break an answer
                log.exception("alert sink failed")
        return alert_id

    def alerts(self, since: float = 0.0, principal: str | None = None, model_id: str | None = None,
               limit: int = 50) -> list[dict[str, Any]]:
        rows = self.store.alerts(since=since, principal=principal, limit=limit if model_id is None else limit * 5)
        if model_id:
            rows = [a for a in rows if a.get("model_id") == model_id]
        return rows[:limit]

    def alerts_for_model(self, model_id: str) -> list[dict[str, Any]]:
        """Recent probing alerts against one model (for its security posture)."""
        try:
            return self.alerts(since=self.clock() - 7 * 24 * 3600, model_id=model_id, limit=100)
        except Unavailable:
            return []

    def unlock(self, principal_id: str) -> None:
        self.store.clear_lock(principal_id)

    # -- helpers ------------------------------------------------------------------------------
    def _budget(self, principal: Principal) -> Budget:
        return self.budgets.get(principal.role, self.budgets["business"])

    def _model(self, model_id: str | None):
        if not model_id:
            return None
        try:
            return self.registry.get(model_id)
        except AssistantError:
            return None

    def _scale(self, model_id: str) -> dict[str, float]:
        if model_id not in self._scales:
            scales: dict[str, float] = {}
            model = self._model(model_id)
            try:
                ref = model.reference if model is not None else None
                for f in model.spec.features if model is not None else []:
                    if f.type == "numeric" and ref is not None and f.name in ref:
                        scales[f.name] = float(ref[f.name].astype(float).std()) or 1.0
            except (AssistantError, ValueError, TypeError):
                pass
            self._scales[model_id] = scales
        return self._scales[model_id]

    def _wide_at(self, model_id: str | None) -> int:
        """How many inputs changed at once make a what-if a made-up vector: half the model's inputs, at least 4."""
        model = self._model(model_id)
        n = len(model.spec.features) if model is not None else 8
        return max(4, (n + 1) // 2)

    def _record_vector(self, model_id: str, record_id: str) -> dict[str, Any] | None:
        model = self._model(model_id)
        if model is None:
            return None
        try:
            row = model.record(record_id)
        except AssistantError:
            return None
        return {k: _plain(v) for k, v in row[model.spec.feature_names].to_dict().items()}


def _inputs(prediction: Any) -> dict[str, Any] | None:
    inputs = getattr(prediction, "inputs", None)
    return {k: _plain(v) for k, v in inputs.items()} if isinstance(inputs, dict) else None


def _flat(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: (vector_key(v) if isinstance(v, dict) else v) for k, v in changes.items()}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _clip(text: str, n: int = 300) -> str:
    try:
        from assistant.audit import redact

        text = redact(text)
    except ImportError:  # pragma: no cover - the audit module ships with the guard
        pass
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
