"""Reading the version history: ``history``, ``diff`` and ``changes``.

Numbering (shared with ``lsfs show --version`` and ``rollback``): a file's versions are
1..N, oldest first, and version N is its current content. Every content change, from LSFS
or from outside, adds a version; a delete adds none (the file's last content stays version
N) and is recorded in the change log. Retention may remove the oldest versions; the rest
keep their numbers (see ``lsfs.retention``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import time
from dataclasses import asdict, dataclass, field

from lsfs.diffsummary import line_changes
from lsfs.errors import NotFound, UserError
from lsfs.extract import ExtractFailed, Skip, extract
from lsfs.names import resolve_name
from lsfs.root import Root
from lsfs.store.catalog import FileRow, VersionRow
from lsfs.timeparse import parse_duration


def iso_time(ts: float) -> str:
    """A catalog time as ISO 8601 in local time, with its UTC offset."""
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def lineage(root: Root, name: str) -> tuple[str, FileRow]:
    """Resolve NAME (live files first, then deleted ones) to its path and catalog row."""
    rel = resolve_name(root.path, root.catalog, name, include_deleted=True)
    row = root.catalog.file_by_path(rel, include_deleted=True)
    if row is None:
        raise NotFound(f"{rel} is not in the catalog yet; run 'lsfs index {rel}' to record it")
    return rel, row


def refresh(root: Root, rel: str) -> None:
    """Record what the disk holds now (an unseen outside edit or delete) before counting
    versions back from "now". A stat when nothing changed."""
    if not root.readonly:
        root.indexer.sync_paths([rel], cause="external")


def version_bounds(root: Root, file_id: int) -> tuple[int, int] | None:
    """(oldest kept, newest) version numbers; both ends come from the (file_id, n) index."""
    lo, hi = root.catalog.query("SELECT min(n), max(n) FROM versions WHERE file_id=?", (file_id,))[0]
    return None if hi is None else (lo, hi)


def missing_version(rel: str, bounds: tuple[int, int] | None, n: int) -> UserError:
    if bounds is None:
        return NotFound(f"{rel} has no recorded versions")
    return UserError(f"{rel} has versions {bounds[0]} to {bounds[1]}; there is no version {n}")


def as_text(rel: str, data: bytes) -> tuple[str | None, bool]:
    """(text, extracted): the bytes as UTF-8 text, else a document's extracted text
    (PDF, DOCX), else (None, False) for binary content."""
    if not data:
        return "", False
    if b"\x00" not in data[:8192]:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    try:
        return extract(rel, data).text, True
    except (Skip, ExtractFailed):
        return None, False


# -- history ---------------------------------------------------------------------------------

@dataclass
class Version:
    n: int
    time: str
    size: int
    sha256: str
    cause: str

    @classmethod
    def of(cls, row: VersionRow) -> "Version":
        return cls(row.n, iso_time(row.time), row.size, row.sha256, row.cause)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    """A file's versions, oldest first; the last one is its current content."""

    path: str
    versions: list[Version] = field(default_factory=list)
    deleted: bool = False
    deleted_at: str | None = None  # when the file left the disk, if it did

    def to_dict(self) -> dict:
        """DESIGN.md's ``history --json`` object: ``{"path", "versions": [...]}``."""
        return {"path": self.path, "versions": [v.to_dict() for v in self.versions]}


def history(root: Root, name: str) -> History:
    """Every kept version of the file NAME (deleted files included), oldest first."""
    rel, row = lineage(root, name)
    out = History(rel, [Version.of(v) for v in root.catalog.versions_of(row.id)])
    if row.state == "deleted":
        out.deleted = True
        found = root.catalog.query(
            "SELECT time FROM changes WHERE file_id=? AND cause='delete' ORDER BY time DESC LIMIT 1", (row.id,)
        )
        out.deleted_at = iso_time(found[0][0]) if found else None
    return out


# -- diff ------------------------------------------------------------------------------------

@dataclass
class Diff:
    """A unified diff between two versions (``from_n`` None: the file did not exist)."""

    path: str
    from_n: int | None
    to_n: int
    added: int
    removed: int
    binary: bool
    extracted: bool  # the text was extracted from a document format (PDF, DOCX)
    text: str

    def to_dict(self) -> dict:
        return {
            "path": self.path, "from": self.from_n, "to": self.to_n, "added": self.added,
            "removed": self.removed, "binary": self.binary, "extracted": self.extracted, "diff": self.text,
        }


