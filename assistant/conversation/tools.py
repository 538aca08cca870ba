"""The operations the assistant can perform, as typed tools (also LangChain StructuredTools).

Each tool has a pydantic argument schema and a docstring written for whoever plans the calls,
the deterministic planner or an LLM. Tools are registered in TOOLS, in one visible place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field

from assistant.errors import BadInput, NotAuthorized, Unavailable
from assistant.models import describe, evaluation, explain, predict, whatif
from assistant.models.filters import Filter
from assistant.models.registry import Registry
from assistant.posture import IncidentSummary, Posture, assess, incident_from_metadata


# -- argument schemas -------------------------------------------------------------------------
class ModelArgs(BaseModel):
    model_id: str = Field(description="Id of the model, e.g. credit-default.")


class PredictArgs(ModelArgs):
    record_id: str | None = Field(None, description="Entity id such as C-10293; omit for a cohort.")
    filters: list[Filter] = Field(default_factory=list, description="Cohort conditions that must all hold.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="A described case that is not a stored record: "
                                   "{feature: value}; inputs left out take the typical value of the records.")


class ExplainArgs(PredictArgs):
    top_k: int = Field(3, ge=1, le=10, description="How many reasons to give.")


class WhatIfArgs(ModelArgs):
    record_id: str
    changes: dict[str, Any] = Field(description='{"feature": value} or {"feature": {"increase"|"decrease": x}}')


class RecordArgs(ModelArgs):
    record_id: str


class ImportanceArgs(ModelArgs):
    top_k: int = Field(5, ge=1, le=20)
    feature: str | None = Field(None, description="Give one feature to get its rank instead of a list.")
    filters: list[Filter] = Field(default_factory=list, description="Measure on a segment of the reference data only.")


class PerformanceArgs(ModelArgs):
    metric: Literal["accuracy", "precision", "recall", "f1", "roc_auc"] | None = None
    filters: list[Filter] = Field(default_factory=list, description="Measure on a segment of the reference data only.")


class SummaryArgs(ModelArgs):
    filters: list[Filter] = Field(default_factory=list)
    feature: str | None = Field(None, description="Summarise only this input.")


class ErrorsArgs(ModelArgs):
    top_k: int = Field(5, ge=1, le=20)
    filters: list[Filter] = Field(default_factory=list, description="Look for errors within this segment only.")


class FeatureArgs(ModelArgs):
    feature: str


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for, in the user's words.")
    model_id: str | None = None
    doc_type: str | None = Field(None, description="model_card, limitations, policy, faq, runbook or incident.")
    top_k: int = Field(4, ge=1, le=10)


class IncidentArgs(BaseModel):
    model_id: str | None = None
    status: str | None = None
    severity: str | None = None
    attack_type: str | None = None


class AlertArgs(BaseModel):
    model_id: str | None = Field(None, description="Only alerts about this model.")
    principal: str | None = Field(None, description="Only alerts about this person or service account.")
    top_k: int = Field(10, ge=1, le=50)


class AlertSummary(BaseModel):
    id: str
    time: str
    principal: str
    model_id: str | None = None
    kind: str
    level: str
    detail: str
    queries: list[str] = []


class AlertList(BaseModel):
    model_id: str | None
    count: int
    alerts: list[AlertSummary]
    available: bool = True


class IncidentList(BaseModel):
    model_id: str | None
    count: int = 0
    incidents: list[IncidentSummary]
    knowledge_available: bool = True


class Passage(BaseModel):
    doc_id: str
    title: str
    doc_type: str
    section: str
    snippet: str
    text: str
    model_id: str | None = None
    flagged: bool = False
    relevance: float | None = Field(None, description="How close the passage is to the question in meaning (cosine).")


class SearchOutcome(BaseModel):
    query: str
    passages: list[Passage]
    knowledge_available: bool = True


# -- the toolbox --------------------------------------------------------------------------------
@dataclass
class Toolbox:
    """The dependencies the tools need: the model registry and (optionally) the knowledge base."""

    registry: Registry
    knowledge: Any = None  # knowledge.base.KnowledgeBase; None runs models-only
    role: str = "business"
    monitor: Any = None  # assistant.monitoring: recent inputs, drift and anomalies for posture; None skips them
    alerts: Callable[[str], list[dict]] | None = None  # probing alerts for a model id, from the guardrails
    guard: Any = None  # assistant.guard.Guard, for the security team's probing-alert questions

    def predict(self, args: PredictArgs) -> predict.Prediction | predict.CohortSummary:
        """Risk tier and recommended action for one record (record_id), a described case (inputs), or tier
        counts for a cohort (filters)."""
        model = self.registry.get(args.model_id)
        if args.record_id:
            return predict.predict_record(model, args.record_id)
        if args.inputs:
            return predict.predict_described(model, args.inputs)
        return predict.predict_cohort(model, args.filters)

    def explain(self, args: ExplainArgs) -> explain.Explanation | explain.CohortExplanation:
        """Top reasons behind one record's risk tier, or what drives risk across a cohort (filters)."""
        model = self.registry.get(args.model_id)
        if args.record_id:
            return explain.explain(model, args.record_id, top_k=args.top_k)
        return explain.explain_cohort(model, args.filters, top_k=args.top_k)

    def what_if(self, args: WhatIfArgs) -> whatif.WhatIf:
        """The tier before and after changing some of a record's inputs (set, increase or decrease)."""
        return whatif.what_if(self.registry.get(args.model_id), args.record_id, args.changes)

    def counterfactual(self, args: RecordArgs) -> whatif.Counterfactual:
        """The smallest change to inputs the customer can act on that moves the record to a lower tier."""
        return whatif.counterfactual(self.registry.get(args.model_id), args.record_id)

    def feature_importance(self, args: ImportanceArgs) -> explain.FeatureImportance:
        """Which inputs matter most to the model overall (or for a segment), or where one input ranks."""
        return explain.feature_importance(self.registry.get(args.model_id), args.top_k, args.feature, args.filters)

    def performance(self, args: PerformanceArgs) -> evaluation.Performance:
        """How accurate the model is on its labelled reference data, and the outcome rate per tier."""
        return evaluation.performance(self.registry.get(args.model_id), args.metric, args.filters)

    def data_summary(self, args: SummaryArgs) -> describe.DataSummary:
        """Counts, averages and distributions of the model's records, optionally for a cohort."""
        return describe.data_summary(self.registry.get(args.model_id), args.filters, args.feature)

    def model_errors(self, args: ErrorsArgs) -> evaluation.ModelErrors:
        """The segments where the model is most often wrong."""
        return evaluation.model_errors(self.registry.get(args.model_id), args.top_k, filters=args.filters)

    def define_feature(self, args: FeatureArgs) -> describe.FeatureInfo:
        """What an input means, its unit or categories, typical values and how much it matters."""
        return describe.define_feature(self.registry.get(args.model_id), args.feature)

    def describe_model(self, args: ModelArgs) -> describe.ModelInfo:
        """What the model predicts, who owns it, its inputs and its risk tiers."""
        return describe.describe_model(self.registry.get(args.model_id))

    def risk_tiers(self, args: ModelArgs) -> describe.RiskTiers:
        """The model's ranked risk tiers, what each means and the recommended action."""
        return describe.risk_tiers(self.registry.get(args.model_id))

    def search_knowledge(self, args: SearchArgs) -> SearchOutcome:
        """Passages from model cards, limitations, policies, FAQs, runbooks and incident records."""
        if args.model_id:
            self.registry.get(args.model_id)
        filters: dict[str, Any] = {}
        if args.model_id:
            filters["model_id"] = [args.model_id]
        if args.doc_type:
            filters["doc_type"] = [args.doc_type]
        results = self._search(args.query, filters, args.top_k)
        if results is None:
            return SearchOutcome(query=args.query, passages=[], knowledge_available=False)
        if not results and args.model_id:  # documents about no single model (policies) may still answer
            results = self._search(args.query, {k: v for k, v in filters.items() if k != "model_id"}, args.top_k) or []
        if not results and args.doc_type:  # no document of that kind: the nearest of any kind
            results = self._search(args.query, {k: v for k, v in filters.items() if k != "doc_type"}, args.top_k) or []
        return SearchOutcome(query=args.query, passages=[
            Passage(doc_id=r.doc_id, title=r.title, doc_type=r.doc_type, section=r.section, snippet=r.snippet,
                    text=r.quoted(), model_id=r.metadata.get("model_id") or None, flagged=r.flagged,
                    relevance=r.similarity)
            for r in results])

    def _search(self, query: str, filters: dict[str, Any], top_k: int):
        if self.knowledge is None:
            return None
        try:
            return self.knowledge.search(query, role=self.role, top_k=top_k, filters=filters or None)
        except Unavailable:
            return None

    def list_incidents(self, args: IncidentArgs) -> IncidentList:
        """Security incidents on record (attack type, severity, status, ATLAS techniques), newest first."""
        if args.model_id:
            self.registry.get(args.model_id)
        incidents = self._incidents(args.model_id, status=args.status, severity=args.severity,
                                    attack_type=args.attack_type)
        return IncidentList(model_id=args.model_id, count=len(incidents or []), incidents=incidents or [],
                            knowledge_available=incidents is not None)

    def _incidents(self, model_id: str | None, **conditions: str | None) -> list[IncidentSummary] | None:
        if self.knowledge is None:
            return None
        filters: dict[str, Any] = {"doc_type": ["incident"]}
        if model_id:
            filters["model_id"] = [model_id]
        filters.update({k: [v] for k, v in conditions.items() if v})
        try:
            rows = self.knowledge.documents(role=self.role, filters=filters)
        except Unavailable:
            return None
        return [incident_from_metadata(r) for r in rows]

    def probing_alerts(self, args: AlertArgs) -> AlertList:
        """Recent guardrail alerts (probing, sweeps, extraction attempts, locks), newest first; security team only."""
        if self.role not in ("security", "admin"):
            raise NotAuthorized("probing alerts are visible to the security team only")
        if args.model_id:
            self.registry.get(args.model_id)
        if self.guard is None:
            return AlertList(model_id=args.model_id, count=0, alerts=[], available=False)
        try:
            rows = self.guard.alerts(principal=args.principal, model_id=args.model_id, limit=args.top_k)
        except Unavailable:
            return AlertList(model_id=args.model_id, count=0, alerts=[], available=False)
        alerts = [AlertSummary(id=str(a.get("id")), time=_iso(a.get("ts", 0.0)), principal=str(a.get("principal")),
                               model_id=a.get("model_id"), kind=str(a.get("kind")), level=str(a.get("level")),
                               detail=str(a.get("detail", "")), queries=[str(q) for q in (a.get("queries") or [])[:3]])
                  for a in rows]
        return AlertList(model_id=args.model_id, count=len(alerts), alerts=alerts)

    def security_posture(self, args: ModelArgs) -> Posture:
        """Is the model safe to rely on now: a grade with reasons, from incidents and measurements."""
        model = self.registry.get(args.model_id)
        return assess(model, self._incidents(model.id), monitor=self.monitor, alerts=self.alerts,
                      show_principals=self.role in ("security", "admin"))


