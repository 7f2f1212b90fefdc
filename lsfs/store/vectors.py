"""Chunk vectors in Chroma: embedded (``ROOT/.lsfs/chroma``) or a Chroma server.

Ids are ``<file id>:<chunk seq>``: the file id is the catalog's lineage id, so two files
with the same name in different folders never collide, and a move changes no vector.
Metadata holds only the file id; paths live in the catalog. LSFS always passes its own
embeddings: Chroma's default embedding function would try to download a model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from lsfs.errors import BackendUnavailable

COLLECTION = "lsfs_chunks"
# Chroma rejects very large single writes; stay well under its batch limit.
WRITE_BATCH = 2000


def chunk_id(file_id: int, seq: int) -> str:
    return f"{file_id}:{seq}"


class VectorStore:
    def __init__(self, path: Path | None = None, url: str | None = None, model_id: str = ""):
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if url:
            from urllib.parse import urlparse

            u = urlparse(url if "://" in url else f"http://{url}")
            try:
                self.client = chromadb.HttpClient(
                    host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https",
                    settings=settings,
                )
                self.client.heartbeat()
            except Exception as exc:
                raise BackendUnavailable(
                    f"Chroma server at {url} is unreachable ({type(exc).__name__}); "
                    "start it or unset LSFS_CHROMA_URL"
                ) from None
        else:
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        self.model_id = model_id
        self.collection = self.client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def count(self) -> int:
        return self.collection.count()

    def upsert(self, ids: Sequence[str], embeddings: np.ndarray, file_ids: Sequence[int]) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            self.collection.upsert(
                ids=list(ids[i : i + WRITE_BATCH]),
                embeddings=np.asarray(embeddings[i : i + WRITE_BATCH], dtype=np.float32),
                metadatas=[{"file_id": int(f)} for f in file_ids[i : i + WRITE_BATCH]],
            )

    def get_embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), WRITE_BATCH):
            self.collection.delete(ids=ids[i : i + WRITE_BATCH])

    def delete_file(self, file_id: int) -> None:
        self.collection.delete(where={"file_id": int(file_id)})

    def all_ids(self) -> list[str]:
        out: list[str] = []
        offset = 0
        while True:
            got = self.collection.get(include=[], limit=10000, offset=offset)
            out.extend(got["ids"])
            if len(got["ids"]) < 10000:
                return out
            offset += 10000

    def query(self, vector: np.ndarray, n: int, file_ids: Sequence[int] | None = None) -> list[tuple[str, int, float]]:
        """The ``n`` nearest chunks as (chunk id, file id, cosine similarity), best first."""
        total = self.count()
        if total == 0 or n <= 0:
            return []
        where = None
        if file_ids is not None:
            if not file_ids:
                return []
            where = {"file_id": {"$in": [int(f) for f in file_ids]}}
        res = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(n, total),
            where=where,
            include=["distances", "metadatas"],
        )
        return [
            (cid, int(meta["file_id"]), 1.0 - float(dist))
            for cid, meta, dist in zip(res["ids"][0], res["metadatas"][0], res["distances"][0])
        ]

    def reset(self) -> None:
        """Drop every vector (``lsfs index --rebuild``)."""
        self.client.delete_collection(COLLECTION)
        self.collection = self.client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
