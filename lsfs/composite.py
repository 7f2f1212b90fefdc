"""The paper's composite syscalls: bulk import (``create``), ``lock_file`` / ``unlock_file``,
``integrated_retrieve``, ``file_join``, and (from ``lsfs.grouping``) ``group_semantic``,
``group_keywords`` and their undo.

Every change to a file's content goes through ``syscalls.write_bytes`` (atomic, versioned,
indexed, refused on locked files); imports copy atomically and are indexed in one batch.

Confirmation, one rule for every call here: a call that would replace or move files that
already exist (grouping, ungrouping, joining into an existing file) only returns its plan
(``done = False``) unless it is given ``confirm=True``. Calls that only add (import, a join
into a new file, appending into the first file) act at once; what they replace stays a version.
"""

from __future__ import annotations

import errno
import os
import stat as statmod
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Sequence

from lsfs.errors import Locked, NotFound, OutsideRoot, UserError
from lsfs.extract import BINARY_SUFFIXES, ExtractFailed, Skip, extract
from lsfs.grouping import group_keywords, group_semantic, groups, ungroup  # noqa: F401 (the paper's names)
from lsfs.ignore import TEMP_PREFIX, IgnoreRules
from lsfs.index import Progress
from lsfs.names import resolve_name
from lsfs.paths import confine, confine_dir
from lsfs.retrieve import Hit
from lsfs.root import Root
from lsfs.store.objects import fsync_dir
from lsfs.recovery import intent
from lsfs.syscalls import capture_outside_change, write_bytes

__all__ = [
    "create", "lock_file", "unlock_file", "integrated_retrieve", "file_join",
    "group_semantic", "group_keywords", "ungroup", "groups",
    "ImportResult", "LockResult", "JoinResult",
]

# Extractor kinds whose bytes are the text itself; every other kind (PDF, DOCX, plugin
# formats) is joined as its extracted text.
_TEXT_KINDS = {"text", "html"}
# Suffixes LSFS never writes text into (as in syscalls).
_NOT_TEXT = BINARY_SUFFIXES | {".pdf", ".docx"}
_COPY_BLOCK = 1 << 20


# -- create: bulk import of a folder from outside ROOT ----------------------------------------

@dataclass
class ImportResult:
    source: str
    into: str                      # folder inside ROOT ("" = the root itself)
    imported: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)   # {"path", "reason"}
    failed: list[dict] = field(default_factory=list)    # {"path", "reason"}
    ignored: int = 0               # entries left out: .git/, .lsfs/, the source's ignore files

    def to_dict(self) -> dict:
        return asdict(self)


def _check_import_source(root: Root, source: str | os.PathLike) -> Path:
    given = Path(source).expanduser()
    if not os.path.lexists(given):
        raise NotFound(f"{source} does not exist; nothing was imported")
    src = given.resolve()
    if not src.is_dir():
        raise UserError(
            f"{source} is a file, not a folder; 'lsfs import' copies a folder "
            f"(to add one file: lsfs write NAME --from {source})"
        )
    here = root.path
    if src == here:
        raise UserError(f"{source} is the root itself; it cannot be imported into itself")
    if here in src.parents:
        rel = src.relative_to(here).as_posix()
        raise UserError(f"{source} is already inside the root; LSFS indexes it in place ('lsfs index {rel}')")
    if src in here.parents:
        raise UserError(f"{source} contains the root {here}; importing it would copy the root into itself")
    return src


def _import_target(root: Root, src: Path, dir: str | None) -> str:
    if dir is not None:
        rel = confine_dir(root.path, dir) or ""
    else:
        if not src.name:
            raise UserError(f"say where to put {src} inside the root (--into DIR)")
        rel = confine(root.path, src.name)
    full = root.path / rel if rel else root.path
    if os.path.lexists(full) and not full.is_dir():
        raise UserError(f"{rel} is a file in the root, not a folder; choose another --into")
    if rel and root.indexer.ignore.ignored(rel, is_dir=True):
        raise UserError(f"{rel} is ignored by the root's ignore rules; files imported there would not be indexed")
    return rel