@dataclass(frozen=True)
class Tool:
    name: str
    args: type[BaseModel]
    method: Callable[[Toolbox, Any], BaseModel]

    @property
    def description(self) -> str:
        return (self.method.__doc__ or "").strip()


TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("predict", PredictArgs, Toolbox.predict),
    Tool("explain", ExplainArgs, Toolbox.explain),
    Tool("what_if", WhatIfArgs, Toolbox.what_if),
    Tool("counterfactual", RecordArgs, Toolbox.counterfactual),
    Tool("feature_importance", ImportanceArgs, Toolbox.feature_importance),
    Tool("performance", PerformanceArgs, Toolbox.performance),
    Tool("data_summary", SummaryArgs, Toolbox.data_summary),
    Tool("model_errors", ErrorsArgs, Toolbox.model_errors),
    Tool("define_feature", FeatureArgs, Toolbox.define_feature),
    Tool("describe_model", ModelArgs, Toolbox.describe_model),
    Tool("risk_tiers", ModelArgs, Toolbox.risk_tiers),
    Tool("search_knowledge", SearchArgs, Toolbox.search_knowledge),
    Tool("list_incidents", IncidentArgs, Toolbox.list_incidents),
    Tool("security_posture", ModelArgs, Toolbox.security_posture),
    Tool("probing_alerts", AlertArgs, Toolbox.probing_alerts),
]}


def _iso(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(ts or 0)))


def run_tool(toolbox: Toolbox, name: str, arguments: dict[str, Any]) -> BaseModel:
    """Validate arguments against the tool's schema and run it."""
    from pydantic import ValidationError

    if name not in TOOLS:
        from assistant.errors import not_found

        raise not_found("tool", name, list(TOOLS))
    tool = TOOLS[name]
    try:
        args = tool.args.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadInput(f"bad arguments for {name}: {problems}") from None
    return tool.method(toolbox, args)


def langchain_tools(toolbox: Toolbox) -> list[Any]:
    """The same tools as LangChain StructuredTools, for an LLM planner; results are JSON-ready dicts."""
    from langchain_core.tools import StructuredTool

    def make(tool: Tool):
        def call(**kwargs: Any) -> dict[str, Any]:
            return run_tool(toolbox, tool.name, kwargs).model_dump(mode="json")

        return StructuredTool.from_function(func=call, name=tool.name, description=tool.description,
                                            args_schema=tool.args)

    return [make(t) for t in TOOLS.values()]
