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

from assistant.conversation.lexicon import ModelLexicon, ValueMention, build, normalise
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


class Planner(Protocol):
    def plan(self, question: str, state: SessionState, model_hint: str | None = None) -> Plan: ...


# -- operation cues: general English, weighted ---------------------------------------------------
CUES: dict[str, list[tuple[str, float]]] = {
    "explain": [(r"\bwhy\b", 3), (r"\breasons?\b", 2.5), (r"\bexplain", 2.5), (r"\bexplanation", 2.5),
                (r"\bhow come\b", 3), (r"\bwhat(?:'s| is| are)? (?:driving|behind|causing)\b", 3),
                (r"\bdrivers?\b", 1.5), (r"\bfactors?\b", 1.5), (r"\bcontribut", 1.5), (r"\bbecause\b", 1),
                (r"\bjustif", 2), (r"\bwhat made\b", 2.5), (r"\bwhat led\b", 2.5), (r"\bbreak(?:s)? down\b", 1),
                (r"\bleading to\b", 1.5), (r"\bpushing\b", 1.5), (r"\braised\b|\braising\b", 1)],
    "what_if": [(r"\bwhat if\b", 4), (r"\bsuppose\b", 3), (r"\bimagine\b", 2.5), (r"\bhypothetical", 3),
                (r"\bscenario\b", 2), (r"\bwhat happens\b", 2.5), (r"\bwould (?:it|that|the|her|his|their|they|she|he)\b.{0,40}\b(?:change|move|go|be|drop|become)\b", 2),
                (r"\bif (?:she|he|they|her|his|their|the|its|it|this|that|we|i|balance|income)\b.{0,60}\b(?:were|was|had|increased|decreased|dropped|rose|went|paid|switched|moved|changed|cut|doubled|halved|became|got|reduced|raised|lowered|added|is)\b", 3),
                (r"\b(?:were|was) (?:\$?[\d.,]+k?|\w+) (?:lower|higher|less|more|smaller|bigger|larger)\b", 3),
                (r"\bset (?:the |her |his |their |its )?\w[\w ]{0,30}? to\b", 3), (r"\bchange (?:the |her |his |their )?\w[\w ]{0,30}? to\b", 2.5),
                (r"\b(?:increase|decrease|raise|lower|reduce|cut|drop|bump|add)\w*\b.{0,40}\bby\b", 2.5),
                (r"\bif .{0,50}\b(?:instead|another|more|fewer|less)\b", 1.5)],
    "counterfactual": [(r"\bwhat would (?:it|they|she|he|the \w+|this \w+) (?:take|need)\b", 4),
                       (r"\bwhat (?:needs|has|would need) to change\b", 4), (r"\bsmallest change\b", 4),
                       (r"\bcounterfactual", 4), (r"\bhow (?:can|could|do|would|might) (?:we|they|she|he|i|it|the \w+|this \w+)\b.{0,40}\b(?:get|move|drop|fall|reach|lower|reduce|improve|qualify|go down|bring)\b", 3),
                       (r"\bwhat can (?:she|he|they|we|the \w+) do\b", 3.5), (r"\bto (?:get|move|drop|go) (?:down )?(?:to|into|out of|below) (?:a |the )?(?:lower|low|\w+) (?:tier|risk)\b", 2.5),
                       (r"\blower tier\b", 2), (r"\bget out of\b", 2.5), (r"\bminimum change\b", 4),
                       (r"\b(?:least|minimal) (?:it|they|she|he) (?:would|could) (?:have to|need to)\b", 3)],
    "feature_importance": [(r"\b(?:most|least) (?:important|influential|predictive)\b", 4), (r"\bimportan(?:ce|t)\b", 2),
                           (r"\bwhich (?:features|factors|inputs|variables|fields|attributes)\b", 2.5),
                           (r"\bmatters? (?:the )?most\b", 3), (r"\bmatter(?:s)? (?:for|to) the model\b", 3),
                           (r"\b(?:biggest|main|key|top) (?:drivers|factors|predictors|inputs|features)\b", 2.5),
                           (r"\bwhat does the model (?:look at|rely on|weigh|care about|pay attention)\b", 3),
                           (r"\bhow much (?:does|do) .{0,30}\b(?:matter|count|weigh|influence)\b", 3),
                           (r"\b(?:rank|ranking)\b", 1.5), (r"\bin general\b|\boverall\b|\bglobally\b|\bacross the (?:board|model)\b", 0.8),
                           (r"\bweight(?:s|ed)?\b", 1), (r"\binfluen", 1.5)],
    "performance": [(r"\baccura", 4), (r"\bprecision\b", 4), (r"\brecall\b", 4), (r"\bf1\b", 4), (r"\bauc\b|\broc\b", 4),
                    (r"\bperform", 3), (r"\bhow (?:good|well|reliable|trustworthy) is\b", 2.5), (r"\bfalse (?:positive|negative|alarm)", 3),
                    (r"\bcalibrat", 3), (r"\bhit rate\b", 3), (r"\bmetrics?\b", 3), (r"\bhow often is (?:it|the model) right\b", 4),
                    (r"\bhow (?:good|well) does\b", 2.5), (r"\bpredictive power\b", 3), (r"\bevaluat", 2)],
    "data_summary": [(r"\baverage\b|\bavg\b", 3), (r"\bmean\b", 2.5), (r"\bmedian\b", 3), (r"\bdistribution\b", 3),
                     (r"\bhow many\b", 1.5), (r"\btypical\b", 2), (r"\bsummar", 2.5), (r"\bstatistic", 3), (r"\bstats\b", 3),
                     (r"\bprofile\b", 2), (r"\bwhat does the data\b", 3), (r"\bbreakdown\b", 1.5), (r"\brange of\b", 2),
                     (r"\bcount of\b", 1.5), (r"\bnumber of (?:customers|records|transactions|policies|accounts|people)\b", 2),
                     (r"\bproportion\b|\bshare of\b|\bpercentage of\b|\bwhat percent", 1.5), (r"\bmix\b", 1.5)],
    "model_errors": [(r"\bwrong\b", 3), (r"\bmistake", 3.5), (r"\berrors?\b", 3), (r"\bmisclassif", 4), (r"\bweak (?:spots?|segments?|points?|areas?)\b", 3.5),
                     (r"\bstruggl", 3), (r"\bfails?\b|\bfailing\b", 2), (r"\bblind spots?\b", 4), (r"\bunderperform", 3),
                     (r"\bwhere (?:is|does) (?:it|the model) (?:worst|weakest|least accurate)\b", 4), (r"\bmiss(?:es|ing)? (?:the most|most)\b", 2.5),
                     (r"\bget(?:s)? (?:it )?wrong\b", 3), (r"\bleast accurate\b", 3), (r"\bworst\b", 1.5)],
    "define_feature": [(r"\bwhat (?:does|do) .{1,40}\bmean\b", 3), (r"\bdefin", 3), (r"\bmeaning of\b", 3.5),
                       (r"\bwhat (?:is|are) (?:a |an |the )?(?:feature|field|input|variable)\b", 2),
                       (r"\bhow is .{1,40}\b(?:measured|calculated|computed|defined)\b", 3.5),
                       (r"\bwhat counts as\b", 3), (r"\bunits?\b", 1.5), (r"\bwhat values\b", 2)],
    "describe_model": [(r"\bwhat does (?:the |this |that )?.{0,40}model do\b", 4), (r"\bdescribe\b", 3), (r"\btell me about\b", 2.5),
                       (r"\boverview\b", 3), (r"\bwhat does (?:it|the model) predict\b", 4), (r"\bwhat is the .{0,40}model\b", 2),
                       (r"\bwhat (?:inputs|features|data) does (?:it|the model|the .{0,20}model) use\b", 3),
                       (r"\bwhat kind of model\b|\bwhat type of model\b|\bwhich algorithm\b", 3.5), (r"\bwho owns\b", 1.5),
                       (r"\bwhat models?\b.{0,20}\b(?:do you have|are there|available)\b", 2)],
    "risk_tiers": [(r"\btiers?\b", 2), (r"\brisk (?:levels?|bands?|categories|buckets|grades?|classes)\b", 3.5),
                   (r"\bthresholds?\b", 2), (r"\bcut-?offs?\b", 2), (r"\bwhat does (?:a |the )?\w+ (?:tier|risk|rating|band) mean\b", 3),
                   (r"\bwhat (?:are|is) the (?:tiers|levels|bands)\b", 3.5), (r"\brecommended actions?\b", 1.5),
                   (r"\bwhat should (?:i|we) do (?:for|with|about) (?:a |an )?\w+ (?:tier|risk)\b", 3)],
    "search_knowledge": [(r"\blimitations?\b", 4), (r"\bcan (?:i|we) use\b", 3.5), (r"\bshould(?:n't| not)? (?:i|we) use\b", 3.5),
                         (r"\bintended (?:use|for)\b", 3.5), (r"\bpolic(?:y|ies)\b", 3), (r"\bfairness\b|\bbias(?:ed)?\b|\bdiscriminat", 3),
                         (r"\bmodel card\b", 4), (r"\bdocument", 2.5), (r"\bguidelines?\b|\bguidance\b", 2.5), (r"\brunbook\b|\bplaybook\b|\bprocedure\b", 3),
                         (r"\bescalat", 2.5), (r"\boverrid", 3), (r"\bprivacy\b|\bgdpr\b|\bpersonal data\b", 3),
                         (r"\bretrain", 2), (r"\batlas\b|\baml\.t\d+|\btechniques?\b|\bmitigations?\b|\btactics?\b", 3),
                         (r"\bout of scope\b|\bnot (?:be )?used for\b|\bappropriate\b|\bsuitable\b|\ballowed to\b|\bapproved? for\b", 2.5),
                         (r"\btrained on\b|\btraining data\b|\bhow was (?:it|the model) (?:trained|built|validated)\b", 2.5),
                         (r"\bwho (?:owns|maintains|to contact|do i contact)\b|\bcontact\b|\bowner\b", 2.5), (r"\bvalidat", 2),
                         (r"\bacceptable use\b", 4), (r"\bwhat (?:do|does) .{0,30}(?:say|says)\b", 2), (r"\bcase stud", 3),
                         (r"\bhow (?:often|frequently) (?:is|are) .{0,30}(?:retrained|updated|reviewed|validated)\b", 3),
                         (r"\bknown (?:issues|weaknesses|problems)\b", 3), (r"\bcaveats?\b", 3), (r"\bsegments? .{0,20}not\b", 1),
                         (r"\bsmall[- ]business\b|\bmortgages?\b|\bb2b\b|\bwires?\b|\bach\b", 1.5), (r"\bfaq\b", 3),
                         (r"\bhow do (?:i|we) (?:report|handle|respond)\b", 3), (r"\bwhat is (?:a |an )?(?:model extraction|membership inference|data poisoning|evasion|model inversion|prompt injection)\b", 3)],
    "list_incidents": [(r"\bincidents?\b", 4), (r"\battack(?:s|ed)?\b", 2.5), (r"\bbreach", 3), (r"\bsecurity (?:events?|issues?|problems?|history|record)\b", 3.5),
                       (r"\bbeen (?:attacked|compromised|poisoned|targeted|probed|tampered)\b", 3),
                       (r"\b(?:poisoning|extraction|evasion|membership inference|inversion|prompt injection)\b", 1.5),
                       (r"\bopen (?:cases|issues|investigations)\b", 2.5), (r"\binvestigat", 1.5), (r"\bwhat happened\b", 1.5)],
    "security_posture": [(r"\bsafe\b", 3.5), (r"\bposture\b", 4), (r"\b(?:trust|rely on|depend on)\b", 3), (r"\bcompromised\b", 2),
                         (r"\bhealthy\b|\bhealth\b", 2.5), (r"\bdrift", 3), (r"\bright now\b|\bcurrently\b|\btoday\b", 0.8),
                         (r"\bsecure\b", 3), (r"\bsecurity (?:status|state|standing|situation)\b", 4), (r"\bok to use\b|\bokay to use\b|\bfit (?:for|to) use\b", 3),
                         (r"\banomal", 2.5), (r"\bany (?:red flags|concerns|risks) (?:with|about|for) (?:the )?(?:\w+ )?model\b", 3)],
    "predict": [(r"\btier\b", 2), (r"\brisk (?:level|score|rating|grade|band)\b", 3), (r"\bscore\b", 2), (r"\bhow (?:risky|likely)\b", 3),
                (r"\bchance\b|\bprobability\b|\blikelihood\b|\bodds\b", 2), (r"\bflag(?:ged)?\b", 1.5), (r"\brisk\b", 1),
                (r"\bwill (?:she|he|they|it|the \w+|this \w+|[a-z]-?\d+)\b.{0,20}\b(?:churn|default|leave|cancel|quit|be fraud)", 3),
                (r"\bis (?:she|he|it|this|that|the \w+|[a-z]-?\d+) (?:high|low|medium|risky|fraud|likely)", 2.5),
                (r"\bpredict", 2), (r"\bwhat (?:is|'s) (?:the )?(?:status|rating|result)\b", 1.5), (r"\bhow many\b.{0,60}\b(?:high|low|medium|elevated|critical|risk|tier|likely|flagged)\b", 3),
                (r"\bcheck (?:on )?\b", 1), (r"\blook up\b|\blookup\b|\bpull up\b", 2), (r"\bassess", 1.5)],
}
_COMPILED = {op: [(re.compile(p), w) for p, w in cues] for op, cues in CUES.items()}

