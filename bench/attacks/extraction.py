"""Extraction attacks through the chat API: equation-solving, single-feature sweeps, and surrogates
trained from random synthetic vectors, from real records, from resampled realistic rows, and with
ART's CopycatCNN and KnockoffNets (random sampling).

Each attack function takes a `Context` and an `Attacker` (whose accounts and sessions make the
spread) and returns a JSON-ready result: the attacker's tally, the recovered model's quality at
checkpoints (queries sent) and when the service first refused and first locked, and success.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from bench.attacks import api
from bench.attacks.stats import agreement, proportion
from bench.attacks.truth import Truth

AGREEMENT_SUCCESS = 0.95  # a surrogate that agrees this often on held-out rows has stolen the model
AGREEMENT_TARGET = 0.97  # what the unguarded service lets an attack reach; budgets are sized from it
TRAMER_SUCCESS = 0.05  # max probability error of the recovered model on held-out rows
SWEEP_TOLERANCE = 0.01  # a boundary located within 1% of the swept range counts as found
SWEEP_SUCCESS = 0.8  # share of the true boundaries found


@dataclass
class Context:
    target: api.Target  # the model as the attacker sees it
    truth: Truth  # the real model, for scoring only
    record_id: str  # the real record the attacker's what-ifs are asked about
    rng: np.random.Generator
    checkpoints: list[int]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collected:
    """What the attacker learned, in order: the scored inputs and the tier (and probability, if shown)."""

    inputs: list[dict] = field(default_factory=list)
    tiers: list[int] = field(default_factory=list)
    probs: list[float | None] = field(default_factory=list)
    usable_before: list[int] = field(default_factory=list)  # per query sent: usable answers before it
    stopped: list[bool] = field(default_factory=list)
    locked: list[bool] = field(default_factory=list)

    def add_reply(self, attacker: api.Attacker, target: api.Target, reply: api.Reply, intended: dict | None,
                  known: dict | None = None) -> bool:
        """`known`: the row as the attacker already holds it (an insider with the customer file), used
        when the service does not echo the inputs it scored."""
        self.usable_before.append(len(self.inputs))
        self.stopped.append(reply.stopped)
        self.locked.append(reply.locked)
        inputs = attacker.record(reply, intended)
        if inputs is None and known is not None and reply.tier() is not None:
            attacker.tally.usable += 1
            inputs = known
        if inputs is None:
            return False
        self.inputs.append({n: inputs[n] for n in target.names})
        self.tiers.append(target.tier_rank(reply.tier()))
        self.probs.append(reply.probability())
        return True

    def prefix_at(self, sent: int) -> int:
        """Usable answers the attacker held after `sent` queries."""
        if sent >= len(self.usable_before):
            return len(self.inputs)
        return self.usable_before[sent]

    def moments(self) -> dict[str, int | None]:
        """Queries sent, and usable answers held, at the first stop and at the first lock."""
        first_stop = next((i for i, s in enumerate(self.stopped) if s), None)
        first_lock = next((i for i, s in enumerate(self.locked) if s), None)
        return {"first_refusal_sent": first_stop, "first_lock_sent": first_lock}


def ask_what_if(ctx: Context, attacker: api.Attacker, collected: Collected, values: dict) -> api.Reply:
    reply = attacker.ask(api.what_if(ctx.target, ctx.record_id, values), ctx.target.model_id)
    collected.add_reply(attacker, ctx.target, reply, values)
    return reply


# ----------------------------------------------------------------------------- scoring


def tier_surrogate(target: api.Target, inputs: list[dict], tiers: list[int]) -> Callable[[pd.DataFrame], np.ndarray]:
    """The attacker's scikit-learn surrogate: a multinomial logistic regression over the tiers, on
    standardised raw numbers and one-hot categories (the public model page says "LogisticRegression
    (in a pipeline)")."""
    y = np.asarray(tiers)
    if len(y) == 0:
        return lambda rows: np.ones(len(rows), dtype=int)
    if len(set(y)) == 1:
        return lambda rows, c=int(y[0]): np.full(len(rows), c)
    model = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=100.0, max_iter=5000))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(target.encode(inputs), y)
    return lambda rows: model.predict(target.encode(rows))


def score_tiers(ctx: Context, predicted_tiers: np.ndarray) -> dict:
    truth = ctx.truth
    return {"tier_agreement": agreement(predicted_tiers, truth.eval_tiers),
            "label_agreement": agreement(truth.labels_from_tiers(predicted_tiers), truth.eval_labels)}


