"""Operations from a learned classifier: which tool(s) a question asks for.

The classifier reads the question with its mentions replaced by typed placeholders
(`mentions.Vocabulary.mask`), so it learns the shape of a request ("why is recordid tiername?")
rather than any model's words. It is multi-label (a compound question asks for two operations)
and is trained by one deterministic command, `modeldesk understand train`, on the corpus that
`corpus.generate` builds from the bundled schemas and templates. Word and character n-grams
with one logistic regression per operation: sub-millisecond per question, seconds to train.

Built once per machine into `~/.cache/modeldesk/understanding/<fingerprint>`; when missing it is
trained on first use (about half a minute) and saved there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np

from assistant.conversation import corpus

log = logging.getLogger("modeldesk.understanding")
# What a built classifier depends on besides the data: the code that generates and masks the corpus.
# VERSION changes when the model's features or training change (this file's reading code may change freely).
_SOURCES = ("corpus.py", "mentions.py", "lexicon.py")
VERSION = "2"


@dataclass
class Reading:
    """The classifier's view of one question: a probability per operation, best first."""

    scores: dict[str, float]
    second: float = 0.5   # the classifier's own threshold for a second operation (chosen in training)

    @property
    def ranked(self) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda kv: -kv[1])

    @property
    def top(self) -> tuple[str, float]:
        return self.ranked[0]

    def ops(self, threshold: float = 0.25, second: float | None = None) -> list[str]:
        """The operation asked for, plus a second one when the question clearly asks for two."""
        second = self.second if second is None else second
        (best, p), *rest = self.ranked
        if p < threshold:
            return []
        out = [best]
        if rest and rest[0][1] >= second and rest[0][0] != "none" and best != "none":
            out.append(rest[0][0])
        return out


def fingerprint() -> str:
    """What a built classifier depends on: the bundled data and the code that reads it."""
    h = hashlib.sha256(f"v{VERSION}".encode())
    for path in sorted(corpus.DATA.glob("*.yaml")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    here = Path(__file__).parent
    for name in _SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def default_folder() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modeldesk" / "understanding"
    return root / fingerprint()


def _pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"[a-z0-9']+")),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=60000)),
    ])
    return make_pipeline(features, OneVsRestClassifier(LogisticRegression(C=8.0, max_iter=3000, solver="liblinear")))


def train(out: Path | None = None, *, examples: list[corpus.Example] | None = None, progress=print) -> dict:
    """Generate the corpus, fit the classifier, save it with its measured hold-out accuracy."""
    from sklearn.preprocessing import MultiLabelBinarizer

    started = time.perf_counter()
    examples = examples if examples is not None else corpus.generate()
    progress(f"corpus: {len(examples):,} generated questions")
    labels = MultiLabelBinarizer(classes=list(corpus.OPERATIONS))
    # A deterministic 10% hold-out (every tenth template fill) measures the fit; the saved model sees all.
    held = [e for i, e in enumerate(examples) if i % 10 == 0]
    kept = [e for i, e in enumerate(examples) if i % 10]
    probe = _pipeline().fit([e.masked for e in kept], labels.fit_transform([e.ops for e in kept]))
    readings = [_reading(probe, labels.classes_, e.masked) for e in held]
    hits = sum(r.top[0] in e.ops for r, e in zip(readings, held))
    # When a second operation counts as asked for: the threshold that reads the hold-out's operation
    # sets (one or two) best.
    second = max((sum(set(r.ops(second=t)) == set(e.ops) for r, e in zip(readings, held)), -abs(t - 0.5), t)
                 for t in np.arange(0.3, 0.95, 0.05))[2]
    exact = sum(set(r.ops(second=second)) == set(e.ops) for r, e in zip(readings, held))
    model = _pipeline().fit([e.masked for e in examples], labels.fit_transform([e.ops for e in examples]))
    meta = {"examples": len(examples), "held_out_accuracy": hits / max(1, len(held)),
            "held_out_exact_sets": exact / max(1, len(held)), "second_threshold": round(float(second), 2),
            "seconds": round(time.perf_counter() - started, 1), "fingerprint": fingerprint(),
            "operations": list(labels.classes_)}
    folder = out or default_folder()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"model.joblib.{os.getpid()}.tmp"
    joblib.dump({"model": model, "classes": list(labels.classes_)}, tmp)
    tmp.replace(folder / "model.joblib")
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    progress(f"operation classifier: hold-out accuracy {meta['held_out_accuracy']:.1%} (operation sets "
             f"{meta['held_out_exact_sets']:.1%}, second operation at p >= {meta['second_threshold']}) in "
             f"{meta['seconds']} s -> {folder}")
    return meta


def _reading(model, classes, text: str) -> Reading:
    probs = model.predict_proba([text])[0]
    return Reading({c: float(p) for c, p in zip(classes, np.asarray(probs).ravel())})


class OperationClassifier:
    """Loads (or, the first time on a machine, trains) the classifier and reads questions with it."""

    _loaded: dict[Path, "OperationClassifier"] = {}
    _lock = threading.Lock()

    def __init__(self, folder: Path):
        bundle = joblib.load(folder / "model.joblib")
        self.model, self.classes = bundle["model"], bundle["classes"]
        # The hot path: one sparse matrix product for every operation at once, instead of sixteen
        # estimators each validating its input (7 ms -> well under 1 ms a question).
        features, head = self.model.steps[0][1], self.model.steps[-1][1]
        self._vectorizers = [v for _, v in features.transformer_list]
        self._weights = np.vstack([e.coef_.ravel() for e in head.estimators_]).T
        self._bias = np.array([float(e.intercept_[0]) for e in head.estimators_])
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        self.second = float(meta.get("second_threshold", 0.5))
        self._cache: dict[str, Reading] = {}

    @classmethod
    def find(cls, folder: Path | None = None) -> "OperationClassifier":
        """The classifier for the bundled data, built into the machine's cache when missing."""
        folder = folder or default_folder()
        with cls._lock:
            if folder not in cls._loaded:
                if not (folder / "model.joblib").exists():
                    log.warning("building the operation classifier in %s (once per machine)", folder)
                    train(folder, progress=log.info)
                try:
                    cls._loaded[folder] = cls(folder)
                except Exception as exc:  # noqa: BLE001 - a damaged file is named, with the fix
                    from assistant.errors import ConfigError

                    raise ConfigError(f"{folder / 'model.joblib'}: the operation classifier could not be loaded "
                                      f"({type(exc).__name__}: {exc}); rebuild it with `modeldesk understand train "
                                      f"--force`") from None
            return cls._loaded[folder]

    def read(self, text: str) -> Reading:
        """`text` is the masked question (`mentions.classifier_text`)."""
        cached = self._cache.get(text)
        if cached is None:
            from scipy.sparse import hstack

            row = hstack([v.transform([text]) for v in self._vectorizers]).tocsr()
            logits = np.asarray(row @ self._weights).ravel() + self._bias
            cached = Reading({c: float(p) for c, p in zip(self.classes, 1.0 / (1.0 + np.exp(-logits)))})
            cached.second = self.second
            if len(self._cache) >= 4096:
                self._cache.pop(next(iter(self._cache)))
            self._cache[text] = cached
        return cached
