"""The atomic syscalls, and the one write path every change LSFS makes goes through.

``write_bytes`` is that path:
  1. refuse a locked file or a target that is not a regular file;
  2. if the disk changed since LSFS last looked, record that content first (nothing lost);
  3. store the new bytes as an object, write them to a temp file beside the target,
     fsync, rename over the target, fsync the folder;
  4. hand the path to the indexer, which records the version and updates the keyword
     index and the vectors in the same call.
A crash before the rename leaves the old file; after it, the next start sees new content
whose object is already stored, and records it. Either way no version is lost.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat as statmod
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from lsfs.errors import Locked, NotFound, Refused, UserError
from lsfs.extract import BINARY_SUFFIXES
from lsfs.ignore import TEMP_PREFIX
from lsfs.names import resolve_name
from lsfs.paths import confine, confine_dir
from lsfs.recovery import intent
from lsfs.retrieve import Hit
from lsfs.root import Root
from lsfs import xattrs
from lsfs.store.objects import fsync_dir

# Formats whose bytes are not text: LSFS never appends or writes text into them.
_STRUCTURED = BINARY_SUFFIXES | {".pdf", ".docx"}


@dataclass
class FileInfo:
    path: str
    state: str
    size: int
    versions: int
    locked: bool
    kind: str | None = None
    reason: str | None = None
    text: str | None = None
    created: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class WriteResult:
    path: str
    version: int | None
    size: int
    cause: str

    def to_dict(self) -> dict:
        return asdict(self)


def _check_writable(root: Root, rel: str) -> None:
    row = root.catalog.file_by_path(rel)
    if row is not None and row.locked:
        raise Locked(f"{rel} is locked; run 'lsfs unlock {rel}' first")
    full = root.path / rel
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return
    if statmod.S_ISDIR(st.st_mode):
        raise UserError(f"{rel} is a folder, not a file")
    if not statmod.S_ISREG(st.st_mode):
        raise UserError(f"{rel} is not a regular file (symlink or special file); LSFS will not write through it")


def capture_outside_change(root: Root, rel: str) -> None:
    """Record disk content LSFS has not seen yet, so a write never buries it."""
    row = root.catalog.file_by_path(rel)
    try:
        st = os.lstat(root.path / rel)
    except FileNotFoundError:
        return
    if row is None or (row.size, row.mtime_ns, row.inode) != (st.st_size, st.st_mtime_ns, st.st_ino):
        root.indexer.sync_paths([rel], cause="external")


def atomic_write(full: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``full`` so that readers see the old file or the new, never half."""
    full.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644 & ~_umask())
        os.replace(tmp, full)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(full.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(root: Root, rel: str, data: bytes, cause: str) -> WriteResult:
    """The write path (see the module docstring). ``rel`` must already be confined."""
    _check_writable(root, rel)
    capture_outside_change(root, rel)
    full = root.path / rel
    mode = statmod.S_IMODE(os.lstat(full).st_mode) if full.exists() else None
    renamed = False
    try:
        # The intent makes the next open finish this if we are killed half-way (lsfs.recovery).
        with intent(root.catalog, "write", [rel], cause):
            try:
                root.objects.put_bytes(data)
                atomic_write(full, data, mode)
            except OSError as exc:
                raise _disk_error(exc, rel) from None
            renamed = True
            root.indexer.sync_paths([rel], cause=cause, data={rel: data})
            xattrs.reapply(root, rel)  # the rename dropped the real file's attributes
    except sqlite3.OperationalError as exc:  # the catalog's disk is full or failing
        if not renamed:
            raise UserError(f"cannot write {rel}: the catalog could not record it ({exc}); is the disk full? nothing was changed") from None
        raise UserError(
            f"wrote {rel}, but the catalog could not record it ({exc}); is the disk full? "
            "its new content is safe in the version store; free some space and run 'lsfs verify --repair'"
        ) from None
    row = root.catalog.file_by_path(rel)
    latest = root.catalog.latest_version(row.id) if row else None
    return WriteResult(rel, latest.n if latest else None, len(data), cause)


def _disk_error(exc: OSError, rel: str) -> Exception:
    """A write the disk refused, said plainly. The rename never happened, so the file
    still holds its previous content."""
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }.get(exc.errno)
    if why is None:
        return exc
    return UserError(f"cannot write {rel}: {why}; nothing was changed (its previous content is intact)")


def remove_file(root: Root, rel: str, cause: str = "delete") -> None:
    """Delete a file from disk; its content stays in the version history."""
    _check_writable(root, rel)
    capture_outside_change(root, rel)
    full = root.path / rel
    if not full.exists():
        raise NotFound(f"{rel} does not exist")
    with intent(root.catalog, "delete", [rel], cause):
        os.unlink(full)
        fsync_dir(full.parent)
        root.indexer.forget(rel, cause)


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else bytes(content)


