"""``lsfs export ARCHIVE.json`` and ``lsfs import ARCHIVE.json``: the tree as one JSON file.

The archive holds every file the root manages (ignore rules apply, as for the index) with
its bytes, permission bits, mtime, user extended attributes and lock; symbolic links with
their targets (only those that stay inside the root); folders (so empty ones come back);
and, with ``versions``, every recorded version of each file with its time and cause.
Contents are stored once per sha256 in ``blobs``: as text when they are UTF-8, as base64
otherwise, so any bytes survive. An import checks every blob against its sha256.

    {"format": "lsfs-archive", "format_version": 1, "exported": ISO-8601, "root": "/abs/root",
     "with_versions": bool, "dirs": ["a", "a/b"],
     "files": [{"path", "mode": "0644", "mtime_ns", "size", "sha256", "locked",
                "xattrs": {name: {"text": …} | {"base64": …}},
                "versions": [{"n", "time" (Unix seconds), "size", "sha256", "cause"}]}],
     "symlinks": [{"path", "target"}], "blobs": {sha256: {"text": …} | {"base64": …}},
     "skipped": [{"path", "reason"}]}

Import goes through the write path, one file at a time (atomic per file, a version per
file, cause ``import``); with versions, the history is written oldest first with the
original causes and times. Existing files with other content are not replaced unless the
call is confirmed (the plan lists them; their old content stays a version).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import stat as statmod
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from lsfs import xattrs
from lsfs.composite import lock_file
from lsfs.errors import LSFSError, UserError
from lsfs.ignore import IgnoreRules
from lsfs.paths import STATE_DIR, confine, confine_dir
from lsfs.root import Root
from lsfs.syscalls import atomic_write, write_bytes

FORMAT = "lsfs-archive"
FORMAT_VERSION = 1
IMPORT_CAUSE = "import"


@dataclass
class ExportResult:
    archive: str
    files: int = 0
    symlinks: int = 0
    dirs: int = 0
    versions: int = 0
    bytes: int = 0
    skipped: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ArchiveImport:
    """What an import did, or (``done=False``) would do: ``conflicts`` need confirmation."""

    archive: str
    into: str | None
    done: bool = False
    imported: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)  # {"path", "reason"}
    refused: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    versions: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# -- encoding -----------------------------------------------------------------------------

def encode_bytes(data: bytes) -> dict:
    """``{"text": …}`` for UTF-8 content, ``{"base64": …}`` for anything else."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def decode_bytes(value) -> bytes:
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("expected {\"text\": …} or {\"base64\": …}")
    if "text" in value and isinstance(value["text"], str):
        return value["text"].encode("utf-8")
    if "base64" in value and isinstance(value["base64"], str):
        return base64.b64decode(value["base64"], validate=True)
    raise ValueError("expected {\"text\": …} or {\"base64\": …}")


# -- export -------------------------------------------------------------------------------

def _link_target(root: Root, rel: str) -> str:
    """The link's target as a path relative to its folder; ``UserError`` when it leaves the root."""
    target = os.readlink(root.path / rel)
    parent = (root.path / rel).parent
    lexical = Path(os.path.normpath(parent / target))
    real = Path(os.path.realpath(root.path / rel))
    for where in (lexical, real):
        if where != root.path and root.path not in where.parents:
            raise UserError(f"symbolic link to {target}, outside the root; not archived")
        if where.relative_to(root.path).parts[:1] == (STATE_DIR,):
            raise UserError(f"symbolic link into {STATE_DIR}/; not archived")
    # Absolute targets inside the root are made relative, so the archive fits any root.
    return target if not os.path.isabs(target) else os.path.relpath(lexical, parent)


