"""Where "names an input by meaning" starts: the cut-offs of `assistant/conversation/meaning.py`.

Run: .venv/bin/python -m bench.conversation.meaning_calibration

Measured only on the operation classifier's training material, never on a question set:
- phrases that name an input: every alias and every everyday phrase (true_phrases / false_phrases)
  of the ~26 hand-written schemas in `assistant/conversation/data/schemas.yaml`, each compared with
  what that schema's `model.yaml` would say of its inputs *without* that alias (held out);
- phrases that name none: the candidate phrases of the question templates (`data/templates*.yaml`)
  with their slots removed ("top reasons", "worst misses", "what would happen"), against every
  schema's inputs.
For each (similarity, margin) pair it reports how many input phrases are read right, read as the
wrong input, and how many template phrases are taken for an input, and picks the pair with the best
right - 2 x (wrong + template phrases taken): a wrong input changes an answer, a missed one only
leaves a question unanswered. Prints a table and writes bench/results/meaning_calibration.json.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from assistant.conversation import corpus
    from assistant.conversation.lexicon import normalise
    from assistant.conversation.meaning import FeatureMeaning, candidate_phrases
    from bench.common import print_table, write_json
    from knowledge.embedder import Embedder

    rng = random.Random(0)
    schemas = corpus.load_schemas()
    specs = [corpus.SchemaModel(s, rng).spec for s in schemas]
    # Positives: (schema index, feature, phrase held out of the glosses)
    positives = []
    for i, raw in enumerate(schemas):
        for f in raw["features"]:
            for phrase in [*(f.get("aliases") or []), *(f.get("true_phrases") or []), *(f.get("false_phrases") or [])]:
                positives.append((i, f["name"], normalise(phrase)))
    # Negatives: template phrases with the slots taken out.
    templates = corpus.load_templates()
    lines = [t for op in corpus.OPERATIONS for t in templates.get(op) or []] + \
        [e["t"] for e in templates.get("compound") or []]
    negatives = sorted({p for t in lines for p, _, _ in candidate_phrases(normalise(re.sub(r"\{\w+\}", " , ", t)), [])})
    negatives = rng.sample(negatives, min(3000, len(negatives)))

    glosses = [FeatureMeaning.glosses(spec) for spec in specs]
    texts = sorted({t for g in glosses for _, t in g} | {p for _, _, p in positives} | set(negatives))
    embedder = Embedder()
    print(f"embedding {len(texts):,} phrases ...")
    vectors = dict(zip(texts, np.asarray(embedder.embed(texts), dtype=np.float32)))

    def ranked(i: int, phrase: str, held: str | None = None) -> list[tuple[str, float]]:
        best: dict[str, float] = {}
        v = vectors[phrase]
        for feature, text in glosses[i]:
            if text == held:
                continue
            s = float(v @ vectors[text])
            best[feature] = max(best.get(feature, -1.0), s)
        return sorted(best.items(), key=lambda kv: -kv[1])

    pos = [(feature, ranked(i, phrase, phrase)) for i, feature, phrase in positives]
    neg = [ranked(i, phrase) for phrase in negatives for i in rng.sample(range(len(specs)), 3)]
    rows, best = [], None
    for similarity in np.arange(0.40, 0.81, 0.025):
        for margin in (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15):
            def takes(r):
                return r and r[0][1] >= similarity and r[0][1] - (r[1][1] if len(r) > 1 else 0) >= margin
            right = sum(takes(r) and r[0][0] == f for f, r in pos) / len(pos)
            wrong = sum(takes(r) and r[0][0] != f for f, r in pos) / len(pos)
            taken = sum(bool(takes(r)) for r in neg) / len(neg)
            score = right - 2 * (wrong + taken)
            rows.append((round(float(similarity), 3), margin, right, wrong, taken, score))
            if best is None or score > best[-1]:
                best = rows[-1]
    shown = sorted(rows, key=lambda r: -r[-1])[:12]
    print_table(f"feature by meaning: {len(pos)} held-out input phrases, {len(neg)} template phrases x schema "
                "(best 12 cut-offs)", ["similarity", "margin", "right", "wrong input", "template phrase taken", "score"],
                [[f"{s:.3f}", f"{m:.2f}", f"{r:.1%}", f"{w:.1%}", f"{t:.1%}", f"{sc:.3f}"] for s, m, r, w, t, sc in shown])
    print(f"chosen: similarity >= {best[0]:.3f}, margin >= {best[1]:.2f}")
    write_json("meaning_calibration", {"input_phrases": len(pos), "template_phrases": len(neg),
                                       "chosen": dict(zip(["similarity", "margin", "right", "wrong", "taken", "score"], best)),
                                       "grid": [dict(zip(["similarity", "margin", "right", "wrong", "taken", "score"], r))
                                                for r in rows]})


if __name__ == "__main__":
    main()
