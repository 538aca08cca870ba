"""Understanding: turn a business question (plus the conversation so far) into tool calls.

The default planner is deterministic and offline. It reads model, record, feature and category
mentions from the lexicon (built from each `model.yaml`), recognises the operation from general
English cues, and fills arguments: cohort filters, what-if changes, top-k, metric. A question that
asks for two things gets two calls; a follow-up reuses the session's model, record and cohort.
An LLM planner can replace it behind the same `Planner` interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from assistant.conversation.corpus import OPERATIONS
from assistant.conversation.lexicon import GENERIC_WORDS, ModelLexicon, ValueMention, build, normalise
from assistant.conversation.meaning import FeatureMeaning
from assistant.conversation.mentions import RecordIds, Vocabulary, classifier_text, variants_simple as _variants_simple
from assistant.conversation.operations import OperationClassifier, Reading
from assistant.conversation.state import SessionState
from assistant.models.features import parse_number
from assistant.models.filters import Filter
from assistant.models.registry import Registry


class Step(BaseModel):
    name: str
    arguments: dict[str, Any]


class Plan(BaseModel):
    steps: list[Step] = Field(default_factory=list)
    clarify: str | None = None
    options: list[str] = Field(default_factory=list)
    out_of_scope: bool = False
    reset: bool = False
    context: list[str] = Field(default_factory=list, description="What was carried over from earlier turns.")
    implicit: bool = Field(False, description="Only something named, nothing asked (\"C-1 called today.\").")
    by_default: bool = Field(False, description="No operation was recognised: documents are searched, help if none fit.")
    asks_record: bool = Field(False, description="The clarifying question only asks which record is meant.")
    fallback: str | None = Field(None, description="Said instead of the help text when a by-default search finds nothing.")


class Planner(Protocol):
    def plan(self, question: str, state: SessionState, model_hint: str | None = None) -> Plan: ...


MODEL_OPS = {"predict", "explain", "what_if", "counterfactual", "feature_importance", "performance", "data_summary",
             "model_errors", "define_feature", "describe_model", "risk_tiers", "security_posture"}
RECORD_OPS = {"what_if", "counterfactual"}
COHORT_OPS = {"predict", "explain", "data_summary"}
SEGMENT_OPS = COHORT_OPS | {"performance", "model_errors", "feature_importance"}  # all take `filters`
METRICS = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "f1", "auc": "roc_auc",
           "roc": "roc_auc", "sensitivity": "recall"}
_RESET = re.compile(r"\b(?:start over|start again|start afresh|start from scratch|from scratch|clean slate|reset|new (?:conversation|topic|question)|forget (?:that|it|everything|all)|"
                    r"clear (?:the )?(?:context|conversation|history))\b")
_UNKNOWN_ID = re.compile(r"(?<![\w.-])([A-Za-z]{1,4}-\d{3,})(?![\w-])")
# Words that qualify a group ("people who ...", "those with ...", "among ..."): plain English grammar.
_QUALIFIED = re.compile(r"\b(?:who|whose|with|without|among|when|where|that (?:are|have|had|were|do|did)|which (?:are|have))\b")
_NUM = r"[-+]?[$£€]?\d[\d,]*(?:\.\d+)?\s*(?:k|m|bn|%)?(?!\w|-\d)"
_NUM_RE = re.compile(_NUM)
_WORD_NUMBERS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "a dozen": 12}
_INCIDENT_WORDS = {
    "status": {"open": "open", "investigat": "investigating", "under investigation": "investigating",
               "mitigated": "mitigated", "closed": "closed", "resolved": "closed"},
    "severity": {"critical": "critical", "high severity": "high", "high-severity": "high", "medium severity": "medium",
                 "medium-severity": "medium", "low severity": "low", "low-severity": "low", "severe": "high"},
    "attack_type": {"poison": "poisoning", "extraction": "extraction", "extract": "extraction", "stealing": "extraction",
                    "evasion": "evasion", "evade": "evasion", "steal": "extraction", "membership": "membership_inference",
                    "inversion": "inversion", "prompt injection": "prompt_injection", "jailbreak": "prompt_injection"},
}
# Initials never read as a registry name: everyday abbreviations, and words skipped when forming initials.
_INITIALS_KEEP = {"AI", "ML", "ID", "OK", "US", "UK", "EU", "API", "CSV", "PDF", "FAQ", "KPI", "CEO", "CTO", "CFO", "HR", "IT",
                  "PM", "AM", "VS", "PR", "QA", "SSO", "LLM", "GPT", "ROC", "AUC", "TPR", "FPR", "MFA", "VPN", "URL", "PII"}
_INITIALS_SKIP = {"of", "the", "and", "on", "in", "a", "an", "to", "for", "with", "per", "or", "by", "at"}
_DOC_PHRASES = re.compile(r"\bmodel cards?\b|\bwrite-?ups?\b|\brunbooks?\b|\bplaybooks?\b|\bfaqs?\b")
_DOC_TYPES = {"model card": "model_card", "write-up": "limitations", "limitation": "limitations", "weakness": "limitations", "known issue": "limitations", "policy": "policy", "policies": "policy",
              "faq": "faq", "runbook": "runbook", "playbook": "runbook", "incident": "incident"}


@dataclass
class _Clause:
    """What one clause mentions, resolved against one model's lexicon."""

    text: str                       # normalised
    masked: str                     # ids, features, values, tiers and entities replaced by placeholders
    record_ids: list[tuple[str, list[str]]]
    model_scores: dict[str, float]
    mentioned: str | None = None
    model_id: str | None = None
    features: list = field(default_factory=list)
    values: list = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    reading: Reading | None = None


_FOLLOW_ONLY = re.compile(r"^(?:and |or |but |what about |how about |ok |okay |now |then |just |only |same |in |for |with |on )+"
                          r"(?:the |a |an )?(?:[a-z-]+ ){0,3}[a-z-]*$")
_FOLLOW = re.compile(r"^(?:and|what about|how about|what of|or|but|same|now|ok|okay|then|also|only|just|for|in|with|without|the)\b")
_REFERS_COHORT = re.compile(r"\b(?:them|those|these|they|their|this group|that group|the group|that segment|the cohort|of them|among them|such)\b")
_REFERS_RECORD = re.compile(r"\b(?:she|he|her|his|hers|him|it|its|this one|that one|this customer|that customer|the customer|"
                            r"this transaction|that transaction|the transaction|this policy|that policy|the policy|this claim|that claim|the claim|them|they|their)\b")
_REFERS_RECORD_ONLY = re.compile(r"\b(?:she|he|her|his|hers|him|this one|that one|this customer|that customer)\b")
# What is left of "what about recordid?" or "and the model?" once connectors and placeholders go: nothing,
# so the message can only continue the last question.
_CONTENT = re.compile(r"\b(?:and|or|but|what|about|how|of|same|now|ok|okay|then|also|only|just|for|in|with|on|the|a|an|"
                      r"one|please|pls|recordid|model|entityname|valuename|tiername)\b|[^\w\s]")
# A question about something that happened (past tense, "has anyone", "a real case"), not about a concept.
_EVENT = re.compile(r"\b(?:did|was|were|happened|has (?:anyone|anybody|someone|somebody)|have (?:people|attackers|researchers|"
                    r"hackers|criminals)|ever|who (?:did|was|were)|when did|real(?:ly)? (?:happen|been)|case where|"
                    r"instance of|known case|known example|example of|story|went wrong)\b")
# "the model", "your predictions", "which features...", "is it safe...": one of ours, though unnamed (so a
# clarifying question); "a lying model on hugging face", "is it true that..." are not.
_MODEL_REFERENCE = re.compile(r"\b(?:the|this|that|your|our|its) (?:\w+ )?(?:model|classifier|scores?|predictions?|tiers?|"
                              r"bands?|features?|inputs?)\b|\b(?:features|inputs|variables|risk tiers|tiers)\b|"
                              r"^(?:is|can|should|does|how \w+ is) it\b(?! (?:true|possible|real|legal|normal|common)\b)")
_OLD_VALUE = re.compile(r"\b(?:instead of|rather than|up from|down from)\s+(?:just |only |the current )?[$£€]?\d[\d,.]*\s*k?\b")
_ADD = re.compile(r"\b(?:also|too|as well|additionally|on top|plus|and also)\b")
_RISK_WORDS = r"\b(?:risk|risky|riskier|tiers?|tiername|flag(?:ged|s)?|likely|scores?|scored|critical|high|low|medium|elevated)\b"


