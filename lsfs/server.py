"""``lsfs serve``: the HTTP face that serves shareable links.

Only ``GET`` and ``HEAD /l/<token>`` are answered with content. Nothing else in the URL
names a file, so there is nothing to traverse and nothing to list. Every token that does
not grant access (unknown, forged, truncated, expired, revoked, or whose file is gone)
gets the very same 404, so the server tells an outsider nothing about which links exist.

The request reader is written here rather than taken from ``http.server`` so that its
limits are ours: a request line of 8 KiB, 64 header lines and 16 KiB of headers in all
(431 past that), no request bodies, 30 s of idle time per connection and at most
``MAX_CONNECTIONS`` connections at once (503 past that).

The server opens the root read-only: it takes no lock and never opens Chroma, so it runs
beside ``lsfs watch`` or any command. Its only writes are hit counts, batched into the
catalog (SQLite WAL) by ``HitLog``.
"""

from __future__ import annotations

import email.utils
import logging
import mimetypes
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from pathlib import Path
from urllib.parse import quote, urlsplit

from lsfs.apis.link import note_serve_address
from lsfs.apis.link_access import HitLog, LinkResolver, Shared
from lsfs.errors import UserError
from lsfs.paths import STATE_DIR
from lsfs.root import Root
from lsfs.store.catalog import Catalog

log = logging.getLogger("lsfs.server")

MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 64
IDLE_TIMEOUT = 30.0
MAX_CONNECTIONS = 256
SEND_BUFFER = 64 * 1024

# Nothing a shared file contains may run in this origin: HTML, SVG or XML is shown in a
# sandbox with scripts, forms and plugins off, and loads nothing from elsewhere.
CSP_SANDBOX = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"
# Chromium will not start its PDF viewer in a sandboxed document; a PDF cannot run script in
# this origin (nosniff keeps it a PDF), so it gets the policy without the sandbox keyword.
CSP_PDF = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Robots-Tag", "noindex, nofollow"),
    ("X-Frame-Options", "SAMEORIGIN"),
)

NOT_FOUND_BODY = b"Not found\n"

_TYPES = mimetypes.MimeTypes()  # the built-in table only: the same answer on every machine
for _ext, _type in {
    ".md": "text/markdown", ".markdown": "text/markdown", ".rst": "text/x-rst",
    ".yaml": "application/yaml", ".yml": "application/yaml", ".toml": "application/toml",
    ".ipynb": "application/x-ipynb+json", ".log": "text/plain", ".tsv": "text/tab-separated-values",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".webm": "video/webm", ".flac": "audio/flac", ".opus": "audio/ogg", ".avif": "image/avif",
}.items():
    _TYPES.add_type(_type, _ext)
_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz",
               "br": "application/x-brotli", "compress": "application/x-compress"}
_TEXTUAL = re.compile(r"text/.*|application/(json|.*\+json|javascript|yaml|toml|xml|.*\+xml)|image/svg\+xml")
_TCHAR = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def content_type(name: str, head: bytes) -> str:
    """The Content-Type for a file called ``name`` whose first bytes are ``head``.

    Text is declared UTF-8 when its first bytes decode as UTF-8 (else no charset is
    claimed); a compressed file (``.tar.gz``) is the compressed type, never
    Content-Encoding, so browsers save what was shared instead of unpacking it.
    """
    kind, encoding = _TYPES.guess_type(name, strict=False)
    if encoding:
        return _COMPRESSED.get(encoding, "application/octet-stream")
    kind = kind or "application/octet-stream"
    if _TEXTUAL.fullmatch(kind):
        try:
            head.decode("utf-8")
            return f"{kind}; charset=utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
                return f"{kind}; charset=utf-8"  # a character cut at the end of the sample
    return kind


