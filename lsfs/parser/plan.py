"""The plan contract of ``lsfs ask``: which apis exist, their argument names, which are
destructive, and the validation every plan passes before anyone may run it.

Both the offline parser and the LLM produce plans; both go through ``validate_plan``, so the
contract (DESIGN.md, "The plan contract") is enforced in one place. An LLM's answer is data:
an api outside ``API_ARGS`` or an argument of the wrong type is rejected here, never run.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from lsfs.timeparse import parse_date, parse_duration

# api -> argument names, in the order DESIGN.md's table lists them.
API_ARGS: dict[str, tuple[str, ...]] = {
    "semantic_retrieve": ("query", "k", "dir"),
    "keywords_retrieve": ("keywords", "mode", "dir"),
    "integrated_retrieve": ("query", "keywords", "k", "dir"),
    "retrieve_summary": ("query", "keywords", "k", "dir"),
    "summarize": ("name",),
    "change_summary": ("name", "content"),
    "changes": ("since",),
    "history": ("name",),
    "rollback": ("name", "versions", "date"),
    "link": ("name", "expires"),
    "create_or_get_file": ("name", "content"),
    "add_": ("name", "content"),
    "overwrite": ("name", "content"),
    "del_": ("name", "dir", "key_text"),
    "lock_file": ("name",),
    "unlock_file": ("name",),
    "group_semantic": ("query", "into", "dir", "k"),
    "group_keywords": ("keywords", "into", "dir", "mode"),
    "file_join": ("names", "into"),
    "create": ("source", "dir"),
    "translate": ("name", "language"),
}
APIS = tuple(API_ARGS)

# Always destructive: they delete, replace, move or block content. Nothing is lost (versions
# keep it), but the user must see and confirm them. Not destructive: add_ (only appends; the
# previous content stays as a version), create_or_get_file (never replaces an existing file),
# unlock_file (lifts a restriction), create (imports new files), translate (writes a new file).
# Conditionally destructive (see ``is_destructive``): file_join into an existing file, and
# change_summary when it carries new content to write.
DESTRUCTIVE = frozenset(
    {"del_", "overwrite", "rollback", "group_semantic", "group_keywords", "lock_file"}
)

# What a plan needs before it means anything; the rest may stay null.
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    # each inner tuple: at least one of these must be set
    "semantic_retrieve": (("query",),),
    "keywords_retrieve": (("keywords",),),
    "integrated_retrieve": (("query",), ("keywords",)),
    "retrieve_summary": (("query", "keywords"),),
    "summarize": (("name",),),
    "change_summary": (("name",),),
    "history": (("name",),),
    "rollback": (("name",),),
    "link": (("name",),),
    "create_or_get_file": (("name",),),
    "add_": (("name",), ("content",)),
    "overwrite": (("name",), ("content",)),
    "del_": (("name", "key_text", "dir"),),
    "lock_file": (("name",),),
    "unlock_file": (("name",),),
    "group_semantic": (("query",),),
    "group_keywords": (("keywords",),),
    "file_join": (("names",),),
    "create": (("source",),),
    "translate": (("name",), ("language",)),
}

_STR_ARGS = {"query", "dir", "name", "content", "into", "source", "language", "key_text"}


class PlanError(ValueError):
    """A plan breaks the contract; the message says how, for a retry prompt or a log."""


@dataclass
class Plan:
    """One call to run: ``api`` from the table, its ``args``, and whether it needs consent."""

    api: str
    args: dict[str, Any] = field(default_factory=dict)
    destructive: bool = False
    # Where the plan came from ("offline" rules or "llm"); not part of the JSON contract.
    source: str = field(default="offline", compare=False)

    def to_json(self) -> dict:
        """``{"api", "args", "destructive"}`` with every argument of the api, null if unsaid."""
        names = API_ARGS.get(self.api, tuple(self.args))
        return {
            "api": self.api,
            "args": {name: self.args.get(name) for name in names},
            "destructive": bool(self.destructive),
        }


def _comparable(value):
    # Free text is compared as a user reads it: case, spacing and a final period do not matter.
    if isinstance(value, str):
        return " ".join(value.lower().split()).strip(" .")
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def plan_mismatch(want: dict, got: dict) -> str | None:
    """Why the plan JSON ``got`` differs from ``want`` (its api, each argument ``want``
    states, the destructive flag), or None when it matches; the parser's tests and its
    accuracy benchmark judge with this."""
    if got["api"] != want["api"]:
        return f"api {got['api']!r} != {want['api']!r}"
    for key, value in want["args"].items():
        if _comparable(got["args"].get(key)) != _comparable(value):
            return f"{key} {got['args'].get(key)!r} != {value!r}"
    if got["destructive"] != want["destructive"]:
        return f"destructive {got['destructive']} != {want['destructive']}"
    return None


def existence_check(names: Iterable[str] = (), exists: Callable[[str], bool] | None = None):
    """A predicate "does this user-given file name already exist?".

    ``exists`` wins when given. Otherwise ``names`` (relative paths in the root) are matched by
    path, file name and stem, case-insensitively, the way the executor resolves names. No
    names means an empty root: nothing exists.
    """
    if exists is not None:
        return exists
    known: set[str] = set()
    for path in names:
        p = path.replace("\\", "/").strip("/").lower()
        base = p.rsplit("/", 1)[-1]
        known.update({p, base, base.rsplit(".", 1)[0] if "." in base else base})

    def _exists(name: str) -> bool:
        n = str(name).replace("\\", "/").strip().strip("/").lower()
        n = n[2:] if n.startswith("./") else n
        return n in known

    return _exists


def is_destructive(api: str, args: dict, exists: Callable[[str], bool]) -> bool:
    """Whether running the plan can replace, move, hide or delete existing content.

    Decided from the api and its arguments alone, never from what an LLM claims. The executor
    must still check ``file_join``'s target again at run time: the disk can change between
    parsing and running.
    """
    if api in DESTRUCTIVE:
        return True
    if api == "file_join":
        return bool(args.get("into")) and exists(str(args["into"]))
    if api == "change_summary":
        return args.get("content") is not None
    return False


def _as_int(value, name: str) -> int:
    if isinstance(value, bool):
        raise PlanError(f"{name} must be an integer, not {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise PlanError(f"{name} must be an integer, not {value!r}")
    if value < 1:
        raise PlanError(f"{name} must be at least 1, not {value}")
    return value


def _as_list(value, name: str) -> list[str]:
    if isinstance(value, str):
        value = [p for p in re.split(r"\s*,\s*", value) if p]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlanError(f"{name} must be a list of strings, not {value!r}")
    value = [v.strip() for v in value if v.strip()]
    return value


def validate_plan(
    api: str,
    args: dict | None,
    *,
    today: _dt.date,
    exists: Callable[[str], bool] | None = None,
) -> Plan:
    """Check ``api``/``args`` against the contract and return a normalised ``Plan``.

    Normalises what has one right form: ``k``/``versions`` to int, ``keywords``/``names`` to
    lists, durations to ISO 8601 ("3 months" -> "P3M"), dates to YYYY-MM-DD, ``mode`` to
    "all"/"any". Unknown apis, unknown argument names, wrong types and missing essentials
    raise ``PlanError``. ``destructive`` is computed here, whatever the source claimed.
    """
    if api not in API_ARGS:
        raise PlanError(f"api {api!r} is not one of: {', '.join(APIS)}")
    args = dict(args or {})
    allowed = API_ARGS[api]
    extra = sorted(k for k, v in args.items() if k not in allowed and v not in (None, "", []))
    if extra:
        raise PlanError(f"{api} takes only {', '.join(allowed)}; unexpected: {', '.join(extra)}")
    clean: dict[str, Any] = {}
    for name in allowed:
        value = args.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            clean[name] = None
            continue
        if name in ("k", "versions"):
            value = _as_int(value, name)
        elif name in ("keywords", "names"):
            value = _as_list(value, name) or None
        elif name == "mode":
            value = str(value).lower()
            if value not in ("all", "any"):
                raise PlanError(f"mode must be 'all' or 'any', not {value!r}")
        elif name in ("since", "expires"):
            try:
                duration = parse_duration(str(value))
            except Exception as exc:
                raise PlanError(f"{name}: {exc}") from None
            value = duration.iso if duration is not None else None
        elif name == "date":
            try:
                value = parse_date(str(value), today).isoformat()
            except Exception as exc:
                raise PlanError(f"date: {exc}") from None
        elif name in _STR_ARGS and not isinstance(value, str):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            else:
                raise PlanError(f"{name} must be a string, not {value!r}")
        clean[name] = value
    if api == "file_join" and clean["names"] is not None and len(clean["names"]) < 2:
        raise PlanError("file_join needs at least two file names in names")
    if api == "rollback" and clean["versions"] is not None and clean["date"] is not None:
        raise PlanError("rollback takes versions or date, not both")
    if api == "rollback" and clean["versions"] is None and clean["date"] is None:
        clean["versions"] = 1  # "roll back X" means the previous version
    for group in _REQUIRED.get(api, ()):
        if all(clean.get(n) is None for n in group):
            raise PlanError(f"{api} needs {' or '.join(group)}")
    check = exists if exists is not None else existence_check()
    return Plan(api=api, args=clean, destructive=is_destructive(api, clean, check))
