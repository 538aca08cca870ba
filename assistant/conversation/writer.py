"""Writing: tool results into short, plain answers shaped by the asker's role.

Every number written here comes from a tool result in the same answer; statements drawn from
documents carry a citation marker. Business users get tiers and words, never raw probabilities;
analysts get probabilities rounded to two decimals.
"""

from __future__ import annotations

import re
from typing import Protocol

from pydantic import BaseModel

from assistant.answer import Citation, Fact
from assistant.models.describe import DataSummary, FeatureInfo, ModelInfo, RiskTiers
from assistant.models.evaluation import ModelErrors, Performance
from assistant.models.explain import CohortExplanation, Explanation, FeatureImportance
from assistant.models.predict import CohortSummary, Prediction
from assistant.models.whatif import Counterfactual, WhatIf
from assistant.posture import Posture

METRIC_NAMES = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1",
                "roc_auc": "ROC AUC"}


class Written(BaseModel):
    text: str
    facts: list[Fact] = []
    citations: list[Citation] = []


class Writer(Protocol):
    def write(self, question: str, results: list[tuple[str, BaseModel]], role: str) -> Written: ...


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


class TemplateWriter:
    """The default, deterministic writer."""

    def write(self, question: str, results: list[tuple[str, BaseModel]], role: str) -> Written:
        parts: list[str] = []
        facts: list[Fact] = []
        citations: list[Citation] = []
        for name, result in results:
            render = getattr(self, f"_{name}", None)
            text = render(result, role, facts, citations, question) if render else str(result)
            if text:
                parts.append(text)
        return Written(text="\n\n".join(parts), facts=facts, citations=citations)

    # -- predictions ---------------------------------------------------------------------------
    def _prob(self, p: float, role: str, label: str) -> str:
        return f" ({label} probability {p:.2f})" if role != "business" else ""

    def _predict(self, r: Prediction | CohortSummary, role, facts, citations, q) -> str:
        if isinstance(r, CohortSummary):
            return self._cohort(r, role, facts)
        facts.append(Fact(label="tier", value=r.tier, source="predict"))
        who = f"{r.entity.capitalize()} {r.record_id}" if r.record_id else "This case"
        text = (f"{who} is in the **{r.tier}** risk tier{self._prob(r.probability, role, r.positive_label)}. "
                f"{r.meaning} Recommended action: {r.action}.")
        if r.assumed:
            text += (" This is a described case, not a stored record; inputs you did not give were set to the "
                     f"records' typical values ({', '.join(a.replace('_', ' ') for a in r.assumed)}).")
        return text

    def _cohort(self, r: CohortSummary, role, facts) -> str:
        who = f"{r.entity}s" if r.count != 1 else r.entity
        scope = " with " + ", ".join(f.describe() for f in r.filters) if r.filters else ""
        facts.append(Fact(label="count", value=r.count, source="predict"))
        if not r.count:
            return f"No {r.entity}s match{scope}."
        lines = [f"Of {r.count:,} {who}{scope}:"]
        for t in reversed(r.tiers):
            lines.append(f"- **{t.tier}**: {t.count:,} ({_pct(t.share)}) — {t.action}")
        if role != "business" and r.mean_probability is not None:
            lines.append(f"Average probability: {r.mean_probability:.2f}.")
        return "\n".join(lines)

    def _explain(self, r: Explanation | CohortExplanation, role, facts, citations, q) -> str:
        if isinstance(r, CohortExplanation):
            scope = ", ".join(f.describe() for f in r.filters) or "all records"
            lines = [f"What drives risk for the {r.count:,} records with {scope}:" if r.filters
                     else "What drives risk across all records:"]
            lines += [f"{i}. {c.text}." for i, c in enumerate(r.reasons, 1)]
            return "\n".join(lines)
        p = r.prediction
        who = f"{p.entity.capitalize()} {p.record_id}" if p.record_id else "This case"
        lines = [f"{who} is **{p.tier}**{self._prob(p.probability, role, p.positive_label)} mainly because:"]
        for i, c in enumerate(r.reasons, 1):
            lines.append(f"{i}. {c.text}.")
        lines.append(f"Recommended action: {p.action}.")
        return "\n".join(lines)

    def _what_if(self, r: WhatIf, role, facts, citations, q) -> str:
        changes = "; ".join(f"{c.label} {c.old_display} → {c.new_display}" for c in r.changes)
        before = f"{r.before.tier}{self._prob(r.before.probability, role, r.before.positive_label)}"
        after = f"{r.after.tier}{self._prob(r.after.probability, role, r.after.positive_label)}"
        head = f"If {changes}" + (f" for {r.before.entity} {r.record_id}" if r.record_id else "") + ":"
        verdict = (f"the tier would move from **{before}** to **{after}**; recommended action: {r.after.action}."
                   if r.tier_changed else f"the tier would stay **{r.after.tier}** (before: {before}; after: {after}).")
        return f"{head} {verdict}"

    def _counterfactual(self, r: Counterfactual, role, facts, citations, q) -> str:
        who = f"{r.before.entity} {r.record_id}"
        if not r.found:
            return f"For {who} ({r.before.tier}): {r.note}."
        changes = " and ".join(f"{c.label} from {c.old_display} to {c.new_display}" for c in r.changes)
        return (f"The smallest change that moves {who} from **{r.before.tier}** to **{r.after.tier}**: "
                f"{changes}. Recommended action then: {r.after.action}.")

    # -- the model as a whole --------------------------------------------------------------------
    def _feature_importance(self, r: FeatureImportance, role, facts, citations, q) -> str:
        if r.feature:
            i = r.features[0]
            return f"{i.label.capitalize()} ranks #{i.rank} among the model's inputs ({_pct(i.share)} of its overall influence)."
        lines = ["The inputs that matter most to the model overall:"]
        lines += [f"{i.rank}. {i.label} ({_pct(i.share)} of influence)" for i in r.features]
        return "\n".join(lines)

    def _performance(self, r: Performance, role, facts, citations, q) -> str:
        metrics = [r.metric] if r.metric else list(METRIC_NAMES)
        shown = ", ".join(f"{METRIC_NAMES[m]} {r.metrics[m]:.2f}" if r.metrics[m] is not None
                          else f"{METRIC_NAMES[m]} not measurable (one class only)" for m in metrics)
        scope = " with " + ", ".join(f.describe() for f in r.filters) if r.filters else ""
        lines = [f"On {r.rows:,} labelled reference cases{scope} the model scores {shown}."]
        observed = [t for t in r.tiers if t.observed_rate is not None]
        if observed:
            lines.append("Observed outcome rate by tier: " + ", ".join(f"{t.tier} {_pct(t.observed_rate)}" for t in observed) + ".")
        return " ".join(lines)

    def _data_summary(self, r: DataSummary, role, facts, citations, q) -> str:
        scope = " with " + ", ".join(f.describe() for f in r.filters) if r.filters else ""
        lines = [f"{r.count:,} of {r.population:,} {r.entity}s{scope}."]
        for c in r.columns:
            if c.mean is not None:
                lines.append(f"- {c.label}: average {c.mean:,.2f}, median {c.median:,.2f}, range {c.min:,.2f}–{c.max:,.2f}")
            elif c.distribution:
                lines.append(f"- {c.label}: " + ", ".join(f"{k} {_pct(v)}" for k, v in list(c.distribution.items())[:4]))
        return "\n".join(lines)

    def _model_errors(self, r: ModelErrors, role, facts, citations, q) -> str:
        scope = " with " + ", ".join(f.describe() for f in r.filters) if r.filters else ""
        lines = [f"The model is wrong on {_pct(r.overall_error_rate)} of reference cases{scope}. It errs most in:"]
        lines += [f"- {s.label} {s.segment}: wrong {_pct(s.error_rate)} of the time ({s.count:,} cases)" for s in r.segments]
        return "\n".join(lines)

    def _define_feature(self, r: FeatureInfo, role, facts, citations, q) -> str:
        unit = f" (in {r.unit})" if r.unit else ""
        text = f"**{r.label.capitalize()}**{unit}: {r.description or 'an input to the model'}."
        if r.values:
            text += " Values: " + ", ".join(map(str, r.values)) + "."
        text += f" Typical values: {r.typical}."
        if r.importance_rank:
            text += f" It ranks #{r.importance_rank} in importance."
        return text

    def _describe_model(self, r: ModelInfo, role, facts, citations, q) -> str:
        tiers = ", ".join(f"{t.tier} ({t.action})" for t in r.tiers)
        return (f"**{r.name}** (`{r.model_id}`), owned by {r.owner}, estimates the chance of {r.positive_label} "
                f"for each {r.entity}. {r.description} It uses: {', '.join(f.label for f in r.features)}. "
                f"Risk tiers, lowest first: {tiers}.")

    def _risk_tiers(self, r: RiskTiers, role, facts, citations, q) -> str:
        lines = ["Risk tiers, lowest first:"]
        for t in r.tiers:
            share = f"; {_pct(t.share_of_records)} of records" if t.share_of_records is not None else ""
            band = f" (probability {t.min_probability:.2f}–{t.max_probability:.2f})" if role != "business" else ""
            lines.append(f"- **{t.tier}**{band}: {t.meaning} Action: {t.action}{share}.")
        return "\n".join(lines)

    # -- documents and security -----------------------------------------------------------------
    def _search_knowledge(self, r, role, facts, citations, q) -> str:
        if not r.knowledge_available:
            return "The knowledge base is unavailable right now, so I cannot answer from documents. Prediction questions still work."
        if not r.passages:
            return "I found nothing in the documents you can access that answers this."
        lines = []
        terms = {w for w in re.findall(r"[a-z]{4,}", q.lower())}
        for passage in r.passages[:3]:
            citations.append(Citation(doc_id=passage.doc_id, title=passage.title, doc_type=passage.doc_type,
                                      snippet=passage.snippet, section=passage.section))
            n = len(citations)
            if passage.flagged:
                lines.append(f"\"{passage.title}\" contains text that reads like instructions to an assistant; "
                             f"I quote it only as data: “{_clip(passage.snippet, 160)}” [{n}]")
                continue
            lines.append(f"{_best_sentences(passage.text, terms)} [{n}]")
        return "\n\n".join(lines)

    def _list_incidents(self, r, role, facts, citations, q) -> str:
        if not r.knowledge_available:
            return "The knowledge base is unavailable right now, so I cannot list incidents."
        scope = f" for {r.model_id}" if r.model_id else ""
        if not r.incidents:
            return f"No incidents on record{scope} that you can access."
        lines = [f"{r.count} incident{'s' if r.count != 1 else ''} on record{scope}:"]
        for i in r.incidents[:10]:
            lines.append(f"- {i.id} ({i.date or 'undated'}): {i.title} — {(i.attack_type or 'other').replace('_', ' ')}, "
                         f"{i.severity} severity, {i.status}")
            citations.append(Citation(doc_id=i.doc_id, title=i.title, doc_type="incident", snippet=i.title))
        return "\n".join(lines)

    def _probing_alerts(self, r, role, facts, citations, q) -> str:
        if not r.available:
            return "Probing alerts cannot be read right now: the guardrails' state store is unavailable or switched off."
        scope = f" on {r.model_id}" if r.model_id else ""
        facts.append(Fact(label="alerts", value=r.count, source="probing_alerts"))
        if not r.alerts:
            return f"No probing alerts{scope}."
        lines = [f"{r.count} recent probing alert{'s' if r.count != 1 else ''}{scope}, newest first:"]
        for a in r.alerts:
            lines.append(f"- {a.time} — **{a.level}** {a.principal} on {a.model_id or 'any model'}: {a.detail}")
        return "\n".join(lines)

    def _security_posture(self, r: Posture, role, facts, citations, q) -> str:
        facts.append(Fact(label="grade", value=r.grade, source="security_posture"))
        verdict = r.headline or {"Good": "usable", "Watch": "usable with care",
                                 "At risk": "not to be relied on without review"}[r.grade]
        lines = [f"**{r.model_id}: {r.grade}** — {verdict}."]
        lines += [f"- {reason}" for reason in r.reasons[:5]]
        for i in r.active_incidents[:5]:
            citations.append(Citation(doc_id=i.doc_id, title=i.title, doc_type="incident", snippet=i.title))
        if role in ("security", "admin"):
            lines += _posture_details(r)
        return "\n".join(lines)


