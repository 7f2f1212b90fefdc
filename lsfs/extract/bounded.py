"""Run a fragile parser (pypdf) in a helper process with a time and memory bound.

A malformed PDF can make pypdf loop or allocate without end, and a thread cannot be
stopped, so PDF text is extracted in a long-lived child process (started on the first
PDF, reused after). When it answers late it is killed, the file is recorded as failed
with the reason, and the next PDF starts a fresh helper: indexing never hangs on one file.

Protocol on the child's stdin/stdout: 8-byte big-endian length, then a pickle of
``(kind, bytes)``; the answer is ``("ok", text) | ("skip", why) | ("failed", why)``.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from lsfs.extract import ExtractFailed, Skip

TIMEOUT_ENV = "LSFS_EXTRACT_TIMEOUT"
DEFAULT_TIMEOUT_S = 60.0
# Address space the helper may use: a parser that wants more fails with MemoryError.
MEMORY_LIMIT = 2 * 1024**3

_lock = threading.Lock()
_proc: subprocess.Popen | None = None


def _forget_after_fork() -> None:
    # A forked child must not talk to its parent's helper: two processes writing requests
    # and reading answers on the same pipes would take each other's answers. The lock may
    # also have been held by another thread at the fork.
    global _lock, _proc
    _lock = threading.Lock()
    _proc = None


os.register_at_fork(after_in_child=_forget_after_fork)


def timeout_s() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S


def _start() -> subprocess.Popen:
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "lsfs.extract.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env=env, close_fds=True,
    )


def _stop() -> None:
    global _proc
    if _proc is not None:
        try:
            _proc.kill()
            _proc.wait(timeout=5)
        except Exception:
            pass
        _proc = None


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    # poll, not select: select() refuses descriptors numbered 1024 and up, which a
    # long-lived process with many open files (a supervisor, a test run) reaches.
    waiter = select.poll()
    waiter.register(fd, select.POLLIN)
    out = bytearray()
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not waiter.poll(left * 1000):
            raise TimeoutError
        block = os.read(fd, n - len(out))
        if not block:
            raise EOFError
        out += block
    return bytes(out)


def run(kind: str, data: bytes) -> str:
    """Text of ``data`` extracted by ``kind``'s parser in the helper, within the time limit."""
    global _proc
    limit = timeout_s()
    with _lock:
        if _proc is None or _proc.poll() is not None:
            _proc = _start()
        payload = pickle.dumps((kind, data), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _proc.stdin.write(struct.pack(">Q", len(payload)) + payload)
            _proc.stdin.flush()
            deadline = time.monotonic() + limit
            fd = _proc.stdout.fileno()
            (size,) = struct.unpack(">Q", _read_exact(fd, 8, deadline))
            status, message = pickle.loads(_read_exact(fd, size, deadline))
        except TimeoutError:
            _stop()
            raise ExtractFailed(f"{kind} extraction took longer than {limit:g} s (the file may be malformed; limit {TIMEOUT_ENV})") from None
        except (EOFError, BrokenPipeError, OSError):
            _stop()
            raise ExtractFailed(f"{kind} parser crashed on this file") from None
    if status == "ok":
        return message
    if status == "skip":
        raise Skip(message)
    raise ExtractFailed(message)
