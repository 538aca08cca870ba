"""The sentence model on ONNX Runtime: the same vectors as sentence-transformers, in about half the time.

A short message through PyTorch spends much of its time in Python around the arithmetic (module
calls, hooks, `eval()` on every encode); ONNX Runtime runs the whole graph in C++ and releases the
interpreter lock while it does. The graph is exported once per machine from the model folder on
disk (`torch.onnx.export`; nothing is downloaded), with mean pooling inside it, into a cache folder
keyed by the model's files and this recipe. Full precision: its vectors match sentence-transformers'
to within float rounding (cosine > 0.99999), so the guard judge and the knowledge index built with
either runtime read them the same. int8 quantisation was measured and not adopted (vectors move to
cosine ~0.97 of the originals for a ~3 ms gain; see the README's Benchmarks).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np


log = logging.getLogger("modeldesk.knowledge")

RECIPE = 1  # bump when the export below changes
FILE = "encoder.onnx"


def supported(path: Path) -> bool:
    """A BERT-style sentence model whose pooling is the mean of its token vectors (what the export builds)."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        pooling = next((m for m in modules if m.get("type", "").endswith("Pooling")), None)
        config = json.loads((path / (pooling or {}).get("path", "1_Pooling") / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (kinds[:2] == ["Transformer", "Pooling"] and set(kinds[2:]) <= {"Normalize"}
            and config.get("pooling_mode_mean_tokens") is True
            and not any(config.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                                "pooling_mode_mean_sqrt_len_tokens"))
            and (path / "tokenizer.json").exists())


def fingerprint(path: Path) -> str:
    """What an exported graph depends on: the model's configuration, weights and this recipe."""
    h = hashlib.sha256(f"onnx-encoder v{RECIPE}".encode())
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors",
                 "pytorch_model.bin"):
        f = path / name
        if f.exists():
            h.update(name.encode())
            h.update(str(f.stat().st_size).encode())
            if f.stat().st_size < 4_000_000:
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def cache_folder(path: Path) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modeldesk" / "encoder"
    return root / fingerprint(path)


def export(path: Path, out: Path) -> Path:
    """Write the model (transformer + mean pooling) as one ONNX graph to `out`/encoder.onnx; a few seconds."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output or logs
    try:
        model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)

    class Pooled(torch.nn.Module):
        def __init__(self, transformer: Any):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    sample = tokenizer(["an example", "a slightly longer example sentence"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(model), tuple(sample[n] for n in names), str(tmp), input_names=names,
                          output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                        "sentence_embedding": {0: "batch"}})
    tmp.replace(out / FILE)  # atomic: concurrent workers never read a half-written graph
    return out / FILE


class OnnxEncoder:
    """Mean-pooled sentence vectors from the exported graph; `encode` returns unit-length float32 rows."""

    _exporting = threading.Lock()

    def __init__(self, path: Path, *, threads: int = 1, batch_size: int = 64):
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.batch_size = batch_size
        graph = cache_folder(self.path) / FILE
        with self._exporting:
            if not graph.exists():
                log.info("exporting %s to ONNX in %s (once per machine)", self.path.name, graph.parent)
                export(self.path, graph.parent)
        max_len = 256
        try:
            max_len = int(json.loads((self.path / "sentence_bert_config.json").read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError):
            pass
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        self.sessions = {"query": self._session(graph, max(1, threads))}
        bulk = max(threads, os.cpu_count() or 1)  # ingestion and training may use every core
        self.sessions["bulk"] = self.sessions["query"] if bulk == max(1, threads) else self._session(graph, bulk)
        self.dimension = int(json.loads((self.path / "config.json").read_text(encoding="utf-8"))["hidden_size"])

    @staticmethod
    def _session(graph: Path, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def _run(self, texts: Sequence[str], session: Any) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.asarray([e.type_ids for e in encodings], dtype=np.int64)
        pooled = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if len(texts) <= 4:
            return self._run(texts, self.sessions["query"])
        # Long lists (ingestion, training): similar lengths batched together, so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            out[chunk] = self._run([texts[i] for i in chunk], self.sessions["bulk"])
        return out


def load(path: Path, *, threads: int = 1, batch_size: int = 64) -> OnnxEncoder | None:
    """The ONNX encoder for the model at `path`, or None for a model the export does not cover."""
    if not supported(path):
        return None
    return OnnxEncoder(path, threads=threads, batch_size=batch_size)
