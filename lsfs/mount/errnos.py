"""How LSFS refusals reach programs using the mount: as errnos."""

from __future__ import annotations

import errno
import functools
import logging

from mfusepy import FuseOSError

from lsfs.errors import BackendUnavailable, Busy, Locked, LSFSError, NotFound, OutsideRoot, Refused, UsageError

log = logging.getLogger("lsfs.mount")


def errno_of(exc: LSFSError) -> int:
    """The errno a program sees for an LSFS refusal."""
    if isinstance(exc, Locked):
        return errno.EACCES
    if isinstance(exc, OutsideRoot):
        return errno.EPERM
    if isinstance(exc, NotFound):
        return errno.ENOENT
    if isinstance(exc, (Busy, Refused)):
        return errno.EBUSY
    if isinstance(exc, BackendUnavailable):
        return errno.EIO
    text = exc.message
    if "is a folder" in text:
        return errno.EISDIR
    if "not empty" in text:
        return errno.ENOTEMPTY
    if isinstance(exc, UsageError):
        return errno.EINVAL
    return errno.EIO


def lsfs_errors(fn):
    """Turn LSFS errors into errnos (logged: the log is where a mount's user looks)."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except LSFSError as exc:
            code = errno_of(exc)
            log.info("%s %s: %s (%s)", fn.__name__, args[:1], exc.message, errno.errorcode.get(code, code))
            raise FuseOSError(code) from None

    return wrapper