class RulePlanner:
    """The deterministic, offline planner."""

    def __init__(self, registry: Registry, classifier: OperationClassifier | None = None, *,
                 meaning: FeatureMeaning | None = None):
        self.registry = registry
        # Inputs named in other words ("asked for 10k less"), found with the shared sentence model;
        # None (no embedder given) reads inputs by their `model.yaml` words only.
        self.meaning = meaning
        self._initials: dict[str, str] | None = None
        self.lexicons: dict[str, ModelLexicon] = build(registry)
        self.record_ids = RecordIds(registry)
        self.vocabulary = Vocabulary(registry)
        self.classifier = classifier or OperationClassifier.find()
        self._compiled_models: list | None = None
        self._distinctive_rx: re.Pattern | None = None
        # Words that name exactly one model's feature, category or tier pick that model.
        owners: dict[str, set[str]] = {}
        for model_id, lex in self.lexicons.items():
            words = set()
            for forms in lex.feature_forms.values():
                words |= forms
            for forms in lex.value_forms.values():
                words |= {f for f, _ in forms}
            words |= {normalise(t.name) for t in lex.model.spec.risk_tiers}
            for w in words:
                owners.setdefault(w, set()).add(model_id)
        # Words any model could use ("score", "rate", an entity noun) never pick one.
        common = GENERIC_WORDS | {w for m in registry for w in _variants_simple(normalise(m.spec.entity))}
        self.distinctive = {w: next(iter(ids)) for w, ids in owners.items()
                            if len(ids) == 1 and len(w) >= 3 and w not in common}

    def _build_initials(self) -> dict[str, str]:
        """ "MM" for Minute Maid, "CH" for Citrus Hill: the initials of the registry's multi-word names
        (models, inputs, categories), kept only when they stand for one phrase."""
        phrases: set[str] = set()
        for model in self.registry:
            phrases.add(normalise(model.spec.name))
        for lex in self.lexicons.values():
            for forms in lex.feature_forms.values():
                phrases |= forms
            for forms in lex.value_forms.values():
                phrases |= {f for f, _ in forms}
        meanings: dict[str, dict[str, str]] = {}   # initials -> {phrase without plural s: shortest spelling}
        for phrase in phrases:
            words = [w for w in re.findall(r"[a-z]+", phrase) if w not in _INITIALS_SKIP]
            for size in (2, 3):
                for i in range(len(words) - size + 1):
                    part = " ".join(words[i:i + size])
                    same = meanings.setdefault("".join(w[0] for w in words[i:i + size]), {})
                    key = re.sub(r"(?<=[a-z]{3})s\b", "", part)
                    if key not in same or len(part) < len(same[key]):
                        same[key] = part
        return {k: next(iter(v.values())) for k, v in meanings.items() if len(v) == 1}

    def _expand_initials(self, question: str) -> str:
        if self._initials is None:
            self._initials = self._build_initials()

        def expand(m: re.Match) -> str:
            word = m.group()
            if word in _INITIALS_KEEP or word.lower() in self.distinctive:
                return word
            return self._initials.get(word.lower(), word)

        return re.sub(r"(?<![\w-])[A-Z]{2,3}(?![\w-])", expand, question)

    # -- entry point --------------------------------------------------------------------------
    def plan(self, question: str, state: SessionState, model_hint: str | None = None) -> Plan:
        text = normalise(self._expand_initials(question))
        plan = Plan()
        if _RESET.search(text):
            plan.reset = True
            state = state.reset()
            text = _RESET.sub(" ", text).strip(" .,!?;:-")
            text = re.sub(r"^(?:and|ok|okay|so|now|please|let's|lets)\b", "", text).strip(" .,!?;:-")
            if len(text) < 3:
                return plan
        clauses = self._clauses(text)
        defaults: list[Step] = []
        for n, clause in enumerate(clauses):
            sub = self._plan_clause(clause, state, model_hint, asking=question_like(text))
            if sub.implicit and n + 1 < len(clauses):
                state = _advance(state, sub.steps)  # context for the question that follows
                continue
            if n == 0:  # later clauses lean on earlier ones in the same message, which is not "continuing"
                plan.context += [c for c in sub.context if c not in plan.context]
            if sub.clarify and sub.asks_record and plan.steps:
                continue  # "a walk-in wants $60k ... What tier would that be?": the earlier part said which case
            if sub.clarify:
                plan.clarify, plan.options = sub.clarify, sub.options
                break
            if sub.by_default:
                defaults += sub.steps  # searched only when no other part of the message asked for something
                continue
            for step in sub.steps:
                _add_step(plan.steps, step)
            if sub.steps:
                state = _advance(state, sub.steps)
        if not plan.steps and not plan.clarify and defaults:
            for step in defaults:
                _add_step(plan.steps, step)
            plan.by_default = True
        if len(clauses) > 1 and plan.steps and all(s.name == "search_knowledge" for s in plan.steps):
            # "I heard an antivirus AI could be beaten by appending text. Is that real?": a message that
            # only asks for documents is about everything it says; one search reads all of it.
            arguments = {k: v for step in plan.steps for k, v in step.arguments.items() if k != "query"}
            plan.steps = [Step(name="search_knowledge", arguments={**arguments, "query": " ".join(clauses)})]
        if not plan.steps and not plan.clarify:
            plan.out_of_scope = True
        return plan

    def _clauses(self, text: str) -> list[str]:
        parts = [p.strip() for p in re.split(
            r"\?+\s*|;\s*|(?<=[a-z0-9])\.\s+|,?\s+(?:and|but|plus|also)\s+(?=(?:what|how|why|where|which|who|is|are|does|do|can|"
            r"could|would|will|should|list|show|give|tell|any|has|have)\b)", text) if p.strip()]
        parts = [p for p in parts if re.search(r"[a-z0-9]", p)] or [text]
        merged: list[str] = []
        for part in parts:
            # "why is this one hot? HH-00066": an id on its own names the record of the question before it.
            found = self.record_ids.find(part)
            if merged and len(found) == 1 and len(part.split()) <= 2 and not self.record_ids.find(merged[-1]):
                merged[-1] = f"{merged[-1]} {part}"
            else:
                merged.append(part)
        return merged

    # -- reading a clause ---------------------------------------------------------------------
    def _read(self, text: str, state: SessionState, model_hint: str | None) -> _Clause:
        found = [r for r in self.record_ids.find(text) if not self._a_value(text, r, state, model_hint)]
        spans = [(r.start, r.end) for r in found]
        ids = [(r.record_id, r.models) for r in found]
        for m in _UNKNOWN_ID.finditer(text):  # an id-shaped token no model holds: said so, not ignored
            if not any(m.start() < e and m.end() > b for b, e in spans):
                ids.append((m.group(1).upper(), []))
                spans.append((m.start(), m.end()))
        clean = text
        for start, end in sorted(spans, reverse=True):
            clean = clean[:start] + " recordid " + clean[end:]
        ids = [i for _, i in sorted(zip(spans, ids))]
        clean = re.sub(r"\s+", " ", clean).strip()
        clean = re.sub(r"(?<!\bwhat)(?<!\bthat)(?<!\bit)(?<!\bthere)(?<!\blet)(?<!\bwho)(?<!\bwhere)(?<!\bhow)(?<!\bhere)(?<!\bshe)(?<!\bhe)'s\b", "", clean)
        scores = self._model_scores(clean)
        clause = _Clause(text=clean, masked=clean, record_ids=ids, model_scores=scores, mentioned=_best(scores))
        return clause

    def _a_value(self, text: str, found, state: SessionState, model_hint: str | None) -> bool:
        """"what if her bmi was 25?": a plain number right after an input of the model being discussed is that
        input's value, even where another model has a record 25."""
        current = model_hint if model_hint in self.lexicons else state.model_id
        if not found.raw.isdigit() or current not in self.lexicons or current in found.models:
            return False
        if state.last_op == "what_if" and state.last_feature and len(text.split()) <= 6 and \
                _in_range(self.registry.get(current), state.last_feature, found.raw):
            return True  # "what if her bmi was 28?" … "what about 25?": another value, in the input's range
        before = text[max(0, found.start - 40):found.start]
        lead = re.search(r"(?:\s(?:was|were|is|are|of|at|to|=|:|been|be))?\s*$", before)
        head = before[:lead.start()] if lead else before
        return any(m.end >= len(head.rstrip()) - 1 for m in self.lexicons[current].find_features(head.rstrip()))

    def _resolve_model(self, clause: _Clause, state: SessionState, model_hint: str | None, plan: Plan) -> Plan | None:
        record_models = sorted({m for _, ms in clause.record_ids for m in ms})
        current = model_hint if model_hint in self.registry.models else state.model_id
        weak = clause.mentioned and clause.model_scores[clause.mentioned] < 1.5
        if weak and not record_models and current in self.lexicons and current != clause.mentioned and (
                self.lexicons[current].find_features(clause.text) or self.lexicons[current].find_values(clause.text)):
            clause.mentioned = None  # one shared-looking word does not move the conversation to another model
        if clause.mentioned and record_models and clause.mentioned not in record_models and \
                clause.model_scores[clause.mentioned] < 5:
            clause.mentioned = None  # the id says which model; a word it shares with another does not
        if clause.mentioned:
            clause.model_id = clause.mentioned
        elif len(record_models) == 1:
            clause.model_id = record_models[0]
        elif len(record_models) > 1 and current in record_models:
            clause.model_id = current  # the page's model, or the conversation's, settles a shared id
        elif len(record_models) > 1:
            return Plan(clarify=f"{clause.record_ids[0][0]} exists in several models. Which one do you mean?",
                        options=record_models)
        elif model_hint and model_hint in self.registry.models:
            clause.model_id = model_hint
        elif state.model_id in self.registry.models:
            clause.model_id = state.model_id
            plan.context.append(f"model {clause.model_id}")
        elif len(self.registry.models) == 1:
            clause.model_id = next(iter(self.registry.models))
        return None

    def _plan_clause(self, text: str, state: SessionState, model_hint: str | None, asking: bool = False) -> Plan:
        plan = Plan()
        clause = self._read(text, state, model_hint)
        first = self.classifier.read(classifier_text(self.vocabulary.mask(clause.text)))
        if first.top[0] == "none" and first.top[1] >= 0.5 and not (clause.record_ids and asking):
            # Small talk, off-topic, or a request to act ("approve 4410's loan", "email C-1"): not a model
            # question, even when it names a record; "4471 - ok to approve?" asks about the record.
            return plan
        # The answer to a clarifying question: replay the question that was waiting for it.
        if state.pending and not _asks(first) and (clause.mentioned or clause.record_ids):
            return self._plan_clause(normalise(state.pending).rstrip("?.! ") + " " + text,
                                     state.model_copy(update={"pending": None}), model_hint, asking)
        problem = self._resolve_model(clause, state, model_hint, plan)
        if problem:
            return problem
        lexicon = self.lexicons.get(clause.model_id) if clause.model_id else None
        named_record = bool(clause.record_ids)
        if lexicon:
            # Document names ("model card") are not feature values ("card"); blank them, keeping positions.
            readable = _DOC_PHRASES.sub(lambda m: " " * len(m.group()), clause.text)
            clause.features = lexicon.find_features(readable)
            clause.values = lexicon.find_values(readable)
            clause.features = sorted(clause.features + self._unit_mentions(clause.text, lexicon, clause.features),
                                     key=lambda m: m.start)
            clause.features = sorted(clause.features + self._meant(readable, lexicon, clause, first), key=lambda m: m.start)
            if not named_record and first.top[0] in SEGMENT_OPS and _QUALIFIED.search(readable):
                # "for people who work from home", "engineers without stock options": a group qualified by
                # a yes/no input in other words.
                spec = lexicon.model.spec
                clause.features = sorted(clause.features + [
                    m for m in self._meant(readable, lexicon, clause, first, unnamed=True)
                    if spec.feature(m.feature).type == "boolean"], key=lambda m: m.start)
            clause.masked = self._mask(clause.text, clause.features, clause.values)
            clause.changes = self._changes(clause.text, lexicon, clause.features, clause.values, state)
            if not clause.changes and first.top[0] == "what_if":
                # A what-if whose named inputs carry no change ("... on special that week": the week is
                # named, the change is not): what else does it name, by meaning?
                more = self._meant(readable, lexicon, clause, first, unnamed=True)
                if more:
                    clause.features = sorted(clause.features + more, key=lambda m: m.start)
                    clause.masked = self._mask(clause.text, clause.features, clause.values)
                    clause.changes = self._changes(clause.text, lexicon, clause.features, clause.values, state)
            if not named_record:
                clause.filters = self._filters(clause.text, lexicon, clause.features, clause.values)
        else:
            clause.masked = self._mask(clause.text, [], [])
        if clause.record_ids and not clause.record_ids[0][1] and clause.model_id is None:
            return Plan(clarify=f"I could not find {clause.record_ids[0][0]} in any model. Which model should I look in?",
                        options=sorted(self.registry.models))

        same_model = clause.model_id == state.model_id
        record_id = clause.record_ids[0][0] if named_record else None
        context_record = state.record_id if same_model and state.record_id else None

        # The current group carries over when the clause refers to it or narrows it.
        carried = False
        if same_model and state.filters and not named_record:
            if clause.filters and re.search(r"\b(?:only|just|also|and|those|them|of them|among|of those|these|their)\b", clause.masked):
                clause.filters = _merge_filters(state.filters, clause.filters)
                carried = True
            elif not clause.filters and _REFERS_COHORT.search(clause.masked) and not _REFERS_RECORD_ONLY.search(clause.masked):
                clause.filters = list(state.filters)
                carried = True

        ops = self._operations(clause, named_record, bool(context_record))
        if context_record and state.last_op == "what_if" and _ADD.search(clause.text) and clause.changes and \
                not clause.record_ids and set(ops) <= {"predict", "explain"} and \
                not re.search(r"\bhow many\b|\bentitynames\b|\bwhich\b", clause.masked):
            ops, clause.filters = ["what_if"], []  # "and the oil alarm tripped too": one more change to the what-if
        if clause.model_id is None and ops and set(ops) <= MODEL_OPS and not self._names_anything(clause):
            ops = []  # about none of our models ("what went wrong with that chatbot?"): documents, not "which model?"
        if (not carried and same_model and state.filters and not state.record_id and not named_record and not clause.filters
                and (set(ops) & (SEGMENT_OPS - {"predict", "feature_importance"}) or
                     (not ops and re.search(r"\bwhy\b|\breasons?\b", clause.masked)))):
            clause.filters = list(state.filters)
            carried = True
            if not ops:
                ops = ["explain"]
        continues = _FOLLOW_ONLY.match(clause.masked) or len(clause.masked.split()) <= 6 or \
            clause.features or clause.values or clause.filters or clause.changes
        fragment = bool(_FOLLOW_ONLY.match(clause.masked)) and clause.reading is not None and (
            clause.reading.top[1] < 0.9 or not _CONTENT.sub(" ", clause.masked).strip())
        if fragment and state.last_op and not (named_record and state.last_op not in RECORD_OPS | {"predict", "explain"}):
            # "what about 4410?", "and the caravan model?": the last question again, with what changed
            if carried:
                clause.filters = [f for f in clause.filters if f not in state.filters] or clause.filters
            return self._follow_up(state.last_op, clause, state, plan, record_id, context_record)
        if not ops and state.last_op and continues and not named_record:
            if carried:
                clause.filters = [f for f in clause.filters if f not in state.filters] or clause.filters
            return self._follow_up(state.last_op, clause, state, plan, record_id, context_record)
        stated = {k: v for k, v in clause.changes.items() if not isinstance(v, dict)}
        if not ops and not named_record and not context_record and len(stated) >= 2 and not clause.filters \
                and clause.model_id:
            # "radius 18.2, texture 21.5, worst area 1450": a case stated by its inputs, scored as read.
            plan.steps.append(Step(name="predict", arguments={"model_id": clause.model_id, "inputs": stated}))
            return plan
        if not ops:
            if named_record:
                ops = ["predict"]
                plan.implicit = not re.search(r"\b(?:tier|risk|score|check|look up|pull up|status)\b", text)
            elif clause.filters:
                risky = re.search(_RISK_WORDS + r"|positivelabel", clause.masked)
                ops = ["predict"] if risky or not re.search(r"\bhow many\b|\bcount\b|\bnumber\b", clause.masked) else ["data_summary"]
            elif clause.features and not clause.mentioned:
                ops = ["define_feature"]
            else:
                # Documents by default: a question that asks for no model operation is searched for;
                # the engine gives the help text when nothing relevant is found.
                step = self._step("search_knowledge", clause, record_id, [], state)
                plan.steps.append(step)
                plan.by_default = True
                return plan
        inputs = self._described(clause, ops, named_record, context_record)
        if inputs and clause.model_id and lexicon is not None:
            # A described case states its inputs in any words ("no co-signer", "owns their home"): the
            # phrases no input explains yet are read by meaning too.
            more = self._meant(readable, lexicon, clause, first, unnamed=True)
            if more:
                clause.features = sorted(clause.features + more, key=lambda m: m.start)
                clause.masked = self._mask(clause.text, clause.features, clause.values)
                clause.changes = self._changes(clause.text, lexicon, clause.features, clause.values, state)
                clause.filters = self._filters(clause.text, lexicon, clause.features, clause.values)
                inputs = self._described(clause, ops, named_record, context_record) or inputs
        if inputs and clause.model_id:
            plan.steps.append(Step(name="predict", arguments={"model_id": clause.model_id, "inputs": inputs}))
            return plan
        if carried and set(ops) & (SEGMENT_OPS):
            plan.context.append("the current group")
        filters = clause.filters if not set(ops) & RECORD_OPS else []

        # Fill the record the clause leaves out from the conversation.
        if not record_id and context_record and not filters and (
                set(ops) & RECORD_OPS or (set(ops) & {"predict", "explain"} and (
                    _REFERS_RECORD.search(clause.masked) or (state.last_op in {"predict", "explain", "what_if", "counterfactual"}
                                                             and not state.filters)))):
            record_id = context_record
            plan.context.append(f"{self._entity(clause.model_id)} {record_id}")

        # Several records or several models named for one operation: one call each.
        records = [r for r, _ in clause.record_ids] or [record_id]
        models = [clause.model_id]
        tied = sorted((m for m, sc in clause.model_scores.items() if sc == max(clause.model_scores.values())), key=text.find) \
            if clause.model_scores else []
        if len(tied) > 1 and not named_record and all(op in MODEL_OPS for op in ops):
            models = tied
        mentioned_models = [m for m, sc in sorted(clause.model_scores.items(), key=lambda kv: text.find(kv[0].split("-")[0]))
                            if sc >= 1.5]
        if len(mentioned_models) > 1 and not named_record and all(op in MODEL_OPS for op in ops) and \
                re.search(r"\b(?:compare|comparison|vs|versus|both|each|between)\b|\band\b", clause.text):
            models = mentioned_models
        for model_id in models:
            clause.model_id = model_id
            for op in ops:
                if op == "performance" and len(_metrics_all(text)) > 1:
                    for metric in _metrics_all(text):
                        step = self._step(op, clause, record_id, filters, state)
                        if isinstance(step, Step):
                            step.arguments["metric"] = metric
                            _add_step(plan.steps, step)
                    continue
                for rid in (records if op in RECORD_OPS | {"predict", "explain"} and not filters else [record_id]):
                    step = self._step(op, clause, rid, filters, state)
                    if isinstance(step, Plan) and not rid and op in RECORD_OPS | {"predict", "explain"}:
                        # No id, yet the message states several inputs: a described case is scored as
                        # read (the answer lists what it used), rather than asked for an id it never had.
                        inputs = {f.feature: f.value for f in clause.filters}
                        inputs.update({k: v for k, v in clause.changes.items() if not isinstance(v, dict)})
                        if len(inputs) >= 2 and not re.search(r"\bhow many\b|\bentitynames\b", clause.masked):
                            step = Step(name="predict", arguments={"model_id": model_id, "inputs": inputs})
                    if isinstance(step, Plan):
                        step.context = plan.context
                        return step
                    if step not in plan.steps:
                        plan.steps.append(step)
        return plan

    def _names_anything(self, clause: _Clause) -> bool:
        """The clause mentions something of the registry: a record, an input, a category, a tier, an entity."""
        if clause.record_ids or clause.model_scores or _MODEL_REFERENCE.search(clause.text):
            return True
        if re.search(r"\b(?:tiername|entityname|positivelabel)\b", self.vocabulary.mask(clause.text)):
            return True
        return any(lex.find_features(clause.text) or lex.find_values(clause.text) for lex in self.lexicons.values())

    def _described(self, clause: _Clause, ops: list[str], named_record: bool, context_record) -> dict[str, Any]:
        """ "what tier would a non-student with a $1,400 balance get?": a case described by its inputs, not a
        stored record and not a group; its inputs, or {} when the clause is something else."""
        if named_record or not set(ops) & {"predict", "what_if", "explain"}:
            return {}
        if any(isinstance(v, dict) for v in clause.changes.values()):
            return {}  # "$500 lower" changes something that exists
        text = clause.masked
        singular = re.search(r"\b(?:a|an|someone|somebody|new|hypothetical|made-up|fictional|typical)\b", text)
        if any(f.op != "==" for f in clause.filters) and not singular:
            return {}  # "over 40", "under $2k": a group
        # In "a new applicant: $80k over 60 months", a comparison word states the case's value.
        inputs = {f.feature: f.value for f in clause.filters}
        inputs.update(clause.changes)
        if not inputs:
            return {}
        if re.search(r"\bhow many\b|\bwhat (?:share|percent|proportion)\b|\bcount\b|\bentitynames\b|\b(?:all|every)\b", text):
            return {}
        if context_record and _REFERS_RECORD.search(text):
            return {}  # "if she had ...": a what-if on the record being discussed
        entity = normalise(self.registry.get(clause.model_id).spec.entity) if clause.model_id else "record"
        plural = _variants_simple(entity) - {entity}
        if re.search(rf"\b(?:{'|'.join(map(re.escape, plural))}|people|ones|those|these|groups?|segments?)\b", clause.text):
            return {}  # a group, not one case
        hypothetical = re.search(r"\b(?:would|could|will|might)\b", text)
        if not singular and (context_record or not hypothetical):
            return {}
        if len(inputs) < 2 and not (hypothetical or re.search(r"\b(?:get|land|score)\b", text)):
            return {}
        return inputs

    def _follow_up(self, op: str, clause: _Clause, state: SessionState, plan: Plan, record_id, context_record) -> Plan:
        """A clause with no operation of its own repeats the last one with what it changes."""
        args = dict(state.last_args)
        plan.context.append(f"the previous question ({op.replace('_', ' ')})")
        model_changed = clause.model_id != state.model_id
        if op in MODEL_OPS or "model_id" in args:
            args["model_id"] = clause.model_id
        if model_changed:
            for key in ("record_id", "filters", "changes"):
                args.pop(key, None)
            if "feature" in args and clause.model_id:
                args.pop("feature")
                feature = self._translate_feature(state.model_id, state.last_args.get("feature"), clause.model_id)
                if feature:
                    args["feature"] = feature
        if record_id:
            if op not in RECORD_OPS | {"predict", "explain"}:
                op = "predict"
                args = {"model_id": clause.model_id}
            args["record_id"] = record_id
            args.pop("filters", None)
        if clause.filters and not (op in RECORD_OPS and clause.changes):
            if op not in SEGMENT_OPS:
                op, args = "predict", {"model_id": clause.model_id}
            current = [Filter.model_validate(f) for f in args.get("filters", [])] if not model_changed else []
            args["filters"] = [f.model_dump() for f in _merge_filters(current, clause.filters)]
            args.pop("record_id", None)
        elif re.search(r"\b(?:overall|all|everyone|everybody|in general|whole)\b", clause.masked):
            args.pop("filters", None)
        if op == "what_if":
            changes = clause.changes or self._bare_change(clause.text, state)
            if changes:
                args["changes"] = {**state.last_changes, **changes} if _ADD.search(clause.text) else changes
            if not args.get("record_id") and context_record:
                args["record_id"] = context_record
            if "changes" not in args:  # another model's record, and no change it could take: its tier
                op, args = "predict", {k: v for k, v in args.items() if k in ("model_id", "record_id")}
        if op in ("predict", "explain") and not args.get("record_id") and not args.get("filters") and context_record and not model_changed:
            args["record_id"] = context_record
        if op in ("feature_importance", "explain", "model_errors"):
            args.update(_top_k(clause.text))
        if op == "performance":
            metric = _metric(clause.text)
            if metric:
                args["metric"] = metric
        if op == "list_incidents":
            args.update(_incident_filters(clause.text))
            if clause.mentioned:
                args["model_id"] = clause.mentioned
        if op == "search_knowledge":
            args["query"] = (state.pending or "") + " " + clause.text if not args.get("query") else args["query"] + " " + clause.text
        if clause.features and op in ("define_feature", "feature_importance") and not model_changed:
            args["feature"] = clause.features[0].feature
        if op in MODEL_OPS and not args.get("model_id"):
            return Plan(clarify="Which model do you mean?", options=sorted(self.registry.models), context=plan.context)
        if op in RECORD_OPS and not args.get("record_id"):
            return Plan(clarify=f"Which {self._entity(clause.model_id)} should I use?", context=plan.context)
        plan.steps.append(Step(name=op, arguments={k: v for k, v in args.items() if v not in (None, [], {})}))
        return plan

    def _translate_feature(self, old_model: str | None, feature: str | None, new_model: str) -> str | None:
        if not feature or new_model not in self.lexicons:
            return None
        if feature in self.registry.get(new_model).spec.feature_names:
            return feature
        old = self.lexicons.get(old_model)
        surfaces = old.feature_forms.get(feature, set()) if old else set()
        for name, forms in self.lexicons[new_model].feature_forms.items():
            if forms & surfaces:
                return name
        return None

    def _bare_change(self, text: str, state: SessionState) -> dict[str, Any]:
        """ "and 30?" after a what-if on one numeric feature: the same kind of change, new amount."""
        if not state.last_changes or len(state.last_changes) != 1:
            return {}
        (feature, previous), = state.last_changes.items()
        m = re.search(rf"({_NUM})", text)
        if not m or not re.search(r"\b(?:if|were|was|make|instead|lower|higher|less|more|and|what about|how about)\b|^\s*[$£€]?\d", text):
            return {}
        amount = _number(m.group(1))
        direction = re.search(rf"({_NUM})\s*(?:\w+\s+)?(lower|less|smaller|down|fewer|cheaper|higher|more|bigger|larger|up|greater|{_MORE_COMPARATIVES})\b", text)
        if direction:
            change = {"decrease" if direction.group(2) in _DOWN else "increase": _number(direction.group(1))}
        else:
            change = {next(iter(previous)): amount} if isinstance(previous, dict) else amount
        return {feature: change}

    def _resolve_multiples(self, model_id: str, record_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """"doubled", "a 20% raise": the new value, from the record's stored one (what-if changes are values or
        amounts). A multiple of a record or an input the registry cannot read is left out."""
        if not any(isinstance(v, dict) and "times" in v for v in changes.values()):
            return changes
        out = {}
        for name, change in changes.items():
            if not (isinstance(change, dict) and "times" in change):
                out[name] = change
                continue
            try:
                current = float(self.registry.get(model_id).records.loc[record_id, name])
            except (KeyError, TypeError, ValueError, AssertionError):
                continue
            value = current * change["times"]
            whole = abs(value) >= 100 or (float(current).is_integer() and float(value).is_integer())
            out[name] = int(round(value)) if whole else float(f"{value:.3g}")  # three significant digits
        return out

    def _entity(self, model_id: str | None) -> str:
        return self.registry.get(model_id).spec.entity if model_id else "record"

    def _meant(self, text: str, lexicon: ModelLexicon, clause: _Clause, reading: Reading, *, unnamed: bool = False) -> list:
        """Inputs named in other words, looked for only where the question needs one it did not name:
        a number no input explains, or a what-if or described case with no input named at all
        (`unnamed`: or none whose change could be read)."""
        if self.meaning is None:
            return []
        taken = [(m.start, m.end) for m in clause.features] + [(v.start, v.end) for v in clause.values]
        for m in clause.features:
            if m.start == m.end:  # named by its unit ("24 months"): the number and unit are taken
                unit = re.match(rf"(?:between\s+{_NUM}\s+(?:and|to)\s+)?{_NUM}\s*[a-z]*", text[m.start:])
                if unit:
                    taken.append((m.start, m.start + unit.end()))
        # A number is explained by a numeric input named near it (a yes/no or category never takes one).
        numeric = {f.name for f in lexicon.model.spec.features if f.type == "numeric"}
        counted = [(m.start, m.end) for m in clause.features if m.feature in numeric]
        numbers = [m for m in re.finditer(_NUM, text) if not any(m.start() < e + 30 and m.end() > b - 30 for b, e in counted)
                   and not _COUNTS.match(text, m.end()) and not _COUNTED.search(text, 0, m.start())]
        unnamed = unnamed or (not taken and reading.top[0] in {"what_if", "counterfactual", "predict"})
        if not numbers and not unnamed:
            return []
        self.meaning.prepare(m.spec for m in self.registry)   # every model's inputs, one batch, the first time
        taken += self.vocabulary.spans(text) + [(m.start(), m.end()) for m in re.finditer(r"\brecordid\b", text)]
        return self.meaning.find(text, lexicon.model.spec, taken, exclude={m.feature for m in clause.features},
                                 near=None if unnamed else [(m.start(), m.end()) for m in numbers])

    def _mask(self, text: str, features, values) -> str:
        return self.vocabulary.mask(text, features, values)

    def _unit_mentions(self, text: str, lexicon: ModelLexicon, found) -> list:
        """ "100 km", "30 days", "$2k": a number in the unit of exactly one unmentioned feature names it."""
        from assistant.conversation.lexicon import Mention

        by_unit: dict[str, list] = {}
        for f in lexicon.model.spec.features:
            if f.type == "numeric" and f.unit:
                by_unit.setdefault(normalise(f.unit), []).append(f)
        taken = {m.feature for m in found}
        out = []
        for unit, features in by_unit.items():
            if len(features) != 1 or features[0].name in taken:
                continue
            if unit in {"usd", "$"}:
                rx = r"(?:[$£€]\s?\d[\d,.]*\s*k?|\d[\d,.]*\s*k?\s*(?:usd|dollars|bucks|pounds|euros))"
            elif unit in {"hour", "hours"}:
                rx = r"\d{1,2}\s*(?:am|pm|o'clock|h\b|hours?\b)"
            else:
                words = "|".join(re.escape(u) for u in _variants_simple(unit))
                rx = rf"\d[\d,.]*[\s-]*(?:{words})(?!\w)(?:[\s-]+old)?"  # "3 years", "a 12-year-old", "45%"
            m = re.search(rx, text)
            if m:
                # Placed just before the number (or a "between x and" before it), so the comparison
                # words around it read as they do for a named feature.
                start = m.start()
                between = re.search(rf"\bbetween\s+{_NUM}\s+(?:and|to)\s+$", text[:start])
                if between:
                    start = between.start()
                out.append(Mention(features[0].name, start, start, unit))
        return out

    def _model_patterns(self) -> list[tuple[str, re.Pattern, re.Pattern | None, re.Pattern, list[re.Pattern]]]:
        """Compiled once: per model, its id (or its id's first word before "model"), label and name words."""
        if self._compiled_models is None:
            out = []
            for model_id, lex in self.lexicons.items():
                spaced = re.escape(normalise(model_id).replace("-", " "))
                named = re.compile(rf"(?<![\w-]){re.escape(model_id.lower())}(?![\w-])|\b{spaced}\b")
                head = re.escape(normalise(model_id).split("-")[0])
                # "the OJ model", "the caravan one": a model called by the first word of its id
                by_head = re.compile(rf"\b{head}\s+(?:\w+\s+)?(?:model|one)\b") \
                    if len(head) >= 2 and head not in _GENERIC_HEADS else None
                label = re.compile(rf"\b{re.escape(normalise(lex.model.spec.positive_label))}")
                tokens = [re.compile(rf"\b{re.escape(t[:max(4, len(t) - 2)])}") for t in sorted(lex.name_tokens)]
                out.append((model_id, named, by_head, label, tokens))
            words = sorted(self.distinctive, key=len, reverse=True)  # "card present" before "card"
            self._distinctive_rx = re.compile(rf"(?<![\w-])(?:{'|'.join(map(re.escape, words))})(?![\w-])") if words else None
            self._compiled_models = out
        return self._compiled_models

    def _model_scores(self, text: str) -> dict[str, float]:
        scores: dict[str, float] = {}
        dashless = text.replace("-", " ")
        for model_id, named, by_head, label, tokens in self._model_patterns():
            score = 0.0
            if named.search(text) or named.search(dashless) or (by_head is not None and by_head.search(text)):
                score += 5
            if label.search(text):
                score += 3
            score += 1.5 * sum(1 for t in tokens if t.search(text))
            if score:
                scores[model_id] = score
        if self._distinctive_rx is not None:
            for m in self._distinctive_rx.finditer(text):
                model_id = self.distinctive[m.group()]
                scores[model_id] = scores.get(model_id, 0) + 1.0
        return scores

    # -- operations ---------------------------------------------------------------------------
    def _operations(self, clause: _Clause, named_record: bool, context_record: bool) -> list[str]:
        """The operations the clause asks for, read by the learned classifier from its masked form."""
        clause.reading = self.classifier.read(classifier_text(clause.masked))
        ops = [op for op in clause.reading.ops() if op != "none"]
        return sorted(ops, key=OPERATIONS.index)

    # -- arguments ----------------------------------------------------------------------------
    def _step(self, op: str, clause: _Clause, record_id, filters, state: SessionState) -> Step | Plan:
        model_id, text = clause.model_id, clause.text
        if op in MODEL_OPS and model_id is None:
            return Plan(clarify="Which model do you mean?", options=sorted(self.registry.models))
        args: dict[str, Any] = {}
        if op in MODEL_OPS:
            args["model_id"] = model_id
        features = clause.features
        if op in ("predict", "explain"):
            if record_id and not filters:
                args["record_id"] = record_id
            elif filters:
                args["filters"] = [f.model_dump() for f in filters]
            elif op == "explain":
                return Step(name="feature_importance", arguments={"model_id": model_id, **_top_k(text)})
            elif not re.search(r"\bhow many\b|\ball\b|\bportfolio\b|\bbook\b|\boverall\b|entityname", clause.masked):
                return Plan(clarify=f"Which {self._entity(model_id)} do you mean? Give me an id such as "
                            f"{self._example_id(model_id)}.", asks_record=True)
            if op == "explain":
                args.update(_top_k(text))
        elif op in RECORD_OPS:
            if not record_id:
                return Plan(clarify=f"Which {self._entity(model_id)} should I use? Give me an id such as "
                            f"{self._example_id(model_id)}.", asks_record=True)
            args["record_id"] = record_id
            if op == "what_if":
                changes = clause.changes
                if changes and _ADD.search(text) and state.last_changes and state.record_id == record_id:
                    changes = {**state.last_changes, **changes}
                if not changes and state.last_changes and state.model_id == model_id:
                    changes = self._bare_change(text, state)  # "what if it were 20 lower?"
                if not changes and state.last_op == "what_if" and state.last_changes and state.model_id == model_id:
                    changes = dict(state.last_changes)  # "what about C-10300?" after a what-if: same change
                changes = self._resolve_multiples(model_id, record_id, changes)
                if not changes:
                    return Plan(clarify="What should I change? For example: \"what if the balance were $500 lower?\"")
                args["changes"] = changes
        elif op == "feature_importance" and record_id and clause.record_ids:
            return Step(name="explain", arguments={"model_id": model_id, "record_id": record_id, **_top_k(text)})
        elif op == "feature_importance":
            args.update(_top_k(text))
            if filters:
                args["filters"] = [f.model_dump() for f in filters]
            if features and not re.search(r"\b(?:most|top|main|biggest|which)\b", text):
                args["feature"] = features[0].feature
            elif not features and state.last_feature and state.model_id == model_id and re.search(r"\b(?:it|this|that)\b", text):
                args["feature"] = state.last_feature
        elif op in ("performance", "model_errors"):
            if op == "performance":
                metric = _metric(text)
                if metric:
                    args["metric"] = metric
            else:
                args.update(_top_k(text))
            if filters:
                args["filters"] = [f.model_dump() for f in filters]
        elif op == "data_summary":
            if filters:
                args["filters"] = [f.model_dump() for f in filters]
            compared = [v.feature for v in clause.values if not any(f.feature == v.feature for f in filters)]
            if compared and not features:
                args["feature"] = compared[0]
            focus = [m for m in features if not any(f.feature == m.feature for f in filters)] or \
                ([m for m in features] if re.search(r"\b(?:average|avg|mean|median|distribution|typical|mix|breakdown|split)\b", text) else [])
            if focus:
                args["feature"] = focus[0].feature
        elif op == "define_feature":
            if not features:
                if state.last_feature and state.model_id == model_id:
                    args["feature"] = state.last_feature
                else:
                    return Plan(clarify="Which input do you mean? For example: " + ", ".join(
                        f.label for f in self.registry.get(model_id).spec.features[:4]) + ".")
            else:
                args["feature"] = features[0].feature
        elif op == "search_knowledge":
            args["query"] = text.replace("recordid", " ").strip()
            if model_id and (clause.mentioned or record_id or re.search(r"\b(?:it|its|this model|that model|the model)\b", text)
                             or _continues_model(clause, state, model_id)):
                args["model_id"] = model_id
            doc_type = next((d for k, d in _DOC_TYPES.items() if re.search(rf"\b{k}", text)), None)
            if doc_type is None and "model_id" not in args and _EVENT.search(text):
                doc_type = "incident"  # "has anyone ever fooled...?", "what happened with...": what happened, not a definition
            if doc_type:
                args["doc_type"] = doc_type
        elif op == "list_incidents":
            if clause.mentioned:
                args["model_id"] = clause.mentioned
            elif model_id and (re.search(r"\b(?:it|its|this model|that model|the model)\b", text)
                               or _continues_model(clause, state, model_id)):
                args["model_id"] = model_id
            args.update(_incident_filters(text))
        elif op == "probing_alerts" and clause.mentioned:
            args["model_id"] = clause.mentioned
        return Step(name=op, arguments=args)

    def _example_id(self, model_id: str) -> str:
        index = self.registry.get(model_id).records.index
        return str(index[0]) if len(index) else "an id"

    def _filters(self, text: str, lexicon: ModelLexicon, features, values: list[ValueMention]) -> list[Filter]:
        out: list[Filter] = []
        spec = lexicon.model.spec
        for mention in features:
            feature = spec.feature(mention.feature)
            after = text[mention.end:mention.end + 40]
            before = text[max(0, mention.start - 40):mention.start]
            if feature.type == "numeric":
                out += _numeric_conditions(feature.name, before, after)
            elif feature.type == "boolean" or _yes_no(feature):
                yes = (feature.values or [1, 0])[0] if _yes_no(feature) else 1
                no = _no_value(feature) if _yes_no(feature) else 0
                negated = mention.negated or bool(
                    re.search(r"\b(?:not|non|no|without|isn't|aren't|never|un)\s*-?\s*(?:a |an )?$", before)) or \
                    bool(re.match(r"^\s*(?:is |are )?(?:not|isn't|aren't)\b", after))
                if re.search(r"\b(?:status|mean|means|defin)\b", after[:15]) or re.search(r"\bwhat (?:is|does)\s*(?:the )?$", before):
                    continue
                if re.search(r"\b(?:vs|versus|or not)\b", after[:20]) or re.search(r"\bwhether\s+(?:\w+\s+){0,3}$", before):
                    continue
                out.append(Filter(feature=feature.name, op="==", value=no if negated else yes))
        by_feature: dict[str, int] = {}
        for value in values:
            by_feature[value.feature] = by_feature.get(value.feature, 0) + 1
        for value in values:
            if by_feature[value.feature] > 1 and re.search(r"\b(?:vs|versus|compared|against|or)\b", text):
                continue  # "motorbikes vs trucks": a comparison across values, not a group
            out.append(Filter(feature=value.feature, op="!=" if value.negated else "==", value=value.value))
        # "older than 30" / "younger than 25": comparisons on the age-like feature without naming it.
        age = next((f for f in spec.features if f.type == "numeric" and re.search(r"(?:^|_)age(?:$|_)", f.name)
                    and (f.unit or "years").startswith("year")), None)
        if age and not any(f.feature == age.name for f in out):
            entity = "|".join(re.escape(w) for w in _variants_simple(normalise(spec.entity)) | {"people", "clients", "customers", "cardholders", "holders"})
            for word, op in (("older than", ">"), ("over the age of", ">"), ("younger than", "<"), ("under the age of", "<"),
                             ("aged over", ">"), ("aged under", "<"), (f"(?:{entity}) (?:aged )?(?:over|above)", ">"),
                             (f"(?:{entity}) (?:aged )?(?:under|below)", "<")):
                m = re.search(rf"\b{word} ({_NUM})(?!\s*(?:days|months|km|\$|k\b|%))", text)
                if m:
                    out.append(Filter(feature=age.name, op=op, value=_number(m.group(1))))
                    break
            else:
                m = re.search(rf"\baged ({_NUM})\s*(or younger|or under|or less|or older|or over|or more|\+)", text)
                if m:
                    up = m.group(2) in {"or older", "or over", "or more", "+"}
                    out.append(Filter(feature=age.name, op=">=" if up else "<=", value=_number(m.group(1))))
        return _dedupe(out)

    def _changes(self, text, lexicon, features, values, state) -> dict[str, Any]:
        if lexicon is None:
            return {}
        # "a 36 month term instead of 12", "2 policies instead of none": the number after "instead of" is the
        # value now, not the change (blanked, keeping every position).
        text = _OLD_VALUE.sub(lambda m: " " * len(m.group()), text)
        changes: dict[str, Any] = {}
        spec = lexicon.model.spec
        for mention in features:
            feature = spec.feature(mention.feature)
            after = text[mention.end:mention.end + 45]
            before = text[max(0, mention.start - 45):mention.start]
            change = None
            if feature.type == "numeric":
                factor = _multiplier(before, after, percent_unit=normalise(feature.unit or "") in {"%", "percent"})
                change = {"times": factor} if factor is not None else _numeric_change(before, after)
            if change is not None:
                changes[feature.name] = change
            elif feature.type == "boolean" or _yes_no(feature):
                stated = re.match(r"^\s*(?:of |=\s*|:\s*|to |set to )?(yes|no|true|false)\b", after)
                if stated and re.search(r"\b(?:if|had|were|was|set|with)\b", text[:mention.start]):
                    # "student No", "student of yes", "paperless = true": the value is said outright
                    on = stated.group(1) in {"yes", "true"}
                    if _yes_no(feature):
                        changes[feature.name] = (feature.values or [1])[0] if on else _no_value(feature)
                    else:
                        changes[feature.name] = 1 if on else 0
                    continue
                if not re.search(r"\b(?:if|were|was|had|been|switch|switched|turn|turned|moves?|moved|put|set|made|make|gets?|got|"
                                 r"without|with|become|became|stopped|started|goes|went|adds?|added|adding|drops?|dropped|"
                                 r"took|take|takes|brought|bring|brings|lose|lost|loses|gained?|removed?|cancel(?:led|s)?|"
                                 r"quit|gave up|give up|joined|left|signed up|opted)\b", before + after[:15]) and \
                        not (state is not None and state.last_op == "what_if" and _ADD.search(text)):
                    continue  # (after a what-if, "and the alarm tripped too" adds to it whatever the verb)
                negated = mention.negated or bool(re.search(r"\b(?:not|non|no|without|didn't|wasn't|weren't|stopped|off)\s*(?:a |an )?$", before)) or \
                    bool(re.search(r"\b(?:instead of|rather than)\s+(?:\w+\s+){0,2}$", before)) or \
                    bool(re.search(r"\b(?:turn(?:ed|s)? off|switch(?:ed|es)? off|cancel(?:led|s)?|drop(?:ped|s)?|remov\w*|stop(?:ped|s)?|"
                                   r"los(?:e|t|es)|quit|gave up|give up|left)\s+(?:\w+\s+){0,2}$", before)) or \
                    bool(re.match(r"^\s*(?:were|was)? ?(?:off|removed|false|no)\b", after))
                yes = (feature.values or [1])[0] if _yes_no(feature) else 1
                no = _no_value(feature) if _yes_no(feature) else 0
                changes[feature.name] = no if negated else yes
        for value in values:
            if value.feature not in changes:
                changes[value.feature] = value.value
        self._nearest_numbers(text, spec, features, changes)
        return changes

    @staticmethod
    def _nearest_numbers(text: str, spec, features, changes: dict[str, Any]) -> None:
        """A numeric input named in a what-if or a described case whose number the phrasings above did not place
        ("largest nucleus area had been 900", "on a 36 month term", "6 books on loan, $12 in fines"): the nearest
        number no other input claims, in the same part of the sentence, read as a change when a direction word
        sits next to it and as the new value otherwise."""
        claimed = {m.start() for m in re.finditer(_NUM, text)
                   if any(isinstance(v, (int, float)) and not isinstance(v, bool) and _number(m.group()) == v
                          or isinstance(v, dict) and _number(m.group()) in v.values() for v in changes.values())}
        for mention in features:
            feature = spec.feature(mention.feature)
            if feature.type != "numeric" or feature.name in changes:
                continue
            best = None
            for m in re.finditer(_NUM, text):
                if m.start() in claimed or re.search(r"[,;:]", text[min(m.end(), mention.start):max(m.start(), mention.end)]):
                    continue
                gap = mention.start - m.end() if m.end() <= mention.start else m.start() - mention.end
                if 0 <= gap <= 30 and (best is None or gap < best[0]):
                    best = (gap, m)
            if best is None:
                continue
            m = best[1]
            value = _number(m.group())
            near = text[max(0, m.start() - 25):m.start()] + " " + text[m.end():m.end() + 25]
            direction = re.search(rf"\b({_MORE_COMPARATIVES}|lower|less|smaller|fewer|cheaper|shorter|down|reduced|cut|higher|more|bigger|larger|"
                                  r"greater|longer|up|extra|increased|raised)\b", near)
            if direction:
                down = direction.group(1) in _DOWN | {"reduced", "cut"}
                changes[feature.name] = {"decrease" if down else "increase": value}
            else:
                changes[feature.name] = value
            claimed.add(m.start())


def _add_step(steps: list[Step], step: Step) -> None:
    """Add a call unless the message already asked for it; two searches in one message become one."""
    for i, existing in enumerate(steps):
        if existing == step:
            return
        if existing.name == step.name and step.name not in {"what_if"} and \
                existing.arguments.get("model_id") == step.arguments.get("model_id") and \
                existing.arguments.get("record_id") == step.arguments.get("record_id"):
            old, new = _items(existing.arguments), _items(step.arguments)
            if old <= new:  # "which measurements weigh most? just the top 4": one call, with the detail
                steps[i] = step
                return
            if new <= old:
                return
        if existing.name == step.name == "search_knowledge":
            merged = {**step.arguments, **existing.arguments}
            merged["query"] = existing.arguments["query"] + " " + step.arguments["query"]
            steps[i] = Step(name=existing.name, arguments=merged)
            return
        if existing.name == step.name and step.name in {"list_incidents", "security_posture", "describe_model"} and \
                set(step.arguments.items()) <= set(existing.arguments.items()):
            return
        if existing.name == step.name and step.name in {"list_incidents"} and \
                set(existing.arguments.items()) <= set(step.arguments.items()):
            steps[i] = step
            return
    steps.append(step)


_GENERIC_HEADS = {"the", "a", "my", "our", "new", "old", "main", "risk", "model", "small", "big", "customer", "default"}


def _items(arguments: dict[str, Any]) -> set:
    return {(k, repr(v)) for k, v in arguments.items()}




def _merge_filters(current: list[Filter], new: list[Filter]) -> list[Filter]:
    """New conditions replace current ones on the same feature and add to the rest."""
    replaced = {f.feature for f in new}
    return [f for f in current if f.feature not in replaced] + list(new)


def _metric(text: str) -> str | None:
    if re.search(r"\bhow often is (?:it|that|the flag|a flag)\b.{0,30}\b(?:right|really|actually|correct)\b|\bflags?\b.{0,40}\breally\b", text):
        return "precision"
    if re.search(r"\b(?:catch|catches|caught|detect|detects|miss|misses)\b.{0,30}\b(?:of (?:the )?(?:actual|real|all))?", text) and \
            re.search(r"\b(?:what|how much|how many|percent|%|share|proportion)\b", text):
        return "recall"
    return next((m for k, m in METRICS.items() if re.search(rf"\b{k}\b", text)), None)


def _metrics_all(text: str) -> list[str]:
    found = []
    for key, metric in METRICS.items():
        if re.search(rf"\b{key}\b", text) and metric not in found:
            found.append(metric)
    return found


def _incident_filters(text: str) -> dict[str, str]:
    out = {}
    for key, words in _INCIDENT_WORDS.items():
        for word, value in words.items():
            if re.search(rf"\b{re.escape(word)}", text):
                out[key] = value
                break
    return out


# -- helpers ---------------------------------------------------------------------------------------
def _best(scores: dict[str, float]) -> str | None:
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def _continues_model(clause: _Clause, state: SessionState, model_id: str) -> bool:
    """A short follow-up ("and the limitations?", "any open incidents?") in a conversation about a model."""
    return state.model_id == model_id and state.turns > 0 and len(clause.masked.split()) <= 5 and not clause.mentioned


def _asks(reading: Reading) -> bool:
    """The classifier is sure the message asks for an operation."""
    op, p = reading.top
    return op != "none" and p >= 0.5


def _yes_no(feature) -> bool:
    return feature.type == "categorical" and {str(v).lower() for v in feature.values or []} <= {"yes", "no", "true", "false", "y", "n"}


def _no_value(feature):
    return next((v for v in feature.values if str(v).lower() in {"no", "false", "n"}), feature.values[-1])


def _number(raw: str) -> float | int:
    value = parse_number(raw.strip())
    if value is None:
        value = float(_WORD_NUMBERS.get(raw.strip(), 0))
    return int(value) if float(value).is_integer() else value


_NUM_OR_WORD = rf"(?:{_NUM}|{'|'.join(_WORD_NUMBERS)})"
_GT = r"(?:over|above|more than|greater than|higher than|exceeding|in excess of|bigger than|larger than|older than|after|>)"
_GE = r"(?:at least|no less than|minimum of|>=|min)"
_LT = r"(?:under|below|less than|lower than|fewer than|smaller than|younger than|before|<)"
_LE = r"(?:at most|up to|no more than|maximum of|<=|max)"


def _numeric_conditions(name: str, before: str, after: str) -> list[Filter]:
    """Comparisons next to a numeric feature mention: "balance over $2,000", "more than 2 missed payments"."""
    out: list[Filter] = []
    if re.match(rf"^\s*{_NUM}", after):  # "over $80 a month": the comparison sits right before the number
        for rx, op in ((_GE, ">="), (_LE, "<="), (_GT, ">"), (_LT, "<")):
            if re.search(rf"\b{rx}\s*$", before):
                return [Filter(feature=name, op=op, value=_number(re.match(rf"^\s*({_NUM})", after).group(1)))]
        m = re.match(rf"^\s*({_NUM})[a-z ]{{0,12}}?\s*(\+|or more|or older|or over|or above|or fewer|or less|or younger|or under|or below)", after)
        if m:
            up = m.group(2) in {"+", "or more", "or older", "or over", "or above"}
            return [Filter(feature=name, op=">=" if up else "<=", value=_number(m.group(1)))]
    m = re.match(rf"^\s*(?:of |is |was |are |that is |that are |between )?(?:between|from) ({_NUM}) (?:and|to|-) ({_NUM})", after)
    if m:
        return [Filter(feature=name, op=">=", value=_number(m.group(1))), Filter(feature=name, op="<=", value=_number(m.group(2)))]
    for rx, op in ((_GE, ">="), (_LE, "<="), (_GT, ">"), (_LT, "<")):
        m = re.match(rf"^\s*(?:of |is |was |are |that is |that are |that's |with |at |for )?{rx}\s+({_NUM_OR_WORD})", after)
        if m:
            return [Filter(feature=name, op=op, value=_number(m.group(1)))]
    m = re.match(rf"^\s*(?:d |of |is |are )?\s*({_NUM})\s*(?:\w+\s+)?(\+|or more|or older|or over|or above|or fewer|or less|or younger|or under|or below)", after)
    if m:
        up = m.group(2) in {"+", "or more", "or older", "or over", "or above"}
        return [Filter(feature=name, op=">=" if up else "<=", value=_number(m.group(1)))]
    m = re.match(rf"^\s*(?:of |=|equal to |exactly |is |are )\s*({_NUM})(?!\s*(?:lower|higher|less|more))", after)
    if m and not re.search(r"\b(?:if|were|was|set|to)\s*$", after[:m.start(1)]):
        return [Filter(feature=name, op="==", value=_number(m.group(1)))]
    m = re.search(rf"(?:{rx_join()})\s+({_NUM_OR_WORD})\s*(?:or more\s+)?(?:\w+\s+)?$", before)
    if m:
        op = _op_for(m.group(0))
        return [Filter(feature=name, op=op, value=_number(m.group(1)))]
    m = re.search(rf"\bbetween ({_NUM}) and ({_NUM})\s*(?:\w+\s+)?$", before)
    if m:
        return [Filter(feature=name, op=">=", value=_number(m.group(1))), Filter(feature=name, op="<=", value=_number(m.group(2)))]
    m = re.search(rf"({_NUM_OR_WORD})\s*(\+|or more|or fewer|or less)\s+(?:\w+\s+)?$", before)
    if m:
        return [Filter(feature=name, op=">=" if m.group(2) in {"+", "or more"} else "<=", value=_number(m.group(1)))]
    if re.search(r"\b(?:no|zero|without|none)\s+(?:\w+\s+)?$", before) and not re.search(r"\bno (?:more|less|fewer)\b", before[-12:]):
        return [Filter(feature=name, op="==", value=0)]
    if re.search(r"\b(?:had|has|have|with|got|get|gets|getting)\s+(?:any|some)\s+(?:\w+\s+)?$", before):
        return [Filter(feature=name, op=">", value=0)]  # "purchases that had any discount"
    m = re.search(rf"\b(?:with|having|has|had)\s+({_NUM_OR_WORD})\s+(?:\w+\s+)?$", before)
    if m:
        return [Filter(feature=name, op="==", value=_number(m.group(1)))]
    return out


def rx_join() -> str:
    return "|".join([_GE, _LE, _GT, _LT])


def _op_for(phrase: str) -> str:
    for rx, op in ((_GE, ">="), (_LE, "<="), (_GT, ">"), (_LT, "<")):
        if re.match(rx, phrase.strip()):
            return op
    return "=="


_DOWN = {"lower", "less", "smaller", "down", "fewer", "cheaper", "shorter", "younger", "cut", "reduction", "discount",
         "decrease", "drop", "cooler", "colder", "lighter", "slower", "earlier", "weaker", "thinner", "narrower"}
# Comparatives of other quantities than money or counts: temperatures, weights, speeds, times.
_MORE_COMPARATIVES = "cooler|colder|lighter|slower|earlier|weaker|thinner|narrower|warmer|hotter|heavier|faster|later|" \
    "stronger|wider|deeper"
_UP_VERBS = r"(?:increas|rais|bump|add|up|grow|boost|gave|give|giv|took|take|extend)"
_DOWN_VERBS = r"(?:decreas|lower|reduc|cut|drop|trim|down|paid down|pay down|pays down|paid off|pay off|pays off|paying down|paying off)"


def _numeric_change(before: str, after: str) -> Any:
    """A what-if change next to a feature mention: "were $500 lower", "to 24", "increased by 10", "no late payments"."""
    amount_dir = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:were|was|is|went|got|goes|dropped|fell|rose|increased|decreased|came in|ended up|by|of)?\s*(?:by\s+)?({_NUM})\s*(?:usd|dollars|\w+)?\s*(lower|less|smaller|down|fewer|cheaper|shorter|higher|more|bigger|larger|up|greater|longer|older|{_MORE_COMPARATIVES}|raise|"
                          r"bump|boost|increase|extra|cut|reduction|discount|decrease|drop)\b", after)
    if amount_dir:
        return {"decrease" if amount_dir.group(2) in _DOWN else "increase": _number(amount_dir.group(1))}
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:dropped|fell|decreased|went down|reduced|cut|lowered)\s+(?:by\s+)?({_NUM})", after)
    if m:
        return {"decrease": _number(m.group(1))}
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:rose|increased|went up|grew|raised|climbed)\s+(?:by\s+)?({_NUM})", after)
    if m:
        return {"increase": _number(m.group(1))}
    m = re.match(rf"^\s*(?:\w+\s+){{0,1}}?by\s+({_NUM})", after)
    if m:
        verb = re.search(rf"\b({_UP_VERBS}|{_DOWN_VERBS})\w*\s+(?:\w+\s+){{0,3}}$", before)
        if verb:
            return {"decrease" if re.match(_DOWN_VERBS, verb.group(1)) else "increase": _number(m.group(1))}
    m = re.search(rf"\b({_DOWN_VERBS}|{_UP_VERBS})\w*\s+(?:by\s+)?({_NUM})\s+(?:of\s+)?(?:the |her |his |their |its )?$", before)
    if m:
        return {"decrease" if re.match(_DOWN_VERBS, m.group(1)) else "increase": _number(m.group(2))}
    m = re.search(rf"({_NUM_OR_WORD})\s+(higher|lower|more|less|bigger|smaller|larger|extra|additional|fewer)\s+(?:\w+\s+)?$", before)
    if m:
        return {"decrease" if m.group(2) in _DOWN else "increase": _number(m.group(1))}
    if re.search(r"\b(?:no|zero|without|none|any)\s+(?:\w+\s+)?$", before) and not re.search(r"\bno (?:more|less|fewer)\b", before[-12:]):
        return 0
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:were|was|is|to|of|at|=|becomes|became|went to|goes to|changed to|set to|dropped to|fell to|rose to|increased to|decreased to|of only|only)\s+(?:just |only |about |around )?({_NUM_OR_WORD})", after)
    if m:
        return _number(m.group(1))
    m = re.search(r"\b(?:set|change|make|put)\s+(?:\w+\s+){0,2}$", before)
    if m:
        n = re.match(rf"^\s*(?:to|at|=)\s+({_NUM})", after)
        if n:
            return _number(n.group(1))
    m = re.search(rf"(?:^|\s)(?:had|has|have|with|only|of)\s+(?:a |an )?({_NUM_OR_WORD})\s+(?:\w+\s+)?$", before)
    if m:
        return _number(m.group(1))
    m = re.match(rf"^\s*(?:of\s+)?({_NUM})(?!\s*(?:or|\+))", after)  # "the balance $1,200", "5 years old"
    if m:
        return _number(m.group(1))
    return None


