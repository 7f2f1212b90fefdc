"""Grouping: move the files that match a query or keywords into one folder, and undo it.

A group is planned first (which files, their scores, where each lands), then carried out
only with ``confirm=True``. Files are moved, not copied: each keeps its lineage, versions
and vectors (the catalog's path changes, nothing is re-embedded). A move never overwrites:
a name already taken in the target becomes ``name (2).ext``, and the plan says so.

Every group is recorded (tables ``groups`` and ``group_moves``) so that ``ungroup`` can put
the files back; each move also appears in the change log with cause ``move``.
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Sequence

from lsfs.errors import Locked, NotFound, Refused, UserError
from lsfs.paths import confine, confine_dir, in_dir
from lsfs.recovery import intent
from lsfs.retrieve import check_k, check_query
from lsfs.root import Root
from lsfs.store.objects import fsync_dir

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS groups(
        id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        kind TEXT NOT NULL,             -- semantic | keywords
        query TEXT NOT NULL,            -- the query, or the keywords as a JSON list
        into_dir TEXT NOT NULL,
        created_dirs TEXT NOT NULL,     -- JSON list of folders the group created (removed on undo if empty)
        undone REAL                     -- when it was undone, else NULL
    )""",
    """CREATE TABLE IF NOT EXISTS group_moves(
        group_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        file_id INTEGER NOT NULL,       -- the lineage: follows the file whatever its path
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        PRIMARY KEY(group_id, seq)
    )""",
]

# Semantic grouping without k or threshold: the files whose cosine similarity is at least
# RELATIVE x the best match's and at least FLOOR, at most DEFAULT_MAX of them. With the
# bundled model a short query scores on-topic files about 0.2-0.6 and unrelated ones below
# 0.15; a fixed cut alone fails both for short queries (all low) and long ones (all high).
RELATIVE = 0.6
FLOOR = 0.2
DEFAULT_MAX = 50


@dataclass
class Move:
    source: str
    target: str
    score: float
    renamed: bool = False       # the file's own name was taken in the target folder

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class GroupPlan:
    kind: str                   # "semantic", "keywords" or "ungroup"
    query: str | list[str]
    into: str
    rule: str                   # how the files were chosen, in words
    moves: list[Move] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)   # ungroup: {"path", "reason"}
    already_there: int = 0      # matching files already inside the target folder (left alone)
    done: bool = False
    group_id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _ensure_schema(root: Root) -> None:
    root.catalog.ensure_schema(SCHEMA)


def _target_dir(root: Root, into: str | None) -> str:
    if into is None or not str(into).strip():
        raise UserError("say which folder to group into (--into DIR)")
    rel = confine(root.path, into)
    full = root.path / rel
    if os.path.lexists(full) and not full.is_dir():
        raise UserError(f"{rel} is a file, not a folder; choose another --into")
    if root.indexer.ignore.ignored(rel, is_dir=True):
        raise UserError(f"{rel} is ignored by the root's ignore rules; files moved there would leave the index")
    return rel


def _scope(root: Root, dir: str | None) -> str | None:
    rel = confine_dir(root.path, dir)
    if rel and not (root.path / rel).is_dir():
        raise NotFound(f"no folder {dir!r} in {root.path}")
    return rel


def free_name(root: Root, folder: str, name: str, taken: set[str]) -> tuple[str, bool]:
    """``folder/name``, or ``folder/stem (2).ext`` etc. when that path is taken."""
    p = PurePosixPath(name)
    n = 1
    while True:
        candidate = name if n == 1 else f"{p.stem} ({n}){p.suffix}"
        rel = f"{folder}/{candidate}" if folder else candidate
        if rel not in taken and not os.path.lexists(root.path / rel):
            return rel, n > 1
        n += 1


def _plan_moves(root: Root, scored: list[tuple[str, float]], into: str) -> list[Move]:
    taken: set[str] = set()
    moves = []
    for path, score in scored:
        target, renamed = free_name(root, into, PurePosixPath(path).name, taken)
        taken.add(target)
        moves.append(Move(path, target, round(float(score), 6), renamed))
    return moves


