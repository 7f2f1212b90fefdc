"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (TEI, vLLM, Ollama…)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lsfs.errors import BackendUnavailable

BATCH = 64


class RemoteEmbedder:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        # Same form as Root.model_id: the model, not the host, decides the vector space.
        self.model_id = f"remote:{model}"
        self.max_tokens = 256
        self._api_key = api_key or "unused"
        self._timeout = timeout
        self._client = None
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def warm(self) -> None:
        _ = self.dim

    def import_runtime(self) -> None:
        """Import the HTTP stack in the calling thread: ``openai`` imports ``httpx`` lazily,
        and a search embeds its query on a worker thread while the main thread imports
        chromadb, which imports ``httpx`` too; two threads importing one module at once can
        see it half-initialised."""
        import httpx  # noqa: F401
        import openai

        openai.OpenAI  # noqa: B018  (resolves the lazily imported client module now)

    def _call(self, texts: list[str]) -> np.ndarray:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=self._api_key, timeout=self._timeout, max_retries=2
            )
        try:
            resp = self._client.embeddings.create(model=self.model, input=texts)
        except openai.OpenAIError as exc:
            raise BackendUnavailable(
                f"embedding server {self.base_url} failed ({type(exc).__name__}: {exc}); "
                "check LSFS_EMBED_BASE_URL and LSFS_EMBED_MODEL"
            ) from None
        rows = sorted(resp.data, key=lambda d: d.index)
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts = [self._call(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
        out = np.concatenate(parts)
        if self._dim is None:
            self._dim = out.shape[1]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
