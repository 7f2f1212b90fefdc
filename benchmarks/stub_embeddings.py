"""A stand-in OpenAI-compatible ``/v1/embeddings`` server for measuring LSFS without the model.

Vectors are a hashed bag of words (384 dimensions, like the bundled model), computed in
microseconds: indexing through ``LSFS_EMBED_BASE_URL`` then costs everything LSFS does
(walk, read, version objects, extract, chunk, SQLite, Chroma, HNSW) except the model.
Retrieval *quality* with these vectors means nothing; sizes, memory, keyword search and
the vector-search part of semantic latency are real.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

DIM = 384
_WORD = re.compile(r"\w+")


def hashed_vector(text: str) -> np.ndarray:
    vec = np.zeros(DIM, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        h = zlib.crc32(word.encode())
        vec[h % DIM] += 1.0 if h & 0x80000000 else -1.0
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        vec[0] = 1.0
        norm = 1.0
    return vec / norm


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        b64 = body.get("encoding_format") == "base64"
        data = []
        for i, t in enumerate(texts):
            v = hashed_vector(t)
            emb = base64.b64encode(v.astype("<f4").tobytes()).decode() if b64 else v.tolist()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        out = json.dumps({"object": "list", "data": data, "model": body.get("model", "hash-384"),
                          "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):  # quiet
        pass


PORT = 39329  # fixed: LSFS records the endpoint URL as the model id, so a later run must match


def start(port: int = PORT) -> tuple[ThreadingHTTPServer, str]:
    """Serve on a loopback port in a daemon thread; returns (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    threading.Thread(target=server.serve_forever, name="stub-embeddings", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
