"""The `modeldesk` command line: translates arguments into core calls and results into tables or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from assistant.config import Settings, load_settings
from assistant.errors import AssistantError
from assistant.models import describe as describe_ops
from assistant.models import evaluation, explain as explain_ops, predict as predict_ops, whatif
from assistant.models.filters import Filter
from assistant.models.registry import Registry

app = typer.Typer(help="ModelDesk: explain ML predictions and model security posture.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Print the result as JSON.")


def _settings() -> Settings:
    return load_settings()


def _answering_threads(settings: Settings) -> None:
    """Small per-request embeddings run best on one thread each (ingestion keeps them all)."""
    import torch

    torch.set_num_threads(settings.torch_threads)


def _registry(settings: Settings) -> Registry:
    registry = Registry(settings.models_dirs)
    for problem in registry.problems:
        err.print(f"[yellow]warning:[/] {problem.message}")
    return registry


def _emit(result: BaseModel | list[BaseModel], as_json: bool, render) -> None:
    if as_json:
        data = [r.model_dump(mode="json") for r in result] if isinstance(result, list) else result.model_dump(mode="json")
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render(result)


def _pct(p: float | None) -> str:
    return "—" if p is None else f"{p:.0%}" if p >= 0.01 or p == 0 else f"{p:.1%}"


def _parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`balance=500`, `balance+=100`, `balance-=100` → the core's `changes` mapping."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        if "+=" in pair:
            name, value = pair.split("+=", 1)
            changes[name.strip()] = {"increase": value.strip()}
        elif "-=" in pair:
            name, value = pair.split("-=", 1)
            changes[name.strip()] = {"decrease": value.strip()}
        elif "=" in pair:
            name, value = pair.split("=", 1)
            changes[name.strip()] = value.strip()
        else:
            raise AssistantError(f"expected feature=value (or feature+=x / feature-=x), got {pair!r}")
    return changes


def _parse_filters(items: list[str]) -> list[Filter]:
    """`age>30`, `region==West`, `student=Yes` → filters."""
    out = []
    for item in items:
        for op in (">=", "<=", "!=", "==", ">", "<", "="):
            if op in item:
                name, value = item.split(op, 1)
                out.append(Filter(feature=name.strip(), op="==" if op == "=" else op, value=value.strip()))
                break
        else:
            raise AssistantError(f"expected a filter like age>30 or region==West, got {item!r}")
    return out


# -- models -----------------------------------------------------------------------------------
@app.command()
def models(as_json: bool = JsonOpt, check: bool = typer.Option(False, help="Load every artifact now.")) -> None:
    """List the registered models (and any that failed to load, with the reason)."""
    registry = _registry(_settings())
    if check:
        registry.check()
    rows = [m.spec for m in registry]
    if as_json:
        data = {"models": [{"id": s.id, "name": s.name, "owner": s.owner, "entity": s.entity,
                            "adversarial": s.adversarial, "tiers": [t.name for t in s.risk_tiers]} for s in rows],
                "problems": [p.__dict__ for p in registry.problems]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(title="Models")
    table.add_column("id", no_wrap=True)
    for col in ("name", "owner", "entity", "risk tiers"):
        table.add_column(col)
    for s in rows:
        table.add_row(s.id, s.name, s.owner, s.entity, " < ".join(t.name for t in s.risk_tiers))
    console.print(table)
    if not rows:
        console.print("No models found. Run `modeldesk demo` or set MODELDESK_MODELS_PATH.")


def _print_prediction(p: predict_ops.Prediction) -> None:
    who = f"{p.entity} {p.record_id}" if p.record_id else "these values"
    console.print(f"[bold]{p.model_id}[/] · {who}: [bold]{p.tier}[/] risk (tier {p.tier_rank} of {p.tier_count}, "
                  f"{p.positive_label} probability {p.probability:.2f})")
    console.print(f"  Meaning: {p.meaning}")
    console.print(f"  Recommended action: [bold]{p.action}[/]")


@app.command()
def predict(model: str, record: Optional[str] = typer.Argument(None), values: list[str] = typer.Option(
        [], "--set", help="Score explicit values instead: --set balance=1850 (repeat)."), as_json: bool = JsonOpt) -> None:
    """Risk tier, recommended action and probability for one record (or explicit values)."""
    m = _registry(_settings()).get(model)
    result = (predict_ops.predict_values(m, _parse_assignments(values), base_record=record) if values
              else predict_ops.predict_record(m, _need(record)))
    _emit(result, as_json, _print_prediction)


def _need(record: str | None) -> str:
    if not record:
        raise AssistantError("give a record id (or --set feature=value for explicit values)")
    return record


@app.command()
def explain(model: str, record: str, top_k: int = typer.Option(3, "--top-k"), as_json: bool = JsonOpt) -> None:
    """The tier, its action and the top reasons for one record, in plain words."""
    result = explain_ops.explain(_registry(_settings()).get(model), record, top_k=top_k)

    def render(e: explain_ops.Explanation) -> None:
        _print_prediction(e.prediction)
        console.print("  Top reasons:")
        for i, r in enumerate(e.reasons, 1):
            console.print(f"   {i}. {r.text}.")

    _emit(result, as_json, render)


@app.command("what-if")
def what_if(model: str, record: str, changes: list[str] = typer.Argument(..., help="feature=value, feature+=x, feature-=x"),
            as_json: bool = JsonOpt) -> None:
    """Old versus new tier after changing some of a record's inputs."""
    result = whatif.what_if(_registry(_settings()).get(model), record, _parse_assignments(changes))

    def render(w: whatif.WhatIf) -> None:
        for c in w.changes:
            console.print(f"  {c.label}: {c.old_display} → {c.new_display}")
        console.print(f"  Before: [bold]{w.before.tier}[/] ({w.before.probability:.2f}) — {w.before.action}")
        console.print(f"  After:  [bold]{w.after.tier}[/] ({w.after.probability:.2f}) — {w.after.action}")

    _emit(result, as_json, render)


