"""Crash recovery: intents written before a multi-step operation, replayed on the next open.

A write, rollback, group, join, import or index touches several places in turn: the
object store, the file on disk (temp file + rename), the catalog, the vector index and
the file's extended attributes. Each step alone is atomic and the order keeps user data
safe (the old content is a version before the disk changes; the new content is an object
before it is renamed into place), but a process killed between two steps leaves *derived*
state behind the disk: a file whose new content has no version row yet, vectors for
chunks the catalog never committed, a temp file beside the target.

So every such operation first commits an *intent* row (what it is about to do, to which
paths, with which version cause) and deletes it when done. Only one process owns a root
at a time (``RootLock``), so an intent found when the root is opened for writing belongs
to a process that died mid-way; ``recover`` then re-syncs exactly those paths from disk
(recording content it finds with the intended cause), drops LSFS's own temp files there,
makes the vector index match the catalog and puts user xattrs back. A kill during the
recovery itself leaves the intents in place, and the next open simply does it again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from lsfs.ignore import TEMP_PREFIX
from lsfs.store.catalog import Catalog

log = logging.getLogger("lsfs.recovery")

DDL = [
    """CREATE TABLE IF NOT EXISTS intents(
        id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        pid INTEGER NOT NULL,
        op TEXT NOT NULL,               -- write | delete | group | import | index | ...
        cause TEXT NOT NULL,            -- the version cause to record for content found on disk
        paths TEXT NOT NULL             -- JSON list of root-relative paths ("" = the whole root)
    )""",
]


@dataclass
class Intent:
    id: int
    time: float
    pid: int
    op: str
    cause: str
    paths: list[str]


@dataclass
class RecoveryReport:
    intents: int = 0
    paths: list[str] = field(default_factory=list)
    temp_files_removed: int = 0
    vectors_removed: int = 0
    files_reembedded: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _ensure(catalog: Catalog) -> None:
    if not getattr(catalog, "_intents_ready", False):
        catalog.ensure_schema(DDL)
        catalog._intents_ready = True  # noqa: SLF001 - a per-connection cache flag


@contextmanager
def intent(catalog: Catalog, op: str, paths: Iterable[str], cause: str = "external") -> Iterator[list[str]]:
    """Record that ``op`` is about to change ``paths``; forget it once the block ends.

    The yielded list may be extended with paths learnt on the way (a group's final
    targets); they are saved at once. When the block raises, the row stays: the failure
    may have struck between two steps, and the next open re-syncs these paths.
    """
    _ensure(catalog)
    listed = sorted(set(paths))
    cur = catalog.execute(
        "INSERT INTO intents(time, pid, op, cause, paths) VALUES(?, ?, ?, ?, ?)",
        (time.time(), os.getpid(), op, cause, json.dumps(listed)),
    )
    iid = cur.lastrowid
    tracked = _Tracked(catalog, iid, listed)
    yield tracked
    catalog.execute("DELETE FROM intents WHERE id=?", (iid,))


class _Tracked(list):
    """A list of paths that saves itself to its intent row whenever it grows."""

    def __init__(self, catalog: Catalog, iid: int, paths: list[str]):
        super().__init__(paths)
        self._catalog, self._iid = catalog, iid

    def append(self, path: str) -> None:  # noqa: D401 - list API
        if path in self:
            return
        super().append(path)
        self._catalog.execute("UPDATE intents SET paths=? WHERE id=?", (json.dumps(sorted(self)), self._iid))


def pending(catalog: Catalog) -> list[Intent]:
    """Intents left by operations that never finished, oldest first."""
    _ensure(catalog)
    return [
        Intent(i, t, pid, op, cause, json.loads(paths))
        for i, t, pid, op, cause, paths in catalog.query(
            "SELECT id, time, pid, op, cause, paths FROM intents ORDER BY id"
        )
    ]


def remove_temp_files(root_path, folders: Iterable[str]) -> int:
    """Delete LSFS's own half-written temp files (``TEMP_PREFIX``) in these folders."""
    removed = 0
    for folder in sorted(set(folders)):
        where = root_path / folder if folder else root_path
        try:
            entries = list(os.scandir(where))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def _folders(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for p in paths:
        out.add(p.rsplit("/", 1)[0] if "/" in p else "")
        out.add(p)  # the path itself may be a folder (import, index)
    return out


def _drop_half_moves(root, paths: list[str]) -> None:
    """A group moves a file by linking the new name, then unlinking the old one. Killed in
    between, both names hold the same inode: keep the one the catalog knows, drop the
    other link (the content survives under the kept name)."""
    by_inode: dict[tuple[int, int], list[str]] = {}
    for rel in paths:
        try:
            st = os.lstat(root.path / rel)
        except OSError:
            continue
        if st.st_nlink > 1:
            by_inode.setdefault((st.st_dev, st.st_ino), []).append(rel)
    for names in by_inode.values():
        known = [n for n in names if root.catalog.file_by_path(n) is not None]
        if len(names) < 2 or len(known) != 1:
            continue
        for extra in names:
            if extra != known[0]:
                log.info("dropping the second link %s of %s left by an interrupted move", extra, known[0])
                os.unlink(root.path / extra)


def recover(root, intents: list[Intent] | None = None) -> RecoveryReport:
    """Finish what dead processes left half-done (see the module docstring).

    ``root`` is an open, locked ``lsfs.root.Root``. Touches no user file except LSFS's
    own temp files; never deletes a version.
    """
    from lsfs import xattrs

    intents = pending(root.catalog) if intents is None else intents
    report = RecoveryReport(intents=len(intents))
    if not intents:
        return report
    log.info("recovering %d unfinished operation(s): %s", len(intents), [i.op for i in intents])
    all_paths = sorted({p for it in intents for p in it.paths})
    report.paths = all_paths
    report.temp_files_removed = remove_temp_files(root.path, _folders(all_paths))
    for it in intents:
        if it.op == "group":
            _drop_half_moves(root, it.paths)
    root.objects.clean_temp()
    root.indexer.ignore.forget()
    for it in intents:
        if "" in it.paths:
            root.indexer.sync(cause=it.cause)
        elif it.paths:
            root.indexer.sync_paths(it.paths, cause=it.cause)
    removed, marked = root.indexer.repair_vectors()
    report.vectors_removed = removed
    if marked:
        # Rows whose vectors were lost: re-embed them now, so search is whole again.
        stale = [r[0] for r in root.catalog.query(
            "SELECT path FROM files WHERE state='indexed' AND indexed_sha IS NULL")]
        root.indexer.sync_paths(stale, cause="external")
        report.files_reembedded = len(stale)
    for rel in all_paths:
        if rel and (root.path / rel).is_file():
            try:
                xattrs.reapply(root, rel)
            except Exception:  # attributes are a convenience; never block recovery on them
                log.exception("could not reapply xattrs of %s", rel)
    with root.catalog.transaction():
        for it in intents:
            root.catalog.execute("DELETE FROM intents WHERE id=?", (it.id,))
    return report
