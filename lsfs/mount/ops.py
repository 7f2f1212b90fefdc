"""The FUSE operations: ROOT's tree, with every write through the LSFS write path.

Reads pass through to the real file by file descriptor (the kernel's page cache keeps what
was read). Writes are buffered per open file handle and committed on flush/release, so one
``close()`` makes one version, whatever number of ``write()`` calls came before; writes at
an offset change only the bytes they cover (POSIX), and truncate works with or without an
open handle. Folders, symlinks and permissions change on disk directly: they carry no
content to version. See ``virtual`` for ``/.lsfs/`` and ``generation`` for generated files.
"""

from __future__ import annotations

import errno
import logging
import os
import stat as statmod
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mfusepy import FuseOSError, Operations

from lsfs.errors import LSFSError
from lsfs.mount.errnos import errno_of, lsfs_errors
from lsfs.mount.generation import Generation
from lsfs.mount.virtual import STATE, VirtualTree, is_virtual
from lsfs.mount.xattr_ops import XattrOps
from lsfs.paths import confine

log = logging.getLogger("lsfs.mount")

@dataclass
class Handle:
    """One open file. ``buffer`` holds the whole content once something writes."""

    rel: str
    fd: int | None = None
    writable: bool = False
    buffer: bytearray | None = None
    dirty: bool = False
    new: bool = False  # created through the mount, not on disk until committed
    mode: int | None = None
    data: bytes | None = None  # a virtual file's content
    unlinked: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, root: Path) -> bytearray:
        if self.buffer is None:
            if self.fd is not None:
                size = os.fstat(self.fd).st_size
                chunks, off = [], 0
                while off < size:
                    chunk = os.pread(self.fd, min(1 << 24, size - off), off)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    off += len(chunk)
                self.buffer = bytearray(b"".join(chunks))
            else:
                self.buffer = bytearray()
        return self.buffer


def _dirent_mode(entry: os.DirEntry) -> int:
    if entry.is_dir(follow_symlinks=False):
        return statmod.S_IFDIR
    if entry.is_symlink():
        return statmod.S_IFLNK
    if entry.is_file(follow_symlinks=False):
        return statmod.S_IFREG
    return 0  # a special file: unknown, the kernel asks getattr


