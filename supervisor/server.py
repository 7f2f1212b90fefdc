"""The server side of the owner socket: other LSFS processes call the owner's ``LSFS``.

One thread accepts; each connection gets its own thread that reads one JSON line per
request (``lsfs.owner`` describes the protocol), asks ``dispatch`` for the answer and
writes it back. Which methods may be called, and under which lock, is the dispatcher's
business (``Supervisor.call``); this module only moves bytes safely:
- the socket file is mode 0600 and a peer of another user is hung up on (SO_PEERCRED);
- a request line longer than ``max_request`` bytes is refused and the connection closed;
- a socket file left by a crashed owner is replaced (the caller holds the root lock, so
  no other owner can be listening on it).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat as statmod
import struct
import threading
from pathlib import Path
from typing import Any, Callable

from lsfs import owner
from lsfs.errors import Refused, UserError
from lsfs.owner import HELLO, ProtocolError, decode, dumps, encode, encode_error

log = logging.getLogger("lsfs.supervisor.server")

Dispatch = Callable[[str, tuple, dict], Any]


class OwnerServer:
    """Listens on the root's owner socket and answers requests through ``dispatch``."""

    def __init__(self, root: Path, dispatch: Dispatch, hello: Callable[[], dict], *, max_request: int):
        self.root = Path(root)
        self.path = owner.server_socket_path(self.root)
        self._dispatch = dispatch
        self._hello = hello
        self.max_request = max_request
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Bind and listen now (connections queue until accepted), then accept in a thread."""
        record = self.root / ".lsfs" / owner.SOCKET_RECORD
        if self.path.parent != self.root / ".lsfs":
            _private_dir(self.path.parent)
        _remove_stale(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        # Nobody can connect before listen(), so there is no moment of a wider mode.
        os.chmod(self.path, 0o600)
        listener.listen(64)
        listener.settimeout(0.2)
        self._inode = os.stat(self.path).st_ino
        self._listener = listener
        if self.path.parent != self.root / ".lsfs":
            tmp = record.with_name(record.name + ".tmp")
            tmp.write_text(str(self.path) + "\n", encoding="utf-8")
            os.replace(tmp, record)
        else:
            record.unlink(missing_ok=True)
        self._thread = threading.Thread(target=self._accept_loop, name="lsfs-owner-accept", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, hang up on every client, remove the socket file."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass
        if self.path.parent != self.root / ".lsfs":
            (self.root / ".lsfs" / owner.SOCKET_RECORD).unlink(missing_ok=True)

    # -- serving ---------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                log.exception("accept failed")
                continue
            conn.settimeout(None)
            if not _same_user(conn):
                conn.close()
                continue
            with self._conns_lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="lsfs-owner-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while not self._stopping.is_set():
                line = reader.readline(self.max_request + 1)
                if not line:
                    return
                if len(line) > self.max_request:
                    # The rest of the line cannot be skipped safely; answer and hang up.
                    self._send(conn, {"id": None, "ok": False, "error": encode_error(UserError(
                        f"request too large (over {self.max_request // 2**20} MiB); "
                        "write big files directly into the folder, the supervisor will index them"
                    ))})
                    return
                if not self._answer(conn, line):
                    return
        except OSError:
            return
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            try:
                reader.close()
                conn.close()
            except OSError:
                pass

    def _answer(self, conn: socket.socket, line: bytes) -> bool:
        try:
            msg = json.loads(line)
        except ValueError:
            self._send(conn, {"id": None, "ok": False, "error": encode_error(ProtocolError("the request is not JSON"))})
            return False
        msg_id = msg.get("id") if isinstance(msg, dict) else None
        try:
            if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
                raise ProtocolError("a request must be an object with a method name")
            method = msg["method"]
            args = decode(msg.get("args") or [])
            kwargs = decode(msg.get("kwargs") or {})
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise ProtocolError("args must be a list and kwargs an object")
            if self._stopping.is_set():
                raise Refused("the LSFS supervisor is stopping; run the command again")
            result = self._hello() if method == HELLO else self._dispatch(method, tuple(args), kwargs)
            reply = {"id": msg_id, "ok": True, "result": encode(result)}
        except Exception as exc:  # every failure goes back to the client, as its own class
            reply = self._failure(msg_id, exc)
        return self._send(conn, reply)

    def _failure(self, msg_id, exc: BaseException) -> dict:
        from lsfs.errors import LSFSError

        if not isinstance(exc, LSFSError):
            log.error("request failed", exc_info=exc)
        return {"id": msg_id, "ok": False, "error": encode_error(exc)}

    def _send(self, conn: socket.socket, reply: dict) -> bool:
        try:
            data = dumps(reply)
        except (TypeError, ValueError) as exc:
            data = dumps({"id": reply.get("id"), "ok": False, "error": encode_error(exc)})
        try:
            conn.sendall(data)
            return True
        except OSError:
            return False  # the client went away (Ctrl-C); its request was still carried out


def _same_user(conn: socket.socket) -> bool:
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return True  # not Linux; the socket's 0600 mode is the guard
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid in (os.getuid(), 0)


def _private_dir(path: Path) -> None:
    """Make sure the fallback socket folder is ours alone (it may live under /tmp)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError as exc:
        raise UserError(f"cannot create {path} for the supervisor's socket: {exc.strerror}") from None
    if not statmod.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise Refused(
            f"{path} (for the supervisor's socket) is not a private folder of this user; "
            "remove it or set XDG_RUNTIME_DIR to a private folder"
        )


def _remove_stale(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not statmod.S_ISSOCK(st.st_mode):
        raise Refused(f"{path} exists and is not a socket; remove it to start the supervisor")
    path.unlink()
