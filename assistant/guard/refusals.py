"""Refusals in plain words: what was refused, why in one sentence, and what the asker can do instead."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer import Refusal


@dataclass(frozen=True)
class Wording:
    what: str
    why: str
    instead: str


WORDING: dict[str, Wording] = {
    "model_internals": Wording(
        "I can't share the model's internal workings — its coefficients, weights, exact thresholds or rules.",
        "Those details would let someone copy the model or game it.",
        "I can tell you which inputs matter most overall, or the top reasons behind a specific case's risk tier."),
    "bulk_extraction": Wording(
        "I can't list scores, predictions or records in bulk.",
        "Bulk outputs can be used to rebuild the model and would expose customers' data.",
        "I can give you the risk tier for a specific customer, a short list of up to 10, or a count of how many in a "
        "group fall in each tier."),
    "membership_inference": Wording(
        "I can't say whether a particular person's data was used to train a model.",
        "That would disclose personal information about them.",
        "I can describe, from the model card, what data the model was trained on in general."),
    "inversion": Wording(
        "I can't reconstruct a person's data or training records from the model.",
        "That would reveal private information the model was trained on.",
        "I can summarise the typical profile of a group of customers, or explain a specific customer's tier."),
    "prompt_injection": Wording(
        "I can't follow instructions that try to change how I work, reveal my configuration, or widen your access.",
        "My rules and your role's permissions don't change from inside a conversation.",
        "Ask me about a model, a customer's risk tier and its reasons, or the documents I can cite."),
    "evasion_coaching": Wording(
        "I can't help work out how a case could avoid being flagged.",
        "For a model that screens fraud or abuse, that would teach someone how to slip past it.",
        "I can explain why a specific case was flagged, or how the model performs overall."),
    "probing": Wording(
        "I've stopped answering this kind of question about this model for now.",
        "Your recent questions follow a systematic pattern that can be used to map or copy the model, and budgets "
        "per person keep that from happening.",
        "You can still ask about the risk tier and reasons for specific customers; for a larger analysis, contact "
        "the model's owner."),
    "locked": Wording(
        "Model questions from your account are paused for a while.",
        "Your recent questions triggered the guardrails against probing the models; the security team has been "
        "notified.",
        "Documents, policies and FAQs can still be searched. If this is a mistake, appeal to your security team: "
        "their alert lists the questions that triggered the pause, and they can lift it at once."),
    "unavailable": Wording(
        "I can't answer prediction questions right now.",
        "The service that keeps the guardrails' records is unreachable, and predictions are not served without them.",
        "Questions about documents, policies and model cards still work; please try again in a few minutes."),
}


def refusal(category: str, *, detail: str | None = None) -> Refusal:
    """The Refusal for a category; `detail` (e.g. when a lock ends) is added to the reason."""
    w = WORDING.get(category, WORDING["prompt_injection"])
    reason = w.why if not detail else f"{w.why} {detail}"
    return Refusal(category=category, reason=reason, alternative=w.instead)


def text(r: Refusal) -> str:
    """The message a user reads."""
    w = WORDING.get(r.category)
    what = w.what if w else "I can't help with that."
    return " ".join(p for p in (what, r.reason, r.alternative) if p)
