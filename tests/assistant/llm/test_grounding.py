"""The grounding check: text from an LLM may state only what this answer's tool results hold."""

from __future__ import annotations

import pytest

from assistant.conversation.tools import Toolbox, run_tool
from assistant.conversation.writer import TemplateWriter
from assistant.llm import grounding


@pytest.fixture(scope="module")
def predicted(registry_all):
    result = run_tool(Toolbox(registry_all), "predict", {"model_id": "credit-default", "record_id": "C-10293"})
    return [("predict", result)]


@pytest.fixture(scope="module")
def explained(registry_all):
    result = run_tool(Toolbox(registry_all), "explain", {"model_id": "credit-default", "record_id": "C-10293"})
    return [("explain", result)]


def problems(text, results, role, registry):
    draft = TemplateWriter().write("q", results, role)
    ev = grounding.evidence(results, role, draft.text, registry)
    return grounding.check(grounding.apply_policy(text, role), ev, role, len(draft.citations))


def test_a_faithful_rephrasing_passes(predicted, registry_all):
    r = predicted[0][1]
    text = f"C-10293 sits in the {r.tier} risk tier. {r.meaning} What to do: {r.action}."
    assert problems(text, predicted, "business", registry_all) == []
    analyst = f"C-10293 is {r.tier}, with a default probability of {r.probability:.2f}."
    assert problems(analyst, predicted, "analyst", registry_all) == []


def test_fabricated_numbers_tiers_ids_and_reasons_are_caught(predicted, explained, registry_all):
    r = predicted[0][1]
    wrong_tier = next(t.name for t in registry_all.get("credit-default").spec.risk_tiers if t.name != r.tier)
    assert any("tier" in p for p in problems(f"C-10293 is in the {wrong_tier} risk tier.", predicted, "business",
                                              registry_all))
    assert any("1,234" in p for p in problems(f"C-10293 ({r.tier}) owes $1,234 more than average.", predicted,
                                               "analyst", registry_all))
    assert any("C-10400" in p for p in problems(f"Like C-10400, C-10293 is {r.tier}.", predicted, "business",
                                                 registry_all))
    reasons = {c.feature for c in explained[0][1].reasons}
    absent = next(f.label for f in registry_all.get("credit-default").spec.features
                  if f.name not in reasons and f.name not in ("region",))
    found = problems(f"C-10293's tier is driven mainly by {absent}.", explained, "business", registry_all)
    assert any(absent in p for p in found)
    top = explained[0][1].reasons[0]
    flipped = "lowered" if top.direction == "raised" else "raised"
    found = problems(f"Her {top.label} of {top.display} {flipped} the risk.", explained, "business", registry_all)
    assert any("the results say" in p for p in found)
    assert problems(f"Her {top.label} of {top.display} {top.direction} the risk.", explained, "business",
                    registry_all) == []


def test_business_users_never_get_a_probability_in_any_wording(predicted, registry_all):
    r = predicted[0][1]
    for text in (f"C-10293 is {r.tier} (probability {r.probability:.2f}).",
                 f"There is a {r.probability:.0%} chance that C-10293 defaults.",
                 f"C-10293 is {r.tier}; likelihood of default: {r.probability:.2f}."):
        assert any("probability" in p or "number" in p for p in problems(text, predicted, "business", registry_all)), text


def test_analysts_read_probabilities_at_two_decimals():
    assert grounding.apply_policy("probability 0.12345 and 0.5", "analyst") == "probability 0.12 and 0.5"
    assert grounding.apply_policy("probability 0.12345", "security") == "probability 0.12345"


def test_shares_may_be_written_as_percentages(registry_all):
    result = run_tool(Toolbox(registry_all), "predict", {"model_id": "credit-default",
                                                         "filters": [{"feature": "region", "op": "==", "value": "West"}]})
    top = result.tiers[-1]
    text = f"Of the {result.count:,} customers in the West, {top.count:,} ({top.share:.0%}) are {top.tier} risk."
    assert problems(text, [("predict", result)], "business", registry_all) == []
    assert problems(text.replace(f"{top.share:.0%}", "97%"), [("predict", result)], "business", registry_all)


def test_quotations_must_come_from_the_documents_found(registry_all, demo_knowledge):
    toolbox = Toolbox(registry_all, demo_knowledge, role="business")
    result = run_tool(toolbox, "search_knowledge", {"query": "limitations of the churn model", "model_id": "customer-churn"})
    passage = result.passages[0]
    words = passage.text.split()
    real = " ".join(words[len(words) // 2: len(words) // 2 + 8])
    results = [("search_knowledge", result)]
    assert problems(f"The model card says: “{real}” [1]", results, "business", registry_all) == []
    invented = "the churn model is certified accurate for every small-business account"
    assert any("quotation" in p for p in problems(f"It says “{invented}” [1]", results, "business", registry_all))
    assert any("[7]" in p for p in problems(f"It says “{real}” [7]", results, "business", registry_all))