def _walk_source(src: Path) -> tuple[list[tuple[str, os.stat_result]], int]:
    """Every entry of ``src`` its own ignore files do not exclude, and how many they did."""
    rules = IgnoreRules(src)
    found, ignored = [], 0
    stack = [(src, "")]
    while stack:
        folder, rel_folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if rules.ignored(rel, is_dir):
                    ignored += 1
                elif is_dir:
                    stack.append((Path(entry.path), rel))
                else:
                    found.append((rel, entry.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue
    found.sort()
    return found, ignored


def _same_content(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(_COPY_BLOCK), fb.read(_COPY_BLOCK)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _copy_no_clobber(src: Path, dest: Path, mode: int) -> None:
    """Copy through a temp file beside ``dest``, fsync, then link it into place.

    ``os.link`` fails when ``dest`` exists, so a file that appeared meanwhile is never
    overwritten (FileExistsError reaches the caller)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            while block := inp.read(_COPY_BLOCK):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        try:
            os.link(tmp, dest)
        except OSError as exc:
            if exc.errno == errno.EEXIST or isinstance(exc, FileExistsError):
                raise FileExistsError(errno.EEXIST, "exists", str(dest)) from None
            # A file system without hard links: check, then rename (a narrow race).
            if os.path.lexists(dest):
                raise FileExistsError(errno.EEXIST, "exists", str(dest)) from None
            os.rename(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    fsync_dir(dest.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def create(root: Root, source: str | os.PathLike, dir: str | None = None, progress: Progress | None = None) -> ImportResult:
    """Copy the folder ``source`` (outside the root) into ``dir`` and index what was copied.

    ``dir`` defaults to a folder named like the source at the top of the root. Relative
    structure is kept; the source's ``.gitignore`` / ``.lsfsignore`` are honoured (``.git``
    and ``.lsfs`` are never copied); symbolic links and special files are not followed;
    a file that already exists in the root is never overwritten (it is reported as
    skipped). Each file is copied atomically; a bad file is recorded, never stops the rest.
    """
    src = _check_import_source(root, source)
    into = _import_target(root, src, dir)
    entries, ignored = _walk_source(src)
    result = ImportResult(str(src), into, ignored=ignored)
    rules = root.indexer.ignore
    umask = _umask()
    copied: list[str] = []
    bar = progress if progress and len(entries) > 20 else None
    if bar:
        bar.start(len(entries))
    # Killed mid-import, the next open indexes what was already copied (lsfs.recovery).
    importing = intent(root.catalog, "import", [into], "import")
    importing.__enter__()
    try:
        for rel, st in entries:
            dest_rel = f"{into}/{rel}" if into else rel
            dest = root.path / dest_rel
            if bar:
                bar.advance()
            if statmod.S_ISLNK(st.st_mode):
                result.skipped.append({"path": dest_rel, "reason": "symbolic link in the source (not followed)"})
                continue
            if not statmod.S_ISREG(st.st_mode):
                result.skipped.append({"path": dest_rel, "reason": "not a regular file"})
                continue
            if rules.ignored(dest_rel):
                result.skipped.append({"path": dest_rel, "reason": "ignored by the root's ignore rules"})
                continue
            try:
                confine(root.path, dest_rel)
            except (OutsideRoot, UserError) as exc:
                result.skipped.append({"path": dest_rel, "reason": exc.message})
                continue
            blocker = _existing_file_above(root.path, dest_rel)
            if blocker:
                result.skipped.append({"path": dest_rel, "reason": f"{blocker} is a file in the root, not a folder"})
                continue
            if os.path.lexists(dest):
                same = _same_content(src / rel, dest)
                why = "already in the root with the same content" if same else "a different file of that name is already in the root; not overwritten"
                result.skipped.append({"path": dest_rel, "reason": why})
                continue
            try:
                # Permissions as cp gives them, but always owner-writable: the copy is the user's.
                _copy_no_clobber(src / rel, dest, (statmod.S_IMODE(st.st_mode) & ~umask) | 0o600)
            except FileExistsError:
                result.skipped.append({"path": dest_rel, "reason": "a file of that name appeared in the root; not overwritten"})
                continue
            except OSError as exc:
                reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else f"cannot copy: {exc.strerror}"
                result.failed.append({"path": dest_rel, "reason": reason})
                continue
            copied.append(dest_rel)
    finally:
        if bar:
            bar.finish()
    if copied:  # one batched pass: the model sees full batches
        root.indexer.sync_paths(copied, cause="import", progress=progress)
    importing.__exit__(None, None, None)
    for rel in copied:
        row = root.catalog.file_by_path(rel)
        if row is None:
            result.failed.append({"path": rel, "reason": "copied but not indexed; run 'lsfs index'"})
        elif row.state == "indexed":
            result.imported.append(rel)
        elif row.state == "failed":
            result.failed.append({"path": rel, "reason": f"copied, not indexed: {row.reason}"})
        else:
            result.skipped.append({"path": rel, "reason": f"copied, not indexed: {row.reason}"})
    return result


def _existing_file_above(root: Path, rel: str) -> str | None:
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        p = root.joinpath(*parts[:i])
        if os.path.lexists(p) and not p.is_dir():
            return "/".join(parts[:i])
    return None


# -- lock_file / unlock_file ------------------------------------------------------------------

@dataclass
class LockResult:
    path: str
    locked: bool      # the state now
    changed: bool     # False: it already was in that state
    mode: str         # the file's permission bits now, octal

    def to_dict(self) -> dict:
        return asdict(self)


def _regular_file(root: Root, rel: str) -> os.stat_result:
    try:
        st = os.lstat(root.path / rel)
    except FileNotFoundError:
        raise NotFound(f"{rel} is not on disk") from None
    if statmod.S_ISLNK(st.st_mode):
        raise UserError(f"{rel} is a symbolic link; lock the file it points to")
    if not statmod.S_ISREG(st.st_mode):
        raise UserError(f"{rel} is not a regular file")
    return st


def lock_file(root: Root, name: str) -> LockResult:
    """Make the file read-only on disk (write bits removed) and refuse every LSFS write to it.

    The previous permission bits are kept in the catalog and restored exactly by
    ``unlock_file``. Locking a locked file changes nothing (``changed`` is False).
    """
    rel = resolve_name(root.path, root.catalog, name)
    st = _regular_file(root, rel)
    capture_outside_change(root, rel)  # the locked content is a recorded version
    row = root.catalog.file_by_path(rel)
    if row is None:
        raise UserError(f"{rel} is ignored by LSFS (ignore rules); it cannot be locked")
    mode = statmod.S_IMODE(st.st_mode)
    readonly = mode & ~0o222
    if row.locked:
        if mode != readonly:  # someone gave it write bits back outside LSFS
            os.chmod(root.path / rel, readonly)
        return LockResult(rel, True, False, oct(readonly))
    with root.catalog.transaction():
        root.catalog.update_file(row.id, locked=1, lock_mode=mode)
        root.catalog.log_change(row.id, rel, "lock", None, f"locked (mode {mode:o} -> {readonly:o})")
        try:
            os.chmod(root.path / rel, readonly)
        except PermissionError:
            raise UserError(f"cannot change the permissions of {rel} (not its owner?)") from None
    return LockResult(rel, True, True, oct(readonly))


def unlock_file(root: Root, name: str) -> LockResult:
    """Lift a lock: restore the exact permission bits the file had when it was locked."""
    rel = resolve_name(root.path, root.catalog, name)
    row = root.catalog.file_by_path(rel)
    try:
        mode = statmod.S_IMODE(os.lstat(root.path / rel).st_mode)
    except FileNotFoundError:
        mode = None
    if row is None or not row.locked:
        return LockResult(rel, False, False, oct(mode) if mode is not None else "")
    restore = row.lock_mode if row.lock_mode is not None else (mode or 0o644) | 0o200
    with root.catalog.transaction():
        root.catalog.update_file(row.id, locked=0, lock_mode=None)
        root.catalog.log_change(row.id, rel, "unlock", None, f"unlocked (mode {restore:o})")
        if mode is not None:
            try:
                os.chmod(root.path / rel, restore)
            except PermissionError:
                raise UserError(f"cannot change the permissions of {rel} (not its owner?)") from None
    return LockResult(rel, False, True, oct(restore))


# -- integrated_retrieve -----------------------------------------------------------------------

def integrated_retrieve(
    root: Root, query: str, keywords: Sequence[str] | str, k: int = 10, dir: str | None = None, mode: str = "all"
) -> list[Hit]:
    """The files that contain all (or any) ``keywords`` exactly, ranked by meaning against ``query``."""
    if isinstance(keywords, str):
        keywords = [keywords]
    rel_dir = confine_dir(root.path, dir)
    if rel_dir and not (root.path / rel_dir).is_dir():
        raise NotFound(f"no folder {dir!r} in {root.path}")
    return root.retriever.integrated(query, list(keywords), k, rel_dir, mode)


# -- file_join ---------------------------------------------------------------------------------

@dataclass
class JoinResult:
    path: str                 # the file written (or that would be written)
    parts: list[str]          # what was joined, in order
    appended: bool            # True: the parts after the first were appended to it
    replaces: bool            # True: an existing file other than the parts is overwritten
    size: int
    version: int | None = None
    notes: list[str] = field(default_factory=list)
    done: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _joint(before: bytes) -> bytes:
    """What goes between two parts so that exactly one blank line separates them."""
    if not before:
        return b""
    nl = b"\r\n" if before.endswith(b"\r\n") else b"\n"
    if before.endswith(b"\n\n") or before.endswith(b"\r\n\r\n") or before.endswith(b"\n\r\n"):
        return b""
    if before.endswith(b"\n"):
        return nl
    return nl + nl


def _part_bytes(root: Root, rel: str, notes: list[str]) -> bytes:
    full = root.path / rel
    if not full.is_file():
        raise NotFound(f"{rel} is not on disk")
    data = full.read_bytes()
    try:
        extracted = extract(rel, data)
    except Skip as exc:
        raise UserError(f"cannot join {rel}: {exc} (only text and documents can be joined)") from None
    except ExtractFailed as exc:
        raise UserError(f"cannot join {rel}: {exc}") from None
    if extracted.kind in _TEXT_KINDS:
        return data
    notes.append(f"{rel}: joined its extracted text ({extracted.kind.upper()} is not a text format)")
    return extracted.text.encode("utf-8")


def _is_structured(root: Root, rel: str) -> str | None:
    """The format name when ``rel`` is not a plain-text file (PDF, DOCX, binary)."""
    suffix = PurePosixPath(rel).suffix.lower()
    if suffix in _NOT_TEXT:
        return suffix.lstrip(".").upper()
    row = root.catalog.file_by_path(rel)
    if row is not None and row.kind and row.kind not in _TEXT_KINDS:
        return row.kind.upper()
    return None


def file_join(root: Root, names: Sequence[str], into: str | None = None, confirm: bool = False) -> JoinResult:
    """Concatenate 2+ files in order into ``into`` (a new or existing text file), or, without
    ``into``, append the others to the first.

    Separator rule: exactly one blank line between parts; LSFS adds only the newlines a
    part's end lacks (none when it already ends with a blank line); empty parts add
    nothing. PDF and DOCX parts contribute their extracted text, and the result says so;
    text is never written into a PDF or DOCX. Overwriting an existing ``into`` returns
    the plan unless ``confirm`` (its old content stays a version).
    """
    if isinstance(names, str):
        names = [names]
    names = [n for n in names if n is not None]
    if len(names) < 2:
        raise UserError(f"join needs at least two files, got {len(names)}")
    parts = [resolve_name(root.path, root.catalog, n) for n in names]
    seen: set[str] = set()
    for rel in parts:
        if rel in seen:
            raise UserError(f"{rel} is named twice; a file cannot be joined into itself")
        seen.add(rel)
    notes: list[str] = []
    if into is None:
        target, appended, replaces = parts[0], True, False
        fmt = _is_structured(root, target)
        if fmt:
            raise UserError(
                f"cannot append into {target}: {fmt} is not a text format; "
                "give --into NEW.txt (or .md) to join the texts into a new file"
            )
    else:
        target = confine(root.path, into)
        if target in seen:
            raise UserError(
                f"--into names {target}, one of the parts; a file cannot be joined into itself "
                "(to append into the first file, leave out --into)"
            )
        full = root.path / target
        if full.is_dir():
            raise UserError(f"{target} is a folder; --into takes a file name")
        if PurePosixPath(target).suffix.lower() in _NOT_TEXT:
            raise UserError(f"cannot write the joined text into {target}: name a .txt or .md file")
        if root.indexer.ignore.ignored(target):
            raise UserError(f"{target} is ignored by the root's ignore rules; the joined file would not be indexed")
        appended, replaces = False, os.path.lexists(full)
    row = root.catalog.file_by_path(target)
    if row is not None and row.locked:
        raise Locked(f"{target} is locked; run 'lsfs unlock {target}' first")
    chunks = [_part_bytes(root, rel, notes) for rel in parts]
    out = b""
    for i, data in enumerate(chunks):
        if i and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # a byte-order mark belongs only at the start of a file
        if not data:
            continue
        out += _joint(out) + data
    result = JoinResult(target, parts, appended, replaces, len(out), notes=notes)
    if replaces and not confirm:
        return result
    written = write_bytes(root, target, out, "join")
    result.version, result.size, result.done = written.version, written.size, True
    return result

