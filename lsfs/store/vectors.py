"""Chunk vectors in Chroma: embedded (``ROOT/.lsfs/chroma``) or a Chroma server.

Ids are ``<file id>:<chunk seq>``: the file id is the catalog's lineage id, so two files
with the same name in different folders never collide, and a move changes no vector.
Metadata holds only the file id; paths live in the catalog. LSFS always passes its own
embeddings: Chroma's default embedding function would try to download a model.

On a Chroma server (``LSFS_CHROMA_URL``) many roots share one server, so each root gets its
own collection, named after the root id kept in the catalog (``collection_for``).
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


def collection_for(root_id: str) -> str:
    """The server-side collection of one root (Chroma allows [A-Za-z0-9._-], 3-512 chars)."""
    return f"lsfs_{root_id}"


def _server_address(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) from ``LSFS_CHROMA_URL``: "http://h:8000", "https://h", "h:8000"."""
    from urllib.parse import urlparse

    u = urlparse(url if "://" in url else f"http://{url}")
    try:
        port = u.port
    except ValueError:
        port = -1
    if u.scheme not in ("http", "https") or not u.hostname or port == -1:
        raise BackendUnavailable(
            f"LSFS_CHROMA_URL={url!r} is not a server address; use http://HOST:PORT"
        )
    ssl = u.scheme == "https"
    return u.hostname, port or (443 if ssl else 8000), ssl


class VectorStore:
    def __init__(
        self, path: Path | None = None, url: str | None = None, model_id: str = "",
        collection: str = COLLECTION,
    ):
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        self.name = collection
        self._url = url
        if url:
            host, port, ssl = _server_address(url)
            try:
                self.client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
                self.client.heartbeat()
                self.collection = self._open_collection()
            except Exception as exc:
                raise BackendUnavailable(
                    f"Chroma server at {url} is unreachable ({type(exc).__name__}); "
                    "start it (chroma run --path DIR --port PORT) or fix or unset LSFS_CHROMA_URL"
                ) from None
        else:
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
            self.collection = self._open_collection()
        self.model_id = model_id

    def _open_collection(self):
        collection = self.client.get_or_create_collection(
            self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        return _ServerCollection(collection, self._url) if self._url else collection

    def close(self) -> None:
        """Release the client: Chroma keeps its database and index files open until the
        last client of a path is closed, so a process that opens many roots (a test run, an
        MCP server over several folders) would otherwise run out of descriptors."""
        close = getattr(self.client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass

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
        try:
            self.client.delete_collection(self.name)
        except Exception:  # absent already (a server wiped by hand): nothing to drop
            pass
        self.collection = self._open_collection()


class _ServerCollection:
    """A collection on a Chroma server whose lost connection reads as exit code 4 naming
    the setting, not as an internal error (the server can stop while LSFS runs)."""

    def __init__(self, collection, url: str):
        self._collection = collection
        self._url = url

    def __getattr__(self, name):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            import httpx

            try:
                return attr(*args, **kwargs)
            except httpx.TransportError as exc:
                raise BackendUnavailable(
                    f"lost the Chroma server at {self._url} ({type(exc).__name__}); "
                    "restart it, or fix or unset LSFS_CHROMA_URL"
                ) from None

        return call