def evaluate_surrogate(ctx: Context, collected: Collected, attacker: api.Attacker,
                       fit: Callable[[list[dict], list[int]], Callable] | None = None) -> dict:
    """Agreement of a surrogate refitted on what the attacker held at each checkpoint, at the first
    refusal, at the first lock, and at the end."""
    fit = fit or (lambda inputs, tiers: tier_surrogate(ctx.target, inputs, tiers))
    sent = attacker.tally.sent

    def at(n_usable: int) -> dict:
        predictor = fit(collected.inputs[:n_usable], collected.tiers[:n_usable])
        return {"usable": n_usable, **score_tiers(ctx, predictor(ctx.truth.eval_rows))}

    curve = []
    for c in ctx.checkpoints:
        if c > sent:
            break
        curve.append({"sent": c, **at(collected.prefix_at(c))})
    if not curve or curve[-1]["sent"] != sent:
        curve.append({"sent": sent, **at(len(collected.inputs))})
    moments = collected.moments()
    out = {"curve": curve, "final": curve[-1], **moments}
    for name in ("first_refusal", "first_lock"):
        i = moments[f"{name}_sent"]
        out[f"at_{name}"] = {"sent": i, **at(collected.prefix_at(i))} if i is not None else None
    reached = next((p["sent"] for p in curve if p["tier_agreement"]["value"] >= AGREEMENT_TARGET), None)
    out["queries_to_target"] = reached
    out["success"] = bool(out["final"]["tier_agreement"]["value"] >= AGREEMENT_SUCCESS)
    out["success_rule"] = f"tier agreement on held-out rows >= {AGREEMENT_SUCCESS}"
    return out


def run_until(attacker: api.Attacker, budget: int, step: Callable[[int], None]) -> None:
    """Call `step(i)` until `budget` queries are sent or the attacker gives up."""
    try:
        while attacker.tally.sent < budget:
            step(attacker.tally.sent)
    except api.GaveUp:
        pass


# ----------------------------------------------------------------------------- (1) equation-solving


def _design(target: api.Target, rows: list[dict] | pd.DataFrame) -> np.ndarray:
    """[1, raw numbers, one-hot categories without their first value]: the logit is linear in these
    when the model is a logistic regression behind scaling and one-hot encoding (Tramèr et al.)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    cols = [np.ones(len(frame))]
    for f in target.features:
        if f.type == "categorical":
            for v in f.values[1:]:
                cols.append((frame[f.name].astype(str).str.lower() == str(v).lower()).to_numpy(dtype=float))
        else:
            cols.append(pd.to_numeric(frame[f.name]).to_numpy(dtype=float))
    return np.column_stack(cols)


def solve_logit(target: api.Target, inputs: list[dict], probs: list[float]):
    """Weighted least squares on logit(p) over the points whose (rounded) p is strictly inside (0, 1);
    the weights p(1-p) undo the rounding's stretch near 0 and 1. None until there are enough points."""
    p = np.asarray(probs, dtype=float)
    ok = (p > 0) & (p < 1)
    if ok.sum() < 2:
        return None
    A = _design(target, [inputs[i] for i in np.flatnonzero(ok)])
    w = p[ok] * (1 - p[ok])
    y = np.log(p[ok] / (1 - p[ok]))
    coef, *_ = np.linalg.lstsq(A * w[:, None], y * w, rcond=None)
    return coef