# A number that counts reasons or rows ("top 3 reasons", "show me 5 of ..."), not an input's value.
_COUNTS = re.compile(r"\s*(?:most |main |biggest |top |key |largest )?(?:reasons?|factors?|features?|drivers?|segments?|"
                     r"inputs?|things|variables|of (?:the|its|their|our)\b)")
_COUNTED = re.compile(r"\b(?:top|first|main|biggest|largest|key|show me|list|give me)\s+$")


_TIMES = {"doubled": 2.0, "double": 2.0, "doubles": 2.0, "twice": 2.0, "tripled": 3.0, "triple": 3.0, "triples": 3.0,
          "halved": 0.5, "half": 0.5, "halves": 0.5, "quadrupled": 4.0}


def _multiplier(before: str, after: str, *, percent_unit: bool = False) -> float | None:
    """A change stated as a multiple: "vibration doubled", "twice the revenue", "half the rent", "income up 20%",
    "a 20% raise", "10% less". On an input measured in percent, "5% higher" is five points (not a multiple)."""
    m = re.match(r"^\s*(?:\w+\s+){0,2}?(doubled|doubles|tripled|triples|halved|halves|quadrupled)\b", after) or \
        re.search(r"\b(double|doubled|twice|triple|tripled|half|halved)\s+(?:the\s+|its\s+|their\s+|her\s+|his\s+|as\s+much\s+)?$",
                  before)
    if m:
        return _TIMES[m.group(1)]
    if percent_unit:
        return None
    m = re.match(r"^\s*(?:\w+\s+){0,2}?(?:went |goes |were |was |is |got |rose |fell |dropped |increased |decreased )?"
                 r"(up|down|higher|lower|more|less|increased|decreased|rose|fell|dropped|cut|raised)?\s*(?:by\s+)?"
                 r"(\d+(?:\.\d+)?)\s*(?:%|percent)\s*(higher|lower|more|less|up|down|bigger|smaller|increase|decrease|"
                 r"raise|cut|drop|reduction|cheaper|dearer|longer|shorter)?", after) or \
        re.search(r"\b(?:a|an|by)?\s*(\d+(?:\.\d+)?)\s*(?:%|percent)\s+(raise|increase|bump|boost|cut|drop|reduction|"
                  r"decrease|higher|lower|more|less|bigger|smaller)\s+(?:in\s+|on\s+|to\s+)?(?:the\s+|its\s+|their\s+)?$", before)
    if not m:
        return None
    if m.re.pattern.startswith("^"):
        word = m.group(3) or m.group(1)
        pct = float(m.group(2))
    else:
        word, pct = m.group(2), float(m.group(1))
    if not word:
        return None
    down = word in {"down", "lower", "less", "smaller", "decrease", "decreased", "fell", "dropped", "cut", "drop",
                    "reduction", "cheaper", "shorter"}
    return 1 - pct / 100 if down else 1 + pct / 100


