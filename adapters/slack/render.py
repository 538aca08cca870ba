"""Block Kit from the typed `Answer`: the tier card (tier, action, reasons), the answer, citations as
context, and feedback buttons. Refusals and errors are plain sections.

Nothing here decides what a role may see: the Answer is already shaped by the engine's output
policy (no probabilities for business users); this only lays it out for Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.answer import Answer

FEEDBACK_BLOCK = "modeldesk_feedback"
FEEDBACK_UP = "modeldesk_feedback_up"
FEEDBACK_DOWN = "modeldesk_feedback_down"
FEEDBACK_ACTION = re.compile(rf"^({FEEDBACK_UP}|{FEEDBACK_DOWN})$")

SECTION_CHARS = 2900  # Slack allows 3,000 characters in a section's text
MAX_CARDS = 5
MAX_CITATIONS = 10  # a context block holds at most 10 elements
FALLBACK_CHARS = 3000
RECORD_TOOLS = {"predict", "explain"}


@dataclass
class Card:
    """One record's tier as a tool reported it."""

    who: str
    tier: str
    action: str
    meaning: str = ""
    rank: int | None = None
    count: int | None = None
    label: str = "Risk tier"
    reasons: list[str] = field(default_factory=list)


@dataclass
class Message:
    """What is posted: `text` (notifications, screen readers, clients without blocks) and the blocks."""

    text: str
    blocks: list[dict[str, Any]]


def answer_message(answer: Answer, answer_id: str | None = None) -> Message:
    """The message for an answer; `answer_id` adds feedback buttons that name it."""
    if answer.refused:
        return refusal_message(answer, answer_id)
    blocks: list[dict[str, Any]] = []
    cards = tier_cards(answer)
    for card in cards[:MAX_CARDS]:
        blocks += _card_blocks(card)
    if not _covered_by_cards(answer, cards):
        if blocks:
            blocks.append({"type": "divider"})
        blocks += [_section(chunk) for chunk in _chunks(mrkdwn(answer.text))]
    elif answer.context:
        blocks.insert(0, _context([mrkdwn(f"_{answer.context}_")]))
    if answer.citations:
        blocks.append(_context([f"[{i}] *{escape(c.title)}* · {c.doc_type.replace('_', ' ')}"
                                for i, c in enumerate(answer.citations[:MAX_CITATIONS], 1)]))
    if answer_id:
        blocks.append(feedback_block(answer_id))
    return Message(text=_fallback(answer, cards), blocks=blocks)


def refusal_message(answer: Answer, answer_id: str | None = None) -> Message:
    """A refusal, plainly: what was declined and, when there is one, what can be asked instead."""
    reason = answer.refusal.reason if answer.refusal else answer.text
    lines = [f"*I can't help with that.* {escape(reason)}"]
    if answer.refusal and answer.refusal.alternative:
        lines.append(escape(answer.refusal.alternative))
    text = "\n".join(lines)
    blocks: list[dict[str, Any]] = [_section(text)]
    if answer_id:
        blocks.append(feedback_block(answer_id))
    return Message(text=_plain(text), blocks=blocks)


def error_message(message: str) -> Message:
    """A request that could not be answered (unknown record, empty question...), in the core's words."""
    text = escape(message)
    return Message(text=text, blocks=[_section(f":warning: {text}")])


def working_message(user: str, question: str) -> Message:
    """The message a slash command's thread hangs from: who asked what."""
    text = f"<@{user}> asked: {escape(question)}"
    return Message(text=text, blocks=[_section(text)])


def feedback_block(answer_id: str) -> dict[str, Any]:
    def button(action_id: str, label: str) -> dict[str, Any]:
        return {"type": "button", "action_id": action_id, "value": answer_id,
                "text": {"type": "plain_text", "text": label, "emoji": True}}

    return {"type": "actions", "block_id": FEEDBACK_BLOCK,
            "elements": [button(FEEDBACK_UP, "👍 Helpful"), button(FEEDBACK_DOWN, "👎 Not helpful")]}


def feedback_thanks(rating: str) -> str:
    return f"Thanks, your {'👍' if rating == 'up' else '👎'} on this answer is recorded."


