"""Generated files as the mount sees them; the generating itself is ``lsfs.apis.generate``.

A file marked ``user.lsfs.generator=NAME`` and still empty is filled the first time anything
looks at it (``stat`` included, so the size is right before the first read) by
``generate.fill`` in the root's owner: one lock per file, only empty files, the write path
(cause ``generate``), the marker kept on failure and removed once filled. What stays here
is what only a mount needs: a failure is logged, never raised into a FUSE call, and
``stat`` backs off for a while after it, so ``ls -l`` over a folder does not hammer a dead
LLM (open and read always retry).
"""

from __future__ import annotations

import logging
import os
import stat as statmod
import time
from typing import Any, Sequence

from lsfs.apis import generate
from lsfs.generators import README_PATH
from lsfs.xattrs import GENERATOR

log = logging.getLogger("lsfs.mount")

RETRY_AFTER_S = 5.0


class Generation:
    """Asks the owner to fill marked empty files; ``generators`` (objects, so they only
    work with an in-process owner) replace the plugin registry for that."""

    def __init__(self, backend, generators: Sequence[Any] | None = None):
        self.backend = backend
        self.generators = list(generators) if generators is not None else None
        self.retry_after = RETRY_AFTER_S
        self._failed: dict[str, float] = {}

    def marker(self, rel: str) -> bytes | None:
        row = self.backend.file_row(rel)
        return self.backend.user_xattrs(row.id).get(GENERATOR) if row is not None else None

    def ensure(self, rel: str, *, retry: bool) -> bool:
        """Fill ``rel`` if it is empty and marked; True when content was written.
        ``retry=False`` (stat) respects the back-off after a failure."""
        try:
            st = os.lstat(self.backend.path / rel)
        except OSError:
            return False
        if not statmod.S_ISREG(st.st_mode) or st.st_size or not self.marker(rel):
            return False
        if not retry and time.monotonic() - self._failed.get(rel, -1e9) < self.retry_after:
            return False
        try:
            result = generate.fill(self.backend.fs, rel, self.generators)
        except Exception as exc:  # an LSFS refusal, a plugin's error, a lost owner: never EIO
            why = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            return self._fail(rel, why)
        if result.filled:
            self._failed.pop(rel, None)
            return True
        if result.size == 0:  # still empty: nothing accepted it (e.g. an unknown generator)
            return self._fail(rel, result.reason or "nothing was generated")
        return False  # it got content meanwhile

    def _fail(self, rel: str, why: str) -> bool:
        self._failed[rel] = time.monotonic()
        log.warning("generation of %s failed; the marker stays for a retry: %s", rel, why)
        return False

    def readme(self) -> bytes:
        """``/.lsfs/README``, from the registry's overlay generators."""
        data = generate.overlay(self.backend.fs, README_PATH)
        if data is None:
            return b"No README generator is installed.\n"
        return data.encode() if isinstance(data, str) else bytes(data)
