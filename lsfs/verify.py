"""``lsfs verify``: prove that catalog, version objects, keyword index, vectors and disk agree.

Like ``restic check`` it walks every reference: each version's object is re-hashed, each
live catalog row is compared with the file on disk (content hash, not just the stat
signature), each file on disk must have a row, the keyword index must hold exactly the
indexed files' text and chunks, the vector index exactly their chunk ids, and no temp file
or unfinished operation may be left over.

``repair=True`` rebuilds derived state from the disk and the objects and never touches a
user file or a version: unseen disk content is recorded (a new version, nothing dropped),
the keyword index and vectors of damaged files are rebuilt, LSFS's own temp files are
removed. A missing or corrupt object is only reported -- unless a file on disk still holds
exactly that content, in which case the object is stored again from it.
"""

from __future__ import annotations

import hashlib
import os
import stat as statmod
import time
from dataclasses import asdict, dataclass, field

from lsfs import recovery
from lsfs.ignore import TEMP_PREFIX
from lsfs.paths import STATE_DIR
from lsfs.root import Root
from lsfs.store.vectors import chunk_id

# What each kind of problem is about; repair handles all but the object kinds.
OBJECT_MISSING = "object-missing"
OBJECT_CORRUPT = "object-corrupt"
FILE_MISSING = "file-missing"        # catalog says live, disk has nothing
FILE_CHANGED = "file-changed"        # disk content differs from the catalog (unseen outside change)
FILE_UNKNOWN = "file-unknown"        # on disk, not in the catalog
VERSION_BEHIND = "version-behind"    # the current content is not the latest version
KEYWORD_INDEX = "keyword-index"
VECTORS = "vectors"
TEMP_FILE = "temp-file"
INTERRUPTED = "interrupted"


@dataclass
class Problem:
    kind: str
    path: str | None
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class VerifyReport:
    """What ``verify`` found (``ok`` when everything agrees) and what ``repair`` did."""

    root: str
    ok: bool = True
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    checked: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "root": self.root, "ok": self.ok, "problems": [p.to_dict() for p in self.problems],
            "repaired": self.repaired, "checked": self.checked, "seconds": round(self.seconds, 3),
        }