def _in_range(model, feature: str, raw: str) -> bool:
    """`raw` lies within the values the model's records hold for a numeric `feature`."""
    try:
        column = model.records[feature]
        return float(column.min()) <= float(raw) <= float(column.max())
    except (KeyError, TypeError, ValueError):
        return False


def question_like(text: str) -> bool:
    """Asks rather than tells: a question mark, or an opening question word."""
    return "?" in text or bool(re.match(r"\s*(?:what|why|how|which|who|is|are|does|do|can|could|should|would|will|ok|okay)\b", text))


def _top_k(text: str) -> dict[str, int]:
    m = re.search(rf"\b(?:top|first|main|biggest|largest|key)\s+({_NUM_OR_WORD})\b", text) or \
        re.search(rf"\b({_NUM_OR_WORD})\s+(?:most|main|biggest|top|key|largest)?\s*(?:reasons|factors|features|drivers|segments|inputs|things|variables)\b", text) or \
        re.search(rf"\b({_NUM_OR_WORD}) of (?:the|its|their|our) (?:[\w']+ ){{0,3}}(?:worst|biggest|largest|main|top|most)\b", text)
    if m:
        value = _number(m.group(1))
        if 1 <= value <= 20:
            return {"top_k": int(value)}
    return {}


def _dedupe(filters: list[Filter]) -> list[Filter]:
    seen, out = set(), []
    for f in filters:
        key = (f.feature, f.op, str(f.value).lower())
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _advance(state: SessionState, steps: list[Step]) -> SessionState:
    """The state a later clause of the same message sees."""
    state = state.model_copy(deep=True)
    for step in steps:
        args = step.arguments
        if args.get("model_id"):
            if args["model_id"] != state.model_id:
                state.record_id, state.filters = None, []
            state.model_id = args["model_id"]
        if args.get("record_id"):
            state.record_id = args["record_id"]
        if "filters" in args:
            state.filters = [Filter.model_validate(f) for f in args["filters"]]
        if step.name == "what_if":
            state.last_feature = next(iter(args.get("changes") or {}), None)
            state.last_changes = dict(args["changes"])
        if args.get("feature"):
            state.last_feature = args["feature"]
        state.last_op = step.name
        state.last_args = dict(args)
        state.pending = None
    return state