MODEL_OPS = {"predict", "explain", "what_if", "counterfactual", "feature_importance", "performance", "data_summary",
             "model_errors", "define_feature", "describe_model", "risk_tiers", "security_posture"}
RECORD_OPS = {"what_if", "counterfactual"}
COHORT_OPS = {"predict", "explain", "data_summary"}
METRICS = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "f1", "auc": "roc_auc",
           "roc": "roc_auc", "sensitivity": "recall"}
_SMALL_TALK = re.compile(r"^(?:hi|hello|hey|thanks|thank you|cheers|good (?:morning|afternoon|evening)|how are you|"
                         r"who are you|what can you do|help|ok|okay|bye)\b")
_RESET = re.compile(r"\b(?:start over|start again|reset|new (?:conversation|topic|question)|forget (?:that|it|everything|all)|"
                    r"clear (?:the )?(?:context|conversation|history))\b")
_ID = re.compile(r"(?<![\w-])([A-Za-z]{1,4}-\d{2,})(?![\w-])")
_NUM = r"[-+]?\$?\d[\d,]*(?:\.\d+)?\s*(?:k|m|bn|%)?(?![\w-])"
_NUM_RE = re.compile(_NUM)
_WORD_NUMBERS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "a dozen": 12}
_INCIDENT_WORDS = {
    "status": {"open": "open", "investigating": "investigating", "under investigation": "investigating",
               "mitigated": "mitigated", "closed": "closed", "resolved": "closed"},
    "severity": {"critical": "critical", "high severity": "high", "high-severity": "high", "medium severity": "medium",
                 "medium-severity": "medium", "low severity": "low", "low-severity": "low", "severe": "high"},
    "attack_type": {"poison": "poisoning", "extraction": "extraction", "extract": "extraction", "stealing": "extraction",
                    "evasion": "evasion", "evade": "evasion", "membership": "membership_inference",
                    "inversion": "inversion", "prompt injection": "prompt_injection", "jailbreak": "prompt_injection"},
}
_DOC_TYPES = {"model card": "model_card", "limitation": "limitations", "policy": "policy", "policies": "policy",
              "faq": "faq", "runbook": "runbook", "playbook": "runbook", "incident": "incident"}


