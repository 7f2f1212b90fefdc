"""One owner per root: an exclusive ``flock`` on ``ROOT/.lsfs/lock``.

Embedded Chroma is not safe for two writing processes, so whoever opens a root for
writing holds this lock until it closes the root. The kernel drops the lock when the
process dies, so a crash never leaves a root locked.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

from lsfs.errors import Busy


class RootLock:
    def __init__(self, state_dir: Path, name: str = "lock"):
        self.path = Path(state_dir) / name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown process"
        except OSError:
            return "unknown process"

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {' '.join(os.path.basename(a) for a in sys.argv[:3])}\n".encode())
        self._fd = fd
        return True

    def acquire(self, timeout: float, what: str = "this root") -> None:
        """Wait up to ``timeout`` seconds, then refuse with the holder's identity (exit 3)."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise Busy(
                    f"{what} is in use by another LSFS process ({self.holder()}); "
                    "wait for it to finish, or run 'lsfs watch' so commands share one owner"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