def plan_semantic(
    root: Root, query: str, into: str, dir: str | None = None, k: int | None = None, threshold: float | None = None
) -> GroupPlan:
    check_query(query)
    if k is not None:
        check_k(k)
    if threshold is not None and not (isinstance(threshold, (int, float)) and -1.0 <= threshold <= 1.0):
        raise UserError(f"threshold is a cosine similarity between -1 and 1, not {threshold!r}")
    target = _target_dir(root, into)
    scope = _scope(root, dir)
    r = root.retriever
    if threshold is None:
        depth = k if k is not None else DEFAULT_MAX
    else:  # every file above the threshold
        depth = sum(1 for f in root.catalog.live_files(scope) if f.state == "indexed")
    ranked = r.file_scores(query, max(depth, 1), scope)
    if k is None and threshold is None:
        best = ranked[0][1] if ranked else 0.0
        cut = max(FLOOR, RELATIVE * best)
        chosen = [t for t in ranked if t[1] >= cut][:DEFAULT_MAX]
        rule = f"similarity >= {cut:.3f} ({RELATIVE:.0%} of the best match, at least {FLOOR}), at most {DEFAULT_MAX} files"
    else:
        chosen = [t for t in ranked if threshold is None or t[1] >= threshold]
        if k is not None:
            chosen = chosen[:k]
        rule = " and ".join(
            s for s in (f"the {k} most similar" if k is not None else "", f"similarity >= {threshold}" if threshold is not None else "") if s
        )
    # Files already in the target count as part of the group and stay where they are.
    outside = [t for t in chosen if not in_dir(t[0], target)]
    plan = GroupPlan("semantic", query, target, rule, _plan_moves(root, outside, target))
    plan.already_there = len(chosen) - len(outside)
    return plan


def plan_keywords(root: Root, keywords: Sequence[str] | str, into: str, dir: str | None = None, mode: str = "all") -> GroupPlan:
    if isinstance(keywords, str):
        keywords = [keywords]
    keywords = list(keywords)
    target = _target_dir(root, into)
    scope = _scope(root, dir)
    hits = root.retriever.keyword(keywords, mode, scope)
    chosen = [(h.path, h.score) for h in hits if not in_dir(h.path, target)]
    rule = f"contains {'all' if mode == 'all' else 'any'} of: " + ", ".join(repr(k) for k in keywords)
    plan = GroupPlan("keywords", keywords, target, rule, _plan_moves(root, chosen, target))
    plan.already_there = len(hits) - len(chosen)
    return plan


def _refuse_locked(root: Root, paths: list[str], what: str) -> None:
    locked = [p for p in paths if (row := root.catalog.file_by_path(p)) is not None and row.locked]
    if locked:
        shown = ", ".join(locked[:5]) + (" …" if len(locked) > 5 else "")
        raise Locked(f"{len(locked)} of the files to {what} are locked ({shown}); unlock them first; nothing was moved")


def _move_file(root: Root, source: str, target: str) -> str:
    """Move without ever overwriting: link to the new name, then drop the old one.

    Returns the target actually used (another free name if ``target`` appeared meanwhile)."""
    src, dst = root.path / source, root.path / target
    dst.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            os.link(src, dst, follow_symlinks=False)
        except FileExistsError:
            target, _ = free_name(root, _parent(target), PurePosixPath(source).name, {target})
            dst = root.path / target
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP):
                raise
            if os.path.lexists(dst):  # no hard links here: check, then rename
                target, _ = free_name(root, _parent(target), PurePosixPath(source).name, {target})
                dst = root.path / target
                continue
            os.rename(src, dst)
            break
        try:
            os.unlink(src)
        except OSError:
            os.unlink(dst)
            raise
        break
    fsync_dir(dst.parent)
    if src.parent != dst.parent:
        fsync_dir(src.parent)
    return target