@app.command()
def counterfactual(model: str, record: str, as_json: bool = JsonOpt) -> None:
    """The smallest change to actionable inputs that would move the record to a lower tier."""
    result = whatif.counterfactual(_registry(_settings()).get(model), record)

    def render(c: whatif.Counterfactual) -> None:
        console.print(f"  Now: [bold]{c.before.tier}[/] ({c.before.probability:.2f})")
        if not c.found:
            console.print(f"  No counterfactual: {c.note}.")
            return
        for ch in c.changes:
            console.print(f"  Change {ch.label}: {ch.old_display} → {ch.new_display}")
        console.print(f"  Then: [bold]{c.after.tier}[/] ({c.after.probability:.2f}) — {c.after.action}")

    _emit(result, as_json, render)


@app.command()
def cohort(model: str, filters: list[str] = typer.Argument(None, help="age>30 region==West ..."), as_json: bool = JsonOpt) -> None:
    """How many records in a cohort fall in each risk tier."""
    result = predict_ops.predict_cohort(_registry(_settings()).get(model), _parse_filters(filters or []))

    def render(c: predict_ops.CohortSummary) -> None:
        table = Table(title=f"{c.model_id}: {c.count:,} of {c.population:,} {c.entity}s")
        for col in ("tier", "count", "share", "action"):
            table.add_column(col)
        for t in c.tiers:
            table.add_row(t.tier, f"{t.count:,}", _pct(t.share), t.action)
        console.print(table)

    _emit(result, as_json, render)


@app.command()
def importance(model: str, top_k: int = typer.Option(5, "--top-k"), feature: Optional[str] = None,
               as_json: bool = JsonOpt) -> None:
    """Which features matter most to the model overall."""
    result = explain_ops.feature_importance(_registry(_settings()).get(model), top_k=top_k, feature=feature)

    def render(r: explain_ops.FeatureImportance) -> None:
        table = Table(title=f"{r.model_id}: feature importance ({r.method})")
        for col in ("rank", "feature", "share of influence"):
            table.add_column(col)
        for i in r.features:
            table.add_row(str(i.rank), i.label, _pct(i.share))
        console.print(table)

    _emit(result, as_json, render)


