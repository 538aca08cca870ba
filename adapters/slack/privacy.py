"""Which answers may be posted in a channel, and which go to the asker only."""

from __future__ import annotations

import logging
from typing import Any

from assistant.answer import Answer
from assistant.errors import AssistantError

log = logging.getLogger("modeldesk.slack")

# Reads every access level, to learn a cited document's; nothing read here is shown to anyone.
_ALL_LEVELS_ROLE = "admin"


def draws_on_restricted(answer: Answer, knowledge: Any) -> bool:
    """True when a citation is a restricted document (or its access cannot be told: fail closed).

    Citations carry no access level, so it is read from the knowledge base's document metadata.
    """
    ids = sorted({c.doc_id for c in answer.citations})
    if not ids:
        return False
    if knowledge is None:
        return True
    try:
        rows = knowledge.documents(role=_ALL_LEVELS_ROLE, filters={"doc_id": ids})
    except AssistantError as exc:
        log.warning("cannot tell the access level of cited documents (%s); answering privately", exc.message)
        return True
    access = {row["doc_id"]: row.get("access") for row in rows}
    return any(access.get(doc_id, "restricted") not in ("public", "internal") for doc_id in ids)