def _missing_dirs(root: Root, rel: str) -> list[str]:
    parts = rel.split("/")
    return [
        "/".join(parts[:i]) for i in range(1, len(parts) + 1) if not (root.path / "/".join(parts[:i])).is_dir()
    ]


def _carry_out(root: Root, plan: GroupPlan, record_as: int | None = None) -> GroupPlan:
    """Capture unseen edits, move each file, and record every move as it happens."""
    from lsfs.syscalls import capture_outside_change

    for m in plan.moves:
        capture_outside_change(root, m.source)
    cat = root.catalog
    if record_as is None:
        created = _missing_dirs(root, plan.into)
        (root.path / plan.into).mkdir(parents=True, exist_ok=True)
        query = plan.query if isinstance(plan.query, str) else json.dumps(plan.query)
        with cat.transaction():
            cur = cat.execute(
                "INSERT INTO groups(time, kind, query, into_dir, created_dirs) VALUES(?, ?, ?, ?, ?)",
                (time.time(), plan.kind, query, plan.into, json.dumps(created)),
            )
        plan.group_id = cur.lastrowid
    done = 0
    moving = [p for m in plan.moves for p in (m.source, m.target)]
    try:
        with intent(cat, "group", moving, "external") as tracked:
            for seq, m in enumerate(plan.moves):
                row = cat.file_by_path(m.source)
                m.target = _move_file(root, m.source, m.target)
                tracked.append(m.target)  # free_name may have picked another name meanwhile
                with cat.transaction():
                    root.indexer.move(m.source, m.target)
                    if record_as is None and row is not None:
                        cat.execute(
                            "INSERT INTO group_moves(group_id, seq, file_id, src, dst) VALUES(?, ?, ?, ?, ?)",
                            (plan.group_id, seq, row.id, m.source, m.target),
                        )
                done += 1
    except OSError as exc:
        undo = f"; 'lsfs ungroup {plan.group_id}' puts them back" if record_as is None and done else ""
        raise UserError(f"moved {done} of {len(plan.moves)} files, then: {exc.strerror or exc} ({m.source}){undo}") from None
    plan.done = True
    return plan


def _execute(root: Root, plan: GroupPlan, confirm: bool, expect: Sequence[str] | None) -> GroupPlan:
    if not plan.moves:
        if plan.already_there:
            raise UserError(f"every matching file is already in {plan.into}; nothing was moved")
        hint = "; give -k N or --threshold to take weaker matches" if plan.kind == "semantic" else ""
        raise UserError(f"no file matches ({plan.rule}){hint}; nothing was moved")
    if expect is not None and sorted(expect) != sorted(m.source for m in plan.moves):
        raise Refused("the matching files changed since the plan was shown; run the command again; nothing was moved")
    _refuse_locked(root, [m.source for m in plan.moves], "group")
    if not confirm:
        return plan
    _ensure_schema(root)
    return _carry_out(root, plan)


def group_semantic(
    root: Root, query: str, into: str, dir: str | None = None, k: int | None = None,
    threshold: float | None = None, confirm: bool = False, expect: Sequence[str] | None = None,
) -> GroupPlan:
    """Move the files most similar in meaning to ``query`` into the folder ``into``.

    Without ``k`` or ``threshold``: the files scoring at least 60% of the best match's
    cosine similarity and at least 0.2, at most 50. Returns the plan, unchanged on disk,
    unless ``confirm``; ``expect`` (the sources a user was shown) makes the call refuse if
    the plan changed meanwhile. Locked files refuse the whole group (nothing moves).
    """
    return _execute(root, plan_semantic(root, query, into, dir, k, threshold), confirm, expect)


def group_keywords(
    root: Root, keywords: Sequence[str] | str, into: str, dir: str | None = None, mode: str = "all",
    confirm: bool = False, expect: Sequence[str] | None = None,
) -> GroupPlan:
    """Move the files containing all (``mode="all"``) or any of ``keywords`` into ``into``.

    Matching is exact (the files ``lsfs grep`` finds); otherwise as ``group_semantic``.
    """
    return _execute(root, plan_keywords(root, keywords, into, dir, mode), confirm, expect)


