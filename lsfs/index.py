"""Keep the catalog, keyword indexes, vectors and version history in step with the disk.

One path for every change, whoever made it: ``Indexer.sync`` walks (part of) the tree and
applies what changed, ``sync_paths`` applies a known set of paths (the supervisor's
events, LSFS's own writes). For each file:

    stat → unchanged? stop (a re-index of an unchanged tree costs a stat per file)
    read once → store the bytes as a version object → extract → chunk
    → embed only chunks whose text is new → write vectors → one catalog transaction

Files are committed in batches so the model sees full batches and SQLite one transaction
per batch. A file that vanished and one that appeared with the same content are a move:
the history follows and nothing is re-embedded.
"""

from __future__ import annotations

import errno
import logging
import os
import stat as statmod
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

from lsfs.chunk import Chunker, Title, embedding_input, find_title, with_title
from lsfs.config import Config
from lsfs.diffsummary import summarize_texts
from lsfs.embed import Embedder
from lsfs.extract import ExtractFailed, Skip, extract
from lsfs.ignore import IgnoreRules
from lsfs.retention import drop_unreferenced, prune_versions
from lsfs.store.catalog import Catalog, FileRow
from lsfs.store.objects import ObjectStore
from lsfs.store.vectors import VectorStore, chunk_id

log = logging.getLogger("lsfs.index")

# Failures that depend on the file's permissions, not its content: always try again.
_RETRY_REASONS = ("permission denied",)

# Chunks gathered before one embedding call and one catalog transaction.
BATCH_CHUNKS = 64
BATCH_FILES = 200
# Files read and chunked ahead of the embedding (bounds memory on huge trees).
PREFETCH_FILES = 32


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


@dataclass
class SyncStats:
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    moved: int = 0
    skipped: int = 0
    failed: int = 0
    embedded_chunks: int = 0
    reused_chunks: int = 0
    seconds: float = 0.0
    paths: list[str] = field(default_factory=list)  # files whose content changed

    def add(self, other: "SyncStats") -> None:
        for name in self.__dataclass_fields__:
            if name == "paths":
                self.paths.extend(other.paths)
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Prepared:
    """A file read and chunked, waiting for its batch to be embedded and committed."""

    rel: str
    row: FileRow | None
    st: os.stat_result
    sha: str
    size: int
    cause: str
    state: str = "indexed"
    reason: str | None = None
    kind: str | None = None
    text: str | None = None
    chunks: list = field(default_factory=list)
    title: Title | None = None
    content_changed: bool = True
    is_new: bool = False


