"""Finding the root and keeping every path inside it.

Every path that comes from a user, an LLM, a link or a mount passes through ``confine``
before anything touches the disk. The result is always a relative POSIX path.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from lsfs.errors import NotFound, OutsideRoot, UserError

STATE_DIR = ".lsfs"
MAX_NAME_BYTES = 255  # NAME_MAX on Linux file systems LSFS targets


def find_root(start: str | os.PathLike | None = None) -> Path:
    """Walk up from ``start`` (default: the current directory) to the nearest ``.lsfs/``."""
    here = Path(start or os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / STATE_DIR).is_dir():
            return candidate
    raise NotFound(
        f"no LSFS root at or above {here}; run 'lsfs init DIR' or pass --root PATH"
    )


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _deepest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def confine(root: Path, name: str | os.PathLike, *, allow_root: bool = False) -> str:
    """Return ``name`` as a path relative to ``root`` (POSIX form), or refuse.

    Accepts a root-relative path or an absolute path that lies inside the root. Refuses
    ``..`` escapes, absolute paths elsewhere, symlinks whose target lies outside the root,
    NUL bytes, over-long names and LSFS's own ``.lsfs/`` directory.
    """
    text = os.fspath(name)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\x00" in text:
        raise OutsideRoot(f"path {text!r} contains a NUL byte")
    if not text.strip():
        if allow_root:
            return ""
        raise UserError("empty path; name a file inside the root")
    root = root.resolve()
    given = Path(text)
    joined = given if given.is_absolute() else root / given
    # Lexical check first: "../x" must fail even when nothing exists on disk.
    lexical = Path(os.path.normpath(joined))
    if not _within(lexical, root):
        raise OutsideRoot(f"{text} is outside the root {root}")
    # Then the real location: a symlink anywhere on the way may point out.
    real = Path(os.path.realpath(_deepest_existing(lexical)))
    if not _within(real, root):
        raise OutsideRoot(f"{text} resolves outside the root {root} (through a symlink)")
    rel = lexical.relative_to(root)
    parts = rel.parts
    if not parts:
        if allow_root:
            return ""
        raise UserError(f"{text} is the root itself; name a file inside it")
    if parts[0] == STATE_DIR:
        raise OutsideRoot(f"{text} is inside {STATE_DIR}/, which LSFS manages itself")
    for part in parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise UserError(f"name component is longer than {MAX_NAME_BYTES} bytes: {part[:40]}…")
    return PurePosixPath(*parts).as_posix()


def confine_dir(root: Path, name: str | os.PathLike | None) -> str | None:
    """Like ``confine`` for a folder filter (``--in DIR``); ``None`` or ``.`` mean the whole root."""
    if name is None:
        return None
    rel = confine(root, name, allow_root=True)
    return rel or None


def in_dir(rel_path: str, rel_dir: str | None) -> bool:
    """True when ``rel_path`` lies inside ``rel_dir`` (``None`` = the whole root)."""
    if not rel_dir:
        return True
    return rel_path == rel_dir or rel_path.startswith(rel_dir.rstrip("/") + "/")
