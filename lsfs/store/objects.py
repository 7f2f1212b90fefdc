"""Version contents, content-addressed by sha256 and zlib-compressed.

Small objects (compressed to at most ``PACK_MAX`` bytes: nearly every text file) are rows
of one SQLite file, ``objects/pack.db``, committed with a full fsync; one file per object
would take a 4 KiB block each, 5-10 times their size. Larger objects are files of their
own, written to a temporary file, fsynced and renamed into place. Either way a reader never
sees a partial object, an object is durable before the catalog names it, and identical
content is stored once. Roots written before packing keep their loose files; both are read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import tempfile
import threading
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

from lsfs.store.catalog import connect_readonly

BLOCK = 1 << 20
# Compressed objects up to this size go into the pack; bigger ones stay files.
PACK_MAX = 64 * 1024
PACK = "pack.db"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore:
    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.readonly = readonly
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._opened = False

    def _where(self, sha: str) -> Path:
        return self.path / sha[:2] / sha[2:]

    def _pack(self) -> sqlite3.Connection | None:
        """The pack's connection (call with ``_lock`` held); None for a read-only root
        that has no pack."""
        if not self._opened:
            where = self.path / PACK
            if self.readonly:
                if not where.exists():
                    return None  # look again next time: the owner may create it meanwhile
                self._db = connect_readonly(where)
            else:
                db = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA busy_timeout=30000")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # durable before the catalog names it
                db.execute("CREATE TABLE IF NOT EXISTS objects (sha TEXT PRIMARY KEY, data BLOB NOT NULL)")
                self._db = db
            self._opened = True
        return self._db

    def _packed(self, sha: str) -> bytes | None:
        with self._lock:
            db = self._pack()
            row = db.execute("SELECT data FROM objects WHERE sha=?", (sha,)).fetchone() if db else None
        return row[0] if row else None

    def _put_packed(self, sha: str, compressed: bytes) -> None:
        try:
            with self._lock:
                self._pack().execute("INSERT OR IGNORE INTO objects(sha, data) VALUES (?, ?)", (sha, compressed))
        except sqlite3.OperationalError as exc:  # said like a failed file write: callers know those
            text = str(exc).lower()
            if "full" in text:
                raise OSError(errno.ENOSPC, f"version store: {exc}") from None
            if "readonly" in text or "read-only" in text:
                raise OSError(errno.EROFS, f"version store: {exc}") from None
            raise

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db, self._opened = None, False

    def has(self, sha: str) -> bool:
        if self._where(sha).exists():
            return True
        with self._lock:
            db = self._pack()
            return bool(db and db.execute("SELECT 1 FROM objects WHERE sha=?", (sha,)).fetchone())

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        if not self.has(sha):
            compressed = zlib.compress(data, 6)
            if len(compressed) <= PACK_MAX:
                self._put_packed(sha, compressed)
            else:
                self._store(sha, iter([data]))
        return sha

    def put_stream(self, stream: BinaryIO, keep: int = 16 * BLOCK) -> tuple[str, int, bytes | None]:
        """Store what ``stream`` yields; return (sha256, size, content up to ``keep`` bytes).

        The hash covers exactly the bytes stored, so a file that changes while it is read
        still yields a consistent object. Content up to ``keep`` bytes is handed back so
        the caller can extract text without reading the file a second time.
        """
        digest = hashlib.sha256()
        kept: list[bytes] | None = []
        size = 0
        comp = zlib.compressobj(6)
        held: list[bytes] | None = []  # compressed output while it may still fit the pack
        held_size = 0
        tmp = None
        try:
            while block := stream.read(BLOCK):
                digest.update(block)
                size += len(block)
                if kept is not None:
                    kept.append(block)
                    if size > keep:
                        kept = None
                out = comp.compress(block)
                if held is not None:
                    held.append(out)
                    held_size += len(out)
                    if held_size > PACK_MAX:  # too big for the pack: continue in a file
                        tmp = tempfile.NamedTemporaryFile(dir=self.path, prefix=".in-", delete=False)
                        tmp.write(b"".join(held))
                        held = None
                else:
                    tmp.write(out)
            out = comp.flush()
            sha = digest.hexdigest()
            if held is not None and held_size + len(out) <= PACK_MAX:
                if not self.has(sha):
                    self._put_packed(sha, b"".join(held) + out)
            else:
                if tmp is None:
                    tmp = tempfile.NamedTemporaryFile(dir=self.path, prefix=".in-", delete=False)
                    tmp.write(b"".join(held))
                tmp.write(out)
                tmp.flush()
                os.fsync(tmp.fileno())
                tmp.close()
                if self.has(sha):
                    os.unlink(tmp.name)
                else:
                    self._place(tmp.name, sha)
        except BaseException:
            if tmp is not None:
                tmp.close()
                if os.path.exists(tmp.name):
                    os.unlink(tmp.name)
            raise
        return sha, size, (b"".join(kept) if kept is not None else None)

    def _store(self, sha: str, blocks: Iterator[bytes]) -> None:
        comp = zlib.compressobj(6)
        with tempfile.NamedTemporaryFile(dir=self.path, prefix=".in-", delete=False) as tmp:
            try:
                for block in blocks:
                    tmp.write(comp.compress(block))
                tmp.write(comp.flush())
                tmp.flush()
                os.fsync(tmp.fileno())
            except BaseException:
                os.unlink(tmp.name)
                raise
        self._place(tmp.name, sha)

    def _place(self, tmp_name: str, sha: str) -> None:
        dest = self._where(sha)
        dest.parent.mkdir(exist_ok=True)
        os.replace(tmp_name, dest)
        fsync_dir(dest.parent)

    def read(self, sha: str) -> bytes:
        return b"".join(self.iter_blocks(sha))

    def iter_blocks(self, sha: str) -> Iterator[bytes]:
        """The object's content in blocks; FileNotFoundError when it is not stored."""
        decomp = zlib.decompressobj()
        try:
            fh = open(self._where(sha), "rb")
        except FileNotFoundError:
            packed = self._packed(sha)
            if packed is None:
                raise
            yield decomp.decompress(packed)
        else:
            with fh:
                while block := fh.read(BLOCK):
                    yield decomp.decompress(block)
        yield decomp.flush()

    def check(self, sha: str) -> bool:
        """True when the object exists and its content still hashes to ``sha``."""
        if not self.has(sha):
            return False
        digest = hashlib.sha256()
        try:
            for block in self.iter_blocks(sha):
                digest.update(block)
        except zlib.error:
            return False
        return digest.hexdigest() == sha

    def all(self) -> Iterator[str]:
        for sub in self.path.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                for obj in sub.iterdir():
                    yield sub.name + obj.name
        with self._lock:
            db = self._pack()
            packed = [sha for (sha,) in db.execute("SELECT sha FROM objects")] if db else []
        yield from packed

    def remove(self, sha: str) -> None:
        try:
            self._where(sha).unlink()
        except FileNotFoundError:
            pass
        with self._lock:
            db = self._pack()
            if db is not None:
                db.execute("DELETE FROM objects WHERE sha=?", (sha,))

    def clean_temp(self) -> None:
        """Drop temporary files a crash left behind (never a finished object)."""
        for tmp in self.path.glob(".in-*"):
            tmp.unlink(missing_ok=True)
