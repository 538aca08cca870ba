"""MODELDESK_GUARD_BUDGETS: per-role budgets and the cross-account ("model") limits, with clear errors."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from assistant.guard.budgets import DEFAULT_BUDGETS, DEFAULT_MODEL_BUDGET, budgets_from, model_budget_from


def test_a_role_and_the_model_limits_are_overridden_from_one_json_value():
    value = '{"analyst": {"synthetic": {"warn": 5}}, "model": {"harvest": 300}}'
    budgets = budgets_from(value)
    assert budgets["analyst"].synthetic.warn == 5
    assert budgets["analyst"].synthetic.refuse == DEFAULT_BUDGETS["analyst"].synthetic.refuse
    assert budgets["business"] == DEFAULT_BUDGETS["business"]
    model = model_budget_from(value)
    assert model.harvest == 300 and model.harvest_min == DEFAULT_MODEL_BUDGET.harvest_min
    assert model_budget_from('{"business": {"cooldown": 60}}') == DEFAULT_MODEL_BUDGET


@pytest.mark.parametrize("value", ['{"model": {"harvest": "lots"}}', '{"model": [1, 2]}', '{"nobody": {}}', "not json"])
def test_bad_budgets_are_a_clear_configuration_error(value):
    with pytest.raises(ConfigError, match="MODELDESK_GUARD_BUDGETS"):
        budgets_from(value)
        model_budget_from(value)
