"""Errors that reach the user, each with the exit code DESIGN.md assigns.

The CLI prints ``lsfs: error: <message>`` and exits with ``exit_code``; the Python API
raises these so callers can branch on the class instead of parsing text.
"""

from __future__ import annotations


class LSFSError(Exception):
    """Base class: a failure explained in one line, with an exit code."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(LSFSError):
    """Bad input: not found, locked, outside the root, malformed value (exit 1)."""

    exit_code = 1


class NotFound(UserError):
    """A named file, version, link or root does not exist."""


class OutsideRoot(UserError):
    """A path would reach outside ROOT (``..``, absolute, a symlink pointing out)."""


class Locked(UserError):
    """The file is locked with ``lsfs lock``; writes are refused until unlocked."""


class UsageError(LSFSError):
    """The command line itself is wrong (exit 2)."""

    exit_code = 2


class Refused(LSFSError):
    """Needs confirmation, is ambiguous, or conflicts with another process (exit 3)."""

    exit_code = 3


class Ambiguous(Refused):
    """A name matches several files; ``candidates`` lists them."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


class Busy(Refused):
    """Another process holds the root and did not let go in time."""


class BackendUnavailable(LSFSError):
    """An LLM, embedding endpoint or Chroma server is missing or unreachable (exit 4)."""

    exit_code = 4


# Names the RPC layer may re-raise on the client side; keeps the owner socket from
# instantiating arbitrary classes named by the peer.
ERROR_CLASSES = {
    cls.__name__: cls
    for cls in (
        LSFSError,
        UserError,
        NotFound,
        OutsideRoot,
        Locked,
        UsageError,
        Refused,
        Ambiguous,
        Busy,
        BackendUnavailable,
    )
}
