"""How the mount reaches its root: writes through the owner, reads from the catalog.

The mount is a long-lived face (DESIGN.md, process model). When ``lsfs watch`` already owns
the root, every write goes to it over the owner socket; otherwise the mount hosts the
supervisor in-process, so the root stays indexed while it is mounted and other LSFS
commands reach it through the socket. Either way writes go through ``LSFS`` methods (the
write path); reads that only need the catalog use a read-only connection (SQLite WAL lets
it read beside the writer) and never wait for a sync.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from lsfs import owner
from lsfs.root import Root

log = logging.getLogger("lsfs.mount")


class _SupervisorFS:
    """The in-process supervisor's ``call`` dressed as the LSFS methods it serves."""

    def __init__(self, sup):
        self._sup = sup

    @property
    def root(self) -> Path:
        return self._sup.path

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any):
            return self._sup.call(name, args, kwargs)

        call.__name__ = name
        return call


class Backend:
    """``fs``: LSFS methods (owner socket or in-process supervisor); ``ro``: a read-only Root."""

    def __init__(self, root: Path):
        self.path = Path(root).resolve()
        self._sup = None
        remote = owner.connect(self.path)
        if remote is not None:
            log.info("mount of %s uses the running supervisor (pid %s)", self.path, remote.pid)
            self.fs = remote
        else:
            from supervisor.daemon import Supervisor

            self._sup = Supervisor(self.path)
            self._sup.start()
            self.fs = _SupervisorFS(self._sup)
        self.ro = Root(self.path, readonly=True)
        self._ro_lock = threading.RLock()

    @property
    def hosts_supervisor(self) -> bool:
        return self._sup is not None

    def query(self, sql: str, params: tuple = ()) -> list:
        """A read-only catalog query (the connection is shared by FUSE's threads)."""
        with self._ro_lock:
            return self.ro.catalog.query(sql, params)

    def file_row(self, rel: str, include_deleted: bool = False):
        with self._ro_lock:
            return self.ro.catalog.file_by_path(rel, include_deleted=include_deleted)

    def versions_of(self, fid: int) -> list:
        with self._ro_lock:
            return self.ro.catalog.versions_of(fid)

    def doc_text(self, fid: int) -> str | None:
        with self._ro_lock:
            return self.ro.catalog.doc_text(fid)

    def user_xattrs(self, fid: int) -> dict[str, bytes]:
        try:
            rows = self.query("SELECT name, value FROM xattrs WHERE file_id=? ORDER BY name", (fid,))
        except Exception:  # no xattrs table yet: nothing was ever set
            return {}
        return {name: bytes(value) for name, value in rows}

    def close(self) -> None:
        try:
            self.ro.close()
        finally:
            if self._sup is not None:
                self._sup.stop()
                self._sup = None
            elif hasattr(self.fs, "close"):
                self.fs.close()