def build_archive(root: Root, versions: bool = False, exclude: str | None = None) -> tuple[dict, ExportResult]:
    """The archive of ``root`` as a JSON-ready dict (and the counts)."""
    rules = IgnoreRules(root.path, root.config.ignore)
    result = ExportResult("")
    blobs: dict[str, dict] = {}
    files, links, skipped = [], [], []

    def keep(data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if sha not in blobs:
            blobs[sha] = encode_bytes(data)
        return sha

    for rel, st in rules.walk():
        if rel == exclude:
            continue
        if statmod.S_ISLNK(st.st_mode):
            try:
                links.append({"path": rel, "target": _link_target(root, rel)})
            except UserError as exc:
                skipped.append({"path": rel, "reason": exc.message})
            continue
        if not statmod.S_ISREG(st.st_mode):
            skipped.append({"path": rel, "reason": "not a regular file"})
            continue
        try:
            data = (root.path / rel).read_bytes()
        except OSError as exc:
            skipped.append({"path": rel, "reason": f"cannot read: {exc.strerror}"})
            continue
        row = root.catalog.file_by_path(rel)
        locked = bool(row and row.locked)
        mode = row.lock_mode if locked and row.lock_mode is not None else statmod.S_IMODE(st.st_mode)
        entry = {
            "path": rel, "mode": f"{mode:04o}", "mtime_ns": st.st_mtime_ns, "size": len(data),
            "sha256": keep(data), "locked": locked,
            "xattrs": {k: encode_bytes(v) for k, v in _xattrs(root, rel).items()},
        }
        if versions and row is not None:
            entry["versions"] = []
            for v in root.catalog.versions_of(row.id):
                try:
                    blob = root.objects.read(v.sha256)
                except (OSError, LSFSError) as exc:
                    skipped.append({"path": f"{rel}@{v.n}", "reason": f"version content unreadable ({exc})"})
                    continue
                keep(blob)
                entry["versions"].append({"n": v.n, "time": v.time, "size": v.size,
                                          "sha256": v.sha256, "cause": v.cause})
                result.versions += 1
        files.append(entry)
        result.bytes += len(data)
    archive = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "exported": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "root": str(root.path), "with_versions": bool(versions),
        "dirs": _dirs(root, rules), "files": files, "symlinks": links, "blobs": blobs,
        "skipped": skipped,
    }
    result.files, result.symlinks, result.dirs, result.skipped = len(files), len(links), len(archive["dirs"]), skipped
    return archive, result


def _xattrs(root: Root, rel: str) -> dict[str, bytes]:
    try:
        return xattrs.list_xattrs(root, rel)
    except LSFSError:
        return {}


def _dirs(root: Root, rules: IgnoreRules) -> list[str]:
    out = []
    for folder, subdirs, _ in os.walk(root.path):
        rel_folder = Path(folder).relative_to(root.path).as_posix()
        rel_folder = "" if rel_folder == "." else rel_folder
        kept = []
        for d in sorted(subdirs):
            rel = f"{rel_folder}/{d}" if rel_folder else d
            if os.path.islink(os.path.join(folder, d)) or rules.ignored(rel, is_dir=True):
                continue
            kept.append(d)
            out.append(rel)
        subdirs[:] = kept
    return sorted(out)


def export_archive(root: Root, dest: str | os.PathLike, versions: bool = False) -> ExportResult:
    """Write the archive of ``root`` to ``dest`` (atomically). Inside the root, the archive
    is written through the write path like any file LSFS makes, and left out of itself."""
    target = Path(dest).expanduser().absolute()
    if target.is_dir():
        raise UserError(f"{target} is a folder; give the archive's file name, e.g. {target / 'archive.json'}")
    inside = None
    lexical = Path(os.path.normpath(target))
    if lexical == root.path or root.path in lexical.parents:
        inside = confine(root.path, lexical)
    elif not target.parent.is_dir():
        raise UserError(f"folder {target.parent} does not exist")
    archive, result = build_archive(root, versions, exclude=inside)
    data = json.dumps(archive, ensure_ascii=False, indent=1).encode("utf-8")
    if inside is not None:
        write_bytes(root, inside, data, "write")
    else:
        atomic_write(target, data)
    result.archive = str(target)
    return result


# -- import -------------------------------------------------------------------------------

