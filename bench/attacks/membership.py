"""(5) Membership inference: ART's MembershipInferenceBlackBox on the probabilities the API returns.

Members are rows the demo model was really fitted on (regenerated from the demo's seeded recipe:
neither the records nor the reference rows were training rows); non-members are reference rows,
which were held out of training. Each candidate is asked as a what-if that sets every feature. The
attacker is given half of the answered candidates with their membership (as a shadow set) to train
the attack model, and is scored on the other half: advantage = true-positive rate - false-positive rate.
"""

from __future__ import annotations

import warnings

import numpy as np

from bench.attacks import api
from bench.attacks.extraction import ApiOracle, Collected, Context, art_available
from bench.attacks.stats import bootstrap_advantage

ADVANTAGE_SUCCESS = 0.1


def _infer(victim, x, y, pred, member, seed: int = 0) -> dict:
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

    n = len(x)
    if n < 8 or member.sum() < 4 or (~member).sum() < 4:
        return {"usable": int(n), "advantage": None, "note": "too few answered candidates"}
    rng = np.random.default_rng(seed)
    train = np.zeros(n, dtype=bool)
    for group in (np.flatnonzero(member), np.flatnonzero(~member)):
        train[rng.permutation(group)[: len(group) // 2]] = True
    onehot = np.eye(2)[y]
    attack = MembershipInferenceBlackBox(victim, input_type="prediction", attack_model_type="rf")
    tm, tn = train & member, train & ~member
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attack.fit(x=x[tm], y=onehot[tm], test_x=x[tn], test_y=onehot[tn], pred=pred[tm], test_pred=pred[tn])
        em, en = ~train & member, ~train & ~member
        hits_m = attack.infer(x[em], onehot[em], pred=pred[em]).ravel()
        hits_n = attack.infer(x[en], onehot[en], pred=pred[en]).ravel()
    tpr, fpr = float(hits_m.mean()), float(hits_n.mean())
    lo, hi = bootstrap_advantage(hits_m, hits_n)
    return {"usable": int(n), "evaluated": int(len(hits_m) + len(hits_n)), "tpr": tpr, "fpr": fpr,
            "advantage": tpr - fpr, "ci95": [lo, hi]}


def membership(ctx: Context, attacker: api.Attacker, budget: int) -> dict:
    missing = art_available()
    if missing:
        return {"skipped": missing}
    from art.estimators.classification import BlackBoxClassifier

    truth, target = ctx.truth, ctx.target
    target_col = truth.spec.target_column
    half = budget // 2
    members = truth.training_rows().sample(half, random_state=int(ctx.rng.integers(1 << 30)))
    others = truth.reference_labelled().sample(min(half, len(truth.model.reference)),
                                               random_state=int(ctx.rng.integers(1 << 30)))
    rows = [*members.to_dict("records"), *others.to_dict("records")]
    is_member = np.r_[np.ones(len(members), bool), np.zeros(len(others), bool)]
    order = ctx.rng.permutation(len(rows))  # candidates asked in random order: every prefix is mixed
    rows = [rows[i] for i in order]
    is_member = is_member[order]
    y = np.array([int(r[target_col]) for r in rows])
    x = target.encode([{k: r[k] for k in target.names} for r in rows]).astype(np.float32)

    collected = Collected()
    oracle = ApiOracle(ctx, attacker, collected, output="proba")
    victim = BlackBoxClassifier(oracle, input_shape=(x.shape[1],), nb_classes=2)
    pred = victim.predict(x)  # one what-if per candidate, through the API
    answered = ~np.isnan(pred).any(axis=1)

    def at(n_rows: int) -> dict:
        mask = answered.copy()
        mask[n_rows:] = False
        return _infer(victim, x[mask], y[mask], pred[mask], is_member[mask])

    final = {"sent": attacker.tally.sent, **at(len(rows))}
    moments = collected.moments()
    out = {"members_asked": int(is_member.sum()), "non_members_asked": int((~is_member).sum()),
           "members_are": "training rows regenerated from the demo recipe; non-members: held-out reference rows",
           "final": final, **moments}
    for name in ("first_refusal", "first_lock"):
        i = moments[f"{name}_sent"]
        out[f"at_{name}"] = {"sent": i, **at(i)} if i is not None else None
    adv = final.get("advantage")
    out["success"] = bool(adv is not None and adv > ADVANTAGE_SUCCESS)
    out["success_rule"] = f"membership advantage (TPR - FPR) on held-out candidates > {ADVANTAGE_SUCCESS}"
    return out