class LSFSOperations(XattrOps, Operations):
    use_ns = True

    def __init__(self, backend, generators, mountpoint: str):
        self.backend = backend
        self.root = backend.path
        self.mountpoint = str(Path(mountpoint).resolve())
        self.generation = Generation(backend, generators)
        self.virtual = VirtualTree(backend, self.generation)
        self._handles: dict[int, Handle] = {}
        self._next = 1
        self._table = threading.RLock()

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _rel(path: str) -> str:
        return path.lstrip("/")

    def _real(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def _refuse_virtual(self, rel: str) -> None:
        if is_virtual(rel):
            raise FuseOSError(errno.EROFS)

    def _confine(self, rel: str) -> str:
        try:
            return confine(self.root, rel)
        except LSFSError as exc:
            raise FuseOSError(errno_of(exc)) from None

    def _add_handle(self, h: Handle) -> int:
        with self._table:
            fh = self._next
            self._next += 1
            self._handles[fh] = h
            return fh

    def _handle(self, fi) -> Handle:
        try:
            return self._handles[fi.fh]
        except (KeyError, AttributeError):
            raise FuseOSError(errno.EBADF) from None

    def _handles_for(self, rel: str) -> list[Handle]:
        with self._table:
            return [h for h in self._handles.values() if h.rel == rel and not h.unlinked]

    def _pending(self, rel: str) -> Handle | None:
        return next((h for h in self._handles_for(rel) if h.new), None)

    def _locked(self, rel: str) -> bool:
        row = self.backend.file_row(rel)
        return bool(row and row.locked)

    @staticmethod
    def _stat_dict(st: os.stat_result) -> dict:
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks", "st_blksize")
        d = {k: getattr(st, k) for k in keys}
        d.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return d

    def _commit(self, h: Handle) -> None:
        """Write the handle's buffer through the write path: one version."""
        if not h.dirty or h.unlinked:
            return
        self.backend.fs.write_path(h.rel, bytes(h.buffer or b""))
        if h.new and h.mode is not None:
            os.chmod(self._real(h.rel), statmod.S_IMODE(h.mode))
        h.new = False
        h.dirty = False
        if h.fd is None:
            h.fd = os.open(self._real(h.rel), os.O_RDONLY | os.O_NOFOLLOW)

    # -- attributes and listing -------------------------------------------------------------
    def getattr(self, path, fh=None):
        rel = self._rel(path)
        if is_virtual(rel):
            return self.virtual.attrs(self.virtual.lookup(rel))
        pending = self._pending(rel)
        if pending is not None and not os.path.lexists(self._real(rel)):
            mode = pending.mode if pending.mode is not None else 0o100644
            st = os.stat(self.root)
            return {"st_mode": statmod.S_IFREG | statmod.S_IMODE(mode), "st_nlink": 1, "st_size": len(pending.buffer or b""),
                    "st_uid": st.st_uid, "st_gid": st.st_gid,
                    "st_mtime": st.st_mtime_ns, "st_ctime": st.st_ctime_ns, "st_atime": st.st_atime_ns}
        st = os.lstat(self._real(rel))
        if statmod.S_ISREG(st.st_mode) and st.st_size == 0 and rel and not self._handles_for(rel):
            if self.generation.ensure(rel, retry=False):
                st = os.lstat(self._real(rel))
        d = self._stat_dict(st)
        dirty = [h for h in self._handles_for(rel) if h.dirty]
        if dirty:
            d["st_size"] = len(dirty[-1].buffer or b"")
        return d

    def readdir(self, path, fh):
        rel = self._rel(path)
        if is_virtual(rel):
            return [".", ".."] + self.virtual.listdir(rel)
        # Each entry carries its type (from the directory itself, no stat), so `ls -R` and
        # `find` need not look every file up just to learn it is not a folder.
        entries = []
        with os.scandir(self._real(rel)) as it:
            for e in it:
                if rel or e.name != STATE:
                    entries.append((e.name, _dirent_mode(e), 0))
        if not rel:
            entries.append((STATE, statmod.S_IFDIR, 0))
        here = {name for name, _, _ in entries}
        with self._table:
            for h in self._handles.values():
                name = PurePosixPath(h.rel).name
                if h.new and not h.unlinked and str(PurePosixPath(h.rel).parent) == (rel or ".") and name not in here:
                    entries.append((name, statmod.S_IFREG, 0))
        return [".", ".."] + entries

    def readlink(self, path):
        rel = self._rel(path)
        if is_virtual(rel):
            node = self.virtual.lookup(rel)
            if node.kind != "link":
                raise FuseOSError(errno.EINVAL)
            return node.target
        target = os.readlink(self._real(rel))
        return self._inside_target(rel, target)

    def _inside_target(self, rel: str, target: str) -> str:
        """``target`` as a link at ``rel`` may hold it, or EPERM when it leads outside ROOT.
        Absolute targets inside the root (or the mount) become relative, so they keep
        working through the mount and on the real folder alike."""
        parent = PurePosixPath(rel).parent
        if os.path.isabs(target):
            for base in (self.mountpoint, str(self.root)):
                if target == base or target.startswith(base.rstrip("/") + "/"):
                    inside = os.path.relpath(target, base)
                    target = os.path.relpath(inside, str(parent)) if str(parent) != "." else inside
                    break
            else:
                log.info("symlink %s -> %s refused: outside the root", rel, target)
                raise FuseOSError(errno.EPERM)
        joined = os.path.normpath(os.path.join(str(self.root), str(parent), target))
        try:
            confine(self.root, joined, allow_root=True)
        except LSFSError:
            log.info("symlink %s -> %s refused: it resolves outside the root", rel, target)
            raise FuseOSError(errno.EPERM) from None
        return target

    def statfs(self, path):
        sv = os.statvfs(self.root)
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
                "f_frsize", "f_namemax")
        return {k: getattr(sv, k) for k in keys}

    # -- opening, reading, writing ----------------------------------------------------------
    @lsfs_errors
    def open(self, path, fi):
        rel = self._rel(path)
        acc = fi.flags & os.O_ACCMODE
        writable = acc in (os.O_WRONLY, os.O_RDWR)
        if is_virtual(rel):
            if writable or fi.flags & os.O_TRUNC:
                raise FuseOSError(errno.EROFS)
            fi.fh = self._add_handle(Handle(rel, data=self.virtual.read(rel)))
            return 0
        pending = self._pending(rel)
        if pending is not None:  # opened again before its first close
            h = Handle(rel, writable=writable, buffer=pending.buffer, new=True, mode=pending.mode, dirty=pending.dirty)
            pending.new = False
            fi.fh = self._add_handle(h)
            return 0
        if writable and self._locked(rel):
            raise FuseOSError(errno.EACCES)
        if self.generation.ensure(rel, retry=True):
            # The kernel may still hold the empty file's size from an earlier stat; direct
            # I/O makes this handle's reads ask us instead of trusting that size.
            fi.direct_io = 1
        h = Handle(rel, fd=os.open(self._real(rel), os.O_RDONLY | os.O_NOFOLLOW), writable=writable)
        if writable and fi.flags & os.O_TRUNC:
            h.buffer, h.dirty = bytearray(), True
        fi.fh = self._add_handle(h)
        return 0

    @lsfs_errors
    def create(self, path, mode, fi):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        rel = self._confine(rel)
        if not self._real(str(PurePosixPath(rel).parent) if "/" in rel else "").is_dir():
            raise FuseOSError(errno.ENOENT)
        if os.path.lexists(self._real(rel)):
            if self._locked(rel):
                raise FuseOSError(errno.EACCES)
            h = Handle(rel, fd=os.open(self._real(rel), os.O_RDONLY | os.O_NOFOLLOW), writable=True,
                       buffer=bytearray(), dirty=True)
        else:
            h = Handle(rel, writable=True, buffer=bytearray(), dirty=True, new=True, mode=mode)
        fi.fh = self._add_handle(h)
        return 0

    def read(self, path, size, offset, fi):
        h = self._handle(fi)
        if h.data is not None:
            return h.data[offset:offset + size]
        if h.buffer is not None:
            with h.lock:
                return bytes(h.buffer[offset:offset + size])
        return os.pread(h.fd, size, offset)

    def write(self, path, data, offset, fi):
        h = self._handle(fi)
        if not h.writable:
            raise FuseOSError(errno.EBADF)
        with h.lock:
            buf = h.load(self.root)
            if offset > len(buf):
                buf.extend(b"\0" * (offset - len(buf)))
            buf[offset:offset + len(data)] = data
            h.dirty = True
        return len(data)

    @lsfs_errors
    def truncate(self, path, length, fh=None):
        rel = self._rel(path) if path is not None else None
        if rel is not None:
            self._refuse_virtual(rel)
        h = self._handles.get(fh.fh) if fh is not None else None
        if h is None and rel is not None:
            h = next((x for x in self._handles_for(rel) if x.writable), None)
        if h is not None:
            with h.lock:
                buf = h.load(self.root)
                if length < len(buf):
                    del buf[length:]
                else:
                    buf.extend(b"\0" * (length - len(buf)))
                h.dirty = True
            return 0
        if self._locked(rel):
            raise FuseOSError(errno.EACCES)
        data = self._real(rel).read_bytes()
        data = data[:length] + b"\0" * max(0, length - len(data))
        self.backend.fs.write_path(rel, data)
        return 0

    @lsfs_errors
    def flush(self, path, fi):
        h = self._handle(fi)
        with h.lock:
            self._commit(h)
        return 0

    @lsfs_errors
    def fsync(self, path, datasync, fi):
        return self.flush(path, fi)

    def release(self, path, fi):
        with self._table:
            h = self._handles.pop(fi.fh, None)
        if h is None:
            return 0
        try:
            with h.lock:
                self._commit(h)
        except LSFSError as exc:  # close() already reported this through flush
            log.warning("could not commit %s on release: %s", h.rel, exc.message)
        finally:
            if h.fd is not None:
                os.close(h.fd)
        return 0

    # -- names: create, remove, rename ------------------------------------------------------
    @lsfs_errors
    def unlink(self, path):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        pending = self._pending(rel)
        if pending is not None and not os.path.lexists(self._real(rel)):
            for h in self._handles_for(rel):
                h.unlinked = True
            return 0
        if not os.path.lexists(self._real(rel)):
            raise FuseOSError(errno.ENOENT)
        if os.path.isdir(self._real(rel)) and not os.path.islink(self._real(rel)):
            raise FuseOSError(errno.EISDIR)
        if self._locked(rel):
            raise FuseOSError(errno.EACCES)
        self.backend.fs.remove_path(rel)
        for h in self._handles_for(rel):
            h.unlinked = True  # POSIX: an open file outlives its name, but writes to it go nowhere
        return 0

    @lsfs_errors
    def mkdir(self, path, mode):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        os.mkdir(self._real(self._confine(rel)), mode)
        return 0

    @lsfs_errors
    def rmdir(self, path):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        if not rel:
            raise FuseOSError(errno.EBUSY)
        with self._table:
            inside = any(h.new and h.rel.startswith(rel + "/") for h in self._handles.values() if not h.unlinked)
        if inside:
            raise FuseOSError(errno.ENOTEMPTY)
        os.rmdir(self._real(rel))
        return 0

    @lsfs_errors
    def symlink(self, path, target):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        rel = self._confine(rel)
        target = self._inside_target(rel, target)
        os.symlink(target, self._real(rel))
        return 0

    def link(self, target, source):
        # A hard link would share content behind the write path's back (and an atomic
        # rewrite would silently split it again): refuse, symlinks work.
        raise FuseOSError(errno.EPERM)

    def mknod(self, path, mode, dev):
        raise FuseOSError(errno.EPERM)

    @lsfs_errors
    def rename(self, old, new):
        src, dst = self._rel(old), self._rel(new)
        if is_virtual(src) or is_virtual(dst):
            raise FuseOSError(errno.EROFS)
        dst = self._confine(dst)
        for h in self._handles_for(src):  # commit what is being written before it moves
            with h.lock:
                self._commit(h)
        if not os.path.lexists(self._real(src)):
            raise FuseOSError(errno.ENOENT)
        s_dir = os.path.isdir(self._real(src)) and not os.path.islink(self._real(src))
        if os.path.lexists(self._real(dst)):
            d_dir = os.path.isdir(self._real(dst)) and not os.path.islink(self._real(dst))
            if s_dir and not d_dir:
                raise FuseOSError(errno.ENOTDIR)
            if d_dir and not s_dir:
                raise FuseOSError(errno.EISDIR)
            if d_dir and os.listdir(self._real(dst)):
                raise FuseOSError(errno.ENOTEMPTY)
            if d_dir:
                os.rmdir(self._real(dst))
        if s_dir and (dst + "/").startswith(src + "/"):
            raise FuseOSError(errno.EINVAL)
        self.backend.fs.move_path(src, dst)
        with self._table:
            for h in self._handles.values():
                if h.rel == src or h.rel.startswith(src + "/"):
                    h.rel = dst + h.rel[len(src):]
        return 0

    # -- metadata ---------------------------------------------------------------------------
    @lsfs_errors
    def chmod(self, path, mode):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        if self._locked(rel):
            raise FuseOSError(errno.EPERM)
        if not os.path.islink(self._real(rel)):
            os.chmod(self._real(rel), statmod.S_IMODE(mode))
        return 0

    @lsfs_errors
    def chown(self, path, uid, gid):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        os.lchown(self._real(rel), uid, gid)
        return 0

    @lsfs_errors
    def utimens(self, path, times=None):
        rel = self._rel(path)
        self._refuse_virtual(rel)
        if self._pending(rel) is not None and not os.path.lexists(self._real(rel)):
            return 0
        os.utime(self._real(rel), ns=times, follow_symlinks=False) if times else os.utime(self._real(rel), follow_symlinks=False)
        return 0

    # -- lifetime ---------------------------------------------------------------------------
    def init_with_config(self, conn, config):
        if conn is not None:
            # Bigger read-ahead: fewer, larger reads through Python for sequential reads.
            try:
                conn.max_readahead = max(conn.max_readahead, 1 << 20)
            except AttributeError:
                pass

    def destroy(self, path):
        with self._table:
            handles = list(self._handles.values())
            self._handles.clear()
        for h in handles:
            try:
                self._commit(h)
            except Exception as exc:
                log.warning("could not commit %s at unmount: %s", h.rel, exc)
            if h.fd is not None:
                os.close(h.fd)