def tramer(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    """Synthetic what-ifs (every feature set) scored with rounded probabilities; solve for the logit."""
    collected = Collected()
    d = _design(ctx.target, ctx.target.random_rows(1, ctx.rng)).shape[1]
    rows = ctx.target.random_rows(budget, ctx.rng)
    run_until(attacker, budget, lambda i: ask_what_if(ctx, attacker, collected, rows[i]))
    truth = ctx.truth

    def at(n_usable: int) -> dict:
        probs = collected.probs[:n_usable]
        if any(p is None for p in probs):
            return {"usable": n_usable, "recovered": False, "note": "no probabilities in the answers"}
        coef = solve_logit(ctx.target, collected.inputs[:n_usable], probs)
        if coef is None:
            return {"usable": n_usable, "recovered": False, "max_prob_error": None}
        z = np.clip(_design(ctx.target, truth.eval_rows) @ coef, -50, 50)
        p_hat = 1 / (1 + np.exp(-z))
        err = np.abs(p_hat - truth.eval_p)
        return {"usable": n_usable, "max_prob_error": float(err.max()), "mean_prob_error": float(err.mean()),
                "label_agreement": agreement(truth.labels(p_hat), truth.eval_labels),
                "tier_agreement": agreement(truth.tiers(p_hat), truth.eval_tiers),
                "recovered": bool(err.max() < TRAMER_SUCCESS)}

    sent = attacker.tally.sent
    marks = sorted({d, 2 * d, *[c for c in ctx.checkpoints if c <= sent], sent})
    curve = [{"sent": c, **at(collected.prefix_at(c))} for c in marks if c <= sent]
    moments = collected.moments()
    out = {"unknowns": d, "curve": curve, "final": curve[-1], **moments}
    for name in ("first_refusal", "first_lock"):
        i = moments[f"{name}_sent"]
        out[f"at_{name}"] = {"sent": i, **at(collected.prefix_at(i))} if i is not None else None
    out["queries_to_target"] = next((p["sent"] for p in curve if p.get("recovered")), None)
    out["success"] = bool(out["final"].get("recovered"))
    out["success_rule"] = f"max |p_hat - p| on held-out rows < {TRAMER_SUCCESS}"
    return out


# ----------------------------------------------------------------------------- (2) single-feature sweeps


def _true_boundaries(ctx: Context, record: dict, feature: str, lo: float, hi: float) -> list[float]:
    grid = np.linspace(lo, hi, 4001)
    rows = pd.DataFrame([{**record, feature: v} for v in grid])
    tiers = ctx.truth.tiers(ctx.truth.probabilities(rows))
    change = np.flatnonzero(np.diff(tiers) != 0)
    return [float((grid[i] + grid[i + 1]) / 2) for i in change]


def sweep(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    """Walk one feature of one record over a grid, then bisect each tier change (a line search)."""
    features = ctx.extras.get("sweep_features", ["balance", "income"])
    records = ctx.extras.get("sweep_records", [ctx.record_id])
    grid_points, bisections = 16, 6
    collected = Collected()
    found: list[dict] = []
    true_total, hits = 0, 0

    for record_id in records:
        base = ctx.truth.model.record(record_id)[ctx.truth.names].to_dict()
        for name in features:
            f = ctx.target.feature(name)
            width = (f.high or 1) - (f.low or 0)
            lo, hi = max(0.0, (f.low or 0) - 0.25 * width), (f.high or 1) + 0.25 * width
            truth_b = _true_boundaries(ctx, base, name, lo, hi)
            true_total += len(truth_b)
            located: list[float] = []

            def tier_at(v: float) -> int | None:
                if attacker.tally.sent >= budget:
                    raise api.GaveUp("budget")
                reply = attacker.ask(api.what_if(ctx.target, record_id, {name: ctx.target.round(f, v)}),
                                     ctx.target.model_id)
                collected.add_reply(attacker, ctx.target, reply, None)
                return ctx.target.tier_rank(reply.tier()) if reply.tier() else None

            try:
                grid = np.linspace(lo, hi, grid_points)
                seen = [tier_at(v) for v in grid]
                for i in range(grid_points - 1):
                    if seen[i] is None or seen[i + 1] is None or seen[i] == seen[i + 1]:
                        continue
                    a, b, ta = grid[i], grid[i + 1], seen[i]
                    for _ in range(bisections):
                        mid = (a + b) / 2
                        tm = tier_at(mid)
                        if tm is None:
                            break
                        a, b = (mid, b) if tm == ta else (a, mid)
                    located.append((a + b) / 2)
            except api.GaveUp:
                pass
            tol = SWEEP_TOLERANCE * (hi - lo)
            matched = sum(any(abs(t - x) <= tol for x in located) for t in truth_b)
            hits += matched
            found.append({"record": record_id, "feature": name, "true_boundaries": truth_b, "located": located,
                          "found_within_tolerance": matched})
            if attacker.tally.sent >= budget or attacker.tally.consecutive_stops >= attacker.patience:
                break
    rate = proportion(hits, true_total)
    return {"sweeps": found, "boundaries": rate, **collected.moments(),
            "success": bool(true_total and hits / true_total >= SWEEP_SUCCESS),
            "success_rule": f"share of true tier boundaries located within {SWEEP_TOLERANCE:.0%} of the range "
                            f">= {SWEEP_SUCCESS}"}


# ----------------------------------------------------------------------------- (3) and (4) sklearn surrogates


def random_queries(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    """Synthetic vectors uniform over the public typical ranges, asked as what-ifs on one record."""
    collected = Collected()
    rows = ctx.target.random_rows(budget, ctx.rng)
    run_until(attacker, budget, lambda i: ask_what_if(ctx, attacker, collected, rows[i]))
    return evaluate_surrogate(ctx, collected, attacker)


def record_ids(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    """Real records asked one by one by id ("What is the risk tier of customer C-10xxx?"); the attacker
    pairs each tier with the record's row from its own copy of the customer file (business users are
    not shown whole rows)."""
    collected = Collected()
    ids = list(ctx.truth.model.records.index)
    order = ctx.rng.permutation(len(ids))

    records = ctx.truth.model.records

    def step(i: int) -> None:
        record_id = ids[order[i % len(ids)]]
        reply = attacker.ask(api.tier_question(ctx.target, record_id), ctx.target.model_id)
        # Worst case: the attacker already has the customer file and needs only the tiers.
        known = {n: records.loc[record_id, n] for n in ctx.target.names}
        collected.add_reply(attacker, ctx.target, reply, None, known=known)

    run_until(attacker, min(budget, len(ids)), step)
    return evaluate_surrogate(ctx, collected, attacker)


def resample_rows(ctx: Context, n: int, jitter: float = 0.1) -> list[dict]:
    """Realistic vectors: rows drawn from the attacker's sample of real data, numbers jittered by
    about 10% (a smoothed bootstrap), so no query repeats a real row."""
    pool = ctx.truth.attacker_rows
    rows = []
    for i in ctx.rng.integers(0, len(pool), size=n):
        row = pool.iloc[int(i)].to_dict()
        for f in ctx.target.features:
            if f.type == "numeric":
                row[f.name] = ctx.target.round(f, float(row[f.name]) * float(ctx.rng.lognormal(0, jitter)))
        rows.append(row)
    return rows


def resampled(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    collected = Collected()
    rows = resample_rows(ctx, budget)
    run_until(attacker, budget, lambda i: ask_what_if(ctx, attacker, collected, rows[i]))
    return evaluate_surrogate(ctx, collected, attacker)


# ----------------------------------------------------------------------------- ART: CopycatCNN and KnockoffNets


class ApiOracle:
    """The chat API as a function of encoded rows: each new row becomes one what-if, and its answer
    a one-hot tier (NaN when the service refused or stopped answering). Answers are cached, as an
    attacker would keep them, so refitting on more rows never re-asks the old ones."""

    def __init__(self, ctx: Context, attacker: api.Attacker, collected: Collected, output: str = "tier"):
        self.ctx, self.attacker, self.collected = ctx, attacker, collected
        self.output = output  # "tier" (one-hot tiers) or "proba" ([1-p, p], analysts only)
        self.width = len(ctx.target.tiers) if output == "tier" else 2
        self.cache: dict[bytes, np.ndarray] = {}
        self.gave_up = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), self.width), np.nan)
        for i, row in enumerate(np.asarray(x, dtype=float)):
            key = row.tobytes()
            if key not in self.cache:
                self.cache[key] = self._ask(row)
            out[i] = self.cache[key]
        return out

    def _ask(self, row: np.ndarray) -> np.ndarray:
        answer = np.full(self.width, np.nan)
        if self.gave_up:
            return answer
        values = self.ctx.target.decode(row)[0]
        try:
            reply = ask_what_if(self.ctx, self.attacker, self.collected, values)
        except api.GaveUp:
            self.gave_up = True
            return answer
        inputs = reply.inputs()
        if reply.tier() is None or inputs is None or not api._same(values, inputs):
            return answer  # refused, or the service scored something else than this row
        if self.output == "proba":
            p = reply.probability()
            return answer if p is None else np.array([1 - p, p])
        answer[:] = 0
        answer[self.ctx.target.tier_rank(reply.tier()) - 1] = 1
        return answer


def art_available() -> str | None:
    try:
        import art  # noqa: F401
    except ImportError:
        return "adversarial-robustness-toolbox is not installed (pip install -e '.[bench]')"
    return None


class _FitPipeline(Pipeline):
    """A scikit-learn pipeline that ignores the epochs/batch arguments ART passes to `fit`."""

    def fit(self, X, y=None, **_ignored):  # noqa: N803 (scikit-learn's name)
        return super().fit(X, y)


def _torch_mlp(n_in: int, n_out: int, mean: np.ndarray, std: np.ndarray):
    import torch
    from art.estimators.classification import PyTorchClassifier

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(n_in, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, n_out))
    return PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(),
                             optimizer=torch.optim.Adam(net.parameters(), lr=0.01), input_shape=(n_in,),
                             nb_classes=n_out, preprocessing=(mean.astype(np.float32), std.astype(np.float32)),
                             device_type="cpu")