def _posture_details(r: Posture) -> list[str]:
    """The measurements behind a posture, for the security role: every number from the posture itself."""
    lines = ["", "Details:"]
    if r.incidents_by_attack_type:
        lines.append("- Incidents on record: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in
                                                         r.incidents_by_attack_type.items())
                     + f"; {r.open_incidents} open, {r.closed_incidents} closed"
                     + ("; ATLAS " + ", ".join(f"{t} ({n})" for t, n in list(r.atlas_techniques.items())[:6])
                        if r.atlas_techniques else "") + ".")
    d = r.drift
    if d is not None:
        scope = f"{d.rows:,} recent inputs" + (f" from {d.since[:10]}" if d.since else "")
        if not d.judged:
            lines.append(f"- Drift: not judged, {scope} (at least {d.min_rows:,} needed).")
        shown = [f for f in d.features if f.level != "stable"] or d.features[:3]
        for f in shown[:6]:
            lines.append(f"- Drift, {f.feature}: {f.level}, PSI {f.psi:.2f}, {f.test.upper()} {f.statistic:.2f} "
                         f"(p {f.p_value:.3f}); {f.reference} → {f.recent} ({scope}).")
    a = r.anomalies
    if a is not None:
        lines.append(f"- Unusual inputs: {a.flagged:,} of {a.rows:,} ({a.share:.1%}; {a.expected_share:.0%} expected), "
                     f"{a.level if a.judged else 'not judged'}.")
    if r.alerts is not None:
        lines.append(f"- Probing alerts, last {r.alerts.days} days: {r.alerts.count}"
                     + (" (" + ", ".join(f"{k} {v}" for k, v in r.alerts.by_kind.items()) + ")" if r.alerts.by_kind else "")
                     + ".")
        for item in (r.alerts.items or [])[:5]:
            lines.append(f"  - {item.get('ts') or ''} {item.get('principal') or 'unknown'}: {item.get('kind')} "
                         f"({item.get('level')}) {item.get('detail') or ''}".rstrip())
    e = r.evaluation
    if e is not None:
        rates = ", ".join(f"{t.tier} {t.observed_rate:.0%}" for t in e.tiers if t.observed_rate is not None)
        lines.append(f"- Evaluation: reference data of {e.evaluated_on or 'unknown date'} ({e.source}); observed rate "
                     f"per tier {rates or 'not measured'}; tiers {'rank outcomes' if e.monotone else 'out of order'}.")
    p = r.provenance
    if p is not None:
        lines.append(f"- Provenance: {p.status.replace('_', ' ')}; artifact sha256 {p.artifact_sha256[:12]}… "
                     f"(version {p.registered_version or 'none'} registered {p.registered_at[:10]}).")
    audit = r.data_audit
    if audit is not None:
        f = audit.label_flips
        lines.append(f"- Data audit of {audit.rows:,} reference rows: {f.suspected} suspected label flips "
                     f"({f.share:.1%}; about {f.expected:.0f} expected by chance), {audit.outliers.count} outliers, "
                     f"{audit.duplicates.exact} exact and {audit.duplicates.near} near duplicates, "
                     f"{audit.balance.positive_share:.1%} {audit.balance.positive_label}.")
    t = r.retraining
    if t is not None:
        lines.append(f"- Retraining: {'due since ' + (t.since or '') if t.due else 'not due'}"
                     + (f" ({'; '.join(t.reasons)})" if t.reasons else "") + ".")
    return lines if len(lines) > 2 else []


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def _best_sentences(text: str, terms: set[str], limit: int = 2) -> str:
    """The passage's sentences that share most words with the question, in their original order."""
    body = re.sub(r"^#+ .*$", "", text, flags=re.M)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n{2,}|\n(?=[-*] )", body) if len(s.strip()) > 25]
    if not sentences:
        return _clip(text, 300)
    scored = sorted(range(len(sentences)),
                    key=lambda i: -len(terms & set(re.findall(r"[a-z]{4,}", sentences[i].lower()))))
    keep = sorted(scored[:limit])
    return _clip(" ".join(sentences[i].lstrip("-* ") for i in keep), 420)
