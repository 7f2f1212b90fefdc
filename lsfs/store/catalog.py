"""The catalog: one SQLite database (WAL) holding files, extracted text, chunks, the keyword
indexes, versions and the change log.

Rows in ``files`` are lineages: a file keeps its id (and so its version history) across
moves, and a deleted file keeps its row with ``state = 'deleted'``.

Keyword search uses two FTS5 indexes:
- ``docs_tri``: trigram index over each file's whole extracted text, ``detail=none`` (small);
  it narrows substring searches to candidates that are then verified exactly, so ``grep``
  equals ``grep -rliF`` over the same text.
- ``chunks_bm25``: porter-stemmed words per chunk, contentless, for BM25 ranking.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

SCHEMA_VERSION = 1

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS files(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        state TEXT NOT NULL,            -- indexed | skipped | failed | deleted
        reason TEXT,                    -- why skipped or failed
        size INTEGER,
        mtime_ns INTEGER,
        inode INTEGER,
        sha256 TEXT,                    -- content on disk when last seen (= current version)
        indexed_sha TEXT,               -- content the keyword and vector indexes reflect
        kind TEXT,                      -- extractor that read it
        n_chunks INTEGER NOT NULL DEFAULT 0,
        locked INTEGER NOT NULL DEFAULT 0,
        lock_mode INTEGER,              -- file mode to restore on unlock
        updated_at REAL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS files_live_path ON files(path) WHERE state != 'deleted'",
    "CREATE INDEX IF NOT EXISTS files_path ON files(path)",
    "CREATE TABLE IF NOT EXISTS docs(file_id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS docs_tri USING fts5(
        text, content='docs', content_rowid='file_id', tokenize='trigram', detail='none')""",
    """CREATE TABLE IF NOT EXISTS chunks(
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        start INTEGER NOT NULL,         -- character offsets into docs.text
        end INTEGER NOT NULL,
        hash TEXT NOT NULL,             -- sha256 of the chunk text: reuse embeddings by it
        UNIQUE(file_id, seq)
    )""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_bm25 USING fts5(
        text, content='', tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TABLE IF NOT EXISTS versions(
        file_id INTEGER NOT NULL,
        n INTEGER NOT NULL,             -- 1 = oldest; the highest n is the current content
        time REAL NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        cause TEXT NOT NULL,
        PRIMARY KEY(file_id, n)
    )""",
    "CREATE INDEX IF NOT EXISTS versions_sha ON versions(sha256)",
    """CREATE TABLE IF NOT EXISTS changes(
        id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        file_id INTEGER,
        path TEXT NOT NULL,
        cause TEXT NOT NULL,
        version INTEGER,
        summary TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS changes_time ON changes(time)",
]


@dataclass
class FileRow:
    id: int
    path: str
    state: str
    reason: str | None
    size: int | None
    mtime_ns: int | None
    inode: int | None
    sha256: str | None
    indexed_sha: str | None
    kind: str | None
    n_chunks: int
    locked: int
    lock_mode: int | None
    updated_at: float | None


@dataclass
class VersionRow:
    file_id: int
    n: int
    time: float
    size: int
    sha256: str
    cause: str


@dataclass
class ChunkRow:
    id: int
    file_id: int
    seq: int
    start: int
    end: int
    hash: str


_FILE_COLS = ",".join(FileRow.__dataclass_fields__)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write ``path`` (a SQLite file in WAL mode)."""
    uri = f"file:{path}?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        return db
    except sqlite3.OperationalError:
        db.close()
        if os.access(Path(path).parent, os.W_OK):
            raise
    # A read-only file system (a mounted backup, a CD): WAL mode cannot create its
    # shared-memory file there, and nothing can change the database, so read it as
    # immutable.
    return sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False)