def content_disposition(name: str) -> str:
    """``inline`` with the original file name, RFC 6266: a plain-ASCII ``filename`` for old
    clients and ``filename*`` (RFC 5987, UTF-8) carrying the exact name."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in name) or "download"
    value = f'inline; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def parse_range(value: str, size: int) -> tuple[int, int] | str | None:
    """A ``Range`` header as ``(start, stop)``, ``"unsatisfiable"``, or ``None`` (ignore it:
    not bytes, malformed, or several ranges, which RFC 9110 lets a server answer in full)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*([^,]*?)\s*", value, re.IGNORECASE)
    if not m:
        return None
    spec = re.fullmatch(r"(\d*)\s*-\s*(\d*)", m.group(1))
    if not spec or spec.groups() == ("", ""):
        return None
    first, last = spec.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, size if not last else min(size, int(last) + 1)


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: ``*`` or a list of tags, compared weakly (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == etag for t in header.split(","))


class _Reject(Exception):
    def __init__(self, status: int):
        self.status = status


class _Request:
    __slots__ = ("method", "target", "version", "headers", "keep_alive", "has_body")

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return ", ".join(values) if values else None


STATUS = {
    200: "OK", 206: "Partial Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
    416: "Range Not Satisfiable", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    503: "Service Unavailable", 505: "HTTP Version Not Supported",
}