# -- undo -----------------------------------------------------------------------------------

def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).astimezone().isoformat(timespec="seconds") if t else None


def groups(root: Root) -> list[dict]:
    """Every recorded group, newest first: id, time, kind, query, into, files, undone."""
    _ensure_schema(root)
    rows = root.catalog.query(
        "SELECT g.id, g.time, g.kind, g.query, g.into_dir, g.undone, "
        "(SELECT count(*) FROM group_moves m WHERE m.group_id = g.id) FROM groups g ORDER BY g.id DESC"
    )
    out = []
    for gid, t, kind, query, into, undone, n in rows:
        out.append({
            "id": gid, "time": _iso(t), "kind": kind,
            "query": json.loads(query) if kind == "keywords" else query,
            "into": into, "files": n, "undone": _iso(undone),
        })
    return out


def ungroup(root: Root, group_id: int | None = None, confirm: bool = False) -> GroupPlan:
    """Put the files of a group (default: the latest one not undone) back where they were.

    A file that was deleted or moved again since is left alone (listed in ``skipped``);
    a name taken at the old place becomes ``name (2).ext``. Folders the group created are
    removed when empty. Returns the plan unless ``confirm``.
    """
    _ensure_schema(root)
    cat = root.catalog
    if group_id is None:
        found = cat.query("SELECT id FROM groups WHERE undone IS NULL ORDER BY id DESC LIMIT 1")
        if not found:
            raise NotFound("there is no group to undo ('lsfs groups' lists them)")
        group_id = found[0][0]
    rows = cat.query("SELECT kind, query, into_dir, created_dirs, undone FROM groups WHERE id=?", (group_id,))
    if not rows:
        raise NotFound(f"there is no group {group_id} ('lsfs groups' lists them)")
    kind, query, into, created, undone = rows[0]
    if undone:
        raise UserError(f"group {group_id} was already undone ({_iso(undone)})")
    plan = GroupPlan("ungroup", query if kind == "semantic" else json.loads(query), into,
                     f"undo group {group_id}", group_id=group_id)
    taken: set[str] = set()
    for file_id, src, dst in cat.query(
        "SELECT file_id, src, dst FROM group_moves WHERE group_id=? ORDER BY seq DESC", (group_id,)
    ):
        row = cat.file_by_id(file_id)
        if row is None or row.state == "deleted":
            plan.skipped.append({"path": dst, "reason": "deleted since it was grouped"})
            continue
        if row.path != dst:
            plan.skipped.append({"path": dst, "reason": f"moved again since, to {row.path}"})
            continue
        if not (root.path / dst).is_file():
            plan.skipped.append({"path": dst, "reason": "no longer on disk"})
            continue
        parent = _parent(src)
        blocker = next((d for d in _ancestors(src) if os.path.lexists(root.path / d) and not (root.path / d).is_dir()), None)
        if blocker:
            plan.skipped.append({"path": dst, "reason": f"its old folder {blocker} is now a file"})
            continue
        target, renamed = free_name(root, parent, PurePosixPath(src).name, taken)
        taken.add(target)
        plan.moves.append(Move(dst, target, 0.0, renamed))
    _refuse_locked(root, [m.source for m in plan.moves], "move back")
    if not confirm:
        return plan
    _carry_out(root, plan, record_as=group_id)
    with cat.transaction():
        cat.execute("UPDATE groups SET undone=? WHERE id=?", (time.time(), group_id))
    for d in sorted(json.loads(created), key=lambda p: -p.count("/")):
        try:
            (root.path / d).rmdir()  # only when empty: files someone added stay
        except OSError:
            pass
    return plan


def _parent(rel: str) -> str:
    p = PurePosixPath(rel).parent.as_posix()
    return "" if p == "." else p


def _ancestors(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
