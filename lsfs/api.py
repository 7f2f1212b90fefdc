"""The Python API: ``LSFS.open(root)`` / ``LSFS.init(root)`` and the paper's calls.

Each method is a thin shell over the module that does the work; the CLI, the owner
socket, the mount and the MCP server all call these methods and nothing below them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from lsfs import composite, syscalls
from lsfs.apis import change_summary as change_api
from lsfs.apis import history as history_api
from lsfs.apis import rollback as rollback_api
from lsfs.errors import UserError
from lsfs.index import Progress, SyncStats
from lsfs.names import resolve_name
from lsfs.paths import confine, confine_dir, find_root
from lsfs.recovery import intent
from lsfs.retrieve import Hit
from lsfs.root import Root

SEARCH_MODES = ("hybrid", "semantic", "keyword")

__all__ = ["LSFS", "Hit"]


class LSFS:
    """An LSFS root opened by this process. Use as a context manager, or call ``close()``."""

    # Methods another process may call through the owner socket (see lsfs.owner).
    RPC_METHODS = {
        "index", "status", "search", "semantic_retrieve", "keywords_retrieve",
        "create_or_get_file", "add_", "overwrite", "del_", "delete_plan", "read", "resolve",
        "history", "diff", "rollback_plan", "rollback", "change_summary", "changes",
        "link", "links", "revoke",
        "create", "lock_file", "unlock_file", "group_semantic", "group_keywords", "ungroup", "groups",
        "integrated_retrieve", "file_join",
        "list_xattrs", "get_xattr", "set_xattr", "remove_xattr",
        "retrieve_summary", "summarize", "translate",
        "write_path", "remove_path", "move_path",
        "verify",
        "export_archive", "import_archive", "generate_plan", "generate_tree", "fill_generated", "overlay",
    }

    def __init__(self, root: Root):
        self._root = root

    # -- opening and closing ------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike | None = None, *, readonly: bool = False) -> "LSFS":
        """Open an existing root (default: the nearest ``.lsfs/`` above the current folder).

        A writable open holds the root's lock until ``close()``; a second process waits
        ``lock_timeout`` seconds and then fails with exit code 3. ``readonly`` opens only
        the catalog, needs no lock, and can run beside a writer.
        """
        path = Path(root).expanduser() if root is not None else find_root()
        if root is not None and not path.is_dir():
            raise UserError(f"root {path} does not exist")
        return cls(Root(path, readonly=readonly))

    @classmethod
    def init(cls, root: str | os.PathLike, *, progress: Progress | None = None) -> "LSFS":
        """Create ``root/.lsfs`` (if missing) and index everything under ``root``."""
        path = Path(root).expanduser()
        if not path.exists():
            path.mkdir(parents=True)
        fs = cls(Root.create(path))
        try:
            with intent(fs._root.catalog, "index", [""], "initial"):
                fs._root.indexer.sync(cause="initial", progress=progress)
        except BaseException:
            fs.close()
            raise
        return fs

    def close(self) -> None:
        """Release the root (its lock, database connections)."""
        self._root.close()

    def __enter__(self) -> "LSFS":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def root(self) -> Path:
        return self._root.path

    # -- indexing -----------------------------------------------------------------------
    def index(
        self, paths: Sequence[str] | None = None, *, rebuild: bool = False, progress: Progress | None = None
    ) -> SyncStats:
        """Re-index what changed (only what changed) under ``paths`` or the whole root.

        ``rebuild`` drops the keyword and vector indexes and rebuilds them from disk; it is
        also how a root moves to another embedding model (anything else refuses, exit 3).
        """
        rels = []
        for p in paths or []:
            rel = confine(self.root, p, allow_root=True)
            if rel and not os.path.lexists(self.root / rel) and self._root.catalog.file_by_path(rel) is None:
                if not self._root.catalog.live_files(rel):
                    raise UserError(f"{p} does not exist under {self.root}")
            rels.append(rel)
        if not rebuild:
            # Even a no-change sync must not report success under another model's settings.
            self._root.check_model()
        # Killed mid-way, the next open finishes the sync (lsfs.recovery).
        with intent(self._root.catalog, "index", rels or [""]):
            if rebuild:
                self._root.clear_indexes()
            if not rels:
                return self._root.indexer.sync(progress=progress)
            stats = SyncStats()
            for rel in rels:
                if rel:
                    # sync_paths, not sync(under=rel): the walk of a *file* finds nothing,
                    # and sync would then record the file as deleted.
                    stats.add(self._root.indexer.sync_paths([rel], progress=progress))
                else:
                    stats.add(self._root.indexer.sync(progress=progress))
            return stats

    def status(self, files: bool = False) -> dict:
        """Counts per DESIGN.md (``status --json``); with ``files``, every file's state."""
        cat = self._root.catalog
        c = cat.counts()
        out = {
            "root": str(self.root),
            "files": {"indexed": c["indexed"], "skipped": c["skipped"], "failed": c["failed"]},
            "chunks": c["chunks"],
            "versions": c["versions"],
            "deleted": c["deleted"],
            "stale": cat.query(
                "SELECT count(*) FROM files WHERE state='indexed' AND indexed_sha IS NOT sha256"
            )[0][0],
        }
        if files:
            out["file_states"] = [
                {"path": f.path, "state": f.state, "reason": f.reason, "chunks": f.n_chunks,
                 "size": f.size, "locked": bool(f.locked)}
                for f in cat.live_files()
            ]
        return out

    # -- retrieval ----------------------------------------------------------------------
    def search(self, query: str, k: int = 10, mode: str = "hybrid", dir: str | None = None) -> list[Hit]:
        """The ``k`` best files for ``query``: ``hybrid`` (default), ``semantic`` or ``keyword`` (BM25)."""
        if mode not in SEARCH_MODES:
            raise UserError(f"mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
        rel_dir = self._dir(dir)
        r = self._root.retriever
        if mode == "semantic":
            return r.semantic(query, k, rel_dir)
        if mode == "hybrid":
            return r.hybrid(query, k, rel_dir)
        return r.ranked_keyword(query, k, rel_dir)

    def semantic_retrieve(self, query: str, k: int = 5, dir: str | None = None) -> list[Hit]:
        """The ``k`` files most similar in meaning to ``query`` (one row per file)."""
        return self._root.retriever.semantic(query, k, self._dir(dir))

    def keywords_retrieve(
        self, keywords: Sequence[str] | str, mode: str = "all", dir: str | None = None, case_sensitive: bool = False
    ) -> list[Hit]:
        """Files whose text contains all (``mode="all"``) or any of the keywords or phrases.

        The file set equals what ``grep -rliF`` (``-rlF`` when case-sensitive) finds over
        the same extracted text.
        """
        if isinstance(keywords, str):
            keywords = [keywords]
        return self._root.retriever.keyword(list(keywords), mode, self._dir(dir), case_sensitive)

    def _dir(self, dir: str | None) -> str | None:
        rel = confine_dir(self.root, dir)
        if rel and not (self.root / rel).is_dir():
            raise UserError(f"no folder {dir!r} in {self.root}")
        return rel

    # -- atomic syscalls ----------------------------------------------------------------
    def resolve(self, name: str, include_deleted: bool = False) -> str:
        """The relative path a user's NAME refers to (exact path, then unique name or stem)."""
        return resolve_name(self.root, self._root.catalog, name, include_deleted=include_deleted)

    def create_or_get_file(self, name: str, content: str | bytes | None = None) -> syscalls.FileInfo:
        """Create the file (and its folders) with ``content``, or return the existing one."""
        return syscalls.create_or_get_file(self._root, name, content)

    def add_(self, name: str, content: str | bytes) -> syscalls.WriteResult:
        """Append ``content`` to the file; the previous content stays as a version."""
        return syscalls.add_(self._root, name, content)

    def overwrite(self, name: str, content: str | bytes) -> syscalls.WriteResult:
        """Replace the file's content; the previous content stays as a version."""
        return syscalls.overwrite(self._root, name, content)

    def del_(
        self, name: str | None = None, *, dir: str | None = None, key_text: str | None = None, confirm: bool = False
    ) -> list[str]:
        """Delete a file, or (with ``confirm=True``) every file under ``dir`` containing ``key_text``."""
        return syscalls.del_(self._root, name, dir=dir, key_text=key_text, confirm=confirm)

    def delete_plan(self, dir: str | None, key_text: str) -> list[Hit]:
        """What ``del_(dir=…, key_text=…)`` would delete, without deleting."""
        return syscalls.delete_plan(self._root, dir, key_text)

    def read(self, name: str, version: int | None = None) -> tuple[str, bytes]:
        """(path, bytes) of the file, or of its version ``version`` (1 = oldest)."""
        return syscalls.read_file(self._root, name, version)

    # -- versions (issue 3) -------------------------------------------------------------
    def history(self, name: str) -> history_api.History:
        """The file's versions, oldest first (n = 1 … N, N = current content); deleted
        files keep theirs. ``.to_dict()`` is DESIGN.md's ``history --json``."""
        return history_api.history(self._root, name)

    def diff(self, name: str, from_n: int | None = None, to_n: int | None = None) -> history_api.Diff:
        """Unified diff between two versions; default: the previous one against the current."""
        return history_api.diff(self._root, name, from_n, to_n)

    def rollback_plan(self, name: str, versions: int | None = None, date=None) -> rollback_api.RollbackPlan:
        """What ``rollback`` would restore (target version, diff stat), changing nothing."""
        return rollback_api.rollback_plan(self._root, name, versions, date)

    def rollback(
        self, name: str, versions: int | None = None, date=None, *,
        confirm: bool = True, expect_target: int | None = None,
    ) -> rollback_api.RollbackResult:
        """Restore version N-``versions``, or the newest version on or before ``date``
        (YYYY-MM-DD, end of that day, local time), as a new version with cause "rollback".

        Disk, keyword index and vectors change in one call; ``versions=1`` undoes it; a
        deleted file comes back. ``confirm=False`` refuses with the plan instead (exit 3).
        """
        return rollback_api.rollback(
            self._root, name, versions, date, confirm=confirm, expect_target=expect_target
        )

    def change_summary(self, name: str, content: str | bytes) -> change_api.ChangeReport:
        """Overwrite the file with ``content`` and report what changed (lines, sections,
        significant sentences; an LLM's summary when one is configured)."""
        return change_api.change_summary(self._root, name, content)

    def changes(self, since=None, limit: int | None = None) -> list[history_api.Change]:
        """Recorded changes, newest first, each with time, path, cause and summary;
        ``since``: a duration ("1d", "P1D"), a date, or None for all."""
        return history_api.changes(self._root, since, limit)

    # -- composite syscalls (issue 5) ---------------------------------------------------
    # Calls that would move or replace existing files return their plan (``done=False``)
    # unless given ``confirm=True``; calls that only add act at once.
    def create(
        self, source: str | os.PathLike, dir: str | None = None, *, progress: Progress | None = None
    ) -> composite.ImportResult:
        """Import (copy) the folder ``source`` from outside the root into ``dir`` and index it.

        ``dir`` defaults to a folder named like the source. Existing files are never
        overwritten; the source's ignore files are honoured. See ``lsfs.composite.create``.
        """
        return composite.create(self._root, source, dir, progress)

    def lock_file(self, name: str) -> composite.LockResult:
        """Make the file read-only on disk and refuse every LSFS write to it until unlocked."""
        return composite.lock_file(self._root, name)

    def unlock_file(self, name: str) -> composite.LockResult:
        """Lift a lock, restoring the file's permission bits exactly as they were."""
        return composite.unlock_file(self._root, name)

    def group_semantic(
        self, query: str, into: str, dir: str | None = None, k: int | None = None, threshold: float | None = None,
        *, confirm: bool = False, expect: Sequence[str] | None = None,
    ):
        """Move the files closest in meaning to ``query`` into the folder ``into``.

        Returns the plan (``GroupPlan``; nothing moved) unless ``confirm``. Without ``k``
        or ``threshold``: files scoring at least 60% of the best match (and 0.2), at most 50.
        """
        return composite.group_semantic(self._root, query, into, dir, k, threshold, confirm, expect)

    def group_keywords(
        self, keywords: Sequence[str] | str, into: str, dir: str | None = None, mode: str = "all",
        *, confirm: bool = False, expect: Sequence[str] | None = None,
    ):
        """Move the files containing all (or any) of ``keywords`` into ``into``; plan unless ``confirm``."""
        return composite.group_keywords(self._root, keywords, into, dir, mode, confirm, expect)

    def ungroup(self, group_id: int | None = None, *, confirm: bool = False):
        """Move a group's files back (default: the latest group); plan unless ``confirm``."""
        return composite.ungroup(self._root, group_id, confirm)

    def groups(self) -> list[dict]:
        """Every recorded group, newest first."""
        return composite.groups(self._root)

    def integrated_retrieve(
        self, query: str, keywords: Sequence[str] | str, k: int = 10, dir: str | None = None, mode: str = "all"
    ) -> list[Hit]:
        """Files containing the keywords (exactly), ranked by similarity in meaning to ``query``."""
        return composite.integrated_retrieve(self._root, query, keywords, k, self._dir(dir), mode)

    def file_join(self, names: Sequence[str], into: str | None = None, *, confirm: bool = False) -> composite.JoinResult:
        """Concatenate 2+ files into ``into``, or append them to the first when ``into`` is None.

        One blank line separates the parts; PDF/DOCX parts give their extracted text.
        Overwriting an existing ``into`` returns the plan (``done=False``) unless ``confirm``.
        """
        return composite.file_join(self._root, list(names), into, confirm)

    # -- language APIs (issue 6) --------------------------------------------------------
    def retrieve_summary(
        self, query: str | None = None, keywords: Sequence[str] | str | None = None,
        k: int | None = None, dir: str | None = None,
    ) -> list:
        """Retrieve (by meaning with ``query``, exact with ``keywords``, integrated with both)
        the ``k`` (default 3) best files, each with a short summary (``SummarizedHit``)."""
        from lsfs.apis import summarize

        return summarize.retrieve_summary(self._root, query, keywords, k, dir)

    def summarize(self, name: str, offline: bool = False):
        """A few sentences saying what the file is about (``Summary``): the LLM's when one
        is configured, else the sentences closest to the document's centroid, in order."""
        from lsfs.apis import summarize

        return summarize.summarize(self._root, name, offline=offline)

    def translate(self, name: str, language: str, confirm: bool = False):
        """Translate the file with the configured LLM into a new file beside it
        (``report.md`` -> ``report.fr.md``), indexed; needs an LLM (exit 4 without one).
        An existing translation is replaced only with ``confirm`` (else ``done=False``)."""
        from lsfs.apis import summarize

        return summarize.translate(self._root, name, language, confirm=confirm)

    # -- links (issue 7) ----------------------------------------------------------------
    def link(self, name: str, expires: str | None = None, live: bool = False):
        """A shareable URL for the file ``name`` (served by ``lsfs serve``); returns a ``Link``.

        By default the link serves the file as it is now, from the version store, so later
        edits do not leak; ``live=True`` serves the current content and follows moves.
        ``expires`` is a duration ("48h", "7d", "3mo", "P3M") or ``None``/"never" for none.
        """
        from lsfs.apis import link

        return link.create_link(self._root, name, expires, live)

    def links(self) -> list:
        """Every link (``Link`` records, oldest first), revoked and expired ones included."""
        from lsfs.apis import link

        return link.list_links(self._root)

    def revoke(self, id: str):
        """Revoke the link ``id`` (or its URL) at once; returns its ``Link`` record."""
        from lsfs.apis import link

        return link.revoke_link(self._root, id)[0]

    # -- extended attributes (issue 8) --------------------------------------------------
    def list_xattrs(self, name: str) -> dict[str, bytes]:
        """The user extended attributes recorded for ``name`` (they survive moves and rollbacks)."""
        from lsfs import xattrs

        return xattrs.list_xattrs(self._root, self.resolve(name))

    def get_xattr(self, name: str, attr: str) -> bytes:
        """One user attribute of ``name``; ``NotFound`` when it is not set."""
        from lsfs import xattrs

        return xattrs.get_xattr(self._root, self.resolve(name), attr)

    def set_xattr(self, name: str, attr: str, value: bytes) -> None:
        """Set a ``user.*`` attribute on ``name``: recorded in the catalog and on the file."""
        from lsfs import xattrs

        xattrs.set_xattr(self._root, self.resolve(name), attr, value)

    def remove_xattr(self, name: str, attr: str) -> None:
        """Remove a user attribute from ``name``; ``NotFound`` when it was not set."""
        from lsfs import xattrs

        xattrs.remove_xattr(self._root, self.resolve(name), attr)

    # -- mount, generators, archive (issue 8) -------------------------------------------
    # Exact-path operations for the mount: a file system must never resolve names by stem.
    def write_path(self, path: str, data: bytes) -> syscalls.WriteResult:
        """Replace or create the file at exactly ``path`` (one new version, indexed)."""
        from lsfs import pathops

        return pathops.write_path(self._root, path, data)

    def remove_path(self, path: str) -> None:
        """Delete the file (or symlink) at exactly ``path``; its history is kept."""
        from lsfs import pathops

        pathops.remove_path(self._root, path)

    def move_path(self, source: str, target: str) -> str:
        """Rename a file or folder; history, xattrs and links follow. Onto an existing
        file: that file's content is replaced as a new version of it."""
        from lsfs import pathops

        return pathops.move_path(self._root, source, target)
    def export_archive(self, archive: str | os.PathLike, versions: bool = False):
        """Write the tree to the JSON file ``archive``: contents (binary-safe), modes, mtimes,
        user xattrs, symlinks, locks, and with ``versions`` every version (time, cause).
        Returns an ``ExportResult``; see ``lsfs.apis.archive`` for the format."""
        from lsfs.apis import archive as archive_api

        return archive_api.export_archive(self._root, archive, versions)

    def import_archive(self, archive: str | os.PathLike, into: str | None = None, *, confirm: bool = False):
        """Recreate an archive from ``export_archive`` in the root (or the folder ``into``)
        through the write path. Replacing existing files with other content needs
        ``confirm=True``; without it the result is the plan (``done=False``, ``conflicts``)."""
        from lsfs.apis import archive as archive_api

        return archive_api.import_archive(self._root, archive, into, confirm)

    def generate_plan(self, prompt: str, into: str | None = None):
        """The tree of files the LLM proposes for ``prompt`` (a ``TreePlan``; nothing created).
        Proposed paths outside the root are in ``refused`` with the reason."""
        from lsfs.apis import generate

        return generate.propose_tree(self._root, prompt, into)

    def generate_tree(self, files: Sequence[dict], content: bool = True):
        """Create the files of a confirmed plan ({"path", "description"} each), with content
        from the LLM, or (``content=False``) empty and marked ``user.lsfs.generator=llm``."""
        from lsfs.apis import generate

        return generate.create_tree(self._root, list(files), content=content, fs=self)

    def fill_generated(self, name: str, generators: Sequence | None = None):
        """Fill the empty file ``name`` from its generator (the mount calls this on first
        read); a ``FillResult``. Failures raise and leave the file and its marker as they were.
        ``generators`` (objects, so in-process callers only) replace the plugin registry."""
        from lsfs.apis import generate

        return generate.fill(self, name, None if generators is None else list(generators))

    def overlay(self, path: str) -> bytes | None:
        """A generated file that exists only in the mount (``.lsfs/README``), or None."""
        from lsfs.apis import generate

        return generate.overlay(self, path)


    # -- agents and scale (issue 9) -----------------------------------------------------

    # -- verify (issue 10) --------------------------------------------------------------
    def verify(self, repair: bool = False):
        """Prove that catalog, version objects (re-hashed), keyword index, vectors and disk
        agree; returns a ``VerifyReport`` (``.ok``, ``.problems`` in plain words).

        ``repair=True`` rebuilds derived state from disk and objects (never touching a
        user file or a version) and returns the check made afterwards, with ``.repaired``.
        """
        from lsfs import verify

        return verify.repair(self._root) if repair else verify.check(self._root)