def _signature(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ino


class Indexer:
    def __init__(
        self,
        root: Path,
        catalog: Catalog,
        objects: ObjectStore,
        config: Config,
        vectors: Callable[[], VectorStore],
        embedder: Callable[[], Embedder],
    ):
        self.root = Path(root)
        self.catalog = catalog
        self.objects = objects
        self.config = config
        self._vectors = vectors
        self._embedder = embedder
        self._chunker: Chunker | None = None
        self._sha_indexed = False
        self.ignore = IgnoreRules(self.root, config.ignore)

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            self._chunker = Chunker(self.config.chunk_tokens)
        return self._chunker

    # -- entry points -------------------------------------------------------------------
    def sync(
        self,
        under: str | None = None,
        *,
        cause: str = "external",
        progress: Progress | None = None,
    ) -> SyncStats:
        """Bring everything under ``under`` (default: the whole root) in line with the disk."""
        started = time.monotonic()
        on_disk = dict(self.ignore.walk(under or ""))
        known = {f.path: f for f in self.catalog.live_files(under)}
        stats = self._apply(on_disk, known, cause, progress)
        stats.seconds = time.monotonic() - started
        return stats

    def sync_paths(
        self,
        paths: Iterable[str],
        *,
        cause: str = "external",
        data: dict[str, bytes] | None = None,
        progress: Progress | None = None,
    ) -> SyncStats:
        """Apply what happened to exactly these paths (files or folders)."""
        started = time.monotonic()
        on_disk: dict[str, os.stat_result] = {}
        known: dict[str, FileRow] = {}
        for rel in set(paths):
            if self.ignore.ignored(rel):
                continue
            full = self.root / rel
            try:
                st = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None and statmod.S_ISDIR(st.st_mode):
                on_disk.update(self.ignore.walk(rel))
                known.update({f.path: f for f in self.catalog.live_files(rel)})
                continue
            if st is not None:
                on_disk[rel] = st
            row = self.catalog.file_by_path(rel)
            if row is not None:
                known[rel] = row
            elif st is None:
                # A vanished folder: everything the catalog had below it.
                known.update({f.path: f for f in self.catalog.live_files(rel)})
        stats = self._apply(on_disk, known, cause, progress, data or {})
        stats.seconds = time.monotonic() - started
        return stats

    # -- the work -----------------------------------------------------------------------
    def _apply(
        self,
        on_disk: dict[str, os.stat_result],
        known: dict[str, FileRow],
        cause: str,
        progress: Progress | None,
        data: dict[str, bytes] | None = None,
    ) -> SyncStats:
        data = data or {}
        stats = SyncStats()
        todo = []
        for rel, st in on_disk.items():
            row = known.get(rel)
            stats.seen += 1
            if rel not in data and row is not None and self._unchanged(row, st):
                stats.unchanged += 1
                continue
            todo.append((rel, st, row))
        vanished = {rel: row for rel, row in known.items() if rel not in on_disk}

        if progress and len(todo) > 20:
            progress.start(len(todo))
        else:
            progress = None
        # Content of vanished files, so a new file with the same bytes is seen as a move.
        by_sha: dict[str, FileRow] = {}
        for row in vanished.values():
            if row.sha256:
                by_sha.setdefault(row.sha256, row)

        batch: list[_Prepared] = []
        pending_chunks = 0
        for (rel, st, row), prepared in self._prepared(todo, cause, data):
            if progress:
                progress.advance()
            if prepared is None:
                continue
            source = None
            if row is None and prepared.sha:
                source = by_sha.pop(prepared.sha, None) or self._vanished_elsewhere(prepared.sha, on_disk)
            if source is not None:
                vanished.pop(source.path, None)
                self._move(source, rel, st)
                stats.moved += 1
                continue
            batch.append(prepared)
            pending_chunks += len(prepared.chunks)
            if pending_chunks >= BATCH_CHUNKS or len(batch) >= BATCH_FILES:
                stats.add(self._commit(batch))
                batch, pending_chunks = [], 0
        if batch:
            stats.add(self._commit(batch))
        for row in vanished.values():
            self._forget(row, cause)
            stats.deleted += 1
        if progress:
            progress.finish()
        return stats

    def _prepared(self, todo: list, cause: str, data: dict[str, bytes]) -> Iterator:
        """``_prepare`` each file on a helper thread, a bounded distance ahead.

        Reading, storing the version object (fsync), extracting and chunking then overlap
        with the embedding of the previous batch, which runs outside the GIL.
        """
        if len(todo) < 8:
            for item in todo:
                yield item, self._prepare(*item, cause, data.get(item[0]))
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lsfs-read") as pool:
            ahead: deque = deque()
            items = iter(todo)
            for item in items:
                ahead.append((item, pool.submit(self._prepare, *item, cause, data.get(item[0]))))
                if len(ahead) >= PREFETCH_FILES:
                    break
            while ahead:
                item, future = ahead.popleft()
                nxt = next(items, None)
                if nxt is not None:
                    ahead.append((nxt, pool.submit(self._prepare, *nxt, cause, data.get(nxt[0]))))
                yield item, future.result()

    def _vanished_elsewhere(self, sha: str, on_disk: dict) -> FileRow | None:
        """A live row with this content whose file is gone, outside this sync's scope.

        The supervisor sees a move's two halves in different batches when the target
        folder is brand new (inotify reports the source's disappearance half a second
        later), and ``lsfs index DIR`` covers only one end of a move out of DIR.
        """
        if not self._sha_indexed:
            self.catalog.ensure_schema(["CREATE INDEX IF NOT EXISTS files_sha ON files(sha256)"])
            self._sha_indexed = True
        for (fid,) in self.catalog.query("SELECT id FROM files WHERE sha256=? AND state != 'deleted'", (sha,)):
            row = self.catalog.file_by_id(fid)
            if row.path not in on_disk and not os.path.lexists(self.root / row.path):
                return row
        return None

    def _unchanged(self, row: FileRow, st: os.stat_result) -> bool:
        return (
            (row.size, row.mtime_ns, row.inode) == _signature(st)
            and row.sha256 is not None
            and (row.indexed_sha == row.sha256 or row.state in ("skipped", "failed"))
            # A chmod that makes a file readable again changes none of the signature.
            and not (row.state == "failed" and row.reason in _RETRY_REASONS)
        )

    def _read(self, rel: str, st: os.stat_result) -> tuple[str, int, bytes | None, os.stat_result]:
        # O_NONBLOCK: a file swapped for a FIFO after the stat must not hang the indexer.
        fd = os.open(self.root / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            fst = os.fstat(fh.fileno())
            if not statmod.S_ISREG(fst.st_mode):
                raise Skip("not a regular file")
            sha, size, content = self.objects.put_stream(fh, keep=self.config.max_file_bytes)
        return sha, size, content, fst

    def _prepare(self, rel: str, st: os.stat_result, row: FileRow | None, cause: str, given: bytes | None) -> _Prepared | None:
        if statmod.S_ISLNK(st.st_mode):
            return self._record_only(rel, st, row, cause, "skipped", "symbolic link (not followed)")
        if not statmod.S_ISREG(st.st_mode):
            return self._record_only(rel, st, row, cause, "skipped", "not a regular file")
        if st.st_size > self.config.max_file_bytes:
            return self._record_only(
                rel, st, row, cause, "skipped",
                f"too large ({st.st_size / 2**20:.1f} MB > max_file_mb {self.config.max_file_mb:g})",
            )
        try:
            if given is not None:
                sha, size, content = self.objects.put_bytes(given), len(given), given
            else:
                sha, size, content, st = self._read(rel, st)
        except Skip as exc:
            return self._record_only(rel, st, row, cause, "skipped", str(exc))
        except FileNotFoundError:
            return None  # gone since the walk; the next event or sync records the delete
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return self._record_only(rel, st, row, cause, "skipped", "symbolic link (not followed)")
            reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else f"unreadable: {exc.strerror}"
            return self._record_only(rel, st, row, cause, "failed", reason)
        p = _Prepared(rel, row, st, sha, size, cause)
        p.content_changed = row is None or row.sha256 != sha
        if row is not None and not p.content_changed and row.indexed_sha == sha and row.state == "indexed":
            # Touched, not changed: remember the new stat signature and stop.
            self.catalog.update_file(row.id, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)
            return None
        if content is None:
            p.state, p.reason = "skipped", "too large to extract"
            return p
        try:
            extracted = extract(rel, content)
        except Skip as exc:
            p.state, p.reason = "skipped", str(exc)
            return p
        except ExtractFailed as exc:
            p.state, p.reason = "failed", str(exc)
            return p
        p.kind, p.text = extracted.kind, extracted.text
        p.title = find_title(p.text)
        p.chunks = with_title(p.text, self.chunker.chunk(p.text), p.title)
        return p

    def _record_only(self, rel, st, row, cause, state, reason) -> _Prepared:
        """A file LSFS does not read: keep a row with the reason (and no content version)."""
        p = _Prepared(rel, row, st, row.sha256 if row and row.sha256 else "", st.st_size, cause, state, reason)
        p.content_changed = False
        return p

    def _commit(self, batch: list[_Prepared]) -> SyncStats:
        import numpy as np

        stats = SyncStats()
        # Embeddings: reuse by chunk hash from the file's previous chunks, embed the rest.
        old_chunks = [self.catalog.chunks_of(p.row.id) if p.row is not None else [] for p in batch]
        reuse: dict[tuple[int, int], str] = {}
        fresh: list[tuple[int, int]] = []
        for bi, p in enumerate(batch):
            old_by_hash = {c.hash: c for c in old_chunks[bi]}
            for ci, ch in enumerate(p.chunks):
                old = old_by_hash.get(ch.hash)
                if old is not None:
                    reuse[(bi, ci)] = chunk_id(old.file_id, old.seq)
                else:
                    fresh.append((bi, ci))
        vectors = self._vectors() if (fresh or reuse or any(old_chunks)) else None
        vec_of: dict[tuple[int, int], np.ndarray] = {}
        if reuse:
            stored = vectors.get_embeddings(sorted(set(reuse.values())))
            for slot, cid in reuse.items():
                if cid in stored:
                    vec_of[slot] = stored[cid]
                    stats.reused_chunks += 1
                else:  # a damaged vector index: embed it again
                    fresh.append(slot)
        if fresh:
            texts = [embedding_input(batch[bi].text, batch[bi].chunks[ci], batch[bi].title) for bi, ci in fresh]
            vec_of.update(zip(fresh, self._embedder().embed(texts)))
            stats.embedded_chunks += len(fresh)

        pruned: set[str] = set()
        with self.catalog.transaction():
            ids, vecs, fids, stale = [], [], [], []
            for bi, p in enumerate(batch):
                fid = self._ensure_row(p)
                for ci in range(len(p.chunks)):
                    ids.append(chunk_id(fid, ci))
                    vecs.append(vec_of[(bi, ci)])
                    fids.append(fid)
                stale += [chunk_id(fid, c.seq) for c in old_chunks[bi] if c.seq >= len(p.chunks)]
                pruned |= self._write_catalog(p, fid, stats)
            # Vectors before the commit: if we die in between, the catalog still says the
            # file needs indexing, and upserting the same ids again is harmless.
            if stale:
                vectors.delete(stale)
            if ids:
                vectors.upsert(ids, np.stack(vecs), fids)
        # Objects only after the commit (see lsfs.retention).
        if pruned:
            drop_unreferenced(self.catalog, self.objects, pruned)
        return stats

    def _ensure_row(self, p: _Prepared) -> int:
        if p.row is not None:
            return p.row.id
        p.is_new = True
        revived = self.catalog.file_by_path(p.rel, include_deleted=True)
        if revived is not None and revived.state == "deleted":
            # Same path again: continue its history instead of starting a new lineage.
            p.row = revived
            return revived.id
        fid = self.catalog.insert_file(p.rel, state="pending")
        p.row = self.catalog.file_by_id(fid)
        return fid

    def _write_catalog(self, p: _Prepared, fid: int, stats: SyncStats) -> set[str]:
        """Record the file's new state; return content hashes that retention pruned."""
        cat = self.catalog
        was_new = p.is_new
        version = None
        pruned: set[str] = set()
        if p.content_changed and p.sha:
            latest = cat.latest_version(fid)
            if latest is None or latest.sha256 != p.sha:
                version = cat.add_version(fid, p.size, p.sha, p.cause)
                pruned = prune_versions(cat, fid, self.config.max_versions, self.config.max_age_days)
            # The previous text is still in the catalog here (replaced just below).
            cat.log_change(fid, p.rel, p.cause, version, _change_note(p, was_new, cat.doc_text(fid)))
        if p.state == "indexed":
            cat.replace_text(fid, p.text, [(c.start, c.end, c.hash) for c in p.chunks])
        else:
            cat.replace_text(fid, None, [])
        cat.update_file(
            fid, path=p.rel, state=p.state, reason=p.reason, size=p.st.st_size, mtime_ns=p.st.st_mtime_ns,
            inode=p.st.st_ino, sha256=p.sha or None, indexed_sha=p.sha or None, kind=p.kind,
            n_chunks=len(p.chunks),
        )
        if p.state == "skipped":
            stats.skipped += 1
        elif p.state == "failed":
            stats.failed += 1
        elif was_new:
            stats.new += 1
        else:
            stats.changed += 1
        if p.content_changed:
            stats.paths.append(p.rel)
        return pruned

    def _move(self, row: FileRow, new_rel: str, st: os.stat_result) -> None:
        """The same content reappeared elsewhere: carry the lineage, embed nothing."""
        with self.catalog.transaction():
            self.catalog.update_file(row.id, path=new_rel, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)
            self.catalog.log_change(row.id, new_rel, "move", None, f"moved from {row.path}")

    def move(self, old_rel: str, new_rel: str) -> None:
        """LSFS itself moved a file (group, rename): update the catalog only."""
        row = self.catalog.file_by_path(old_rel)
        if row is None:
            self.sync_paths([new_rel])
            return
        self._move(row, new_rel, os.lstat(self.root / new_rel))

    def move_tree(self, old_rel: str, new_rel: str) -> int:
        """Something renamed a file or a folder on disk: carry every catalog row at or
        below ``old_rel`` to ``new_rel`` in one transaction, embedding nothing.

        Stat signatures are kept, so a following sync still notices content that changed
        after the rename. Live rows already at the destination are stale (a rename cannot
        land on a non-empty folder) and are forgotten first. Returns the rows moved.
        """
        rows = self.catalog.live_files(old_rel)
        if not rows:
            return 0
        stale = [r for r in self.catalog.live_files(new_rel) if r.id not in {x.id for x in rows}]
        for row in stale:
            self._forget(row, "external")
        with self.catalog.transaction():
            for row in rows:
                path = new_rel + row.path[len(old_rel):]
                self.catalog.update_file(row.id, path=path)
                self.catalog.log_change(row.id, path, "move", None, f"moved from {row.path}")
        return len(rows)

    def repair_vectors(self) -> tuple[int, int]:
        """Make the vector index match the catalog after a crash.

        Vectors are written just before the catalog commits, so a process killed in
        between leaves vectors for rows that never existed (deleted here), and one killed
        while forgetting a file leaves rows whose vectors are gone (marked for
        re-indexing, which the next sync does). Returns (vectors removed, files marked).
        """
        expected: dict[str, int] = {}
        for fid, seq in self.catalog.query(
            "SELECT c.file_id, c.seq FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.state = 'indexed'"
        ):
            expected[chunk_id(fid, seq)] = fid
        have = set(self._vectors().all_ids())
        extra = [cid for cid in have if cid not in expected]
        if extra:
            self._vectors().delete(extra)
        missing = {fid for cid, fid in expected.items() if cid not in have}
        with self.catalog.transaction():
            for fid in missing:
                self.catalog.update_file(fid, indexed_sha=None)
        return len(extra), len(missing)

    def _forget(self, row: FileRow, cause: str) -> None:
        """A file left the disk: drop it from both indexes, keep its history."""
        if row.n_chunks:
            self._vectors().delete([chunk_id(row.id, i) for i in range(row.n_chunks)])
        with self.catalog.transaction():
            self.catalog.replace_text(row.id, None, [])
            # A lock belongs to the file that was there; a new file at this path starts unlocked.
            self.catalog.update_file(row.id, state="deleted", n_chunks=0, indexed_sha=None, locked=0, lock_mode=None)
            self.catalog.log_change(
                row.id, row.path, "delete", None,
                "deleted" if cause not in ("external", "initial") else "deleted outside LSFS",
            )

    def forget(self, rel: str, cause: str = "delete") -> None:
        row = self.catalog.file_by_path(rel)
        if row is not None:
            self._forget(row, cause)


def _change_note(p: _Prepared, was_new: bool, old_text: str | None) -> str:
    """The change log's summary: what changed in the text (see lsfs.diffsummary)."""
    if p.state != "indexed":
        return f"{'added' if was_new else 'changed'} ({p.state}: {p.reason})"
    if was_new and old_text is None and p.row is not None and p.row.state == "deleted":
        # A deleted path written again: its old text left the index with the delete.
        return "restored: " + summarize_texts(None, p.text, p.rel).headline().removeprefix("new: ")
    return summarize_texts(None if was_new else old_text, p.text, p.rel).headline()