def _hash_file(full) -> str | None:
    """sha256 of a regular file's bytes, or None when it is not a readable regular file."""
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not statmod.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        digest = hashlib.sha256()
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class _Check:
    def __init__(self, root: Root):
        self.root = root
        self.cat = root.catalog
        self.report = VerifyReport(str(root.path))

    def add(self, kind: str, path: str | None, message: str) -> None:
        self.report.problems.append(Problem(kind, path, message))

    # -- the checks ----------------------------------------------------------------------
    def interrupted(self) -> None:
        for it in recovery.pending(self.cat):
            self.add(INTERRUPTED, None, f"an interrupted {it.op} of {', '.join(it.paths) or 'the root'} was never finished")

    def objects(self) -> None:
        rows = self.cat.query(
            "SELECT v.sha256, v.n, f.path FROM versions v JOIN files f ON f.id = v.file_id ORDER BY f.path, v.n"
        )
        seen: dict[str, bool] = {}
        for sha, n, path in rows:
            if sha not in seen:
                seen[sha] = self.root.objects.check(sha)
            if not seen[sha]:
                if self.root.objects.has(sha):
                    self.add(OBJECT_CORRUPT, path, f"version {n} of {path} is damaged: its stored content no longer hashes to {sha[:12]}")
                else:
                    self.add(OBJECT_MISSING, path, f"version {n} of {path} is lost: object {sha[:12]} is missing from {STATE_DIR}/objects")
        self.report.checked["versions"] = len(rows)
        self.report.checked["objects"] = len(seen)

    def disk(self) -> None:
        live = {f.path: f for f in self.cat.live_files()}
        on_disk = dict(self.root.indexer.ignore.walk(""))
        for rel, row in live.items():
            full = self.root.path / rel
            if not os.path.lexists(full):
                self.add(FILE_MISSING, rel, f"{rel} is in the catalog but not on disk (deleted outside LSFS, not yet recorded)")
                continue
            if row.sha256 is None:
                continue  # recorded without content (symlink, special file, too large)
            try:
                if os.lstat(full).st_size > self.root.config.max_file_bytes:
                    continue  # grew past the size limit: LSFS no longer reads it, by design
            except OSError:
                continue
            sha = _hash_file(full)
            if sha is not None and sha != row.sha256:
                self.add(FILE_CHANGED, rel, f"{rel} changed on disk since LSFS last read it (an outside change not yet recorded as a version)")
                continue
            latest = self.cat.latest_version(row.id)
            if sha is not None and (latest is None or latest.sha256 != sha):
                self.add(VERSION_BEHIND, rel, f"{rel}: its current content is not recorded as its latest version")
        for rel in on_disk:
            if rel not in live:
                self.add(FILE_UNKNOWN, rel, f"{rel} is on disk but not in the catalog (not indexed yet)")
        self.report.checked["files"] = len(live)

    def keyword_index(self) -> None:
        q = self.cat.query
        for (path,) in q(
            "SELECT path FROM files WHERE state='indexed' AND indexed_sha IS NOT sha256"
        ):
            self.add(KEYWORD_INDEX, path, f"{path}: the indexes reflect older content than the file's")
        for (path,) in q(
            "SELECT f.path FROM files f LEFT JOIN docs d ON d.file_id = f.id WHERE f.state='indexed' AND d.file_id IS NULL"
        ):
            self.add(KEYWORD_INDEX, path, f"{path} is indexed but its text is missing from the keyword index")
        for fid, path in q(
            "SELECT d.file_id, f.path FROM docs d LEFT JOIN files f ON f.id = d.file_id "
            "WHERE f.id IS NULL OR f.state != 'indexed'"
        ):
            self.add(KEYWORD_INDEX, path, f"the keyword index still holds text of {path or f'file #{fid}'}, which is not an indexed file")
        for path, n_chunks, have in q(
            "SELECT f.path, f.n_chunks, (SELECT count(*) FROM chunks c WHERE c.file_id = f.id) "
            "FROM files f WHERE f.state = 'indexed'"
        ):
            if n_chunks != have:
                self.add(KEYWORD_INDEX, path, f"{path} should have {n_chunks} chunks in the keyword index, has {have}")
        for fid, path in q(
            "SELECT DISTINCT c.file_id, f.path FROM chunks c LEFT JOIN files f ON f.id = c.file_id "
            "WHERE f.id IS NULL OR f.state != 'indexed'"
        ):
            self.add(KEYWORD_INDEX, path, f"the keyword index still holds chunks of {path or f'file #{fid}'}, which is not an indexed file")
        chunk_rows = {r[0] for r in q("SELECT id FROM chunks")}
        bm25_rows = {r[0] for r in q("SELECT rowid FROM chunks_bm25")}
        if chunk_rows != bm25_rows:
            self.add(KEYWORD_INDEX, None, f"the ranked keyword index (BM25) has {len(bm25_rows - chunk_rows)} stray and {len(chunk_rows - bm25_rows)} missing chunks")
        for table in ("docs_tri", "chunks_bm25"):
            try:
                self.cat.execute(f"INSERT INTO {table}({table}, rank) VALUES('integrity-check', 1)")
            except Exception as exc:  # sqlite3.DatabaseError: the FTS index disagrees with its content
                self.add(KEYWORD_INDEX, None, f"the full-text index {table} is damaged ({exc})")
        self.report.checked["chunks"] = len(chunk_rows)

    def vectors(self) -> None:
        expected: dict[str, str] = {}
        for fid, seq, path in self.cat.query(
            "SELECT c.file_id, c.seq, f.path FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.state = 'indexed'"
        ):
            expected[chunk_id(fid, seq)] = path
        try:
            have = set(self.root.vectors().all_ids())
        except Exception as exc:
            if getattr(exc, "exit_code", None) == 4:
                raise  # a Chroma server that is down is not damage to report
            self.add(VECTORS, None, f"the vector index cannot be read ({type(exc).__name__}: {exc})")
            return
        missing: dict[str, int] = {}
        for cid, path in expected.items():
            if cid not in have:
                missing[path] = missing.get(path, 0) + 1
        for path, n in sorted(missing.items()):
            self.add(VECTORS, path, f"{path} lacks {n} chunk vector(s) in the vector index (semantic search misses it)")
        extra = have - set(expected)
        if extra:
            self.add(VECTORS, None, f"the vector index holds {len(extra)} vector(s) of chunks the catalog does not have")
        self.report.checked["vectors"] = len(have)

    def temp_files(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root.path):
            if dirpath == str(self.root.path) and STATE_DIR in dirnames:
                dirnames.remove(STATE_DIR)
            for name in filenames:
                if name.startswith(TEMP_PREFIX):
                    rel = os.path.relpath(os.path.join(dirpath, name), self.root.path)
                    self.add(TEMP_FILE, rel, f"{rel} is a temp file left by an interrupted write")
        for tmp in self.root.objects.path.glob(".in-*"):
            self.add(TEMP_FILE, None, f"{STATE_DIR}/objects/{tmp.name} is a temp file left by an interrupted write")


def check(root: Root) -> VerifyReport:
    """Run every check; ``report.ok`` is True only when nothing disagrees."""
    started = time.monotonic()
    c = _Check(root)
    c.interrupted()
    c.objects()
    c.disk()
    c.keyword_index()
    c.vectors()
    c.temp_files()
    c.report.ok = not c.report.problems
    c.report.seconds = time.monotonic() - started
    return c.report