def _refuse_structured(rel: str, action: str) -> None:
    suffix = PurePosixPath(rel).suffix.lower()
    if suffix in _STRUCTURED:
        raise UserError(
            f"cannot {action} text into {rel}: {suffix} is not a text format; "
            "write to a .txt or .md file (lsfs join turns documents into text)"
        )


def file_info(root: Root, rel: str, with_text: bool = False, created: bool = False) -> FileInfo:
    row = root.catalog.file_by_path(rel)
    if row is None:
        raise NotFound(f"{rel} is not indexed")
    versions = len(root.catalog.versions_of(row.id))
    text = root.catalog.doc_text(row.id) if with_text else None
    return FileInfo(row.path, row.state, row.size or 0, versions, bool(row.locked), row.kind, row.reason, text, created)


# -- the paper's atomic syscalls ------------------------------------------------------------

def create_or_get_file(root: Root, name: str, content: str | bytes | None = None) -> FileInfo:
    """Return the file's metadata and text, creating it (and its folders) if missing."""
    try:
        rel = resolve_name(root.path, root.catalog, name)
        if (root.path / rel).is_file():
            if root.catalog.file_by_path(rel) is None:
                root.indexer.sync_paths([rel])
            return file_info(root, rel, with_text=True)
    except NotFound:
        rel = confine(root.path, name)
    if (root.path / rel).is_dir():
        raise UserError(f"{rel} is a folder, not a file")
    data = _as_bytes(content or b"")
    if data:
        _refuse_structured(rel, "write")
    write_bytes(root, rel, data, "write")
    return file_info(root, rel, with_text=True, created=True)


def add_(root: Root, name: str, content: str | bytes) -> WriteResult:
    """Append ``content``. A newline is put between old and new text when the old text
    does not end with one, so appended text never glues onto the last line."""
    rel = resolve_name(root.path, root.catalog, name)
    _refuse_structured(rel, "append")
    old = (root.path / rel).read_bytes()
    new = _as_bytes(content)
    joint = b"\n" if old and not old.endswith(b"\n") and not new.startswith(b"\n") else b""
    return write_bytes(root, rel, old + joint + new, "append")


def overwrite(root: Root, name: str, content: str | bytes) -> WriteResult:
    """Replace the file's content (creating it if missing); the old content stays a version."""
    try:
        rel = resolve_name(root.path, root.catalog, name)
        cause = "overwrite"
    except NotFound:
        rel = confine(root.path, name)
        cause = "write"
    _refuse_structured(rel, "write")
    return write_bytes(root, rel, _as_bytes(content), cause)


def delete_plan(root: Root, dir: str | None, key_text: str) -> list[Hit]:
    """The files ``del_(dir=…, key_text=…)`` would delete."""
    rel_dir = confine_dir(root.path, dir)
    if rel_dir and not (root.path / rel_dir).is_dir():
        raise NotFound(f"no folder {dir!r} in {root.path}")
    return root.retriever.keyword([key_text], "all", rel_dir)


def del_(
    root: Root, name: str | None = None, *, dir: str | None = None, key_text: str | None = None, confirm: bool = False
) -> list[str]:
    """Delete one named file, or every file under ``dir`` containing ``key_text``.

    The second form is refused (exit 3) unless ``confirm`` is true, and the error lists
    the files. Deleted content stays in the version history.
    """
    if name and key_text:
        raise UserError("give either a file name or --containing TEXT, not both")
    if name:
        rel = resolve_name(root.path, root.catalog, name)
        remove_file(root, rel)
        return [rel]
    if not key_text:
        raise UserError("say which file to delete, or give --containing TEXT (with --in DIR)")
    plan = [h.path for h in delete_plan(root, dir, key_text)]
    if not plan:
        return []
    locked = [p for p in plan if (row := root.catalog.file_by_path(p)) and row.locked]
    if locked:
        raise Locked(f"{len(locked)} of the files are locked ({', '.join(locked[:5])}); unlock them first")
    if not confirm:
        raise Refused(f"would delete {len(plan)} file(s): {', '.join(plan[:10])}{' …' if len(plan) > 10 else ''}; confirm with --yes")
    for rel in plan:
        remove_file(root, rel)
    return plan


def read_file(root: Root, name: str, version: int | None = None) -> tuple[str, bytes]:
    """The bytes of a file now, or of one of its versions (1 = oldest)."""
    rel = resolve_name(root.path, root.catalog, name, include_deleted=version is not None)
    if version is None:
        full = root.path / rel
        if not full.is_file():
            raise NotFound(f"{rel} is not on disk (deleted?); 'lsfs history {rel}' lists its versions")
        return rel, full.read_bytes()
    row = root.catalog.file_by_path(rel, include_deleted=True)
    found = root.catalog.version(row.id, version) if row else None
    if found is None:
        versions = root.catalog.versions_of(row.id) if row else []
        if not versions:
            raise NotFound(f"{rel} has no recorded versions")
        raise UserError(f"{rel} has versions {versions[0].n} to {versions[-1].n}; there is no version {version}")
    return rel, root.objects.read(found.sha256)