def read_archive(source: str | os.PathLike) -> tuple[dict, dict[str, bytes]]:
    """The archive's dict and its decoded, sha256-checked blobs; ``UserError`` when not one."""
    path = Path(source).expanduser()
    try:
        archive = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not an archive from 'lsfs export' (not JSON: {exc})") from None
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise UserError(f"{path} is not an archive from 'lsfs export' (no \"format\": \"{FORMAT}\")")
    if archive.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{path} is archive format {archive.get('format_version')}; this LSFS reads "
                        f"format {FORMAT_VERSION}")
    blobs = {}
    for sha, value in (archive.get("blobs") or {}).items():
        try:
            data = decode_bytes(value)
        except ValueError as exc:
            raise UserError(f"{path} is damaged: content {sha[:12]} is unreadable ({exc})") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise UserError(f"{path} is damaged: content {sha[:12]} does not match its sha256")
        blobs[sha] = data
    for key in ("files", "symlinks", "dirs"):
        if not isinstance(archive.get(key, []), list):
            raise UserError(f"{path} is damaged: {key!r} is not a list")
    return archive, blobs


def _dest(root: Root, into: str | None, path) -> str:
    if not isinstance(path, str) or not path:
        raise UserError("an entry without a path")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise UserError("an absolute path or '..' in the archive; only paths inside the root are imported")
    return confine(root.path, str(PurePosixPath(into) / pure) if into else path)


def _plan(root: Root, archive: dict, blobs: dict, into: str | None, result: ArchiveImport) -> list[tuple]:
    """(kind, rel, entry, state) for every entry; fills refused and conflicts."""
    steps = []
    for entry in archive.get("files", []):
        try:
            rel = _dest(root, into, entry.get("path"))
            data = blobs[entry["sha256"]]
            for v in entry.get("versions") or []:
                if v.get("sha256") not in blobs:
                    raise UserError(f"version {v.get('n')} has no content in the archive")
        except (LSFSError, KeyError, AttributeError, TypeError) as exc:
            reason = exc.message if isinstance(exc, LSFSError) else "malformed entry (content missing)"
            result.refused.append({"path": str(entry.get("path") if isinstance(entry, dict) else entry), "reason": reason})
            continue
        full = root.path / rel
        state = "new"
        if os.path.lexists(full):
            if not full.is_file() or full.is_symlink():
                result.conflicts.append({"path": rel, "reason": "exists and is not a regular file"})
                state = "blocked"
            elif full.read_bytes() == data:
                state = "same"
            else:
                result.conflicts.append({"path": rel, "reason": "a different file of that name exists"})
                state = "replace"
        steps.append(("file", rel, entry, state))
    for entry in archive.get("symlinks", []):
        try:
            rel = _dest(root, into, entry.get("path"))
            target = entry.get("target")
            if not isinstance(target, str) or not target or os.path.isabs(target) or "\0" in target:
                raise UserError("a symbolic link with an absolute or empty target")
            lexical = Path(os.path.normpath((root.path / rel).parent / target))
            if lexical != root.path and root.path not in lexical.parents:
                raise UserError(f"a symbolic link to {target}, outside the root")
            if lexical.relative_to(root.path).parts[:1] == (STATE_DIR,):
                raise UserError(f"a symbolic link into {STATE_DIR}/")
        except (LSFSError, AttributeError) as exc:
            reason = exc.message if isinstance(exc, LSFSError) else "malformed entry"
            result.refused.append({"path": str(entry.get("path") if isinstance(entry, dict) else entry), "reason": reason})
            continue
        full = root.path / rel
        state = "new"
        if os.path.lexists(full):
            if full.is_symlink() and os.readlink(full) == target:
                state = "same"
            else:
                result.conflicts.append({"path": rel, "reason": "something else of that name exists"})
                state = "blocked"
        steps.append(("link", rel, entry, state))
    return steps