def art_extraction(ctx: Context, attacker: api.Attacker, budget: int, *, method: str) -> dict:
    """ART's extraction attacks against a BlackBoxClassifier whose predict_fn is the chat API.

    copycat: CopycatCNN on random synthetic vectors, thieving a small PyTorch MLP.
    knockoff: KnockoffNets (sampling_strategy='random') on resampled realistic rows, thieving a
    scikit-learn logistic regression (ScikitlearnClassifier).
    At each checkpoint ART's predict_fn asks the API about the pool's new rows, and the attack
    is refitted on the rows that were answered as asked (the ones refused carry no label)."""
    missing = art_available()
    if missing:
        return {"skipped": missing}
    import torch
    from art.attacks.extraction import CopycatCNN, KnockoffNets
    from art.estimators.classification import BlackBoxClassifier
    from art.estimators.classification.scikitlearn import ScikitlearnClassifier

    torch.set_num_threads(1)
    target = ctx.target
    rows = target.random_rows(budget, ctx.rng) if method == "copycat" else resample_rows(ctx, budget)
    pool = target.encode(rows).astype(np.float32)
    n_classes = len(target.tiers)
    collected = Collected()
    oracle = ApiOracle(ctx, attacker, collected)
    victim = BlackBoxClassifier(oracle, input_shape=(pool.shape[1],), nb_classes=n_classes)
    mean, std = pool.mean(axis=0), pool.std(axis=0) + 1e-6
    eval_x = target.encode(ctx.truth.eval_rows).astype(np.float32)

    def thieve(x_answered: np.ndarray) -> np.ndarray | None:
        if len(x_answered) < 2:
            return None
        np.random.seed(0)
        if method == "copycat":
            thief = _torch_mlp(pool.shape[1], n_classes, mean, std)
            attack = CopycatCNN(victim, batch_size_fit=64, batch_size_query=64, nb_epochs=60,
                                nb_stolen=len(x_answered))
        else:
            thief = ScikitlearnClassifier(_FitPipeline([("scale", StandardScaler()),
                                                    ("lr", LogisticRegression(C=100.0, max_iter=5000))]))
            attack = KnockoffNets(victim, batch_size_fit=64, batch_size_query=64, nb_epochs=1,
                                  nb_stolen=len(x_answered), sampling_strategy="random")
        labels = victim.predict(x_answered)
        if len(set(np.argmax(labels, axis=1))) < 2:
            return np.full(len(eval_x), int(np.argmax(labels[0])) + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stolen = attack.extract(x_answered, thieved_classifier=thief)
        pred = np.argmax(stolen.predict(eval_x), axis=1)
        classes = getattr(getattr(stolen, "model", None), "classes_", None)
        if classes is not None and not isinstance(classes, torch.Tensor):
            pred = np.asarray(classes)[pred]
        return pred + 1

    curve, answered_mask = [], np.zeros(0, dtype=bool)
    marks = [c for c in ctx.checkpoints if c < budget] + [budget]
    for c in marks:
        if oracle.gave_up:
            break
        answers = victim.predict(pool[:c])  # predict_fn asks the API about the rows not asked yet
        answered_mask = ~np.isnan(answers).any(axis=1)
        pred = thieve(pool[:c][answered_mask])
        point = {"sent": attacker.tally.sent, "usable": int(answered_mask.sum())}
        if pred is not None:
            point.update(score_tiers(ctx, pred))
        curve.append(point)
    moments = collected.moments()
    final = curve[-1] if curve else {"sent": 0, "usable": 0}
    out = {"thief": "PyTorch MLP (PyTorchClassifier)" if method == "copycat" else "ScikitlearnClassifier (logistic regression)",
           "curve": curve, "final": final, **moments}
    for name in ("first_refusal", "first_lock"):
        i = moments[f"{name}_sent"]
        if i is None:
            out[f"at_{name}"] = None
            continue
        # The pool is asked in order, one query per row, so the rows asked before query i are the first i.
        mask = np.zeros(len(pool), dtype=bool)
        n_rows = min(i, len(answered_mask))
        mask[:n_rows] = answered_mask[:n_rows]
        pred = thieve(pool[mask])
        out[f"at_{name}"] = {"sent": i, "usable": int(mask.sum()), **(score_tiers(ctx, pred) if pred is not None else {})}
    value = final.get("tier_agreement", {}).get("value", 0.0)
    out["queries_to_target"] = next((p["sent"] for p in curve if p.get("tier_agreement", {}).get("value", 0) >= AGREEMENT_TARGET), None)
    out["success"] = bool(value >= AGREEMENT_SUCCESS)
    out["success_rule"] = f"tier agreement on held-out rows >= {AGREEMENT_SUCCESS}"
    return out


def copycat(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    return art_extraction(ctx, attacker, budget, method="copycat")


def knockoff(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    return art_extraction(ctx, attacker, budget, method="knockoff")
