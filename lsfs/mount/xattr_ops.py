"""Extended attributes through the mount.

On a file LSFS knows, ``user.*`` attributes live in the catalog (and are mirrored on the
real file by ``lsfs.xattrs``), so they follow moves and survive rollbacks; the computed
``user.lsfs.versions``, ``user.lsfs.status`` and ``user.lsfs.summary`` are listed on every
such file and are read-only. Folders, symlinks and files LSFS does not track (ignored ones)
keep their attributes on disk only. A missing attribute is ENODATA.
"""

from __future__ import annotations

import errno
import os
import re

from mfusepy import FuseOSError

from lsfs.mount.errnos import lsfs_errors
from lsfs.mount.virtual import is_virtual
from lsfs.xattrs import COMPUTED

XATTR_CREATE, XATTR_REPLACE = 1, 2
SUMMARY_CHARS = 300


def summarize(text: str | None, limit: int = SUMMARY_CHARS) -> str:
    """``user.lsfs.summary``: offline, the title and first sentences of the indexed text."""
    if not text:
        return ""
    lines = [ln.strip() for ln in text.splitlines()]
    body = " ".join(ln for ln in lines if ln and not ln.startswith("#"))
    title = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("#")), "")
    out = title + (": " if title and body else "")
    for s in re.split(r"(?<=[.!?])\s+", body):
        if len(out) + len(s) > limit and out.strip(": "):
            break
        out += s + " "
    out = out.strip()
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


class XattrOps:
    """Mixed into the mount's operations (needs ``backend``, ``_real``, ``_rel``,
    ``_handles_for``, ``_commit``, ``_refuse_virtual``)."""

    def _catalogued(self, rel: str):
        """The catalog row of a regular file at ``rel`` (None for folders, links, unknown files)."""
        if is_virtual(rel) or not rel or os.path.islink(self._real(rel)):
            return None
        return self.backend.file_row(rel)

    def _computed(self, row, name: str) -> bytes:
        if name == "user.lsfs.versions":
            return str(len(self.backend.versions_of(row.id))).encode()
        if name == "user.lsfs.status":
            text = row.state + (f" ({row.reason})" if row.reason else "") + (", locked" if row.locked else "")
            return text.encode()
        return summarize(self.backend.doc_text(row.id)).encode()

    @lsfs_errors
    def getxattr(self, path, name, position=0):
        rel = self._rel(path)
        if is_virtual(rel):
            raise FuseOSError(errno.ENODATA)
        row = self._catalogued(rel)
        if row is None:
            try:
                return os.getxattr(self._real(rel), name, follow_symlinks=False)
            except OSError as exc:
                raise FuseOSError(exc.errno if exc.errno != errno.ENOTSUP else errno.ENODATA) from None
        if name in COMPUTED:
            return self._computed(row, name)
        value = self.backend.user_xattrs(row.id).get(name)
        if value is None:
            raise FuseOSError(errno.ENODATA)
        return value

    @lsfs_errors
    def listxattr(self, path):
        rel = self._rel(path)
        if is_virtual(rel):
            return []
        row = self._catalogued(rel)
        if row is None:
            try:
                return [n for n in os.listxattr(self._real(rel), follow_symlinks=False) if n.startswith("user.")]
            except OSError:
                return []
        return list(self.backend.user_xattrs(row.id)) + list(COMPUTED)

    @lsfs_errors
    def setxattr(self, path, name, value, options, position=0):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        if name in COMPUTED:
            raise FuseOSError(errno.EPERM)
        if not name.startswith("user."):
            raise FuseOSError(errno.ENOTSUP)
        for h in self._handles_for(rel):  # a file created but not yet closed: commit it first
            with h.lock:
                self._commit(h)
        row = self._catalogued(rel)
        if row is None:
            os.setxattr(self._real(rel), name, value, options, follow_symlinks=False)
            return 0
        exists = name in self.backend.user_xattrs(row.id)
        if options & XATTR_CREATE and exists:
            raise FuseOSError(errno.EEXIST)
        if options & XATTR_REPLACE and not exists:
            raise FuseOSError(errno.ENODATA)
        self.backend.fs.set_xattr(rel, name, bytes(value))
        return 0

    @lsfs_errors
    def removexattr(self, path, name):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        if name in COMPUTED:
            raise FuseOSError(errno.EPERM)
        row = self._catalogued(rel)
        if row is None:
            try:
                os.removexattr(self._real(rel), name, follow_symlinks=False)
            except OSError as exc:
                raise FuseOSError(exc.errno) from None
            return 0
        if name not in self.backend.user_xattrs(row.id):
            raise FuseOSError(errno.ENODATA)
        self.backend.fs.remove_xattr(rel, name)
        return 0