@app.command()
def performance(model: str, as_json: bool = JsonOpt) -> None:
    """Accuracy, precision, recall, F1, ROC AUC and observed outcome rate per tier on the reference set."""
    result = evaluation.performance(_registry(_settings()).get(model))

    def render(r: evaluation.Performance) -> None:
        console.print(f"[bold]{r.model_id}[/] on {r.rows:,} labelled reference rows (positive rate {_pct(r.positive_rate)}):")
        console.print("  " + ", ".join(f"{k} {v:.3f}" for k, v in r.metrics.items()))
        table = Table()
        for col in ("tier", "rows", "observed rate", "predicted rate"):
            table.add_column(col)
        for t in r.tiers:
            table.add_row(t.tier, str(t.count), _pct(t.observed_rate), _pct(t.expected_rate))
        console.print(table)

    _emit(result, as_json, render)


@app.command()
def errors(model: str, top_k: int = typer.Option(5, "--top-k"), as_json: bool = JsonOpt) -> None:
    """The data segments where the model is most often wrong."""
    result = evaluation.model_errors(_registry(_settings()).get(model), top_k=top_k)

    def render(r: evaluation.ModelErrors) -> None:
        table = Table(title=f"{r.model_id}: overall error rate {_pct(r.overall_error_rate)}")
        for col in ("feature", "segment", "rows", "error rate", "missed positives", "false alarms"):
            table.add_column(col)
        for s in r.segments:
            table.add_row(s.label, s.segment, str(s.count), _pct(s.error_rate), _pct(s.false_negative_rate),
                          _pct(s.false_positive_rate))
        console.print(table)

    _emit(result, as_json, render)


@app.command()
def summary(model: str, filters: list[str] = typer.Argument(None), as_json: bool = JsonOpt) -> None:
    """Counts, averages and distributions of a model's records, optionally filtered."""
    result = describe_ops.data_summary(_registry(_settings()).get(model), _parse_filters(filters or []))

    def render(r: describe_ops.DataSummary) -> None:
        table = Table(title=f"{r.model_id}: {r.count:,} of {r.population:,} {r.entity}s")
        for col in ("feature", "mean", "median", "range / distribution"):
            table.add_column(col)
        for c in r.columns:
            if c.distribution is not None:
                table.add_row(c.label, "", "", ", ".join(f"{k} {_pct(v)}" for k, v in list(c.distribution.items())[:5]))
            else:
                fmt = (lambda v: "—" if v is None else f"{v:,.2f}")
                table.add_row(c.label, fmt(c.mean), fmt(c.median), f"{fmt(c.min)} – {fmt(c.max)}")
        console.print(table)

    _emit(result, as_json, render)


@app.command()
def define(model: str, feature: str, as_json: bool = JsonOpt) -> None:
    """What a feature means, its unit or categories, typical values and importance rank."""
    result = describe_ops.define_feature(_registry(_settings()).get(model), feature)

    def render(f: describe_ops.FeatureInfo) -> None:
        console.print(f"[bold]{f.label}[/] ({f.type}{', ' + f.unit if f.unit else ''}): {f.description}")
        if f.values:
            console.print(f"  Values: {', '.join(map(str, f.values))}")
        console.print(f"  Typical: {f.typical}")
        console.print(f"  Importance rank: {f.importance_rank}")

    _emit(result, as_json, render)


@app.command()
def describe(model: str, as_json: bool = JsonOpt) -> None:
    """What a model predicts, its owner, features and risk tiers."""
    result = describe_ops.describe_model(_registry(_settings()).get(model))

    def render(d: describe_ops.ModelInfo) -> None:
        console.print(f"[bold]{d.name}[/] ({d.model_id}), owned by {d.owner}: {d.description}")
        console.print(f"  Predicts {d.positive_label} for each {d.entity}; {d.estimator}; {d.records:,} records.")
        console.print("  Features: " + ", ".join(f.label for f in d.features))
        _render_tiers(d.tiers)

    _emit(result, as_json, render)


def _render_tiers(tiers: list[describe_ops.TierInfo]) -> None:
    table = Table()
    for col in ("tier", "probability", "action", "share of records"):
        table.add_column(col)
    for t in tiers:
        table.add_row(t.tier, f"{t.min_probability:.0%}–{t.max_probability:.0%}", t.action, _pct(t.share_of_records))
    console.print(table)


