"""``lsfs mount``: ROOT as a FUSE file system (libfuse3 through mfusepy).

- ``Mount(root, mountpoint, generators=None)``: set up (owner, catalog, generators);
  ``run()`` serves in the calling thread until unmounted.
- ``mount(root, mountpoint, foreground)``: what the CLI runs; in the background it starts
  itself with ``--foreground`` as a detached process and returns once the mount is up.
- ``umount(mountpoint)``: ``fusermount3 -u``.
What the mount shows and does: ``ops`` (the tree and the write path), ``xattr_ops``
(extended attributes), ``virtual`` (``/.lsfs/search``, ``/.lsfs/versions``,
``/.lsfs/README``), ``generation`` (files generated on first read, through
``lsfs.apis.generate``),
``backend`` (the owner it writes through), ``errnos`` (LSFS refusals as errnos).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from lsfs.errors import BackendUnavailable, LSFSError, UsageError, UserError
from lsfs.paths import STATE_DIR

log = logging.getLogger("lsfs.mount")

START_TIMEOUT_S = 180.0  # the in-process supervisor loads the model before serving


def fuse_missing() -> str | None:
    """Why a mount cannot work here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (load the fuse kernel module, or run the container with --device /dev/fuse)"
    if not shutil.which("fusermount3"):
        return "fusermount3 is missing (install fuse3: apt-get install fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"libfuse3 cannot be loaded ({exc}); install fuse3 (apt-get install fuse3 libfuse3-dev)"
    return None


def _unescape(field: str) -> str:
    # /proc/self/mounts writes spaces, tabs, newlines and backslashes as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounted_source(mountpoint: str | os.PathLike) -> str | None:
    """The source ("fsname") of what is mounted at ``mountpoint``, or None."""
    path = os.path.abspath(os.path.expanduser(mountpoint))
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 1 and _unescape(fields[1]) == path:
                    return _unescape(fields[0])
    except OSError:
        return path if os.path.ismount(path) else None
    return None


def is_mounted(mountpoint: str | os.PathLike) -> bool:
    return mounted_source(mountpoint) is not None


def _pid_file(root: Path, mountpoint: Path) -> Path:
    digest = hashlib.sha256(os.fsencode(str(mountpoint))).hexdigest()[:16]
    return Path(root) / STATE_DIR / "mounts" / f"{digest}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_mountpoint(root: Path, mountpoint: str | os.PathLike) -> Path:
    """The mount point as an absolute path, or a one-line refusal."""
    mp = Path(os.path.abspath(Path(mountpoint).expanduser()))
    if is_mounted(mp):  # checked first: a dead FUSE mount cannot even be stat'ed
        raise UserError(f"{mp} is already a mount point; unmount it first (lsfs umount {mp})")
    mp = mp.resolve()
    if not mp.is_dir():
        raise UserError(f"mount point {mp} is not an existing folder; create it first (mkdir -p {mp})")
    if any(mp.iterdir()):
        raise UserError(f"mount point {mp} is not empty; mount on an empty folder")
    root = root.resolve()
    if mp == root or root in mp.parents:
        raise UserError(f"mount point {mp} is inside the root {root}; LSFS would see its own mount")
    return mp


class Mount:
    """One mount of ``root`` at ``mountpoint``.

    ``generators`` (objects) replace the plugin registry for filling marked files; they run
    in this process, so such a mount must host the root's supervisor itself.
    """

    def __init__(self, root: str | os.PathLike, mountpoint: str | os.PathLike, generators: Sequence | None = None):
        why = fuse_missing()
        if why:
            raise BackendUnavailable(f"cannot mount: {why}")
        self.root = Path(root).expanduser().resolve()
        self.mountpoint = check_mountpoint(self.root, mountpoint)
        self.generators = list(generators) if generators is not None else None
        self.ops = None

    def run(self, debug: bool = False) -> None:
        """Serve until unmounted (``fusermount3 -u``, ``lsfs umount``, or a signal)."""
        from mfusepy import FUSE

        from lsfs.mount.backend import Backend
        from lsfs.mount.ops import LSFSOperations

        backend = Backend(self.root)
        if self.generators is not None and not backend.hosts_supervisor:
            backend.close()
            raise UsageError(f"this mount's own generators run in-process, but another process owns "
                             f"{self.root}; stop its supervisor (lsfs watch) first")
        pid_file = _pid_file(self.root, self.mountpoint)
        try:
            pid_file.parent.mkdir(exist_ok=True)
            pid_file.write_text(f"{os.getpid()}\n{self.mountpoint}\n")
            self.ops = LSFSOperations(backend, self.generators, str(self.mountpoint))
            log.info("mounting %s at %s", self.root, self.mountpoint)
            FUSE(
                self.ops, str(self.mountpoint), raw_fi=True, foreground=True, debug=debug,
                fsname=f"lsfs:{self.root}", subtype="lsfs", auto_cache=True,
            )
        finally:
            backend.close()
            pid_file.unlink(missing_ok=True)
            log.info("unmounted %s", self.mountpoint)


def umount(mountpoint: str | os.PathLike, timeout: float = 60.0) -> None:
    """Unmount, then wait until the serving process has released the root, so the next
    ``lsfs`` command finds it free."""
    mp = Path(os.path.abspath(Path(mountpoint).expanduser()))
    source = mounted_source(mp)
    if source is None:
        raise UserError(f"{mp} is not mounted")
    if not source.startswith("lsfs:"):
        raise UserError(f"{mp} is not an LSFS mount ({source}); use umount or fusermount3 -u")
    pid_file = _pid_file(Path(source[len("lsfs:"):]), mp)
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    if pid == os.getpid():  # mounted by this very process (a thread): nothing to wait for
        pid = None
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    cmd = [tool, "-u", str(mp)] if tool else ["umount", str(mp)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"cannot unmount {mp}: {why[-1] if why else 'failed'} (is a program still using it?)")
    deadline = time.monotonic() + timeout
    while (is_mounted(mp) or (pid is not None and _alive(pid))) and time.monotonic() < deadline:
        time.sleep(0.1)


def log_file(root: Path) -> Path:
    logs = Path(root) / STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / "mount.log"


def spawn(root: Path, mountpoint: Path, timeout: float = START_TIMEOUT_S) -> int:
    """Start ``lsfs mount --foreground`` detached; return its pid once the mount is up."""
    out = open(log_file(root), "ab")
    cmd = [sys.executable, "-m", "lsfs", "mount", str(mountpoint), "--root", str(root), "--foreground"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_mounted(mountpoint):
            return proc.pid
        if proc.poll() is not None:
            raise _child_error(root, proc.returncode)
        time.sleep(0.1)
    proc.terminate()
    raise BackendUnavailable(f"the mount did not come up within {timeout:.0f} s; see {log_file(root)}")


def _child_error(root: Path, code: int) -> LSFSError:
    """The foreground child's own one-line error (it wrote it to the log), same exit code."""
    lines = [ln for ln in log_file(root).read_text(errors="replace").splitlines() if ln.startswith("lsfs: error: ")]
    exc = LSFSError(lines[-1][len("lsfs: error: "):] if lines else
                    f"the mount process exited with status {code}; see {log_file(root)}")
    exc.exit_code = code or 1
    return exc