class _Handler(socketserver.StreamRequestHandler):
    timeout = IDLE_TIMEOUT
    server: "LinkServer"

    def setup(self) -> None:
        super().setup()
        # Headers and body usually go out in one send; NODELAY keeps the rest from waiting
        # on the peer's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        while True:
            try:
                req = self._read_request()
            except _Reject as rej:
                self._simple(None, rej.status, close=True)
                return
            except (OSError, ValueError):  # timeout, reset, or a half-read line at close
                return
            if req is None:
                return
            self._started = False
            try:
                keep = self._respond(req)
            except (ConnectionError, TimeoutError):
                return
            except Exception:  # a bug or a damaged object: answer 500 if we still can, log it
                log.exception("error answering %s", _redact(req.target))
                if not self._started:
                    self._simple(req, 500, close=True)
                return
            if not keep:
                return

    def _send(self, data: bytes) -> None:
        self._started = True
        self.connection.sendall(data)

    # -- reading ------------------------------------------------------------------------
    def _read_request(self) -> _Request | None:
        line = self.rfile.readline(MAX_REQUEST_LINE + 1)
        for _ in range(4):  # RFC 9112 2.2: ignore a few empty lines before the request
            if line not in (b"\r\n", b"\n"):
                break
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_REQUEST_LINE:
            raise _Reject(414)
        if not line.endswith(b"\n"):
            return None  # the peer closed mid-line
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not all(parts):
            raise _Reject(400)
        req = _Request()
        req.method, req.target, req.version = parts
        if not re.fullmatch(r"HTTP/\d\.\d", req.version):
            raise _Reject(400)
        if req.version not in ("HTTP/1.0", "HTTP/1.1"):
            raise _Reject(505)
        if not _TCHAR.fullmatch(req.method):
            raise _Reject(400)
        headers: dict[str, list[str]] = {}
        total, count = len(line), 0
        while True:
            raw = self.rfile.readline(MAX_HEADER_BYTES + 1)
            total += len(raw)
            if total > MAX_HEADER_BYTES:
                raise _Reject(431)
            if raw in (b"\r\n", b"\n"):
                break
            if not raw.endswith(b"\n"):
                return None
            count += 1
            if count > MAX_HEADERS:
                raise _Reject(431)
            if raw[:1] in (b" ", b"\t"):  # obsolete line folding
                raise _Reject(400)
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not _TCHAR.fullmatch(name):
                raise _Reject(400)
            headers.setdefault(name.lower(), []).append(value.strip(" \t\r\n"))
        req.headers = headers
        tokens = {t.strip().lower() for v in headers.get("connection", []) for t in v.split(",")}
        req.keep_alive = "close" not in tokens and (req.version == "HTTP/1.1" or "keep-alive" in tokens)
        lengths = headers.get("content-length", [])
        if any(not v.isdigit() for v in lengths):
            raise _Reject(400)
        req.has_body = bool(headers.get("transfer-encoding")) or any(int(v) > 0 for v in lengths)
        return req

    # -- answering ------------------------------------------------------------------------
    def _respond(self, req: _Request) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        if req.method not in ("GET", "HEAD"):
            close = req.has_body or not req.keep_alive
            self._simple(req, 405, close=close, extra=[("Allow", "GET, HEAD")])
            return not close
        if req.has_body:  # a GET or HEAD carries no body here; we will not read one
            self._simple(req, 413, close=True)
            return False
        token = self._token(req.target)
        shared = self.server.resolver.resolve(token) if token else None
        if shared is None:
            self._simple(req, 404, close=not req.keep_alive, body=NOT_FOUND_BODY)
            return req.keep_alive
        try:
            return self._send_content(req, shared)
        finally:
            shared.close()

    @staticmethod
    def _token(target: str) -> str | None:
        if target.startswith(("http://", "https://")):  # absolute-form (RFC 9112 3.2.2)
            try:
                target = urlsplit(target).path or "/"
            except ValueError:
                return None
        if not target.startswith("/"):
            return None
        path = target.split("?", 1)[0]
        m = re.fullmatch(r"/l/([^/]+)", path)
        return m.group(1) if m else None

    def _send_content(self, req: _Request, shared: Shared) -> bool:
        etag = f'"{shared.sha256}"'
        size = shared.size
        kind = self.server.content_type(shared)
        headers = [
            ("Content-Type", kind),
            ("Content-Disposition", content_disposition(shared.name)),
            ("ETag", etag),
            ("Accept-Ranges", "bytes"),
            # Revalidate every time (a 304 is cheap), so revoking a link takes effect at once.
            ("Cache-Control", "private, no-cache"),
            ("Content-Security-Policy", CSP_PDF if kind == "application/pdf" else CSP_SANDBOX),
        ]
        inm = req.header("if-none-match")
        if inm is not None and _etag_matches(inm, etag):
            self._head(req, 304, headers, None)
            self.server.count(shared.link_id, req, 304)
            return req.keep_alive
        status, start, stop = 200, 0, size
        wanted = req.header("range")
        if_range = req.header("if-range")
        if wanted is not None and (if_range is None or if_range.strip() == etag):
            parsed = parse_range(wanted, size)
            if parsed == "unsatisfiable":
                self._head(req, 416, headers + [("Content-Range", f"bytes */{size}")], 0)
                self.server.log_access(self, req, 416, 0)
                return req.keep_alive
            if parsed is not None:
                status, (start, stop) = 206, parsed
                headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
        buf = self._head(req, status, headers, stop - start, send=False)
        sent = 0
        if req.method == "GET":
            for block in shared.chunks(start, stop):
                buf += block
                sent += len(block)
                if len(buf) >= SEND_BUFFER:
                    self._send(buf)
                    buf = b""
        if buf:
            self._send(buf)
        self.server.count(shared.link_id, req, status, sent)
        if req.method == "GET" and sent < stop - start:
            return False  # a live file shrank while being sent: the length promised is wrong
        return req.keep_alive

    def _head(self, req, status, headers, length, *, send=True) -> bytes:
        lines = [f"HTTP/1.1 {status} {STATUS[status]}", f"Date: {email.utils.formatdate(usegmt=True)}", "Server: lsfs"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines += [f"{k}: {v}" for k, v in SECURITY_HEADERS]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines.append("Connection: keep-alive" if req is not None and req.keep_alive else "Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if send:
            self._send(data)
        return data

    def _simple(self, req, status: int, *, close: bool, body: bytes | None = None, extra=()) -> None:
        """An answer without content: identical bytes for identical requests (bar Date)."""
        body = body if body is not None else f"{STATUS[status]}\n".encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Content-Security-Policy", CSP_SANDBOX),
            *extra,
        ]
        if close and req is not None:
            req.keep_alive = False
        data = self._head(req, status, headers, len(body), send=False)
        if req is None or req.method != "HEAD":
            data += body
        try:
            self._send(data)
        except OSError:
            pass
        self.server.log_access(self, req, status, len(body))


class LinkServer(socketserver.ThreadingTCPServer):
    """The link server for one root. ``serve_forever()`` until ``stop()``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    block_on_close = False

    def __init__(self, root: str | Path, host: str = "127.0.0.1", port: int = 8765, *,
                 access_log=None, hit_interval: float = 1.0):
        root = Path(root).resolve()
        db = root / STATE_DIR / "catalog.db"
        # The read-write handle (for hit counts) is opened first: it makes sure the WAL files
        # and the links table exist before the read-only handle looks at them.
        bookkeeping = Catalog(db) if db.exists() else None
        try:
            self.root = Root(root, readonly=True)  # no catalog: NotFound, "run lsfs init"
        except BaseException:
            if bookkeeping is not None:
                bookkeeping.close()
            raise
        try:
            self.resolver = LinkResolver(self.root)
            self.resolver.secret.get()  # a key with bad permissions stops the server here
            self.hits = HitLog(bookkeeping, interval=hit_interval)
        except BaseException:
            bookkeeping.close()
            self.root.close()
            raise
        self._types: dict[tuple[str, str], str] = {}
        self.access_log = access_log
        self._log_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            self.hits.close()
            self.root.close()
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or --host") from None
        host_shown = self.server_address[0]
        if host_shown in ("0.0.0.0", "::"):
            host_shown = socket.getfqdn()
        if ":" in host_shown:
            host_shown = f"[{host_shown}]"
        self.url = f"http://{host_shown}:{self.server_address[1]}"
        try:
            note_serve_address(self.root.state, self.url)
        except OSError:
            pass  # only a convenience for `lsfs link`

    # -- connections ------------------------------------------------------------------------
    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
                    b"Connection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        log.error("error serving %s:\n%s", client_address, traceback.format_exc())

    def content_type(self, shared: Shared) -> str:
        """Content-Type by name and first bytes, remembered per (name, content)."""
        key = (shared.name, shared.sha256)
        kind = self._types.get(key)
        if kind is None:
            kind = content_type(shared.name, shared.head(4096))
            if len(self._types) > 4096:
                self._types.clear()
            self._types[key] = kind
        return kind

    # -- bookkeeping ------------------------------------------------------------------------
    def count(self, link_id: str, req: _Request, status: int, nbytes: int = 0) -> None:
        """A served GET counts as a hit; HEAD and conditional requests only touch last access."""
        self.hits.record(link_id, hit=req.method == "GET" and status in (200, 206))
        self.log_access(None, req, status, nbytes)

    def log_access(self, handler, req: _Request | None, status: int, nbytes: int) -> None:
        if self.access_log is None:
            return
        line = "-" if req is None else f"{req.method} {_redact(req.target)} {req.version}"
        when = time.strftime("%d/%b/%Y %H:%M:%S")
        with self._log_lock:
            self.access_log.write(f'[{when}] "{line}" {status} {nbytes}\n')
            self.access_log.flush()

    def stop(self) -> None:
        """Stop serving, record outstanding hits and close the root."""
        self.shutdown()
        self.close()

    def close(self) -> None:
        self.server_close()
        self.hits.close()
        self.hits.catalog.close()
        self.root.close()


def _redact(target: str) -> str:
    """The request target for the log: a token shows only its link id (the rest is a secret)."""
    shown = re.sub(r"(/l/[0-9a-f]{12})\.[^/?\s]*", r"\1.***", target)
    shown = shown.encode("unicode_escape").decode("ascii")  # no control characters in the log
    return shown if len(shown) <= 120 else shown[:117] + "..."


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8765, *, quiet: bool = False,
          ready=None) -> None:
    """Serve ``root``'s links until SIGINT or SIGTERM; ``ready(url)`` is called once listening."""
    import signal

    server = LinkServer(root, host, port, access_log=None if quiet else sys.stderr)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25}, daemon=True)
    worker.start()
    try:
        if ready is not None:
            ready(server.url)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        worker.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