def diff(root: Root, name: str, from_n: int | None = None, to_n: int | None = None) -> Diff:
    """Unified diff of NAME from version ``from_n`` to ``to_n``.

    Defaults: ``to_n`` is the current version, ``from_n`` the one before ``to_n``; the
    oldest kept version is compared with an empty file.
    """
    rel, row = lineage(root, name)
    bounds = version_bounds(root, row.id)
    if bounds is None:
        raise NotFound(f"{rel} has no recorded versions")
    for n in (from_n, to_n):
        if n is not None and not bounds[0] <= n <= bounds[1]:
            raise missing_version(rel, bounds, n)
    to_n = bounds[1] if to_n is None else to_n
    if from_n is None:
        from_n = to_n - 1 if to_n > bounds[0] else None
    new_row = root.catalog.version(row.id, to_n)
    old_row = root.catalog.version(row.id, from_n) if from_n is not None else None
    new_data = root.objects.read(new_row.sha256)
    old_data = root.objects.read(old_row.sha256) if old_row else b""
    a_label = f"a/{rel}" if old_row else "/dev/null"
    b_label = f"b/{rel}"
    a_note = f"version {from_n} ({iso_time(old_row.time)})" if old_row else ""
    b_note = f"version {to_n} ({iso_time(new_row.time)})"
    if old_row and old_row.sha256 == new_row.sha256:
        return Diff(rel, from_n, to_n, 0, 0, False, False, "")
    old_text, old_ex = as_text(rel, old_data)
    new_text, new_ex = as_text(rel, new_data)
    if old_text is None or new_text is None:
        text = f"Binary files {a_label} ({a_note or 'none'}) and {b_label} ({b_note}) differ\n"
        return Diff(rel, from_n, to_n, 0, 0, True, False, text)
    old_lines, new_lines = old_text.splitlines(keepends=True), new_text.splitlines(keepends=True)
    removed, added = line_changes(old_lines, new_lines)
    text = unified(old_lines, new_lines, a_label, b_label, a_note, b_note)
    return Diff(rel, from_n, to_n, len(added), len(removed), False, old_ex or new_ex, text)


def unified(old_lines: list[str], new_lines: list[str], a: str, b: str, a_note: str, b_note: str) -> str:
    """``diff -u`` text, with the usual marker for a last line that has no newline."""
    out = []
    for line in difflib.unified_diff(old_lines, new_lines, a, b, a_note, b_note):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# -- changes ---------------------------------------------------------------------------------

@dataclass
class Change:
    time: str
    path: str
    cause: str
    version: int | None
    summary: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def changes(root: Root, since=None, limit: int | None = None) -> list[Change]:
    """Recorded changes, newest first: every write, append, overwrite, delete, rollback,
    outside edit and move, each with its summary.

    ``since``: a duration back from now (``"1d"``, ``"48h"``, ``"2w"``, ``"3mo"``, ``"1y"``,
    ISO 8601 ``"P1D"``), a date (``"2026-11-01"``, from the start of that local day), a
    ``timedelta``, ``date`` or ``datetime``; None lists everything.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"limit must be a whole number of at least 1, not {limit!r}")
    start = since_time(since)
    sql = "SELECT time, path, cause, version, summary FROM changes"
    params: list = []
    if start is not None:
        sql += " WHERE time >= ?"
        params.append(start)
    sql += " ORDER BY time DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [Change(iso_time(t), p, c, v, s) for t, p, c, v, s in root.catalog.query(sql, params)]


def since_time(since, now: float | None = None) -> float | None:
    """The epoch time ``since`` (see ``changes``) stands for."""
    now = time.time() if now is None else now
    if since is None or since == "":
        return None
    if isinstance(since, dt.datetime):
        return since.timestamp()
    if isinstance(since, dt.date):
        return dt.datetime.combine(since, dt.time()).timestamp()
    if isinstance(since, dt.timedelta):
        return now - since.total_seconds()
    if not isinstance(since, str):
        raise UserError(f"since must be a duration like 1d or P1D, or a date, not {since!r}")
    text = since.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time()).timestamp()
        except ValueError:
            raise UserError(f"{since!r} is not a real date; use YYYY-MM-DD") from None
    span = parse_duration(text)
    if span is None:
        raise UserError(f"since {since!r} is not a time in the past; use e.g. 48h, 7d, 2w, 3mo, 1y or P1D")
    return span.subtract_from(dt.datetime.fromtimestamp(now)).timestamp()


