"""Tool calls proposed by an LLM, checked like any plan before anything runs.

Schema first (the tool's pydantic arguments), then the registry: an unknown model, record, feature
or value is an error, never a guess. A plan with any error is not used at all; the deterministic
planner's is. Checking reuses the code the tools run with (filters, changes, coercion), so what
passes here is what the tools accept.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import ValidationError

from assistant.conversation.planner import Step
from assistant.conversation.tools import TOOLS
from assistant.errors import AssistantError
from assistant.models.features import coerce
from assistant.models.filters import Filter, apply_filters
from assistant.models.registry import Registry
from assistant.models.whatif import resolve_changes
from knowledge.documents import AttackType, DocType, Severity, Status

MAX_CALLS = 5  # more than a question needs: a runaway plan is rejected, not cut short
_CHOICES = {"doc_type": set(get_args(DocType)), "status": set(get_args(Status)),
            "severity": set(get_args(Severity)), "attack_type": set(get_args(AttackType))}


def check_calls(calls: list[dict[str, Any]], registry: Registry) -> tuple[list[Step], list[str]]:
    """The steps to run, and every problem found (a non-empty list means: do not use this plan)."""
    problems: list[str] = []
    steps: list[Step] = []
    if len(calls) > MAX_CALLS:
        return [], [f"{len(calls)} tool calls; at most {MAX_CALLS} are accepted from one plan"]
    for call in calls:
        name = str(call.get("name") or "")
        raw = call.get("args")
        if not isinstance(raw, dict):
            problems.append(f"{name or 'a tool call'}: arguments are not a JSON object")
            continue
        try:
            arguments = _check(name, raw, registry)
        except (AssistantError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        step = Step(name=name, arguments=arguments)
        if step not in steps:
            steps.append(step)
    return steps, problems


def _check(name: str, raw: dict[str, Any], registry: Registry) -> dict[str, Any]:
    if name not in TOOLS:
        raise ValueError(f"no such tool; the tools are {', '.join(TOOLS)}")
    # JSON null for an optional argument means "not given"; LLMs write it often.
    args = {k: v for k, v in raw.items() if v is not None and v != ""}
    try:
        parsed = TOOLS[name].args.model_validate(args)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                   for e in exc.errors())) from None
    extra = set(args) - set(TOOLS[name].args.model_fields)
    if extra:
        raise ValueError(f"unknown argument(s) {', '.join(sorted(extra))}")
    for key, allowed in _CHOICES.items():
        value = getattr(parsed, key, None)
        if value is not None and value not in allowed:
            raise ValueError(f"{key} {value!r} is not one of {', '.join(sorted(allowed))}")
    if getattr(parsed, "query", None) is not None and not str(parsed.query).strip():
        raise ValueError("the search query is empty")
    model_id = getattr(parsed, "model_id", None)
    if not model_id:
        return args
    model = registry.get(model_id)  # NotFound names the known models
    record = None
    if getattr(parsed, "record_id", None):
        record = model.record(parsed.record_id)
        args["record_id"] = str(record.name)  # the stored spelling of an id matched case-insensitively
    if getattr(parsed, "feature", None):
        args["feature"] = _feature(model, parsed.feature)
    filters: list[Filter] = getattr(parsed, "filters", None) or []
    if filters:
        apply_filters(model, model.records, filters)  # unknown columns and values raise, as in the tools
    if name == "what_if":
        args["changes"] = {_feature(model, k): v for k, v in parsed.changes.items()}
        resolve_changes(model, record.to_dict(), args["changes"])
    if getattr(parsed, "inputs", None):
        args["inputs"] = {_feature(model, k): v for k, v in parsed.inputs.items()}
        for feature, value in args["inputs"].items():
            coerce(model.spec.feature(feature), value)
    return args


def _feature(model: Any, name: str) -> str:
    """The feature's name as model.yaml declares it, from its name or a declared alias (any case)."""
    wanted = str(name).strip().lower()
    for f in model.spec.features:
        if wanted in {f.name.lower(), f.label.lower(), *(a.lower() for a in f.aliases)}:
            return f.name
    return model.spec.feature(str(name)).name  # raises NotFound with the closest names
