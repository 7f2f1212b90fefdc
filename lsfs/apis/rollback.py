"""Rollback: bring back an earlier version of a file, exactly, undoably and fast.

- ``versions=k`` restores version N-k, where N is the current version: ``versions=3`` after
  versions 1..5 restores version 2. For a deleted file the delete is the current state, so
  ``versions=1`` restores its last content (version N), ``versions=2`` version N-1, and so on.
- ``date="YYYY-MM-DD"`` restores the newest version whose time is on or before the end of
  that day in local time.
- The old content is written as a NEW version (cause ``rollback``) through the one write
  path (``lsfs.syscalls.write_bytes``): disk, keyword index and vectors change in that one
  call, a locked file is refused, and ``versions=1`` undoes the rollback.
- Depth costs nothing: the target is one lookup on the (file_id, n) primary key, and the
  work after that depends on the content, not on how far back it lies.

``rollback_plan`` says what a rollback would do (target version, diff stat) without doing
it; the CLI shows it and asks before calling ``rollback``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from lsfs.apis.history import as_text, iso_time, lineage, refresh, version_bounds
from lsfs.diffsummary import diff_stat
from lsfs.errors import Locked, NotFound, Refused, UsageError, UserError
from lsfs.paths import confine
from lsfs.root import Root
from lsfs.store.catalog import FileRow, VersionRow
from lsfs.syscalls import write_bytes

CAUSE = "rollback"


@dataclass
class RollbackPlan:
    """What ``rollback`` with the same arguments would do."""

    path: str
    current: int | None   # the current version; None when the file is deleted
    target: int           # the version whose content comes back
    target_time: str
    target_cause: str
    deleted: bool         # the file is deleted now; the rollback restores it
    unchanged: bool       # the file already has exactly the target's content
    added: int            # lines the rollback adds …
    removed: int          # … and removes
    binary: bool
    current_size: int
    target_size: int

    def stat(self) -> str:
        """The diff stat: "+3 -5 lines", or sizes for binary content."""
        if self.unchanged:
            return "no change"
        if self.binary:
            before = "nothing" if self.deleted else f"{self.current_size} bytes"
            return f"binary content, {before} -> {self.target_size} bytes"
        return f"+{self.added} -{self.removed} lines"

    def describe(self) -> str:
        when = dt.datetime.fromisoformat(self.target_time).strftime("%Y-%m-%d %H:%M")
        where = f"version {self.target} ({when}, {self.target_cause})"
        if self.unchanged:
            return f"{self.path} already has the content of {where}; nothing to do"
        if self.deleted:
            return f"Restore deleted {self.path} from {where}: {self.stat()}"
        return f"Roll {self.path} back from version {self.current} to {where}: {self.stat()}"

    def to_dict(self) -> dict:
        return {**asdict(self), "stat": self.stat()}


@dataclass
class RollbackResult:
    path: str
    target: int            # the version whose content was restored
    version: int | None    # the version the file is at now (the new "rollback" version)
    previous: int | None   # the version it was at before; None when it was deleted
    restored: bool         # it was deleted and is back on disk
    changed: bool          # False when it already had the target's content
    added: int
    removed: int

    def to_dict(self) -> dict:
        return asdict(self)


def _check_args(versions, date, today: dt.date) -> tuple[int | None, dt.date | None]:
    if (versions is None) == (date is None):
        raise UsageError("give exactly one of --versions N (how many versions back) or --to YYYY-MM-DD")
    if versions is not None:
        if isinstance(versions, bool) or not isinstance(versions, int):
            raise UserError(f"--versions must be a whole number of versions back, not {versions!r}")
        if versions < 1:
            raise UserError(
                f"--versions must be 1 or more (how many versions back), not {versions}; "
                "'lsfs history NAME' lists the versions"
            )
        return versions, None
    day = parse_day(date, today)
    if day > today:
        raise UserError(f"--to {day.isoformat()} is in the future (today is {today.isoformat()})")
    return None, day


def parse_day(date, today: dt.date) -> dt.date:
    """A calendar day from ``YYYY-MM-DD``, ``today``, ``yesterday`` or a ``date``."""
    if isinstance(date, dt.datetime):
        raise UserError("--to takes a day (YYYY-MM-DD), not a date and time")
    if isinstance(date, dt.date):
        return date
    text = str(date).strip()
    relative = {"today": 0, "yesterday": 1}.get(text.lower())
    if relative is not None:
        return today - dt.timedelta(days=relative)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise UserError(f"--to takes a date as YYYY-MM-DD (or today, yesterday), not {str(date)!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--to {text}: no such date") from None


def end_of_day(day: dt.date) -> float:
    """The first instant after ``day`` ends, in local time (DST-safe)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).timestamp()


