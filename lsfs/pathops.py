"""File operations on exact paths, for faces that speak paths rather than names (the mount).

The paper's syscalls (``overwrite``, ``del_``) take a user's NAME and resolve it (exact path,
then a unique stem). A file system must never do that: writing a new file ``cnn`` must not
land in ``notes/cnn.md``. These functions take a path, confine it, and use the same write
path (``syscalls.write_bytes`` / ``remove_file``) so every change is versioned and indexed.
"""

from __future__ import annotations

import os
import stat as statmod

from lsfs import syscalls
from lsfs.errors import Locked, NotFound, UserError
from lsfs.paths import confine
from lsfs.root import Root
from lsfs.store.objects import fsync_dir


def write_path(root: Root, path: str, data: bytes) -> syscalls.WriteResult:
    """Replace (or create) the file at exactly ``path`` with ``data``: one new version."""
    rel = confine(root.path, path)
    parent = (root.path / rel).parent
    if not parent.is_dir():
        raise NotFound(f"no folder {os.path.dirname(rel)!r} for {rel}")
    known = root.catalog.file_by_path(rel) is not None
    return syscalls.write_bytes(root, rel, bytes(data), "overwrite" if known else "write")


def remove_path(root: Root, path: str) -> None:
    """Delete the file at exactly ``path``; its content stays in the version history."""
    rel = confine(root.path, path)
    full = root.path / rel
    if os.path.islink(full) or (os.path.lexists(full) and not full.is_file() and not full.is_dir()):
        os.unlink(full)  # symlinks and special files carry no content to version
        return
    if full.is_dir():
        raise UserError(f"{rel} is a folder, not a file")
    syscalls.remove_file(root, rel)


def _locked_under(root: Root, rel: str) -> list[str]:
    return [r.path for r in root.catalog.live_files(rel) if r.locked and (r.path == rel or r.path.startswith(rel + "/"))]


def move_path(root: Root, source: str, target: str) -> str:
    """Rename a file or a folder inside the root; the catalog (history, xattrs, links)
    follows. Moving a file onto an existing file replaces that file's content as a new
    version of it (its history continues), which is what an editor's save-by-rename means.
    Returns the target path."""
    src = confine(root.path, source)
    dst = confine(root.path, target)
    full_src, full_dst = root.path / src, root.path / dst
    if not os.path.lexists(full_src):
        raise NotFound(f"{src} does not exist")
    if src == dst:
        return dst
    if dst.startswith(src + "/"):
        raise UserError(f"cannot move {src} into itself ({dst})")
    locked = _locked_under(root, src)
    if locked:
        raise Locked(f"{locked[0]} is locked; run 'lsfs unlock {locked[0]}' first")
    st = os.lstat(full_src)
    if statmod.S_ISREG(st.st_mode) and os.path.lexists(full_dst) and full_dst.is_file() and not full_dst.is_symlink():
        syscalls.capture_outside_change(root, src)
        syscalls.write_bytes(root, dst, full_src.read_bytes(), "overwrite")
        syscalls.remove_file(root, src)
        return dst
    if statmod.S_ISDIR(st.st_mode) and os.path.lexists(full_dst):
        if not full_dst.is_dir() or full_dst.is_symlink():
            raise UserError(f"cannot move folder {src} onto {dst}, which is not a folder")
        if any(full_dst.iterdir()):
            raise UserError(f"cannot move {src} onto {dst}: {dst} is not empty")
    elif os.path.lexists(full_dst) and full_dst.is_dir() and not full_dst.is_symlink():
        raise UserError(f"cannot move {src} onto {dst}, which is a folder")
    if statmod.S_ISREG(st.st_mode):
        syscalls.capture_outside_change(root, src)
    if not full_dst.parent.is_dir():
        raise NotFound(f"no folder {os.path.dirname(dst)!r} for {dst}")
    os.rename(full_src, full_dst)
    fsync_dir(full_dst.parent)
    if full_src.parent != full_dst.parent:
        fsync_dir(full_src.parent)
    if statmod.S_ISREG(st.st_mode):
        root.indexer.move(src, dst)
    elif statmod.S_ISDIR(st.st_mode):
        root.indexer.move_tree(src, dst)
    return dst