def import_archive(root: Root, source: str | os.PathLike, into: str | None = None, confirm: bool = False) -> ArchiveImport:
    """Import an archive from ``lsfs export`` into the root (or the folder ``into``).

    Without ``confirm``, an archive that would replace existing files with other content
    changes nothing and returns the plan (``done=False``, ``conflicts`` listed). With it,
    those files are replaced through the write path (their old content stays a version).
    Entries that are not regular files on disk are never replaced. Paths are confined.
    """
    archive, blobs = read_archive(source)
    into = confine_dir(root.path, into)
    if into and os.path.lexists(root.path / into) and not (root.path / into).is_dir():
        raise UserError(f"{into} is a file, not a folder; choose another --into")
    result = ArchiveImport(str(source), into)
    steps = _plan(root, archive, blobs, into, result)
    if any(state == "replace" for _, _, _, state in steps) and not confirm:
        return result
    for d in archive.get("dirs", []):
        try:
            rel = _dest(root, into, d)
            (root.path / rel).mkdir(parents=True, exist_ok=True)
        except (LSFSError, OSError) as exc:
            result.refused.append({"path": str(d), "reason": getattr(exc, "message", None) or str(exc)})
    if into:
        (root.path / into).mkdir(parents=True, exist_ok=True)
    for kind, rel, entry, state in steps:
        try:
            if kind == "file":
                _import_file(root, rel, entry, blobs, state, result)
            elif state == "new":
                _import_link(root, rel, entry["target"])
                result.symlinks.append(rel)
            elif state == "same":
                result.unchanged.append(rel)
        except (LSFSError, OSError) as exc:
            result.failed.append({"path": rel, "reason": exc.message if isinstance(exc, LSFSError) else str(exc)})
    result.done = True
    return result


def _import_file(root: Root, rel: str, entry: dict, blobs: dict, state: str, result: ArchiveImport) -> None:
    if state == "blocked":
        return
    data = blobs[entry["sha256"]]
    if state != "same":
        last = None
        for v in entry.get("versions") or []:
            before = _latest(root, rel)
            written = write_bytes(root, rel, blobs[v["sha256"]], str(v.get("cause") or IMPORT_CAUSE))
            last = v["sha256"]
            if written.version is not None and written.version != before:
                if isinstance(v.get("time"), (int, float)):
                    _retime(root, rel, written.version, float(v["time"]))
                result.versions += 1
        if last != entry["sha256"]:
            write_bytes(root, rel, data, IMPORT_CAUSE)
            result.versions += 1
        (result.replaced if state == "replace" else result.imported).append(rel)
    else:
        result.unchanged.append(rel)
    full = root.path / rel
    row = root.catalog.file_by_path(rel)
    if row is not None and row.locked:
        return  # a locked file already in the root keeps its mode and attributes
    mode = int(str(entry.get("mode", "0644")), 8) & 0o7777
    os.chmod(full, mode)
    for name, value in (entry.get("xattrs") or {}).items():
        xattrs.set_xattr(root, rel, name, decode_bytes(value))
    mtime_ns = entry.get("mtime_ns")
    if isinstance(mtime_ns, int) and state != "same":
        os.utime(full, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
        if row is not None:  # the catalog's stat signature follows, so no re-read is due
            root.catalog.update_file(row.id, mtime_ns=os.lstat(full).st_mtime_ns)
    if entry.get("locked"):
        lock_file(root, rel)


def _latest(root: Root, rel: str) -> int | None:
    row = root.catalog.file_by_path(rel)
    latest = root.catalog.latest_version(row.id) if row else None
    return latest.n if latest else None


def _retime(root: Root, rel: str, n: int, when: float) -> None:
    """Give a recreated version its original time (in the history and the change log)."""
    row = root.catalog.file_by_path(rel)
    with root.catalog.transaction():
        root.catalog.execute("UPDATE versions SET time=? WHERE file_id=? AND n=?", (when, row.id, n))
        root.catalog.execute("UPDATE changes SET time=? WHERE file_id=? AND version=?", (when, row.id, n))


def _import_link(root: Root, rel: str, target: str) -> None:
    full = root.path / rel
    full.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, full)  # atomic, and never replaces what appeared meanwhile
    root.indexer.sync_paths([rel], cause=IMPORT_CAUSE)
