"""A small real OpenAI-compatible embeddings server for the tests.

``POST /v1/embeddings`` with ``{"model": ..., "input": str | [str]}`` answers like OpenAI's
API, computing the vectors with LSFS's bundled model (``LocalEmbedder``). It serves
``MODEL`` only; another model name gets a 404 error body, as a real server would.
It runs in a daemon thread on loopback, so tests can start it without a subprocess.

    server = start()            # -> EmbedServer(base_url, model, requests)
    ...
    server.stop()
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "all-MiniLM-L6-v2"


@dataclass
class EmbedServer:
    base_url: str
    model: str
    httpd: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[dict] = field(default_factory=list)  # one entry per embeddings call

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def start(model: str = MODEL, scale: float = 1.0, dims: int | None = None) -> EmbedServer:
    """Serve ``model`` on 127.0.0.1 at a free port. ``scale`` multiplies every vector, to
    check that clients normalise (real servers do not always return unit vectors); ``dims``
    keeps only the first ``dims`` components: another vector space under the same name."""
    from lsfs.embed import LocalEmbedder

    embedder = LocalEmbedder(MODEL)
    lock = threading.Lock()  # one onnxruntime session; requests take turns
    log: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path.rstrip("/") != "/v1/embeddings":
                return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            try:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            except ValueError:
                return self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            if req.get("model") != model:
                return self._send(
                    404, {"error": {"message": f"model {req.get('model')!r} not found", "type": "not_found"}}
                )
            texts = req.get("input")
            if isinstance(texts, str):
                texts = [texts]
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                return self._send(400, {"error": {"message": "input must be text", "type": "invalid_request_error"}})
            with lock:
                vectors = embedder.embed(texts)[:, :dims] * scale
                log.append({"model": req["model"], "n": len(texts)})
            self._send(200, {
                "object": "list",
                "model": model,
                "data": [
                    {"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
                    for i, v in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            })

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="embed-server", daemon=True)
    thread.start()
    port = httpd.server_address[1]
    return EmbedServer(f"http://127.0.0.1:{port}/v1", model, httpd, thread, log)
