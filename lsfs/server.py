"""``lsfs serve``: the HTTP face that serves shareable links.

Only ``GET`` and ``HEAD /l/<token>`` are answered with content. Nothing else in the URL
names a file, so there is nothing to traverse and nothing to list. Every token that does
not grant access (unknown, forged, truncated, expired, revoked, or whose file is gone)
gets the very same 404, so the server tells an outsider nothing about which links exist.

HTTP/1.1 itself (request line, headers, keep-alive, status lines) is the standard library's
``http.server``. This module adds what a public link server needs on top of it: tighter
limits, enforced while the request is read (a request line of 8 KiB, else 414; 16 KiB of
request head and 64 header lines, else 431), no request bodies (413), ``GET`` and ``HEAD``
only (405), 30 s of idle time per connection and at most ``MAX_CONNECTIONS`` connections at
once (503); one plain-text answer with the security headers for every refusal; and ETags,
byte ranges, content types and file names for what it serves.

The server opens the root read-only: it takes no lock and never opens Chroma, so it runs
beside ``lsfs watch`` or any command. Its only writes are hit counts, batched into the
catalog (SQLite WAL) by ``HitLog``.
"""

from __future__ import annotations

import http.client
import http.server
import logging
import mimetypes
import re
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
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


class _HeadReader:
    """A connection's input, read against a byte budget for the request head.

    ``http.server`` allows 64 KiB a line and 100 header lines (about 6 MiB a request); a
    link server needs far less. The budget is enforced as the bytes arrive, so a client
    cannot make a connection hold more than that: past it ``readline`` raises
    ``http.client.LineTooLong``, which ``http.server`` answers with 431 while reading
    headers, and ``_LinkHandler`` with 414 while reading the request line.
    """

    def __init__(self, stream):
        self._stream = stream
        self._left = 0

    def allow(self, nbytes: int) -> None:
        """Let the next lines take ``nbytes`` in all."""
        self._left = nbytes

    def readline(self, size: int | None = -1) -> bytes:
        cap = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        line = self._stream.readline(cap)
        self._left -= len(line)
        if self._left < 0:
            raise http.client.LineTooLong("request head")
        return line

    def __getattr__(self, name):  # close(), closed, read(): the socket file's own
        return getattr(self._stream, name)