def _by_steps(root: Root, rel: str, row: FileRow, latest: VersionRow, steps: int) -> VersionRow:
    deleted = row.state == "deleted"
    # A delete adds no version, so for a deleted file "now" sits one step after version N.
    now_n = latest.n + 1 if deleted else latest.n
    found = root.catalog.version(row.id, now_n - steps)  # primary-key lookup: flat in depth
    if found is not None:
        return found
    lo, hi = version_bounds(root, row.id)
    back = now_n - lo
    count = f"{hi - lo + 1} version{'s' if hi > lo else ''}"
    if lo > 1:
        count += f" kept ({lo} to {hi}; older ones were removed by the retention settings)"
    elif hi > 1:
        count += f" (1 to {hi})"
    if deleted:
        raise UserError(f"{rel} was deleted and has {count}, so --versions can be 1 to {back}, not {steps}")
    if back == 0:
        raise UserError(f"{rel} has {count}, the current one; there is no earlier version to roll back to")
    raise UserError(f"{rel} has {count}, the current one is {hi}, so --versions can be 1 to {back}, not {steps}")


def _by_date(root: Root, rel: str, row: FileRow, day: dt.date) -> VersionRow:
    rows = root.catalog.query(
        "SELECT file_id, n, time, size, sha256, cause FROM versions WHERE file_id=? AND time < ? "
        "ORDER BY time DESC, n DESC LIMIT 1",
        (row.id, end_of_day(day)),
    )
    if rows:
        return VersionRow(*rows[0])
    first = root.catalog.query("SELECT min(time) FROM versions WHERE file_id=?", (row.id,))[0][0]
    raise UserError(
        f"{rel} has no version from {day.isoformat()} or earlier; its oldest kept version is from "
        f"{dt.datetime.fromtimestamp(first).strftime('%Y-%m-%d %H:%M')}"
    )


def rollback_plan(root: Root, name: str, versions: int | None = None, date=None) -> RollbackPlan:
    """What ``rollback(name, versions=…, date=…)`` would restore, and the diff stat.

    Raises on bad input exactly as ``rollback`` does, and ``Locked`` for a locked file, so a
    caller can show the plan and ask knowing the rollback itself will not be refused.
    """
    steps, day = _check_args(versions, date, root.config.today_date())
    rel, row = lineage(root, name)
    refresh(root, rel)
    row = root.catalog.file_by_id(row.id)
    latest = root.catalog.latest_version(row.id)
    if latest is None:
        raise NotFound(f"{rel} has no recorded versions (LSFS never read its content)")
    deleted = row.state == "deleted"
    if row.locked and not deleted:
        raise Locked(f"{rel} is locked; run 'lsfs unlock {rel}' first")
    target = _by_steps(root, rel, row, latest, steps) if steps is not None else _by_date(root, rel, row, day)
    unchanged = not deleted and target.sha256 == latest.sha256
    added = removed = 0
    binary = False
    if not unchanged:
        new_text, _ = as_text(rel, _read(root, rel, target))
        old_text = None if deleted else as_text(rel, _read(root, rel, latest))[0]
        if new_text is None or (old_text is None and not deleted):
            binary = True
        else:
            added, removed = diff_stat(old_text, new_text)
    return RollbackPlan(
        rel, None if deleted else latest.n, target.n, iso_time(target.time), target.cause, deleted,
        unchanged, added, removed, binary, 0 if deleted else latest.size, target.size,
    )


def _read(root: Root, rel: str, version: VersionRow) -> bytes:
    if not root.objects.has(version.sha256):
        raise UserError(
            f"the content of {rel} version {version.n} is missing from .lsfs/objects; "
            "run 'lsfs verify' to see what else is damaged"
        )
    return root.objects.read(version.sha256)


def rollback(
    root: Root, name: str, versions: int | None = None, date=None, *,
    confirm: bool = True, expect_target: int | None = None,
) -> RollbackResult:
    """Restore an earlier version of NAME as a new version (see the module docstring).

    ``confirm=False`` refuses (exit 3) with the plan in the message instead of writing.
    ``expect_target``: the target a preview showed; if the file changed since and the
    same arguments now mean another version, refuse (exit 3) rather than restore it.
    """
    plan = rollback_plan(root, name, versions, date)
    if expect_target is not None and plan.target != expect_target:
        raise Refused(
            f"{plan.path} changed since the preview: the same arguments now mean version "
            f"{plan.target}, not {expect_target}; nothing was changed, run the command again"
        )
    if plan.unchanged:  # nothing to confirm: the file already is what was asked for
        return RollbackResult(plan.path, plan.target, plan.current, plan.current, False, False, 0, 0)
    if not confirm:
        raise Refused(f"{plan.describe()}; needs confirmation (confirm=True, or --yes)")
    row = root.catalog.file_by_path(plan.path, include_deleted=True)
    data = _read(root, plan.path, root.catalog.version(row.id, plan.target))
    # The path came from the catalog: confine it again, since a folder on the way may have
    # become a symbolic link (out of the root) after the file was deleted.
    rel = confine(root.path, plan.path)
    try:
        written = write_bytes(root, rel, data, CAUSE)
    except (NotADirectoryError, FileExistsError):
        raise UserError(f"cannot restore {rel}: a file now stands where one of its folders was") from None
    return RollbackResult(
        rel, plan.target, written.version, plan.current, plan.deleted, True, plan.added, plan.removed,
    )