# -- tiers from tool results --------------------------------------------------------------------
def tier_cards(answer: Answer) -> list[Card]:
    """A card per record whose tier a tool reported (predict, explain, what_if, counterfactual)."""
    cards: dict[str, Card] = {}
    for call in answer.tool_calls:
        result = call.result
        if call.error or not isinstance(result, dict):
            continue
        if call.name == "predict" and "tier" in result:
            _merge(cards, _card(result))
        elif call.name == "explain" and isinstance(result.get("prediction"), dict):
            card = _card(result["prediction"])
            card.reasons = [r["text"] for r in result.get("reasons") or [] if isinstance(r, dict) and r.get("text")]
            _merge(cards, card)
        elif call.name in ("what_if", "counterfactual") and isinstance(result.get("after"), dict):
            if call.name == "counterfactual" and not result.get("found", True):
                continue
            card = _card(result["after"])
            card.label = "Tier after the change"
            cards[f"{call.name}:{card.who}:{len(cards)}"] = card
    if not cards:  # a writer that stated a tier without a record-level tool result
        for fact in answer.facts:
            if fact.label == "tier":
                cards["fact"] = Card(who="", tier=str(fact.value), action="")
                break
    return list(cards.values())


def _card(p: dict[str, Any]) -> Card:
    entity = str(p.get("entity") or "record")
    who = f"{entity.capitalize()} {p['record_id']}" if p.get("record_id") else "This case"
    return Card(who=who, tier=str(p.get("tier", "")), action=str(p.get("action", "")),
                meaning=str(p.get("meaning") or ""), rank=p.get("tier_rank"), count=p.get("tier_count"))


def _merge(cards: dict[str, Card], card: Card) -> None:
    """predict and explain on the same record make one card (the reasons join the tier)."""
    key = f"record:{card.who}"
    if key in cards:
        cards[key].reasons = cards[key].reasons or card.reasons
    else:
        cards[key] = card


def _covered_by_cards(answer: Answer, cards: list[Card]) -> bool:
    """Whether the cards say everything the text says (record-level predict/explain, nothing else)."""
    calls = answer.tool_calls
    return bool(cards) and bool(calls) and len(cards) <= MAX_CARDS and all(
        c.name in RECORD_TOOLS and c.error is None and isinstance(c.result, dict)
        and (c.name != "predict" or "tier" in c.result) and (c.name != "explain" or "prediction" in c.result)
        for c in calls)


def _card_blocks(card: Card) -> list[dict[str, Any]]:
    tier = f"*{escape(card.tier)}*"
    if card.rank and card.count:
        tier += f" (tier {card.rank} of {card.count}, lowest risk first)"
    fields = [{"type": "mrkdwn", "text": f"*{card.label}*\n{tier}"}]
    if card.action:
        fields.append({"type": "mrkdwn", "text": f"*Recommended action*\n{escape(card.action)}"})
    head = " ".join(p for p in (f"*{escape(card.who)}*" if card.who else "", escape(card.meaning)) if p)
    section: dict[str, Any] = {"type": "section", "fields": fields}
    if head:
        section["text"] = {"type": "mrkdwn", "text": head}
    blocks = [section]
    if card.reasons:
        reasons = "\n".join(f"{i}. {escape(r)}" for i, r in enumerate(card.reasons, 1))
        blocks.append(_section(f"*Why*\n{reasons}"))
    return blocks


def _fallback(answer: Answer, cards: list[Card]) -> str:
    if _covered_by_cards(answer, cards):
        card = cards[0]
        text = f"{card.who}: {card.tier}" + (f". Recommended action: {card.action}." if card.action else "")
        return _plain(text)
    return _plain(mrkdwn(answer.text))[:FALLBACK_CHARS]


# -- Markdown to Slack mrkdwn ----------------------------------------------------------------------
def escape(text: str) -> str:
    """Slack's three control characters, so no text (a document, a question) can ping @channel or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(markdown: str) -> str:
    """The engine's Markdown in Slack's mrkdwn: bold, headings, links, bullets; everything escaped."""
    text = escape(markdown)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    text = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", text, flags=re.M)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", text)
    text = re.sub(r"^(\s*)[-*] ", r"\1• ", text, flags=re.M)
    return text


def _plain(text: str) -> str:
    return re.sub(r"(?<!\w)[*_](.+?)[*_](?!\w)", r"\1", text)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(texts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts]}


def _chunks(text: str) -> list[str]:
    """The text in section-sized pieces, split between paragraphs (or lines) where possible."""
    chunks: list[str] = []
    current = ""
    for para in text.split("\n\n"):
        while len(para) > SECTION_CHARS:
            cut = para.rfind("\n", 0, SECTION_CHARS)
            cut = cut if cut > 0 else SECTION_CHARS
            if current:
                chunks.append(current)
                current = ""
            chunks.append(para[:cut])
            para = para[cut:].lstrip("\n")
        candidate = f"{current}\n\n{para}" if current else para
        if len(candidate) > SECTION_CHARS:
            chunks.append(current)
            current = para
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks[:40] or [" "]