class _LinkHandler(http.server.BaseHTTPRequestHandler):
    """One connection: ``http.server`` reads each request, this class decides the answer."""

    protocol_version = "HTTP/1.1"          # keep-alive
    default_request_version = "HTTP/1.0"   # the default, HTTP/0.9, would answer a garbled request line without a status line
    server_version = "lsfs"
    timeout = IDLE_TIMEOUT                 # per socket read or write: an idle connection closes
    disable_nagle_algorithm = True         # a response's last segment need not wait for the peer's delayed ACK
    wbufsize = SEND_BUFFER                 # headers and a small body leave in one send; flushed after each response
    server: LinkServer

    def setup(self) -> None:
        super().setup()
        self.rfile = _HeadReader(self.rfile)

    def version_string(self) -> str:
        return self.server_version  # no Python version for the world to see

    # -- reading: http.server parses, we refuse what it lets through ----------------------
    def handle_one_request(self) -> None:
        self.rfile.allow(MAX_REQUEST_LINE)
        try:
            super().handle_one_request()
        except http.client.LineTooLong:
            # Only the request line gets here: http.server answers a header block over budget itself (431).
            self.command, self.request_version, self.requestline = None, self.default_request_version, ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
        except ConnectionError:  # the peer reset or went away mid-request
            self.close_connection = True

    def parse_request(self) -> bool:
        for _ in range(4):  # RFC 9112 2.2: ignore a few empty lines before the request line
            if self.raw_requestline not in (b"\r\n", b"\n"):
                break
            self.rfile.allow(MAX_REQUEST_LINE)
            self.raw_requestline = self.rfile.readline()
        self.rfile.allow(MAX_HEADER_BYTES - len(self.raw_requestline))
        if not super().parse_request():
            return False
        # http.server closes only on "Connection: close" exactly; "close" among other
        # options (LWP sends "TE, close") obliges us just the same (RFC 9112 9.6).
        if any(t.strip().lower() == "close" for v in self.headers.get_all("Connection", []) for t in v.split(",")):
            self.close_connection = True
        refusal = self._refusal()
        if refusal is None:
            return True
        if refusal == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_error(refusal, extra=[("Allow", "GET, HEAD")])
        else:
            self.send_error(refusal)
        return False

    def _refusal(self) -> HTTPStatus | None:
        """What our rules refuse in a request ``http.server`` accepted (None: nothing)."""
        if len(self.requestline.split()) != 3:
            return HTTPStatus.BAD_REQUEST  # HTTP/0.9: its answer would carry no headers at all
        if not _TCHAR.fullmatch(self.command):
            return HTTPStatus.BAD_REQUEST
        headers = self.headers
        # The email parser keeps a line that is no header as a defect or as "body", and
        # obsolete line folding (RFC 9112 5.2) inside the value; we refuse all three.
        if headers.defects or headers.get_payload() or any("\n" in v or "\r" in v for v in headers.values()):
            return HTTPStatus.BAD_REQUEST
        if len(headers) > MAX_HEADERS:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        lengths = [v.strip() for v in headers.get_all("Content-Length", [])]
        if not all(re.fullmatch(r"[0-9]+", v) for v in lengths):
            return HTTPStatus.BAD_REQUEST
        if self.command not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED
        if headers.get("Transfer-Encoding") is not None or any(int(v) > 0 for v in lengths):
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE  # a GET or HEAD carries no body here; we will not read one
        return None

    def handle_expect_100(self) -> bool:
        return True  # no "100 Continue": no body is ever read, the final answer follows at once

    def _header(self, name: str) -> str | None:
        values = self.headers.get_all(name)
        return ", ".join(values) if values else None

    # -- answering ------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._started = False
        shared = None
        try:
            token = _token(self.path)
            shared = self.server.resolver.resolve(token) if token else None
            if shared is None:
                self._plain(HTTPStatus.NOT_FOUND, close=False, body=NOT_FOUND_BODY)
            else:
                self._send_content(shared)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:  # a bug or a damaged object: answer 500 if we still can, log it
            log.exception("error answering %s", _redact(self.path))
            if self._started:
                self.close_connection = True
            else:
                self._plain(HTTPStatus.INTERNAL_SERVER_ERROR, close=True)
        finally:
            if shared is not None:
                shared.close()

    do_HEAD = do_GET

    def _send_content(self, shared: Shared) -> None:
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
        inm = self._header("If-None-Match")
        if inm is not None and _etag_matches(inm, etag):
            self._start(HTTPStatus.NOT_MODIFIED, headers, None)
            self.server.hits.record(shared.link_id, hit=False)
            self._log(HTTPStatus.NOT_MODIFIED, 0)
            return
        status, start, stop = HTTPStatus.OK, 0, size
        wanted = self._header("Range")
        if_range = self._header("If-Range")
        if wanted is not None and (if_range is None or if_range.strip() == etag):
            parsed = parse_range(wanted, size)
            if parsed == "unsatisfiable":
                self._start(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                            headers + [("Content-Range", f"bytes */{size}")], 0)
                self._log(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, 0)
                return
            if parsed is not None:
                status, (start, stop) = HTTPStatus.PARTIAL_CONTENT, parsed
                headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
        self._start(status, headers, stop - start)
        sent = 0
        if self.command == "GET":
            for block in shared.chunks(start, stop):
                self.wfile.write(block)
                sent += len(block)
        # A served GET counts as a hit; HEAD and conditional requests only touch last access.
        self.server.hits.record(shared.link_id, hit=self.command == "GET")
        self._log(status, sent)
        if self.command == "GET" and sent < stop - start:
            self.close_connection = True  # a live file shrank while being sent: the length promised is wrong

    def _start(self, status: HTTPStatus, headers: list, length: int | None) -> None:
        """Status line and headers of a response with content (they go out with the body)."""
        self._started = True
        self.send_response(status)
        for name, value in (*headers, *SECURITY_HEADERS):
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close" if self.close_connection else "keep-alive")
        self.end_headers()

    def _plain(self, status: HTTPStatus, *, close: bool, body: bytes | None = None, extra=()) -> None:
        """An answer without content: identical bytes for identical requests (bar Date)."""
        body = body if body is not None else f"{status.phrase}\n".encode()
        self.send_response(status)
        for name, value in (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store"),
                            ("Content-Security-Policy", CSP_SANDBOX), *extra, *SECURITY_HEADERS):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        # Sending "Connection: close" also makes http.server close the connection afterwards.
        self.send_header("Connection", "close" if close or self.close_connection else "keep-alive")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._log(status, len(body))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None, *, extra=()) -> None:
        """Every refusal, http.server's own and ours: a short plain-text answer with the
        security headers, then close. (http.server's page is HTML quoting the request.)"""
        if message:
            self.log_error("%d: %s", code, message)
        self._plain(HTTPStatus(code), close=True, extra=extra)

    # -- logging ----------------------------------------------------------------------------
    def _log(self, status: int, nbytes: int) -> None:
        line = f"{self.command} {_redact(self.path)} {self.request_version}" if self.command else "-"
        self.server.log_access(line, int(status), nbytes)

    def log_request(self, code="-", size="-") -> None:
        pass  # send_response calls this before the answer is out; _log writes the line once it is

    def log_message(self, format: str, *args) -> None:
        # http.server's own notes (time-outs, why it refused a request): debug detail only,
        # since the access log has every answer. They may quote the request line: redacted.
        log.debug("%s: %s", self.client_address[0], _redact(format % args))


class _Overloaded(_LinkHandler):
    """Answers 503 at once, without reading the request, when every connection slot is taken."""

    timeout = 1.0  # it runs on the accepting thread: never wait long on this client

    def handle(self) -> None:
        self.command, self.request_version, self.requestline = None, self.default_request_version, ""
        self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, extra=[("Retry-After", "1")])


def _token(target: str) -> str | None:
    """The token in a request target ``/l/<token>`` (any query ignored), else None."""
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


class LinkServer(http.server.ThreadingHTTPServer):
    """The link server for one root. ``serve_forever()`` until ``stop()``."""

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
            super().__init__((host, port), _LinkHandler)
        except OSError as exc:
            self.hits.close()
            self.hits.catalog.close()
            self.root.close()
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or --host") from None
        host_shown = self.server_address[0]
        if host_shown in ("0.0.0.0", "::"):
            host_shown = self.server_name  # http.server looked up this machine's name on binding
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
                _Overloaded(request, client_address, self)
            except OSError:
                pass  # the client is gone already
            finally:
                self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # a thread per connection
        except BaseException:
            self._slots.release()  # no thread started to give the slot back
            raise

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
    def log_access(self, request_line: str, status: int, nbytes: int) -> None:
        """One line per answer on ``access_log`` (tokens already redacted by the caller)."""
        if self.access_log is None:
            return
        when = time.strftime("%d/%b/%Y %H:%M:%S")
        with self._log_lock:
            self.access_log.write(f'[{when}] "{request_line}" {status} {nbytes}\n')
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
