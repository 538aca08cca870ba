"""Operation recognition by meaning: the question, with its specifics replaced by placeholders,
is compared with short example phrasings of each operation using the local sentence embedder.

Placeholders: `recordid` (an entity id), `featurename` (an input of the model), `valuename` (a
category value), `tiername` (a risk tier), `entityname` (customer, transaction, policy...),
`positivelabel` (what the model predicts: default, churn, fraud...). The examples are generic
and shared by every model, so a model registered tomorrow needs none of its own.
"""

from __future__ import annotations

import numpy as np

PROTOTYPES: dict[str, list[str]] = {
    "predict": [
        "what is the risk tier for recordid", "how risky is recordid", "is recordid likely to positivelabel",
        "score recordid", "what tier is recordid in", "look up recordid", "what should we do about recordid",
        "how many entityname are tiername risk", "tier breakdown for entityname with featurename above 100",
        "what share of valuename entityname are high risk", "risk levels for entityname in valuename",
        "how do the tiers look for entityname with featurename", "positivelabel risk for recordid",
    ],
    "explain": [
        "why is recordid in that tier", "why was recordid flagged", "explain the score for recordid",
        "what are the reasons behind recordid", "top reasons for recordid", "what drives the risk of recordid",
        "why are valuename entityname riskier", "what makes entityname with featurename higher risk",
        "why did the model give this entityname that tier", "what factors pushed recordid up",
    ],
    "what_if": [
        "what if recordid had featurename 500 lower", "what would the tier be if featurename were 20",
        "suppose featurename increased by 100", "if she paid down some of her featurename, new tier",
        "would recordid still be tiername with a higher featurename", "set featurename to 24 for recordid",
        "what if they switched to valuename", "recordid with no featurename, what tier",
        "if the featurename changed, would the tier change",
    ],
    "counterfactual": [
        "what would it take for recordid to reach a lower tier", "how could recordid get out of the tiername tier",
        "what is the smallest change that lowers the tier of recordid", "what can recordid do to improve their risk",
        "what would have to be different for recordid to be low risk", "which changes would move recordid down a tier",
        "how do we bring recordid down to tiername",
    ],
    "feature_importance": [
        "which features matter most to the model", "what are the most important inputs",
        "top 5 drivers of positivelabel risk overall", "rank the features by importance",
        "how much does featurename matter to the model", "does featurename count for a lot",
        "what does the model weigh most heavily", "where does featurename rank among the inputs",
        "what drives the model in general", "which inputs dominate the model",
    ],
    "performance": [
        "how accurate is the model", "what is the precision of the model", "what is the auc",
        "how well does the model perform", "how often is the model right", "what share of actual positivelabel does it catch",
        "when it flags something how often is it really positivelabel", "does the model do worse for valuename entityname",
        "is the model well calibrated", "what are the model's metrics", "recall of the model",
    ],
    "data_summary": [
        "what is the average featurename", "distribution of featurename", "how many entityname are valuename",
        "what is the typical featurename for valuename entityname", "summary statistics of the data",
        "how many entityname are in the data", "what is the mix of featurename", "median featurename of entityname",
        "data overview", "what share of entityname have featurename",
    ],
    "model_errors": [
        "where does the model get it wrong", "what mistakes does the model make", "which segments is it least accurate on",
        "where is the model weakest", "what kind of positivelabel does the model miss", "blind spots of the model",
        "which entityname does it misjudge", "errors for valuename entityname",
    ],
    "define_feature": [
        "what does featurename mean", "define featurename", "what is featurename", "how is featurename measured",
        "what values can featurename take", "what counts as featurename", "explain the featurename input",
    ],
    "describe_model": [
        "what does the model do", "tell me about the model", "describe the model", "what does it predict",
        "what inputs does the model use", "who owns the model", "what kind of model is it", "give me an overview of the model",
    ],
    "risk_tiers": [
        "what are the risk tiers", "what does tiername mean", "what are the tier thresholds", "explain the risk levels",
        "what action goes with the tiername tier", "how many tiers are there", "what is the difference between the tiers",
    ],
    "search_knowledge": [
        "what are the limitations of the model", "can I use the model for small business accounts",
        "what is the intended use", "what does the policy say about overrides", "is the model fair across groups",
        "how was the model trained and validated", "what data was the model trained on", "where should the model not be used",
        "who do I contact about the model", "what is the procedure for an incident", "what is an adversarial technique",
        "how often is the model retrained", "can I share the score with the customer",
    ],
    "list_incidents": [
        "list the incidents for the model", "have there been any attacks on the model", "any open security incidents",
        "show me the poisoning incidents", "has anyone tried to steal the model", "what security events happened",
        "critical incidents this year",
    ],
    "security_posture": [
        "is the model safe to rely on right now", "what is the security posture of the model", "can I trust the model today",
        "is there any drift", "is the model healthy", "is the model compromised", "any red flags with the model right now",
        "are the inputs anomalous",
    ],
}


class IntentModel:
    """Cosine similarity of a (masked) question to each operation's example phrasings."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.ops: list[str] = []
        texts: list[str] = []
        for op, examples in PROTOTYPES.items():
            for example in examples:
                self.ops.append(op)
                texts.append(example)
        self.matrix = np.asarray(embedder.embed(texts), dtype=np.float32)
        self.matrix /= np.linalg.norm(self.matrix, axis=1, keepdims=True) + 1e-9
        self._cache: dict[str, dict[str, float]] = {}

    def similarities(self, masked: str) -> dict[str, float]:
        cached = self._cache.get(masked)
        if cached is not None:
            return cached
        vector = np.asarray(self.embedder.embed_query(masked), dtype=np.float32)
        vector /= np.linalg.norm(vector) + 1e-9
        sims = self.matrix @ vector
        out: dict[str, float] = {}
        for op, sim in zip(self.ops, sims):
            out[op] = max(out.get(op, -1.0), float(sim))
        if len(self._cache) >= 4096:  # bounded: drop the oldest entry
            self._cache.pop(next(iter(self._cache)))
        self._cache[masked] = out
        return out
