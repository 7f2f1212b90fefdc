"""What a link token may read, for the link server: ``LinkResolver`` turns a token into
``Shared`` content (or nothing), ``HitLog`` records hits in the background.

Every check happens on every request: the signature (compared in constant time), then
revocation and expiry, then whether the content still exists.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import stat as statmod
import threading
import time
from pathlib import PurePosixPath
from typing import Iterator

from lsfs.apis.link import TOKEN_RE, LinkRow, LinkSecret, ensure_schema, link_rows, sign
from lsfs.errors import UserError
from lsfs.paths import STATE_DIR, confine
from lsfs.root import Root
from lsfs.store.catalog import Catalog

log = logging.getLogger("lsfs.link")

READ_BLOCK = 256 * 1024


class Shared:
    """The bytes one valid token may read: a stored snapshot or an open live file."""

    def __init__(self, link_id: str, name: str, size: int, sha256: str, *, objects=None, fd: int | None = None):
        self.link_id = link_id
        self.name = name          # file name for Content-Disposition
        self.size = size
        self.sha256 = sha256      # the content's hash: the ETag
        self._objects = objects
        self._fd = fd

    def chunks(self, start: int, stop: int) -> Iterator[bytes]:
        """The bytes in ``[start, stop)``. A live file cut short while read yields fewer."""
        if self._fd is not None:
            pos = start
            while pos < stop:
                block = os.pread(self._fd, min(READ_BLOCK, stop - pos), pos)
                if not block:
                    return
                pos += len(block)
                yield block
            return
        pos = 0
        for block in self._objects.iter_blocks(self.sha256):
            end = pos + len(block)
            if end > start and pos < stop:
                yield block[max(0, start - pos): min(len(block), stop - pos)]
            pos = end
            if pos >= stop:
                return

    def head(self, n: int) -> bytes:
        return b"".join(self.chunks(0, min(n, self.size)))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LinkResolver:
    """Turns a URL token into ``Shared`` content, or ``None``.

    Unknown, forged, truncated, expired and revoked tokens, and links whose content is gone,
    all give ``None``: the server answers them with one and the same 404.
    """

    def __init__(self, root: Root):
        self.root = root
        self.secret = LinkSecret(root.state)
        self._hashes: dict[tuple, str] = {}  # live files changed since indexing: stat -> sha256
        self._hash_lock = threading.Lock()
        self._dummy_key = secrets.token_bytes(32)

    def resolve(self, token: str, now: float | None = None) -> Shared | None:
        m = TOKEN_RE.fullmatch(token)
        if not m:
            return None
        link_id, mac = m.groups()
        try:
            key = self.secret.get()
        except UserError as exc:
            log.error("links disabled: %s", exc)
            key = None
        rows = link_rows(self.root.catalog, "WHERE id=?", (link_id,))
        row = rows[0] if rows else None
        # The MAC is computed and compared even when the id is unknown, so that the time
        # taken does not tell a guessed id apart from a real one.
        expected = sign(key or self._dummy_key, link_id, row.expires if row else None)
        genuine = hmac.compare_digest(mac.encode("ascii"), expected.encode("ascii"))
        if not (genuine and key and row):
            return None
        now = time.time() if now is None else now
        if row.revoked is not None or (row.expires is not None and row.expires <= now):
            return None
        return self._live(row) if row.live else self._snapshot(row)

    def _snapshot(self, row: LinkRow) -> Shared | None:
        if not row.sha256 or not self.root.objects.has(row.sha256):
            log.warning("link %s: its snapshot object %s is missing", row.id, row.sha256)
            return None
        return Shared(row.id, PurePosixPath(row.path).name, row.size or 0, row.sha256, objects=self.root.objects)

    def _live(self, row: LinkRow) -> Shared | None:
        f = self.root.catalog.file_by_id(row.file_id)
        if f is None or f.state == "deleted":
            return None
        fd = self._open_inside(f.path)
        if fd is None:
            return None
        try:
            st = os.fstat(fd)
            if not statmod.S_ISREG(st.st_mode):
                os.close(fd)
                return None
            if f.sha256 and (f.size, f.mtime_ns, f.inode) == (st.st_size, st.st_mtime_ns, st.st_ino):
                sha = f.sha256
            else:
                sha = self._hash(fd, st)
        except OSError:
            os.close(fd)
            return None
        return Shared(row.id, PurePosixPath(f.path).name, st.st_size, sha, fd=fd)

    def _open_inside(self, rel: str) -> int | None:
        """Open ROOT/rel for reading without following a symlink anywhere on the way, so a
        path swapped for a link after indexing cannot reach outside the root."""
        try:
            parts = PurePosixPath(confine(self.root.path, rel)).parts
        except UserError:
            return None
        if not parts or parts[0] == STATE_DIR:
            return None
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            dir_fd = os.open(self.root.path, flags | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            for part in parts[:-1]:
                nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=dir_fd)
                os.close(dir_fd)
                dir_fd = nxt
            return os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError:
            return None
        finally:
            os.close(dir_fd)

    def _hash(self, fd: int, st: os.stat_result) -> str:
        sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._hash_lock:
            if sig in self._hashes:
                return self._hashes[sig]
        digest = hashlib.sha256()
        pos = 0
        while block := os.pread(fd, 1 << 20, pos):
            digest.update(block)
            pos += len(block)
        sha = digest.hexdigest()
        with self._hash_lock:
            if len(self._hashes) > 1024:
                self._hashes.clear()
            self._hashes[sig] = sha
        return sha


class HitLog:
    """Hit counts and last access, written in the background in small batches.

    Serving never waits for the catalog: a request only bumps a counter in memory, and a
    thread adds the counters to the ``links`` rows every ``interval`` seconds (and at
    ``close``). If another process holds the catalog's write lock the batch waits for the
    next round; nothing is dropped.
    """

    def __init__(self, catalog: Catalog, interval: float = 1.0):
        self.catalog = catalog
        self.interval = interval
        self._pending: dict[str, list] = {}  # id -> [hits, last_access]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lsfs-link-hits", daemon=True)
        ensure_schema(catalog)
        self._thread.start()

    def record(self, link_id: str, *, hit: bool, when: float | None = None) -> None:
        when = time.time() if when is None else when
        with self._lock:
            entry = self._pending.setdefault(link_id, [0, when])
            entry[0] += int(hit)
            entry[1] = max(entry[1], when)

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            with self.catalog.transaction() as db:
                db.executemany(
                    "UPDATE links SET hits = hits + ?, last_access = max(coalesce(last_access, 0), ?) WHERE id=?",
                    [(n, when, link_id) for link_id, (n, when) in batch.items()],
                )
        except sqlite3.Error as exc:
            log.warning("could not record link hits yet (%s); retrying", exc)
            with self._lock:
                for link_id, (n, when) in batch.items():
                    entry = self._pending.setdefault(link_id, [0, when])
                    entry[0] += n
                    entry[1] = max(entry[1], when)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
