"""Exact nearest-neighbour search over chunk vectors held in memory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from knowledge.ranking import top_positions


class DenseIndex:
    """Chunk vectors as one unit-length float32 matrix: a query is one matrix-vector product.

    Cosine similarity, as the Chroma collection (cosine space) measures it, but exact rather than
    through an HNSW graph. `top(vector, n, allowed)` ranks only allowed positions.
    """

    def __init__(self, vectors: np.ndarray):
        matrix = np.asarray(vectors, dtype=np.float32)  # (chunks, dimensions)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self._matrix = matrix / np.where(norms > 0, norms, 1.0).astype(np.float32)
        self.size = len(matrix)

    def top(
        self, vector: Sequence[float] | np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(position, cosine similarity) of the `n` allowed vectors nearest to `vector`, best first."""
        if not self.size:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        scores = self._matrix @ (query / norm if norm > 0 else query)
        candidates = np.arange(self.size) if allowed is None else np.flatnonzero(allowed)
        return [(i, float(scores[i])) for i in top_positions(scores, n, candidates)]
