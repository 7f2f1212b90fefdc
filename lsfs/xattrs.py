"""User extended attributes, kept in the catalog and mirrored on the real file.

The catalog is the record: it follows the file's lineage, so attributes survive a move, a
rollback (which replaces the file through a temp file and a rename) and filesystems without
xattr support. The real file carries a copy so that other programs (``getfattr``) see them.

Names are ``user.*``. The ``user.lsfs.*`` names that LSFS computes (versions, status, summary)
are read-only; ``user.lsfs.generator`` is an ordinary settable attribute that marks a file
for a content generator.
"""

from __future__ import annotations

import errno
import logging
import os

from lsfs.errors import NotFound, UsageError
from lsfs.root import Root

log = logging.getLogger("lsfs.xattrs")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS xattrs (
        file_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (file_id, name))""",
]
COMPUTED = ("user.lsfs.versions", "user.lsfs.status", "user.lsfs.summary")
GENERATOR = "user.lsfs.generator"
MAX_VALUE = 64 * 1024  # the Linux limit for one attribute value


def ensure_schema(root: Root) -> None:
    # Once per open catalog: every write calls reapply(), which must stay cheap.
    if not getattr(root.catalog, "_xattrs_schema", False):
        root.catalog.ensure_schema(SCHEMA)
        root.catalog._xattrs_schema = True


def _file_id(root: Root, rel: str) -> int:
    row = root.catalog.file_by_path(rel)
    if row is None:
        raise NotFound(f"{rel} is not a file LSFS knows")
    return row.id


def check_name(name: str) -> None:
    """Refuse names outside ``user.*`` and the computed ``user.lsfs.*`` names."""
    if not name.startswith("user.") or len(name) <= len("user.") or "\0" in name:
        raise UsageError(f"extended attribute {name!r}: only user.* names can be set")
    if name in COMPUTED:
        raise UsageError(f"extended attribute {name} is computed by LSFS and read-only")
    if len(name.encode()) > 255:
        raise UsageError("extended attribute name is longer than 255 bytes")


def list_xattrs(root: Root, rel: str) -> dict[str, bytes]:
    """The user attributes recorded for ``rel``, by name."""
    ensure_schema(root)
    rows = root.catalog.query(
        "SELECT name, value FROM xattrs WHERE file_id=? ORDER BY name", (_file_id(root, rel),)
    )
    return {name: bytes(value) for name, value in rows}


def get_xattr(root: Root, rel: str, name: str) -> bytes:
    """One attribute's value; ``NotFound`` (ENODATA at the mount) when it is not set."""
    value = list_xattrs(root, rel).get(name)
    if value is None:
        raise NotFound(f"{rel} has no attribute {name}")
    return value


def set_xattr(root: Root, rel: str, name: str, value: bytes) -> None:
    """Record ``name`` = ``value`` for ``rel`` and mirror it on the real file."""
    check_name(name)
    if len(value) > MAX_VALUE:
        raise UsageError(f"extended attribute {name} is larger than {MAX_VALUE} bytes")
    ensure_schema(root)
    fid = _file_id(root, rel)
    root.catalog.execute(
        "INSERT OR REPLACE INTO xattrs(file_id, name, value) VALUES(?, ?, ?)",
        (fid, name, bytes(value)),
    )
    _mirror_set(root, rel, name, value)


def remove_xattr(root: Root, rel: str, name: str) -> None:
    """Remove ``name`` from ``rel``; ``NotFound`` when it was not set."""
    check_name(name)
    ensure_schema(root)
    fid = _file_id(root, rel)
    with root.catalog.transaction():
        gone = root.catalog.query("SELECT 1 FROM xattrs WHERE file_id=? AND name=?", (fid, name))
        if not gone:
            raise NotFound(f"{rel} has no attribute {name}")
        root.catalog.execute("DELETE FROM xattrs WHERE file_id=? AND name=?", (fid, name))
    try:
        os.removexattr(root.path / rel, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.ENOENT):
            raise


def reapply(root: Root, rel: str) -> None:
    """Put the recorded attributes back on the real file (after a replace-by-rename)."""
    try:
        attrs = list_xattrs(root, rel)
    except NotFound:
        return
    for name, value in attrs.items():
        _mirror_set(root, rel, name, value)


def _mirror_set(root: Root, rel: str, name: str, value: bytes) -> None:
    try:
        os.setxattr(root.path / rel, name, value, follow_symlinks=False)
    except OSError as exc:
        # The catalog keeps the attribute either way; a filesystem without user xattrs
        # (tmpfs on old kernels, some network mounts) just lacks the mirror.
        if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.ENOENT):
            raise
        log.debug("cannot mirror %s on %s: %s", name, rel, exc)