def repair(root: Root) -> VerifyReport:
    """Check, rebuild derived state from disk and objects, and check again.

    The returned report is the second check's (``ok`` when all agrees now), with
    ``repaired`` listing what was done. Missing objects stay reported.
    """
    started = time.monotonic()
    first = check(root)
    done: list[str] = []
    kinds = {p.kind for p in first.problems}
    if INTERRUPTED in kinds:
        r = recovery.recover(root)
        done.append(f"finished {r.intents} interrupted operation(s)")
    if TEMP_FILE in kinds:
        n = recovery.remove_temp_files(root.path, _temp_folders(first))
        root.objects.clean_temp()
        done.append(f"removed {n} temp file(s)")
    # Objects a file on disk still holds: store them again (the disk is the truth).
    lost = {p.path for p in first.problems if p.kind in (OBJECT_MISSING, OBJECT_CORRUPT)}
    for rel in sorted(x for x in lost if x):
        row = root.catalog.file_by_path(rel)
        full = root.path / rel
        if row is None or _hash_file(full) is None:
            continue
        want = {v.sha256 for v in root.catalog.versions_of(row.id)}
        data = full.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if sha in want:
            root.objects.remove(sha)  # a corrupt copy must go before the good one is placed
            root.objects.put_bytes(data)
            done.append(f"stored the content of {rel} again from the file on disk")
    # Paths whose catalog row, text or vectors disagree with the disk: sync them again.
    resync = sorted({
        p.path for p in first.problems
        if p.path and p.kind in (FILE_MISSING, FILE_CHANGED, FILE_UNKNOWN, VERSION_BEHIND, KEYWORD_INDEX, VECTORS)
    })
    if KEYWORD_INDEX in kinds:
        _rebuild_keyword_index(root)
        done.append("rebuilt the keyword index")
    if VECTORS in kinds or KEYWORD_INDEX in kinds:
        removed, marked = root.indexer.repair_vectors()
        done.append(f"vector index: removed {removed} stray vector(s), {marked} file(s) to re-embed")
        resync += [r[0] for r in root.catalog.query(
            "SELECT path FROM files WHERE state='indexed' AND indexed_sha IS NULL")]
    for rel in resync:
        if any(p.path == rel and p.kind == VERSION_BEHIND for p in first.problems):
            _record_current(root, rel)
    if resync:
        with root.catalog.transaction():
            for rel in resync:
                row = root.catalog.file_by_path(rel)
                if row is not None:
                    # Forces a re-read: the stat signature alone would call the file unchanged.
                    root.catalog.update_file(row.id, indexed_sha=None, mtime_ns=None)
        stats = root.indexer.sync_paths(sorted(set(resync)), cause="external")
        done.append(
            f"re-synced {len(set(resync))} path(s) from disk "
            f"({stats.new} new, {stats.changed} re-indexed, {stats.deleted} recorded as deleted)"
        )
    second = check(root)
    second.repaired = done
    second.seconds = time.monotonic() - started
    return second


def _temp_folders(report: VerifyReport) -> set[str]:
    return {
        (p.path.rsplit("/", 1)[0] if "/" in p.path else "")
        for p in report.problems if p.kind == TEMP_FILE and p.path
    }


def _record_current(root: Root, rel: str) -> None:
    """The disk content is what the catalog says, but no version holds it: add one."""
    row = root.catalog.file_by_path(rel)
    data = (root.path / rel).read_bytes()
    sha = root.objects.put_bytes(data)
    root.catalog.add_version(row.id, len(data), sha, "external")


def _rebuild_keyword_index(root: Root) -> None:
    """Drop text and chunks of files that are not indexed, and rebuild both FTS tables
    from the stored text; files whose own rows are wrong are re-read by the caller."""
    cat = root.catalog
    with cat.transaction() as db:
        db.execute(
            "DELETE FROM docs WHERE file_id NOT IN (SELECT id FROM files WHERE state='indexed')"
        )
        db.execute(
            "DELETE FROM chunks WHERE file_id NOT IN (SELECT id FROM files WHERE state='indexed')"
        )
        db.execute("INSERT INTO docs_tri(docs_tri) VALUES('rebuild')")
        db.execute("INSERT INTO chunks_bm25(chunks_bm25) VALUES('delete-all')")
        for cid, start, end, text in db.execute(
            "SELECT c.id, c.start, c.end, d.text FROM chunks c JOIN docs d ON d.file_id = c.file_id"
        ).fetchall():
            db.execute("INSERT INTO chunks_bm25(rowid, text) VALUES(?, ?)", (cid, text[start:end]))
