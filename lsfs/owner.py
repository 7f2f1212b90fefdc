"""Talking to the process that owns a root: the client side of the owner socket.

While ``lsfs watch`` runs, it is the only process that opens the root's vector store
(DESIGN.md, "one owner per root"); every other LSFS process sends it requests over a Unix
socket in ``ROOT/.lsfs/``. This module holds what both ends share — where the socket is,
and how values travel — and the client, ``RemoteLSFS``, which offers the methods of
``lsfs.api.LSFS`` named in ``LSFS.RPC_METHODS``. The server lives in ``supervisor/``.

It imports nothing heavy: a command that finds an owner answers without loading numpy,
Chroma or the model (``lsfs search`` with a supervisor running is a cheap process).

The protocol is one JSON object per line, both ways:
    request   {"id": 1, "method": "search", "args": [...], "kwargs": {...}}
    answer    {"id": 1, "ok": true, "result": ...}
              {"id": 1, "ok": false, "error": {"type": "NotFound", "message": ..., "attrs": {...}}}
A connection starts with the method ``_hello``, whose answer names the owner's pid, root,
protocol version, state and the methods it serves.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import hashlib
import importlib
import json
import os
import socket
import threading
from pathlib import Path, PurePath
from typing import Any

from lsfs.errors import ERROR_CLASSES, BackendUnavailable, LSFSError

PROTOCOL = 1
SOCKET_NAME = "sock"
# Where the socket is when ROOT/.lsfs/sock would be too long for a Unix socket address.
SOCKET_RECORD = "sock.path"
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107
HELLO = "_hello"
# A connection that cannot even say hello within this time is not a usable owner.
HELLO_TIMEOUT = 10.0

_TAG = "__lsfs__"
# Arguments that only make sense in the caller's process (progress bars): not sent.
LOCAL_ONLY = frozenset({"progress"})


# -- where the socket is ---------------------------------------------------------------

def _state(root: Path) -> Path:
    return Path(root) / ".lsfs"


def _fits(path: Path) -> bool:
    return len(os.fsencode(str(path))) <= MAX_SOCKET_PATH


def fallback_socket_path(root: Path) -> Path:
    """A short socket path for a root whose own would be too long (``$XDG_RUNTIME_DIR``
    when set and short enough, else ``/tmp/lsfs-<uid>``), unique per root."""
    digest = hashlib.sha256(os.fsencode(str(Path(root).resolve()))).hexdigest()[:20]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        candidate = Path(runtime) / "lsfs" / f"{digest}.sock"
        if _fits(candidate) and os.path.isdir(runtime):
            return candidate
    return Path("/tmp") / f"lsfs-{os.getuid()}" / f"{digest}.sock"


def server_socket_path(root: Path) -> Path:
    """Where the owner of ``root`` listens: ``ROOT/.lsfs/sock`` when that fits."""
    default = _state(root) / SOCKET_NAME
    return default if _fits(default) else fallback_socket_path(root)


def socket_candidates(root: Path) -> list[Path]:
    """Where a client looks: the path the owner recorded (if any), then the default."""
    out: list[Path] = []
    try:
        recorded = (_state(root) / SOCKET_RECORD).read_text(encoding="utf-8").strip()
    except OSError:
        recorded = ""
    if recorded:
        out.append(Path(recorded))
    default = _state(root) / SOCKET_NAME
    if _fits(default) and default not in out:
        out.append(default)
    return out


# -- values on the wire ----------------------------------------------------------------

class ProtocolError(LSFSError):
    """The peer sent something this end does not understand (a different LSFS version?)."""


def encode(value: Any) -> Any:
    """A JSON-ready form of ``value`` from which ``decode`` rebuilds the same types.

    Dataclasses (``Hit``, ``FileInfo``, ``WriteResult``, ``SyncStats`` and whatever the
    API returns next) travel with their class name; bytes as base64; tuples, sets,
    paths and dates keep their type.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {_TAG: "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {_TAG: "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {_TAG: "set", "items": [encode(v) for v in value]}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, PurePath):
        return {_TAG: "path", "value": str(value)}
    if isinstance(value, _dt.datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, _dt.date):
        return {_TAG: "date", "value": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {
            _TAG: "dataclass",
            "type": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    raise TypeError(f"cannot send a {type(value).__name__} over the owner socket")


def decode(obj: Any) -> Any:
    """The inverse of ``encode``. Only dataclasses defined in ``lsfs`` are rebuilt."""
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get(_TAG)
    if tag is None:
        return {k: decode(v) for k, v in obj.items()}
    try:
        if tag == "dict":
            return {decode(k): decode(v) for k, v in obj["items"]}
        if tag == "tuple":
            return tuple(decode(v) for v in obj["items"])
        if tag == "set":
            return {decode(v) for v in obj["items"]}
        if tag == "bytes":
            return base64.b64decode(obj["b64"])
        if tag == "path":
            return Path(obj["value"])
        if tag == "datetime":
            return _dt.datetime.fromisoformat(obj["value"])
        if tag == "date":
            return _dt.date.fromisoformat(obj["value"])
        if tag == "dataclass":
            return _rebuild(obj["type"], {k: decode(v) for k, v in obj["fields"].items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed {tag} value from the owner socket ({exc})") from None
    raise ProtocolError(f"unknown value type {tag!r} from the owner socket; are both ends the same LSFS version?")


def _rebuild(name: str, values: dict) -> Any:
    module, _, qualname = name.partition(":")
    # The peer names the class; only LSFS's own dataclasses may be built from its words.
    if not (module == "lsfs" or module.startswith("lsfs.")) or not qualname:
        raise ProtocolError(f"refusing to build {name!r} from the owner socket")
    try:
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError):
        raise ProtocolError(f"unknown type {name!r} from the owner socket; are both ends the same LSFS version?") from None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ProtocolError(f"refusing to build {name!r} from the owner socket")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    obj = cls(**{k: v for k, v in values.items() if k in fields and fields[k].init})
    for k, v in values.items():
        if k in fields and not fields[k].init:
            object.__setattr__(obj, k, v)
    return obj


def encode_error(exc: BaseException) -> dict:
    """An exception as sent to the client: the nearest ``lsfs.errors`` class by name."""
    if isinstance(exc, LSFSError):
        name = next(c.__name__ for c in type(exc).__mro__ if ERROR_CLASSES.get(c.__name__) is c)
        attrs = {}
        for key, val in vars(exc).items():
            if key == "message":
                continue
            try:
                attrs[key] = encode(val)
            except TypeError:
                continue
        return {"type": name, "message": exc.message, "exit_code": exc.exit_code, "attrs": attrs}
    return {
        "type": "LSFSError",
        "message": f"internal error in the LSFS supervisor: {type(exc).__name__}: {exc} (see its log)",
        "exit_code": 1,
        "attrs": {},
    }


def decode_error(data: dict) -> LSFSError:
    """The exception ``encode_error`` described, as the same class (``LSFSError`` if unknown)."""
    cls = ERROR_CLASSES.get(str(data.get("type")), LSFSError)
    message = str(data.get("message", "unknown error in the LSFS supervisor"))
    # Built without calling __init__, which may take more arguments (Ambiguous takes the
    # candidates); the attributes the server sent restore them.
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.message = message
    for key, val in (data.get("attrs") or {}).items():
        if isinstance(key, str) and not key.startswith("__"):
            setattr(exc, key, decode(val))
    code = data.get("exit_code")
    if isinstance(code, int) and code != exc.exit_code:
        exc.exit_code = code
    return exc


def dumps(message: dict) -> bytes:
    # ASCII with escapes: a file name that is not valid UTF-8 (a lone surrogate in Python)
    # still travels, and comes back as the same string.
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


# -- the client ------------------------------------------------------------------------

class RemoteLSFS:
    """The running owner's ``LSFS``, seen from another process.

    Has every method named in ``LSFS.RPC_METHODS`` (as the owner reports them), with the
    same arguments, results and exceptions. Callback arguments (``progress=``) stay here.
    """

    def __init__(self, sock: socket.socket, root: Path, hello: dict):
        self._sock = sock
        self._reader = sock.makefile("rb")
        self._lock = threading.Lock()
        self._next_id = 1
        self._root = root
        self._hello = hello
        self._methods = frozenset(hello.get("methods") or ())

    @property
    def root(self) -> Path:
        return self._root

    @property
    def pid(self) -> int | None:
        return self._hello.get("pid")

    @property
    def remote(self) -> bool:
        return True

    def methods(self) -> frozenset[str]:
        return self._methods

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(f"{type(self).__name__} has no method {name!r}")

        def call(*args, **kwargs):
            return self._call(name, args, kwargs)

        call.__name__ = call.__qualname__ = name
        return call

    def __dir__(self):
        return sorted(set(super().__dir__()) | self._methods)

    def hello(self) -> dict:
        """The owner's self-description (pid, state, counters), asked afresh."""
        return self._call(HELLO, (), {})

    def _call(self, method: str, args: tuple, kwargs: dict) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if k not in LOCAL_ONLY and not callable(v)}
        with self._lock:
            msg_id = self._next_id
            self._next_id += 1
            try:
                self._sock.sendall(dumps({"id": msg_id, "method": method, "args": encode(list(args)), "kwargs": encode(kwargs)}))
                line = self._reader.readline()
            except OSError as exc:
                raise self._lost(f"({exc.strerror or exc})") from None
        if not line:
            raise self._lost("")
        try:
            reply = json.loads(line)
        except ValueError:
            raise ProtocolError("the LSFS supervisor sent an unreadable answer") from None
        if reply.get("id") != msg_id:
            raise ProtocolError("the LSFS supervisor answered a different request")
        if reply.get("ok"):
            return decode(reply.get("result"))
        raise decode_error(reply.get("error") or {})

    def _lost(self, detail: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"lost the connection to the LSFS supervisor (pid {self.pid}) of {self._root} {detail}".rstrip()
            + "; it may have stopped. Check 'lsfs status' and run the command again"
        )

    def close(self) -> None:
        """Hang up. The owner keeps running."""
        try:
            self._reader.close()
        finally:
            self._sock.close()

    def __enter__(self) -> "RemoteLSFS":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteLSFS {self._root} via pid {self.pid}>"


def connect(root: str | os.PathLike, *, timeout: float = HELLO_TIMEOUT) -> RemoteLSFS | None:
    """The owner of ``root`` if one answers on its socket, else ``None``.

    A socket file left by a process that died (``kill -9``) refuses connections, so it
    reads as "no owner". An owner speaking another protocol version is an error.
    """
    root = Path(root).expanduser().resolve()
    for path in socket_candidates(root):
        if not _fits(path):
            continue
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(str(path))
        except OSError:
            sock.close()
            continue
        remote = RemoteLSFS(sock, root, {"pid": None})
        try:
            hello = remote.hello()
        except (OSError, LSFSError):
            remote.close()
            continue
        sock.settimeout(None)
        if not isinstance(hello, dict) or hello.get("protocol") != PROTOCOL:
            remote.close()
            theirs = hello.get("protocol") if isinstance(hello, dict) else None
            raise ProtocolError(
                f"the LSFS supervisor of {root} (pid {hello.get('pid') if isinstance(hello, dict) else '?'}) "
                f"speaks protocol {theirs}, this LSFS speaks {PROTOCOL}; restart 'lsfs watch'"
            )
        remote._hello = hello
        remote._methods = frozenset(hello.get("methods") or ())
        return remote
    return None


def probe(root: str | os.PathLike) -> dict:
    """Whether an owner (a supervisor) answers for ``root``: {"running", "pid", "state"}."""
    try:
        remote = connect(root, timeout=2.0)
    except ProtocolError:
        return {"running": True, "pid": None, "state": "incompatible"}
    if remote is None:
        return {"running": False, "pid": None, "state": None}
    with remote:
        return {"running": True, "pid": remote.pid, "state": remote._hello.get("state")}
