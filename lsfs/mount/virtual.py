"""The read-only folders under ``/.lsfs/`` in the mount.

- ``/.lsfs/search/<query>/``: the best matches for the query as ranked symlinks into the
  tree (``01-cnn.md -> ../../../notes/cnn.md``) — a path is a query, as in Gifford's
  Semantic File System (1991). Listing ``/.lsfs/search/`` shows recent queries.
- ``/.lsfs/versions/<path>/``: one read-only file per version of ``<path>`` (``v1`` oldest,
  the highest ``vN`` = current content; mtime = when it was recorded), deleted files
  included — like ZFS's ``.zfs/snapshot``.
- ``/.lsfs/README``: the ``readme`` generator's overlay (``lsfs.apis.generate.overlay``).
The real ``ROOT/.lsfs/`` (catalog, objects) is never visible through the mount.
"""

from __future__ import annotations

import errno
import re
import stat as statmod
import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from mfusepy import FuseOSError

STATE = ".lsfs"
SEARCH_K = 10
SEARCH_TTL_S = 30.0
README_TTL_S = 2.0
_VERSION = re.compile(r"v([1-9][0-9]*)")


@dataclass
class Node:
    kind: str  # "dir", "file" or "link"
    size: int = 0
    mtime: float = 0.0
    target: str = ""  # links
    sha256: str | None = None  # version files


def is_virtual(rel: str) -> bool:
    return rel == STATE or rel.startswith(STATE + "/")


class VirtualTree:
    def __init__(self, backend, generation):
        self.backend = backend
        self.generation = generation
        self.started = time.time()
        self._lock = threading.Lock()
        self._searches: dict[str, tuple[float, dict[str, str]]] = {}
        self._readme: tuple[float, bytes] | None = None

    # -- lookups ----------------------------------------------------------------------------
    def lookup(self, rel: str) -> Node:
        parts = rel.split("/")
        if len(parts) == 1 or (len(parts) == 2 and parts[1] in ("search", "versions")):
            return Node("dir", mtime=self.started)
        if parts[1] == "README" and len(parts) == 2:
            data = self.readme()
            return Node("file", size=len(data), mtime=self._readme[0])
        if parts[1] == "search":
            results = self.search(parts[2], refresh=False)
            if len(parts) == 3:
                return Node("dir", mtime=self._searches[parts[2]][0])
            if len(parts) == 4 and parts[3] in results:
                return Node("link", size=len(results[parts[3]]), target=results[parts[3]], mtime=self.started)
            raise FuseOSError(errno.ENOENT)
        if parts[1] == "versions":
            return self._version_node("/".join(parts[2:]))
        raise FuseOSError(errno.ENOENT)

    def listdir(self, rel: str) -> list[str]:
        node = self.lookup(rel)
        if node.kind != "dir":
            raise FuseOSError(errno.ENOTDIR)
        parts = rel.split("/")
        if len(parts) == 1:
            return ["README", "search", "versions"]
        if parts[1] == "search":
            if len(parts) == 2:
                with self._lock:
                    return sorted(self._searches)
            return list(self.search(parts[2], refresh=True))
        rest = "/".join(parts[2:])
        row = self.backend.file_row(rest, include_deleted=True) if rest else None
        if row is not None:
            return [f"v{v.n}" for v in self.backend.versions_of(row.id)]
        return self._children(rest)

    def read(self, rel: str) -> bytes:
        node = self.lookup(rel)
        if node.kind != "file":
            raise FuseOSError(errno.EISDIR if node.kind == "dir" else errno.EINVAL)
        if rel == f"{STATE}/README":
            return self.readme()
        return self.backend.ro.objects.read(node.sha256)

    def attrs(self, node: Node) -> dict:
        mode = {"dir": statmod.S_IFDIR | 0o555, "file": statmod.S_IFREG | 0o444, "link": statmod.S_IFLNK | 0o777}[node.kind]
        ns = int(node.mtime * 1e9)
        return {"st_mode": mode, "st_nlink": 2 if node.kind == "dir" else 1, "st_size": node.size,
                "st_mtime": ns, "st_ctime": ns, "st_atime": ns}

    # -- search -----------------------------------------------------------------------------
    def search(self, query: str, refresh: bool) -> dict[str, str]:
        """Ranked entry name -> symlink target for ``query`` (cached for a while)."""
        with self._lock:
            cached = self._searches.get(query)
        if cached and (time.time() - cached[0] < (2.0 if refresh else SEARCH_TTL_S)):
            return cached[1]
        if not query.strip():
            raise FuseOSError(errno.ENOENT)
        hits = self.backend.fs.search(query, k=SEARCH_K)
        up = "../" * 3  # from .lsfs/search/<query>/ back to the top of the mount
        entries = {f"{i:02d}-{PurePosixPath(h.path).name}": up + h.path for i, h in enumerate(hits, 1)}
        with self._lock:
            self._searches[query] = (time.time(), entries)
            while len(self._searches) > 64:  # keep the listing of recent queries short
                oldest = min(self._searches, key=lambda q: self._searches[q][0])
                del self._searches[oldest]
        return entries

    # -- versions ---------------------------------------------------------------------------
    def _children(self, prefix: str) -> list[str]:
        if prefix:
            rows = self.backend.query(
                "SELECT DISTINCT path FROM files WHERE substr(path, 1, ?) = ?", (len(prefix) + 1, prefix + "/")
            )
            cut = len(prefix) + 1
        else:
            rows = self.backend.query("SELECT DISTINCT path FROM files")
            cut = 0
        return sorted({p[cut:].split("/")[0] for (p,) in rows})

    def _version_node(self, rest: str) -> Node:
        if not rest:
            return Node("dir", mtime=self.started)
        row = self.backend.file_row(rest, include_deleted=True)
        if row is not None:
            versions = self.backend.versions_of(row.id)
            return Node("dir", mtime=versions[-1].time if versions else self.started)
        parent, _, leaf = rest.rpartition("/")
        m = _VERSION.fullmatch(leaf)
        if parent and m:
            row = self.backend.file_row(parent, include_deleted=True)
            if row is not None:
                for v in self.backend.versions_of(row.id):
                    if v.n == int(m.group(1)):
                        return Node("file", size=v.size, mtime=v.time, sha256=v.sha256)
                raise FuseOSError(errno.ENOENT)
        if self._children(rest):
            return Node("dir", mtime=self.started)
        raise FuseOSError(errno.ENOENT)

    # -- README -----------------------------------------------------------------------------
    def readme(self) -> bytes:
        with self._lock:
            if self._readme and time.time() - self._readme[0] < README_TTL_S:
                return self._readme[1]
        try:
            data = self.generation.readme()
        except Exception as exc:  # the overlay must never break listing .lsfs/
            data = f"README generator failed: {type(exc).__name__}: {exc}\n".encode()
        with self._lock:
            self._readme = (time.time(), data)
        return data