@app.command()
def tiers(model: str, as_json: bool = JsonOpt) -> None:
    """The model's risk tiers: probability bands, meanings and recommended actions."""
    result = describe_ops.risk_tiers(_registry(_settings()).get(model))
    _emit(result, as_json, lambda r: _render_tiers(r.tiers))


# -- exports ----------------------------------------------------------------------------------
@app.command()
def export(model: str, out: Path = typer.Option(..., "--out", help="File to write: .csv or .parquet."),
           with_probability: bool = typer.Option(False, "--with-probability", help="Add the positive-class "
                                                 "probability (4 decimals)."),
           as_json: bool = JsonOpt) -> None:
    """Every stored record's tier, tier rank, action and top reasons, for BI tools (audited)."""
    import getpass

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from assistant import export as exports
    from assistant.answer import Principal
    from assistant.audit import open_audit_log

    settings = _settings()
    m = _registry(settings).get(model)
    fmt = exports.format_for(out)  # a wrong suffix is named before any work is done
    total = len(m.records) if m.spec.records else 0
    columns = [TextColumn("Exporting {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with open_audit_log(settings) as log, Progress(*columns, console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(m.id, total=total)
        result = exports.export(m, out, principal=Principal(id=getpass.getuser(), role="admin", channel="cli"),
                                audit=log, fmt=fmt, with_probability=with_probability,
                                progress=lambda done, _total: progress.update(task, completed=done))
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    console.print(f"Exported {result.rows:,} {m.spec.entity} rows of {m.id} (version {result.model_version}) to "
                  f"{result.path} ({', '.join(result.columns)}).", soft_wrap=True)


# -- monitoring -------------------------------------------------------------------------------
def _render_monitor(r) -> None:
    d, a = r.drift, r.anomalies
    verdict = {"stable": "stable", "watch": "[yellow]watch[/]", "drift": "[red]drifting[/]"}
    console.print(f"[bold]{r.model_id}[/] · {r.source}: {r.rows:,} rows against the reference data")
    if not d.judged:
        console.print(f"  Not enough rows to judge drift ({d.rows:,} of the {d.min_rows:,} needed); figures shown as measured.")
    else:
        console.print(f"  Input drift: {verdict[d.level]}" + (f" on {', '.join(d.drifting)}" if d.drifting else ""))
    table = Table(title="Drift per feature (PSI > 0.1 watch, > 0.25 drifting, confirmed by the test)")
    for col in ("feature", "status", "PSI", "test", "statistic", "p-value", "reference", "these rows"):
        table.add_column(col)
    for f in d.features:
        table.add_row(f.feature, verdict[f.level], f"{f.psi:.3f}", f.test.upper(), f"{f.statistic:.3f}",
                      f"{f.p_value:.2g}", f.reference, f.recent)
    console.print(table)
    console.print(f"  Unusual inputs: {a.flagged:,} of {a.rows:,} ({_pct(a.share)}; {_pct(a.expected_share)} expected on "
                  f"reference-like data) — {verdict[a.level] if a.judged else 'not judged'}")
    console.print("  Tier mix (these rows vs reference): " + ", ".join(
        f"{t.tier} {_pct(t.recent_share)} vs {_pct(t.reference_share)}" for t in r.tiers))


@app.command()
def monitor(model: str, batch: str = typer.Option(..., "--batch", help="CSV of input rows with the model's features."),
            as_json: bool = JsonOpt) -> None:
    """Score a batch of inputs offline and report drift and unusual inputs against the reference data
    (kept in the posture history, for the dashboard's trends)."""


    from assistant.monitoring import Monitor
    from assistant.monitoring.window import read_batch

    settings = _settings()
    registry = _registry(settings)
    m = registry.get(model)
    from assistant.monitoring.history import snapshot

    inputs = read_batch(m, Path(batch))
    watcher = Monitor(settings, registry)
    result = watcher.report(m, inputs, source=f"batch {Path(batch).name}")
    # Kept in the posture history, so the dashboard's drift trend shows the batch.
    watcher.remember(snapshot(m.id, source=result.source, drift=result.drift, anomalies=result.anomalies))
    _emit(result, as_json, _render_monitor)


@app.command("audit-data")
def audit_data(model: str, as_json: bool = JsonOpt) -> None:
    """Audit a model's labelled reference data for poisoning: label flips, outliers, duplicates, class balance."""
    from assistant.monitoring.data_audit import audit

    m = _registry(_settings()).get(model)
    if not m.spec.reference:
        raise AssistantError(f"model {m.id} has no labelled reference data to audit")
    result = audit(m)

    def render(a) -> None:
        f, o, d, b = a.label_flips, a.outliers, a.duplicates, a.balance
        console.print(f"[bold]{a.model_id}[/]: audit of {a.rows:,} labelled reference rows — "
                      + ("[yellow]findings[/]" if a.findings else "no findings"))
        table = Table()
        for col in ("check", "result"):
            table.add_column(col)
        table.add_row("suspected label flips", f"{f.suspected:,} ({_pct(f.share)}); about {f.expected:.0f} ± "
                      f"{f.expected_sd:.0f} expected by chance" + (" — [yellow]more than chance[/]" if f.excess else ""))
        table.add_row("most suspect rows (0 = first)", ", ".join(str(i) for i in f.examples) or "—")
        table.add_row("outliers", f"{o.count:,} ({_pct(o.share)})" + (
            "; e.g. " + ", ".join(f"row {e['row']} {e['feature']}={e['value']}" for e in o.examples[:3]) if o.examples else ""))
        table.add_row("duplicates", f"{d.exact:,} exact ({d.conflicting:,} with conflicting labels), {d.near:,} near")
        table.add_row("class balance", f"{b.positives:,} {b.positive_label} / {b.negatives:,} other "
                      f"({_pct(b.positive_share)} {b.positive_label})")
        console.print(table)
        for finding in a.findings:
            console.print(f"  [yellow]finding:[/] {finding}", soft_wrap=True)

    _emit(result, as_json, render)


# -- the assistant ------------------------------------------------------------------------------
@app.command()
def ask(question: str, model: Optional[str] = typer.Option(None, "--model", help="Model the question is about."),
        role: str = typer.Option("business", "--role", help="business, analyst, security or admin."),
        session: Optional[str] = typer.Option(None, "--session", help="Continue a conversation."),
        as_json: bool = JsonOpt) -> None:
    """Ask the assistant a question in plain English."""
    import getpass

    from assistant.answer import Principal
    from assistant.config import ROLES
    from assistant.engine import Assistant

    if role not in ROLES:
        raise AssistantError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    settings = _settings()
    _answering_threads(settings)
    assistant = Assistant.from_settings(settings)
    answer = assistant.answer(question, Principal(id=getpass.getuser(), role=role, channel="cli"),
                              session_id=session, model_id=model)
    if as_json:
        sys.stdout.write(json.dumps(answer.chat_response(), indent=2, default=str) + "\n")
        return
    from rich.markdown import Markdown

    console.print(Markdown(answer.text))
    for i, c in enumerate(answer.citations, 1):
        console.print(f"  [{i}] {c.title} ({c.doc_type}, {c.doc_id})", style="dim")
    console.print(f"session: {answer.session_id}", style="dim")


# -- knowledge and demo -----------------------------------------------------------------------
@app.command()
def ingest(paths: list[str] = typer.Argument(None, help="Files or folders (default: MODELDESK_KNOWLEDGE_PATH)."),
           as_json: bool = JsonOpt) -> None:
    """Ingest knowledge documents into the store, idempotently, and print a summary."""


    settings = _settings()
    targets = [Path(p) for p in paths] if paths else settings.knowledge_paths
    report = _ingest(settings, targets, quiet=as_json)
    if as_json:
        sys.stdout.write(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")


def _ingest(settings: Settings, targets, quiet: bool = False):
    from rich.progress import Progress

    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase(settings)
    with Progress(console=err, transient=True, disable=quiet) as progress:
        task = progress.add_task("Ingesting", total=None)

        def tick(done: int, total: int, *_: Any) -> None:
            progress.update(task, completed=done, total=total)

        report = kb.ingest(targets, progress=tick)
    if not quiet:
        console.print(f"Ingested: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
                      f"{report.deleted} deleted, {report.rejected} rejected.")
        for item in getattr(report, "rejected_files", []) or []:
            err.print(f"[yellow]rejected:[/] {item}")
    return report


@app.command()
def demo(no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the demo and exit."),
         rebuild: bool = typer.Option(False, help="Refit the demo models even if present."),
         host: str = "127.0.0.1", port: int = 8000) -> None:
    """Prepare the demo models and knowledge (deterministic, idempotent), then serve them."""
    from assistant.demo import build_demo_models

    settings = _settings()
    target = settings.demo_dir / "models"
    with console.status("Preparing demo models…"):
        build_demo_models(target, force=rebuild)
    registry = Registry(settings.models_dirs)
    console.print(f"Demo models in {target}: " + ", ".join(m.id for m in registry))
    try:
        _ingest(settings, settings.knowledge_paths)
    except ImportError as exc:  # knowledge base not installed
        err.print(f"[yellow]knowledge base not available:[/] {exc}")
    console.print("\nTry:")
    for line in ("modeldesk models", "modeldesk explain customer-churn C-20001",
                 "modeldesk predict credit-default C-10293",
                 "modeldesk what-if credit-default C-10293 balance-=500",
                 "modeldesk cohort credit-default region==West", "modeldesk performance customer-churn"):
        console.print(f"  {line}")
    if settings.api_keys:
        console.print("\nServing with the keys in MODELDESK_API_KEYS.")
    else:
        settings = settings.model_copy(update={"api_keys": _demo_keys(settings)})
        _print_keys(settings, host, port)
    if not no_serve:
        _serve(settings, host, port)


DEMO_ROLES = ("business", "analyst", "security", "admin")


def _demo_keys(settings: Settings) -> dict[str, dict[str, str]]:
    """One API key per role for the demo, made once and kept in <data dir>/demo/api_keys.json."""
    import secrets

    path = settings.demo_dir / "api_keys.json"
    if path.exists():
        return json.loads(path.read_text())
    keys = {f"md-demo-{role}-{secrets.token_urlsafe(12)}": {"principal": f"demo-{role}", "role": role}
            for role in DEMO_ROLES}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(keys, indent=2) + "\n")
    return keys


def _print_keys(settings: Settings, host: str, port: int) -> None:
    by_role = {entry["role"]: key for key, entry in settings.api_keys.items()}
    if not by_role:
        return
    table = Table(title="API keys (Authorization: Bearer <key>)")
    for col in ("role", "principal", "key"):
        table.add_column(col, no_wrap=True)
    for key, entry in settings.api_keys.items():
        table.add_row(entry["role"], entry["principal"], key)
    console.print(table)
    base = f"http://{host}:{port}"
    if "business" in by_role:
        console.print(f"Web chat (business key): {base}/#key={by_role['business']}", soft_wrap=True)
        console.print(f"API: curl -s {base}/v1/chat -H 'Authorization: Bearer {by_role['business']}' "
                      "-H 'Content-Type: application/json' -d '{\"message\": \"What is the risk tier for customer "
                      "C-10293?\"}'", soft_wrap=True)
    console.print(f"API docs: {base}/docs")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          workers: Optional[int] = typer.Option(None, "--workers", min=1, envvar="MODELDESK_WORKERS",
                                                help="Answering processes sharing the port and the state stores "
                                                     "(default: one per CPU core)."),
          access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log every request.")) -> None:
    """Serve the HTTP API (and web chat) with the keys in MODELDESK_API_KEYS."""
    _serve(_settings(), host, port, access_log=access_log, workers=workers)


@app.command()
def slack() -> None:
    """Answer in Slack over Socket Mode (SLACK_APP_TOKEN and SLACK_BOT_TOKEN; no public URL needed)."""
    import logging

    from adapters.slack import socket_mode

    settings = _settings()
    socket_mode.check(settings)  # a missing token is named before anything loads
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    _answering_threads(settings)
    console.print("Connecting to Slack over Socket Mode (Ctrl-C stops)…")
    socket_mode.run(settings)


def _serve(settings: Settings, host: str, port: int, *, access_log: bool = True, workers: int | None = None) -> None:
    import logging

    from adapters.http import workers as processes

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    workers = workers or processes.default_workers()
    if workers > 1:
        # One process answers on about one core (the interpreter lock): one worker per core.
        processes.serve(settings, host, port, workers, access_log=access_log)
        return
    import uvicorn

    from adapters.http.app import create_app

    _answering_threads(settings)
    uvicorn.run(create_app(settings), host=host, port=port, access_log=access_log)


# -- audit --------------------------------------------------------------------------------------
audit_app = typer.Typer(help="The audit trail: who asked what, and whether the log is intact.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(as_json: bool = JsonOpt) -> None:
    """Recompute the audit log's hash chain; exit 1 naming the first bad record if it was tampered with."""
    from assistant.audit import open_audit_log

    with open_audit_log(_settings()) as log:
        report = log.verify()
    if as_json:
        sys.stdout.write(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    elif report.ok:
        console.print(f"audit log OK: {report.records:,} records")
    else:
        console.print(f"[red]audit log BROKEN[/] at record {report.first_bad}: {report.problem} "
                      f"({report.records:,} records read)", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("tail")
def audit_tail(limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many recent entries."),
               as_json: bool = JsonOpt) -> None:
    """The most recent audit entries: who asked what, on which channel, and what happened."""
    from datetime import datetime

    from assistant.audit import open_audit_log

    with open_audit_log(_settings()) as log:
        records = log.tail(limit)

    def render(rows) -> None:
        if not rows:
            console.print("The audit log is empty.")
            return
        table = Table(title=f"Audit log: last {len(rows)} entries")
        for col in ("seq", "time", "principal", "channel", "verdict", "question", "tools", "ms"):
            table.add_column(col, no_wrap=col in ("seq", "time"), overflow="fold")
        for r in rows:
            verdict = f"{r.verdict} ({r.category})" if r.category else r.verdict
            table.add_row(str(r.seq), datetime.fromtimestamp(r.ts).strftime("%Y-%m-%d %H:%M:%S"),
                          f"{r.principal} ({r.role})", r.channel, verdict, r.question,
                          ", ".join(t.name for t in r.tool_calls), f"{r.latency_ms:.0f}")
        console.print(table)

    _emit(records, as_json, render)


# -- feedback ---------------------------------------------------------------------------------
feedback_app = typer.Typer(help="Feedback on answers: what users rated helpful or not, and why.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


def _since(value: str | None) -> float | None:
    """`7d`, `24h`, `30m` (that long ago) or a date / ISO time (`2026-12-01`, `2026-12-01T09:00`, UTC)."""
    import re
    import time as clock
    from datetime import datetime, timezone

    if not value:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm])\s*", value.lower())
    if match:
        return clock.time() - float(match.group(1)) * {"d": 86400, "h": 3600, "m": 60}[match.group(2)]
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise AssistantError(f"--since {value!r}: give a duration like 7d, 24h or 30m, or a date like 2026-12-01") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


@feedback_app.command("report")
def feedback_report(model: Optional[str] = typer.Option(None, "--model", help="Only answers about this model."),
                    since: Optional[str] = typer.Option(None, "--since", help="Only feedback since: 7d, 24h, or a date."),
                    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Unhelpful answers to list."),
                    as_json: bool = JsonOpt) -> None:
    """Which answers were rated unhelpful, by operation and model, with the questions and comments."""
    from assistant.audit import open_audit_log
    from assistant.feedback import feedback_report as build, open_feedback_store

    settings = _settings()
    model_id = _registry(settings).get(model).id if model else None
    store = open_feedback_store(settings)
    try:
        with open_audit_log(settings) as log:
            report = build(store, log, model_id=model_id, since=_since(since), limit=limit)
    finally:
        store.close()

    def render(r) -> None:
        scope = (f" about {r.model_id}" if r.model_id else "") + (f" since {r.since}" if r.since else "")
        total = r.helpful + r.not_helpful
        console.print(f"Feedback{scope}: {total:,} ratings, {r.helpful:,} helpful, {r.not_helpful:,} not helpful.")
        if not total:
            return
        table = Table(title="By model and operation (most unhelpful first)")
        for col in ("model", "operation", "helpful", "not helpful"):
            table.add_column(col)
        for g in r.groups:
            table.add_row(g.model_id or "(none)", g.operation, str(g.helpful), str(g.not_helpful))
        console.print(table)
        if r.unhelpful:
            table = Table(title="Answers rated not helpful (newest first)")
            for col in ("rated", "who", "model", "operation", "question", "comment"):
                table.add_column(col, overflow="fold")
            for a in r.unhelpful:
                table.add_row(a.rated_at, f"{a.principal} ({a.role})", a.model_id or "-", a.operation,
                              a.question or "(not in the audit log)", a.comment or "")
            console.print(table)

    _emit(report, as_json, render)


# -- guardrails -------------------------------------------------------------------------------
guard_app = typer.Typer(help="The guardrails: probing alerts and locked accounts (for the security team).",
                        no_args_is_help=True)
app.add_typer(guard_app, name="guard")


def _guard():
    from assistant.guard.guard import Guard

    settings = _settings()
    return Guard.from_settings(settings, Registry(settings.models_dirs))


@guard_app.command("alerts")
def guard_alerts(model: Optional[str] = typer.Option(None, "--model", help="Only alerts about this model."),
                 principal: Optional[str] = typer.Option(None, "--principal", help="Only alerts about this person."),
                 limit: int = typer.Option(20, "--limit", "-n", min=1), as_json: bool = JsonOpt) -> None:
    """Recent probing alerts, newest first: who, which model, what pattern, and the offending questions."""
    from datetime import datetime, timezone

    rows = _guard().alerts(principal=principal, model_id=model, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    table = Table(title=f"Probing alerts: {len(rows)}")
    for col in ("time", "level", "principal", "model", "signal", "detail", "last questions"):
        table.add_column(col, overflow="fold")
    for a in rows:
        table.add_row(datetime.fromtimestamp(a["ts"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S"), a.get("level", ""),
                      f"{a.get('principal')} ({a.get('role') or '-'})", a.get("model_id") or "-", a.get("kind", ""),
                      a.get("detail", ""), "\n".join((a.get("queries") or [])[-3:]))
    console.print(table)
    if not rows:
        console.print("No probing alerts.")


@guard_app.command("train")
def guard_train(out: Optional[Path] = typer.Option(None, "--out", help="Folder to write the judge to (default: the "
                                                   "machine's cache, where the guard looks for it)."),
                force: bool = typer.Option(False, "--force", help="Train again even when this judge is built.")) -> None:
    """Build the guard's learned judge from the bundled guard sets and the local sentence model (offline)."""
    from assistant.guard import judge

    folder = out or judge.default_folder()
    if not force and judge.is_built(folder):
        meta = json.loads((folder / "judge.json").read_text())
        console.print(f"Guard judge already built in {folder} (held-out attacks caught "
                      f"{meta['held_out_attacks_caught']:.1%}, benign refused {meta['held_out_benign_refused']:.1%}).")
        return
    console.print(f"Building the guard judge from {len(judge.training_sets())} sets (under a minute on a laptop)...")
    judge.train(folder, progress=lambda line: console.print(line))


understand_app = typer.Typer(help="Understanding: the operation classifier behind the planner.", no_args_is_help=True)
app.add_typer(understand_app, name="understand")


@understand_app.command("train")
def understand_train(out: Optional[Path] = typer.Option(None, "--out", help="Folder to write the classifier to "
                                                        "(default: the machine's cache, where the planner looks)."),
                     force: bool = typer.Option(False, "--force", help="Train again even when it is built.")) -> None:
    """Build the operation classifier from the bundled schemas and templates (offline, seconds)."""
    from assistant.conversation import operations

    folder = out or operations.default_folder()
    if not force and (folder / "model.joblib").exists() and (folder / "meta.json").exists():
        meta = json.loads((folder / "meta.json").read_text())
        console.print(f"Operation classifier already built in {folder} ({meta['examples']:,} generated questions, "
                      f"hold-out accuracy {meta['held_out_accuracy']:.1%}).")
        return
    operations.train(folder, progress=lambda line: console.print(line))


@guard_app.command("unlock")
def guard_unlock(principal: str) -> None:
    """Lift a principal's lock before its cool-down ends (their history still counts against budgets)."""
    _guard().unlock(principal)
    console.print(f"{principal} unlocked.")


def main() -> None:
    try:
        app()
    except AssistantError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        sys.exit(2)


if __name__ == "__main__":
    main()
