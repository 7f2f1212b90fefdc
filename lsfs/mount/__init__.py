"""``lsfs mount``: ROOT as a FUSE file system (libfuse3 through mfusepy).

- ``Mount(root, mountpoint, generators=None)``: set up (owner, catalog, generators);
  ``run()`` serves in the calling thread until unmounted.
- ``mount(root, mountpoint, foreground)``: what the CLI runs; in the background it starts
  itself with ``--foreground`` as a detached process and returns once the mount is up.
- ``umount(mountpoint)``: ``fusermount3 -u``.
What the mount shows and does: ``ops`` (the tree and the write path), ``virtual``
(``/.lsfs/search``, ``/.lsfs/versions``, ``/.lsfs/README``), ``generation`` (content made on
first read, computed attributes).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from lsfs.errors import BackendUnavailable, LSFSError, UserError
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


def is_mounted(mountpoint: str | os.PathLike) -> bool:
    path = os.path.realpath(mountpoint)
    try:
        with open("/proc/self/mounts", encoding="utf-8") as fh:
            return any(line.split()[1] == path for line in fh if len(line.split()) > 1)
    except OSError:
        return os.path.ismount(path)


def check_mountpoint(root: Path, mountpoint: str | os.PathLike) -> Path:
    """The mount point as an absolute path, or a one-line refusal."""
    mp = Path(mountpoint).expanduser().resolve()
    if not mp.is_dir():
        raise UserError(f"mount point {mp} is not an existing folder; create it first (mkdir -p {mp})")
    if is_mounted(mp):
        raise UserError(f"{mp} is already a mount point; unmount it first (lsfs umount {mp})")
    if any(mp.iterdir()):
        raise UserError(f"mount point {mp} is not empty; mount on an empty folder")
    root = root.resolve()
    if mp == root or root in mp.parents:
        raise UserError(f"mount point {mp} is inside the root {root}; LSFS would see its own mount")
    return mp


class Mount:
    """One mount of ``root`` at ``mountpoint``; ``generators`` overrides the plugin registry."""

    def __init__(self, root: str | os.PathLike, mountpoint: str | os.PathLike, generators: Sequence | None = None):
        why = fuse_missing()
        if why:
            raise BackendUnavailable(f"cannot mount: {why}")
        from lsfs.mount import generation

        self.root = Path(root).expanduser().resolve()
        self.mountpoint = check_mountpoint(self.root, mountpoint)
        self.generators = generation.load(generators)
        self.ops = None

    def run(self, debug: bool = False) -> None:
        """Serve until unmounted (``fusermount3 -u``, ``lsfs umount``, or a signal)."""
        from mfusepy import FUSE

        from lsfs.mount.backend import Backend
        from lsfs.mount.ops import LSFSOperations

        backend = Backend(self.root)
        try:
            self.ops = LSFSOperations(backend, self.generators, str(self.mountpoint))
            log.info("mounting %s at %s", self.root, self.mountpoint)
            FUSE(
                self.ops, str(self.mountpoint), raw_fi=True, foreground=True, debug=debug,
                fsname=f"lsfs:{self.root}", subtype="lsfs", auto_cache=True,
            )
        finally:
            backend.close()
            log.info("unmounted %s", self.mountpoint)


def umount(mountpoint: str | os.PathLike, timeout: float = 30.0) -> None:
    """Unmount (the serving process then releases the root and exits)."""
    mp = Path(mountpoint).expanduser().resolve()
    if not is_mounted(mp):
        raise UserError(f"{mp} is not mounted")
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    cmd = [tool, "-u", str(mp)] if tool else ["umount", str(mp)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"cannot unmount {mp}: {why[-1] if why else 'failed'} (is a program still using it?)")
    deadline = time.monotonic() + timeout
    while is_mounted(mp) and time.monotonic() < deadline:
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