class Catalog:
    """Thread-safe access to ``catalog.db``. Writes happen inside ``transaction()``."""

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0
        if readonly:
            self.db = connect_readonly(self.path)
        else:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=30000")
        if not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self.transaction():
                for stmt in SCHEMA:
                    self.db.execute(stmt)
                if self.get_meta("schema_version") is None:
                    self.set_meta("schema_version", str(SCHEMA_VERSION))

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # -- transactions ----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    def execute(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            return self.db.execute(sql, tuple(params))

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, tuple(params)).fetchall()

    def ensure_schema(self, statements: Iterable[str]) -> None:
        """Let a feature module (links, xattrs, moves) add its own tables."""
        with self.transaction():
            for stmt in statements:
                self.db.execute(stmt)

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.query("SELECT value FROM meta WHERE key=?", (key,))
        return row[0][0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    # -- files -------------------------------------------------------------------------
    def file_by_path(self, path: str, *, include_deleted: bool = False) -> FileRow | None:
        """The live row for ``path``; with ``include_deleted``, else the newest deleted one."""
        rows = self.query(
            f"SELECT {_FILE_COLS} FROM files WHERE path=? ORDER BY state='deleted', id DESC",
            (path,),
        )
        for row in rows:
            f = FileRow(*row)
            if f.state != "deleted" or include_deleted:
                return f
        return None

    def file_by_id(self, file_id: int) -> FileRow | None:
        rows = self.query(f"SELECT {_FILE_COLS} FROM files WHERE id=?", (file_id,))
        return FileRow(*rows[0]) if rows else None

    def live_files(self, under: str | None = None) -> list[FileRow]:
        sql = f"SELECT {_FILE_COLS} FROM files WHERE state != 'deleted'"
        params: tuple = ()
        if under:
            sql += " AND (path = ? OR substr(path, 1, ?) = ?)"
            prefix = under.rstrip("/") + "/"
            params = (under, len(prefix), prefix)
        return [FileRow(*r) for r in self.query(sql + " ORDER BY path", params)]

    def deleted_files(self) -> list[FileRow]:
        return [
            FileRow(*r)
            for r in self.query(f"SELECT {_FILE_COLS} FROM files WHERE state='deleted' ORDER BY path")
        ]

    def all_paths(self, *, include_deleted: bool = False) -> list[str]:
        sql = "SELECT DISTINCT path FROM files"
        if not include_deleted:
            sql += " WHERE state != 'deleted'"
        return [r[0] for r in self.query(sql)]

    def insert_file(self, path: str, **cols) -> int:
        cols = {"state": "indexed", "updated_at": time.time(), **cols}
        names = ",".join(["path", *cols])
        marks = ",".join("?" * (len(cols) + 1))
        cur = self.execute(f"INSERT INTO files({names}) VALUES({marks})", (path, *cols.values()))
        return cur.lastrowid

    def update_file(self, file_id: int, **cols) -> None:
        cols = {**cols, "updated_at": time.time()}
        sets = ",".join(f"{k}=?" for k in cols)
        self.execute(f"UPDATE files SET {sets} WHERE id=?", (*cols.values(), file_id))

    def counts(self) -> dict:
        states = dict(self.query("SELECT state, count(*) FROM files GROUP BY state"))
        return {
            "indexed": states.get("indexed", 0),
            "skipped": states.get("skipped", 0),
            "failed": states.get("failed", 0),
            "deleted": states.get("deleted", 0),
            "chunks": self.query("SELECT count(*) FROM chunks")[0][0],
            "versions": self.query("SELECT count(*) FROM versions")[0][0],
        }

    # -- text and chunks -----------------------------------------------------------
    def doc_text(self, file_id: int) -> str | None:
        row = self.query("SELECT text FROM docs WHERE file_id=?", (file_id,))
        return row[0][0] if row else None

    def chunks_of(self, file_id: int) -> list[ChunkRow]:
        return [
            ChunkRow(*r)
            for r in self.query(
                "SELECT id, file_id, seq, start, end, hash FROM chunks WHERE file_id=? ORDER BY seq",
                (file_id,),
            )
        ]

    def replace_text(self, file_id: int, text: str | None, chunks: list[tuple[int, int, str]]) -> None:
        """Swap a file's extracted text and chunk list in both keyword indexes.

        ``chunks`` are ``(start, end, hash)``. Contentless FTS rows are removed with their
        old text, so the old text is read before it is replaced.
        """
        with self.transaction() as db:
            old_text = self.doc_text(file_id)
            for cid, start, end in db.execute(
                "SELECT id, start, end FROM chunks WHERE file_id=?", (file_id,)
            ).fetchall():
                db.execute(
                    "INSERT INTO chunks_bm25(chunks_bm25, rowid, text) VALUES('delete', ?, ?)",
                    (cid, (old_text or "")[start:end]),
                )
            db.execute("DELETE FROM chunks WHERE file_id=?", (file_id,))
            if old_text is not None:
                db.execute(
                    "INSERT INTO docs_tri(docs_tri, rowid, text) VALUES('delete', ?, ?)",
                    (file_id, old_text),
                )
                db.execute("DELETE FROM docs WHERE file_id=?", (file_id,))
            if text is None:
                return
            db.execute("INSERT INTO docs(file_id, text) VALUES(?, ?)", (file_id, text))
            db.execute("INSERT INTO docs_tri(rowid, text) VALUES(?, ?)", (file_id, text))
            for seq, (start, end, digest) in enumerate(chunks):
                cur = db.execute(
                    "INSERT INTO chunks(file_id, seq, start, end, hash) VALUES(?, ?, ?, ?, ?)",
                    (file_id, seq, start, end, digest),
                )
                db.execute(
                    "INSERT INTO chunks_bm25(rowid, text) VALUES(?, ?)",
                    (cur.lastrowid, text[start:end]),
                )

    def clear_indexes(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM docs")
            db.execute("INSERT INTO chunks_bm25(chunks_bm25) VALUES('delete-all')")
            db.execute("INSERT INTO docs_tri(docs_tri) VALUES('delete-all')")
            db.execute("UPDATE files SET indexed_sha=NULL, n_chunks=0")

    # -- versions ------------------------------------------------------------------
    def versions_of(self, file_id: int) -> list[VersionRow]:
        return [
            VersionRow(*r)
            for r in self.query(
                "SELECT file_id, n, time, size, sha256, cause FROM versions WHERE file_id=? ORDER BY n",
                (file_id,),
            )
        ]

    def version(self, file_id: int, n: int) -> VersionRow | None:
        rows = self.query(
            "SELECT file_id, n, time, size, sha256, cause FROM versions WHERE file_id=? AND n=?",
            (file_id, n),
        )
        return VersionRow(*rows[0]) if rows else None

    def latest_version(self, file_id: int) -> VersionRow | None:
        rows = self.query(
            "SELECT file_id, n, time, size, sha256, cause FROM versions WHERE file_id=? "
            "ORDER BY n DESC LIMIT 1",
            (file_id,),
        )
        return VersionRow(*rows[0]) if rows else None

    def add_version(self, file_id: int, size: int, sha256: str, cause: str, when: float | None = None) -> int:
        with self.transaction() as db:
            (top,) = db.execute(
                "SELECT coalesce(max(n), 0) FROM versions WHERE file_id=?", (file_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO versions(file_id, n, time, size, sha256, cause) VALUES(?, ?, ?, ?, ?, ?)",
                (file_id, top + 1, time.time() if when is None else when, size, sha256, cause),
            )
            return top + 1

    def log_change(
        self, file_id: int | None, path: str, cause: str, version: int | None = None,
        summary: str | None = None, when: float | None = None,
    ) -> None:
        self.execute(
            "INSERT INTO changes(time, file_id, path, cause, version, summary) VALUES(?, ?, ?, ?, ?, ?)",
            (time.time() if when is None else when, file_id, path, cause, version, summary),
        )

    def object_in_use(self, sha: str) -> bool:
        """True while a version, or an active snapshot link, still needs this object."""
        if self.query("SELECT 1 FROM versions WHERE sha256=? LIMIT 1", (sha,)):
            return True
        if self.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='links'"):
            return bool(self.query(
                "SELECT 1 FROM links WHERE sha256=? AND revoked IS NULL "
                "AND (expires IS NULL OR expires > ?) LIMIT 1", (sha, time.time()),
            ))
        return False

    def referenced_objects(self) -> set[str]:
        return {r[0] for r in self.query("SELECT DISTINCT sha256 FROM versions")}