@dataclass
class _Parsed:
    """What one clause mentions."""

    text: str
    records: list[tuple[str, list[str]]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


class RulePlanner:
    """The deterministic, offline planner."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.lexicons: dict[str, ModelLexicon] = build(registry)
        self.records: dict[str, list[str]] = {}
        for model in registry:
            for record_id in model.records.index:
                self.records.setdefault(str(record_id).upper(), []).append(model.id)

    # -- entry point --------------------------------------------------------------------------
    def plan(self, question: str, state: SessionState, model_hint: str | None = None) -> Plan:
        text = normalise(question)
        plan = Plan()
        if _RESET.search(text):
            plan.reset = True
            state = state.reset()
            text = _RESET.sub(" ", text).strip(" .,!?;:-")
            text = re.sub(r"^(?:and|ok|okay|so|now|please)\b", "", text).strip(" .,!?;:-")
            if len(text) < 3:
                return plan
        clauses = self._clauses(text)
        for clause in clauses:
            sub = self._plan_clause(clause, state, model_hint)
            plan.context += [c for c in sub.context if c not in plan.context]
            if sub.clarify:
                plan.clarify, plan.options = sub.clarify, sub.options
                break
            for step in sub.steps:
                if step not in plan.steps:
                    plan.steps.append(step)
            if sub.steps:
                state = _advance(state, sub.steps)
        if not plan.steps and not plan.clarify:
            plan.out_of_scope = True
        return plan

    def _clauses(self, text: str) -> list[str]:
        parts = [p.strip() for p in re.split(r"\?+|;|(?<=[a-z0-9])\.\s+|\s+also[,:]?\s+", text) if p.strip()]
        return [p for p in parts if re.search(r"[a-z0-9]", p)] or [text]

    # -- one clause ---------------------------------------------------------------------------
    def _plan_clause(self, text: str, state: SessionState, model_hint: str | None) -> Plan:
        plan = Plan()
        if _SMALL_TALK.match(text) and len(text.split()) <= 6:
            return plan
        record_ids = [m.group(1).upper() for m in _ID.finditer(text)]
        known = [(r, self.records.get(r, [])) for r in record_ids]
        clean = _ID.sub(" ", text)
        model_scores = self._model_scores(clean)
        mentioned = _best(model_scores)

        # Which model: mentioned > the record's > the caller's hint > the conversation's.
        record_models = sorted({m for _, ms in known for m in ms})
        model_id = None
        if mentioned:
            model_id = mentioned
        elif len(record_models) == 1:
            model_id = record_models[0]
        elif len(record_models) > 1:
            return Plan(clarify=f"{known[0][0]} exists in several models. Which one do you mean?",
                        options=record_models)
        elif model_hint and model_hint in self.registry.models:
            model_id = model_hint
        elif state.model_id in self.registry.models:
            model_id = state.model_id
            plan.context.append(f"model {model_id}")
        elif len(self.registry.models) == 1:
            model_id = next(iter(self.registry.models))

        ops = self._operations(clean, bool(known), bool(state.record_id))
        lexicon = self.lexicons.get(model_id) if model_id else None
        features = lexicon.find_features(clean) if lexicon else []
        values = lexicon.find_values(clean) if lexicon else []

        record_id = None
        if known:
            record_id = known[0][0]
            if known[0][1] == [] and model_id is None:
                return Plan(clarify=f"I could not find {record_id} in any model. Which model should I look in?",
                            options=sorted(self.registry.models))
        elif state.record_id and (model_id == state.model_id or not mentioned):
            record_id = state.record_id

        filters = self._filters(clean, lexicon, features, values) if lexicon else []
        follow_up = not ops and state.last_op is not None
        if follow_up:
            ops = [state.last_op if not known or state.last_op in RECORD_OPS | COHORT_OPS else "predict"]
            plan.context.append(f"the previous question ({state.last_op.replace('_', ' ')})")
        if not ops:
            if known or (filters and re.search(r"\bhow many\b", clean)):
                ops = ["predict"]
            elif filters:
                ops = ["data_summary"] if re.search(r"\bhow many\b|\bcount\b|\bnumber\b", clean) else ["predict"]
            elif mentioned or features:
                ops = ["describe_model"] if not features else ["define_feature"]
            else:
                return plan  # nothing we recognise: out of scope
        if "what_if" in ops and "counterfactual" in ops:
            ops.remove("counterfactual" if self._changes(clean, lexicon, features, values, None) else "what_if")

        # Cohort carry-over: "and only for students?" adds to the current cohort.
        cohort_follow = bool(filters) and state.filters and re.search(r"\b(?:only|just|also|and|those|them|of them|among)\b", clean) \
            and model_id == state.model_id and not known
        if cohort_follow:
            filters = [f for f in state.filters if f.feature not in {g.feature for g in filters}] + filters
            plan.context.append("the current cohort")
        elif not filters and not known and state.filters and model_id == state.model_id and (follow_up or not record_id) \
                and any(op in COHORT_OPS for op in ops) and re.search(r"\b(?:them|those|these|they|this group|that group|the cohort|why)\b", clean):
            filters = list(state.filters)
            plan.context.append("the current cohort")

        if filters and not known:
            record_id = None  # a cohort question is not about the previous record
        if record_id and record_id == state.record_id and not known and any(op in RECORD_OPS | COHORT_OPS for op in ops):
            plan.context.append(f"{self._entity(model_id)} {record_id}")

        for op in ops:
            step = self._step(op, clean, model_id, record_id, filters, features, values, lexicon, state)
            if isinstance(step, Plan):
                return step
            if step is not None:
                plan.steps.append(step)
        return plan

    def _entity(self, model_id: str | None) -> str:
        return self.registry.get(model_id).spec.entity if model_id else "record"

    def _model_scores(self, text: str) -> dict[str, float]:
        scores: dict[str, float] = {}
        for model_id, lex in self.lexicons.items():
            spec = lex.model.spec
            score = 0.0
            if re.search(rf"(?<![\w-]){re.escape(model_id.lower())}(?![\w-])", text) or \
                    re.search(rf"\b{re.escape(normalise(model_id).replace('-', ' '))}\b", text.replace("-", " ")):
                score += 5
            label = normalise(spec.positive_label)
            if re.search(rf"\b{re.escape(label)}", text):
                score += 3
            for token in lex.name_tokens:
                if re.search(rf"\b{re.escape(token[:max(4, len(token) - 2)])}", text):
                    score += 1.5
            if score:
                scores[model_id] = score
        return scores

    def _operations(self, text: str, named_record: bool, context_record: bool) -> list[str]:
        scores = {op: sum(w for rx, w in cues if rx.search(text)) for op, cues in _COMPILED.items()}
        scores = {op: s for op, s in scores.items() if s > 0}
        if not scores:
            return []
        has_record = named_record or context_record
        # Disambiguation by context rather than by phrase lists: a named record makes questions
        # about one prediction likelier than questions about the model as a whole.
        if named_record:
            for op, delta in (("predict", 1.5), ("risk_tiers", -1.5), ("describe_model", -1.5), ("define_feature", -1)):
                if op in scores:
                    scores[op] += delta
        if has_record or re.search(r"\b(?:she|he|her|his|they|them|their|this customer|that customer)\b", text):
            scores["feature_importance"] = scores.get("feature_importance", 0) - 2
            scores["data_summary"] = scores.get("data_summary", 0) - 1
        else:
            scores["what_if"] = scores.get("what_if", 0) - (1 if scores.get("what_if", 0) < 4 else 0)
            scores["counterfactual"] = scores.get("counterfactual", 0) - 1.5
        if scores.get("explain", 0) and scores.get("feature_importance", 0) >= 3 and not has_record:
            scores["explain"] -= 2
        if scores.get("list_incidents", 0) >= 4 or scores.get("security_posture", 0) >= 3.5:
            scores["search_knowledge"] = scores.get("search_knowledge", 0) - 1.5
        if scores.get("define_feature", 0) and scores.get("risk_tiers", 0) >= 3:
            scores["define_feature"] -= 2
        ranked = sorted(((s, op) for op, s in scores.items() if s >= 1.5), reverse=True)
        if not ranked:
            return []
        top_score, top = ranked[0]
        ops = [top]
        # Two things asked at once: "the tier for C-1 and why?", "score it and explain".
        for score, op in ranked[1:]:
            pair = {top, op}
            if pair == {"predict", "explain"} and score >= 2 and re.search(r"\band\b|\bplus\b|\balso\b|,", text):
                ops.append(op)
        if "predict" in ops and "explain" in ops:
            ops.sort(key=lambda o: 0 if o == "predict" else 1)
        return ops

    # -- arguments ----------------------------------------------------------------------------
    def _step(self, op, text, model_id, record_id, filters, features, values, lexicon, state) -> Step | Plan | None:
        if op in MODEL_OPS and model_id is None:
            return Plan(clarify="Which model do you mean?", options=sorted(self.registry.models))
        args: dict[str, Any] = {}
        if op in MODEL_OPS:
            args["model_id"] = model_id
        if op in ("predict", "explain"):
            if record_id and not filters:
                args["record_id"] = record_id
            elif filters:
                args["filters"] = [f.model_dump() for f in filters]
            elif op == "explain" and not re.search(r"\b(?:this|that|the) (?:customer|record|one|transaction|policy)\b|\b(?:she|he|her|his)\b", text):
                return Step(name="feature_importance", arguments={"model_id": model_id, **_top_k(text)})
            elif op == "predict":
                if re.search(r"\bhow many\b|\ball\b|\bcustomers\b|\bportfolio\b|\bbook\b", text):
                    pass  # the whole population as a cohort
                else:
                    return Plan(clarify=f"Which {self._entity(model_id)} do you mean? Give me an id such as "
                                f"{self._example_id(model_id)}.", options=[])
            if op == "explain":
                args.update(_top_k(text))
        elif op in RECORD_OPS:
            if not record_id:
                return Plan(clarify=f"Which {self._entity(model_id)} should I use? Give me an id such as "
                            f"{self._example_id(model_id)}.", options=[])
            args["record_id"] = record_id
            if op == "what_if":
                changes = self._changes(text, lexicon, features, values, state)
                if not changes and state.last_op == "what_if" and state.last_changes and state.model_id == model_id:
                    changes = dict(state.last_changes)  # "what about C-10300?" after a what-if: same change
                if not changes:
                    return Plan(clarify="What should I change? For example: \"what if the balance were $500 lower?\"",
                                options=[])
                args["changes"] = changes
        elif op == "feature_importance":
            args.update(_top_k(text))
            if features and re.search(r"\bhow (?:much|important)\b|\brank\b|\bwhere does\b|\bdoes .{1,30}\bmatter\b", text):
                args["feature"] = features[0].feature
        elif op == "performance":
            metric = next((m for k, m in METRICS.items() if re.search(rf"\b{k}", text)), None)
            if metric:
                args["metric"] = metric
        elif op == "data_summary":
            if filters:
                args["filters"] = [f.model_dump() for f in filters]
        elif op == "model_errors":
            args.update(_top_k(text))
        elif op == "define_feature":
            if not features:
                return Plan(clarify="Which input do you mean? For example: " + ", ".join(
                    f.label for f in self.registry.get(model_id).spec.features[:4]) + ".", options=[])
            args["feature"] = features[0].feature
        elif op == "search_knowledge":
            args["query"] = text
            if model_id and (self._model_scores(text) or record_id or state.model_id == model_id):
                args["model_id"] = model_id
            doc_type = next((d for k, d in _DOC_TYPES.items() if re.search(rf"\b{k}", text)), None)
            if doc_type:
                args["doc_type"] = doc_type
        elif op == "list_incidents":
            if model_id and self._model_scores(text):
                args["model_id"] = model_id
            elif model_id and state.model_id == model_id and re.search(r"\b(?:it|this model|that model|the model)\b", text):
                args["model_id"] = model_id
            for key, words in _INCIDENT_WORDS.items():
                for word, value in words.items():
                    if re.search(rf"\b{re.escape(word)}", text):
                        args[key] = value
                        break
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
                negated = bool(re.search(r"\b(?:not|non|no|without|isn't|aren't|never)\s*-?\s*(?:a |an )?$", before))
                if re.search(r"\b(?:status|mean|means|defin)\b", after[:15]) or re.search(r"\bwhat (?:is|does)\s*(?:the )?$", before):
                    continue
                out.append(Filter(feature=feature.name, op="==", value=no if negated else yes))
        for value in values:
            out.append(Filter(feature=value.feature, op="!=" if value.negated else "==", value=value.value))
        # "older than 30" / "younger than 25": comparisons on the age-like feature without naming it.
        age = next((f for f in spec.features if f.type == "numeric" and re.search(r"(?:^|_)age(?:$|_)", f.name)
                    and (f.unit or "years").startswith("year")), None)
        if age and not any(f.feature == age.name for f in out):
            for word, op in (("older than", ">"), ("over the age of", ">"), ("younger than", "<"), ("under the age of", "<")):
                m = re.search(rf"\b{word} ({_NUM})", text)
                if m:
                    out.append(Filter(feature=age.name, op=op, value=_number(m.group(1))))
        return _dedupe(out)

    def _changes(self, text, lexicon, features, values, state) -> dict[str, Any]:
        if lexicon is None:
            return {}
        changes: dict[str, Any] = {}
        spec = lexicon.model.spec
        for mention in features:
            feature = spec.feature(mention.feature)
            after = text[mention.end:mention.end + 45]
            before = text[max(0, mention.start - 45):mention.start]
            change = _numeric_change(before, after) if feature.type == "numeric" else None
            if change is not None:
                changes[feature.name] = change
            elif feature.type == "boolean" or _yes_no(feature):
                negated = bool(re.search(r"\b(?:not|non|no|without|didn't|wasn't|weren't)\s*(?:a |an )?$", before)) or \
                    bool(re.search(r"^\s*(?:were|was)? ?(?:off|removed|false|no)\b", after))
                yes = (feature.values or [1])[0] if _yes_no(feature) else 1
                no = _no_value(feature) if _yes_no(feature) else 0
                changes[feature.name] = no if negated else yes
        for value in values:
            if value.feature not in changes:
                changes[value.feature] = value.value
        if not changes and state is not None and state.last_feature:
            # "what if it were 20 lower?": the feature changed last time.
            feature = spec.feature_names and state.last_feature in spec.feature_names and spec.feature(state.last_feature)
            if feature and feature.type == "numeric":
                change = _numeric_change("", text)
                if change is not None:
                    changes[feature.name] = change
        return changes


# -- helpers ---------------------------------------------------------------------------------------
def _best(scores: dict[str, float]) -> str | None:
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


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
_GT = r"(?:over|above|more than|greater than|higher than|exceeding|in excess of|bigger than|larger than|>)"
_GE = r"(?:at least|no less than|minimum of|>=|min)"
_LT = r"(?:under|below|less than|lower than|fewer than|smaller than|<)"
_LE = r"(?:at most|up to|no more than|maximum of|<=|max)"


def _numeric_conditions(name: str, before: str, after: str) -> list[Filter]:
    """Comparisons next to a numeric feature mention: "balance over $2,000", "more than 2 missed payments"."""
    out: list[Filter] = []
    m = re.match(rf"^\s*(?:of |is |was |are |that is |that are |between )?(?:between|from) ({_NUM}) (?:and|to|-) ({_NUM})", after)
    if m:
        return [Filter(feature=name, op=">=", value=_number(m.group(1))), Filter(feature=name, op="<=", value=_number(m.group(2)))]
    for rx, op in ((_GE, ">="), (_LE, "<="), (_GT, ">"), (_LT, "<")):
        m = re.match(rf"^\s*(?:of |is |was |are |that is |that are |that's |with |at )?{rx}\s+({_NUM_OR_WORD})", after)
        if m:
            return [Filter(feature=name, op=op, value=_number(m.group(1)))]
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


def _numeric_change(before: str, after: str) -> Any:
    """A what-if change next to a feature mention: "were $500 lower", "to 24", "increased by 10"."""
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:were|was|is|went|got|goes|dropped|fell|rose|increased|decreased|came in|ended up|by|of)?\s*(?:by\s+)?({_NUM})\s*(?:usd|dollars|\w+)?\s*(lower|less|smaller|down|fewer|cheaper|higher|more|bigger|larger|up|greater)\b", after)
    if m:
        amount = _number(m.group(1))
        return {"decrease" if m.group(2) in {"lower", "less", "smaller", "down", "fewer", "cheaper"} else "increase": amount}
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:dropped|fell|decreased|went down|reduced|cut|lowered)\s+(?:by\s+)?({_NUM})", after)
    if m:
        return {"decrease": _number(m.group(1))}
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:rose|increased|went up|grew|raised|climbed)\s+(?:by\s+)?({_NUM})", after)
    if m:
        return {"increase": _number(m.group(1))}
    m = re.match(rf"^\s*(?:\w+\s+){{0,1}}?by\s+({_NUM})", after)
    if m:
        verb = re.search(r"\b(increas|rais|bump|add|up|grow|boost|decreas|lower|reduc|cut|drop|trim|down)\w*\s+(?:\w+\s+){0,3}$", before)
        if verb:
            return {"increase" if verb.group(1) in {"increas", "rais", "bump", "add", "up", "grow", "boost"} else "decrease": _number(m.group(1))}
    m = re.match(rf"^\s*(?:\w+\s+){{0,2}}?(?:were|was|is|to|of|at|=|becomes|became|went to|goes to|changed to|set to|dropped to|fell to|rose to|increased to|decreased to|of only|only)\s+(?:just |only |about |around )?({_NUM})", after)
    if m:
        return _number(m.group(1))
    m = re.search(rf"\b(?:set|change|make|put)\s+(?:\w+\s+){{0,2}}$", before)
    if m:
        n = re.match(rf"^\s*(?:to|at|=)\s+({_NUM})", after)
        if n:
            return _number(n.group(1))
    m = re.search(rf"(?:^|\s)({_NUM})\s+(?:more|extra|additional|fewer|less)\s+(?:\w+\s+)?$", before)
    if m:
        return {"decrease" if re.search(r"fewer|less", before[m.start():]) else "increase": _number(m.group(1))}
    m = re.search(rf"(?:^|\s)(?:had|has|have|with|only)\s+({_NUM})\s+(?:\w+\s+)?$", before)
    if m:
        return _number(m.group(1))
    return None


def _top_k(text: str) -> dict[str, int]:
    m = re.search(rf"\b(?:top|first|main|biggest|largest|key)\s+({_NUM_OR_WORD})\b", text) or \
        re.search(rf"\b({_NUM_OR_WORD})\s+(?:most|main|biggest|top|key|largest)?\s*(?:reasons|factors|features|drivers|segments|inputs|things|variables)\b", text)
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
            state.last_feature = next(iter(args["changes"]), None)
            state.last_changes = dict(args["changes"])
        state.last_op = step.name
    return state
