"""Running a plan: the one place a ``Plan`` (DESIGN.md's plan contract) becomes a call.

    outcome = execute(fs, plan)                  # retrievals, reads: run at once
    outcome = execute(fs, plan)                  # destructive: done=False, says what would happen
    outcome = execute(fs, plan, confirm=True, shown=outcome)   # after the user said yes

``fs`` is an ``LSFS`` or a ``RemoteLSFS`` (the owner socket's proxy), so only methods named in
``LSFS.RPC_METHODS`` are used here. A plan is data, wherever it came from (the rule-based
parser, an LLM, an MCP client): it is validated again here, ``destructive`` is recomputed
from the api and its arguments (a plan's own claim is ignored), every name goes through
``fs.resolve`` and every path through the facade's confinement. A destructive plan, and an
import (it copies from outside the root), do nothing without ``confirm=True``.

With ``shown`` (the preview outcome the user confirmed), the confirmed call refuses (exit 3)
when the files it would touch are no longer the ones shown: what a person agreed to is what
happens.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import Any

from lsfs.errors import Ambiguous, LSFSError, NotFound, Refused, UserError
from lsfs.parser.plan import API_ARGS, Plan, is_destructive, validate_plan

__all__ = ["Outcome", "execute", "describe", "needs_confirmation", "as_plan", "RETRIEVALS"]

# What a plan's k means when the sentence gave none.
DEFAULT_K = 5
RETRIEVALS = ("semantic_retrieve", "keywords_retrieve", "integrated_retrieve", "retrieve_summary")
# Not destructive, but it reads a folder outside the root that a sentence (or an LLM) named:
# a person must agree to it.
OUTSIDE_READS = frozenset({"create"})


@dataclass
class Outcome:
    """What ``execute`` did (``done``) or would do (``done=False``), in data and in words."""

    api: str
    args: dict
    done: bool
    result: Any = None          # JSON-able: dicts, lists, strings, numbers
    message: str = ""           # one or two plain sentences for a person
    destructive: bool = False
    needs_confirmation: bool = False
    extra: dict = field(default_factory=dict)   # what a confirmed call must find again

    def to_dict(self) -> dict:
        return {"api": self.api, "args": self.args, "done": self.done, "result": self.result,
                "message": self.message, "destructive": self.destructive,
                "needs_confirmation": self.needs_confirmation}


def _today() -> _dt.date:
    value = os.environ.get("LSFS_TODAY")
    if value:
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            pass
    return _dt.date.today()


def _exists(fs):
    """"Does this name refer to an existing file?" for ``is_destructive`` (file_join's target)."""
    def check(name: str) -> bool:
        try:
            fs.resolve(str(name))
            return True
        except Ambiguous:
            return True   # it exists, more than once
        except LSFSError:
            return False  # not found, or outside the root (the call itself will refuse)
    return check


def as_plan(fs, plan: Plan | dict) -> Plan:
    """A validated ``Plan`` from a ``Plan`` or a plan dict (``{"api", "args"}``).

    ``destructive`` is always recomputed against the files that exist now.
    """
    if isinstance(plan, Plan):
        api, args = plan.api, plan.args
    elif isinstance(plan, dict):
        api, args = plan.get("api"), plan.get("args") or {}
        if not isinstance(args, dict):
            raise UserError(f"a plan's args must be an object, not {type(args).__name__}")
    else:
        raise UserError(f"a plan must be a Plan or a dict, not {type(plan).__name__}")
    from lsfs.parser.plan import PlanError

    try:
        checked = validate_plan(str(api), args, today=_today(), exists=_exists(fs))
    except PlanError as exc:
        raise UserError(f"invalid plan: {exc}") from None
    checked.source = getattr(plan, "source", "offline") if isinstance(plan, Plan) else "client"
    return checked


def needs_confirmation(plan: Plan) -> bool:
    """Whether running ``plan`` needs a person's yes: destructive plans and imports."""
    return bool(plan.destructive) or plan.api in OUTSIDE_READS


# -- describing ------------------------------------------------------------------------------

def _q(value) -> str:
    return f'"{value}"'


def _in(args: dict) -> str:
    return f" in {args['dir']}/" if args.get("dir") else ""


def _kw(args: dict) -> str:
    words = args.get("keywords") or []
    joiner = " or " if args.get("mode") == "any" else " and "
    return joiner.join(_q(w) for w in words)


def _top(args: dict, default: int = DEFAULT_K) -> str:
    k = args.get("k") or default
    return "the best file" if k == 1 else f"the {k} best files"


def describe(plan: Plan | dict) -> str:
    """The interpreted call in plain words, e.g. 'semantic_retrieve: find the 2 files closest
    in meaning to "LLM uncertainty"'. Never runs anything."""
    if isinstance(plan, dict):
        api, args = plan.get("api"), dict(plan.get("args") or {})
    else:
        api, args = plan.api, dict(plan.args)
    a = {name: args.get(name) for name in API_ARGS.get(api, tuple(args))}
    name = a.get("name")
    words: str
    if api == "semantic_retrieve":
        words = f"find {_top(a)}{_in(a)} closest in meaning to {_q(a['query'])}"
    elif api == "keywords_retrieve":
        mode = a.get("mode") or "all"
        words = f"list the files{_in(a)} containing {'any' if mode == 'any' else 'all'} of {_kw(a)}"
    elif api == "integrated_retrieve":
        words = f"find {_top(a)}{_in(a)} containing {_kw(a)}, ranked by closeness to {_q(a['query'])}"
    elif api == "retrieve_summary":
        what = (f"closest to {_q(a['query'])}" if a.get("query") else "")
        if a.get("keywords"):
            what = (what + " and " if what else "") + f"containing {_kw(a)}"
        words = f"find {_top(a, 3)}{_in(a)} {what} and summarize each"
    elif api == "summarize":
        words = f"summarize {name}"
    elif api == "change_summary":
        if a.get("content") is None:
            words = f"say what changed in {name} lately"
        else:
            words = f"replace the content of {name} with {_short(a['content'])} and say what changed"
    elif api == "changes":
        words = f"list the changes of the last {_duration(a['since'])}" if a.get("since") else "list recent changes"
    elif api == "history":
        words = f"list the versions of {name}"
    elif api == "rollback":
        if a.get("date"):
            words = f"roll {name} back to how it was at the end of {a['date']}"
        else:
            n = a.get("versions") or 1
            words = f"roll {name} back {n} version{'s' if n != 1 else ''}"
    elif api == "link":
        words = f"make a shareable link to {name}" + (
            f" that expires in {_duration(a['expires'])}" if a.get("expires") else " that never expires")
    elif api == "create_or_get_file":
        words = f"create {name}" + (f" with {_short(a['content'])}" if a.get("content") else "") + \
            " (or open it if it exists)"
    elif api == "add_":
        words = f"append {_short(a['content'])} to {name}"
    elif api == "overwrite":
        words = f"replace the whole content of {name} with {_short(a['content'])}"
    elif api == "del_":
        if name:
            words = f"delete {name}"
        else:
            words = f"delete every file{_in(a) or ' in the whole root'} containing {_q(a.get('key_text'))}"
    elif api == "lock_file":
        words = f"lock {name} (read-only until unlocked)"
    elif api == "unlock_file":
        words = f"unlock {name}"
    elif api == "group_semantic":
        how = f"the {a['k']} files" if a.get("k") else "the files"
        words = f"move {how}{_in(a)} closest in meaning to {_q(a['query'])} into {a.get('into')}/"
    elif api == "group_keywords":
        words = f"move the files{_in(a)} containing {_kw(a)} into {a.get('into')}/"
    elif api == "file_join":
        names = ", ".join(a.get("names") or [])
        words = f"join {names} into {a['into']}" if a.get("into") else f"append the others of {names} to the first"
    elif api == "create":
        words = f"import (copy) the folder {a.get('source')} into " + (f"{a['dir']}/" if a.get("dir") else "the root")
    elif api == "translate":
        words = f"translate {name} into {a.get('language')} as a new file"
    else:
        words = "(unknown call)"
    return f"{api}: {words}"


def _short(text, limit: int = 60) -> str:
    text = " ".join(str(text or "").split())
    return _q(text if len(text) <= limit else text[: limit - 1] + "…")


_UNITS = {"Y": "year", "M": "month", "W": "week", "D": "day", "H": "hour", "S": "second"}


def _duration(iso: str) -> str:
    """'P3M' -> '3 months', 'PT48H' -> '48 hours'; anything else as given."""
    import re

    m = re.fullmatch(r"P(?:T)?(\d+)([YMWDHS])", str(iso))
    if not m:
        m = re.fullmatch(r"PT(\d+)([HMS])", str(iso))
        if not m:
            return str(iso)
        n, unit = int(m.group(1)), {"H": "hour", "M": "minute", "S": "second"}[m.group(2)]
        return f"{n} {unit}{'s' if n != 1 else ''}"
    n, unit = int(m.group(1)), _UNITS[m.group(2)]
    if str(iso).startswith("PT") and m.group(2) == "M":
        unit = "minute"
    return f"{n} {unit}{'s' if n != 1 else ''}"


# -- running ---------------------------------------------------------------------------------

def _dicts(items) -> list:
    return [i.to_dict() if hasattr(i, "to_dict") else i for i in items]


def _one(obj):
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def execute(fs, plan: Plan | dict, confirm: bool = False, shown: Outcome | None = None) -> Outcome:
    """Run ``plan`` on ``fs`` (an ``LSFS`` or ``RemoteLSFS``) and say what happened.

    Destructive plans and imports return ``done=False`` with what would happen unless
    ``confirm``; with ``shown`` (that preview), a confirmed call refuses (``Refused``, exit 3)
    if the files it would touch changed meanwhile. Name errors (``NotFound``, ``Ambiguous``)
    and every other ``LSFSError`` propagate to the caller.
    """
    p = as_plan(fs, plan)
    a = dict(p.args)
    out = Outcome(api=p.api, args=p.to_json()["args"], done=False, destructive=p.destructive,
                  needs_confirmation=needs_confirmation(p))
    handler = _HANDLERS[p.api]
    if out.needs_confirmation and not confirm:
        handler(fs, a, out, True, None, False)
        return out
    handler(fs, a, out, False, shown, confirm)
    return out


def _hits(out: Outcome, hits, what: str) -> None:
    out.result = _dicts(hits)
    out.done = True
    n = len(out.result)
    out.message = f"{n} file{'s' if n != 1 else ''} {what}" if n else f"no files {what}"


def _semantic(fs, a, out, preview, shown, confirm):
    # Ranked by the hybrid search (meaning, plus the words themselves): on Cranfield it finds
    # more of the right files than vectors alone (nDCG@10 0.443 vs 0.379, RESULTS_retrieval.md),
    # and a person asking in words wants the best files, not one ranking's.
    _hits(out, fs.search(a["query"], k=a.get("k") or DEFAULT_K, mode="hybrid", dir=a.get("dir")),
          f"match {_q(a['query'])}")


def _keywords(fs, a, out, preview, shown, confirm):
    _hits(out, fs.keywords_retrieve(a["keywords"], mode=a.get("mode") or "all", dir=a.get("dir")),
          f"contain {_kw(a)}")


def _integrated(fs, a, out, preview, shown, confirm):
    _hits(out, fs.integrated_retrieve(a["query"], a["keywords"], k=a.get("k") or DEFAULT_K,
                                      dir=a.get("dir")),
          f"contain {_kw(a)} and match {_q(a['query'])}")


def _retrieve_summary(fs, a, out, preview, shown, confirm):
    found = fs.retrieve_summary(a.get("query"), a.get("keywords"), k=a.get("k"), dir=a.get("dir"))
    _hits(out, found, "found and summarized")


def _summarize(fs, a, out, preview, shown, confirm):
    summary = fs.summarize(fs.resolve(a["name"]))
    out.result = _one(summary)
    out.done = True
    out.message = f"summary of {out.result['path']} ({out.result.get('source', 'offline')})"


def _change_summary(fs, a, out, preview, shown, confirm):
    if a.get("content") is None:
        # No new content: say what the latest recorded changes to the file were.
        rel = fs.resolve(a["name"], include_deleted=True)
        found = [c for c in _dicts(fs.changes(None, 500)) if c.get("path") == rel][:5]
        out.result = {"path": rel, "changes": found}
        out.done = True
        out.message = (f"latest change to {rel}: {found[0].get('summary') or found[0].get('cause')}"
                       if found else f"no recorded changes to {rel}")
        return
    target = _name_or_new(fs, a["name"])
    if preview:
        out.result = {"path": target, "content_size": len(a["content"].encode("utf-8"))}
        out.message = (f"would replace the content of {target} (its current content stays a "
                       f"version) and summarize the change")
        return
    report = fs.change_summary(target, a["content"])
    out.result = _one(report)
    out.done = True
    out.message = f"{report.path} is now version {report.version}: {report.summary}"


def _changes(fs, a, out, preview, shown, confirm):
    found = _dicts(fs.changes(a.get("since"), None))
    out.result = found
    out.done = True
    out.message = f"{len(found)} change{'s' if len(found) != 1 else ''}"


def _history(fs, a, out, preview, shown, confirm):
    found = fs.history(fs.resolve(a["name"], include_deleted=True))
    out.result = _one(found)
    out.done = True
    out.message = f"{out.result['path']}: {len(out.result['versions'])} version(s)"


def _rollback(fs, a, out, preview, shown, confirm):
    rel = fs.resolve(a["name"], include_deleted=True)
    versions, date = a.get("versions"), a.get("date")
    plan = fs.rollback_plan(rel, versions, date)
    out.extra = {"path": rel, "target": plan.target}
    if preview:
        out.result = _one(plan)
        out.message = "would " + plan.describe()[0].lower() + plan.describe()[1:]
        return
    expect = plan.target
    if shown is not None and shown.extra.get("target") is not None:
        if shown.extra.get("path") != rel:
            raise Refused(f"{a['name']} now names {rel}, not {shown.extra.get('path')}; nothing was changed")
        expect = shown.extra["target"]
    result = fs.rollback(rel, versions, date, expect_target=expect)
    out.result = _one(result)
    out.done = True
    out.message = (plan.describe() if not result.changed else
                   f"rolled {result.path} back to the content of version {result.target}, now version "
                   f"{result.version}; undo with: lsfs rollback {result.path} --versions 1")


def _link(fs, a, out, preview, shown, confirm):
    made = fs.link(fs.resolve(a["name"]), a.get("expires"))
    out.result = _one(made)
    out.done = True
    out.message = f"link to {out.result['path']}: {out.result['url']}"


def _name_or_new(fs, name: str) -> str:
    """The existing file a NAME refers to, else NAME itself as a new path (the facade confines
    it). Ambiguity still propagates: writing to a guess would be worse than asking."""
    try:
        return fs.resolve(name)
    except NotFound:
        return name


def _create_or_get(fs, a, out, preview, shown, confirm):
    info = fs.create_or_get_file(_name_or_new(fs, a["name"]), a.get("content"))
    out.result = _one(info)
    out.done = True
    out.message = f"created {info.path}" if info.created else f"{info.path} already exists (left unchanged)"


def _add(fs, a, out, preview, shown, confirm):
    written = fs.add_(_name_or_new(fs, a["name"]), a["content"])
    out.result = _one(written)
    out.done = True
    out.message = f"appended to {written.path} (now version {written.version})"


def _overwrite(fs, a, out, preview, shown, confirm):
    target = _name_or_new(fs, a["name"])
    if preview:
        out.result = {"path": target, "content_size": len(a["content"].encode("utf-8"))}
        out.message = f"would replace the whole content of {target} (the current content stays a version)"
        return
    written = fs.overwrite(target, a["content"])
    out.result = _one(written)
    out.done = True
    out.message = f"replaced the content of {written.path} (now version {written.version})"


def _delete(fs, a, out, preview, shown, confirm):
    if a.get("name"):
        rel = fs.resolve(a["name"])
        out.extra = {"paths": [rel]}
        if preview:
            out.result = {"paths": [rel]}
            out.message = f"would delete {rel} (its versions are kept; restore with: lsfs rollback {rel} --versions 1)"
            return
        if shown is not None and shown.extra.get("paths") not in (None, [rel]):
            raise Refused(f"{a['name']} now names {rel}, not the file shown; nothing was deleted")
        deleted = fs.del_(rel)
    else:
        if not a.get("key_text"):
            raise UserError("say which file to delete, or which text the files to delete contain")
        plan = sorted(h.path for h in fs.delete_plan(a.get("dir"), a["key_text"]))
        out.extra = {"paths": plan}
        if preview:
            out.result = {"paths": plan}
            out.message = (f"would delete {len(plan)} file(s): {', '.join(plan[:10])}"
                           f"{' …' if len(plan) > 10 else ''} (versions are kept)" if plan
                           else "no file matches; nothing would be deleted")
            return
        if shown is not None and shown.extra.get("paths") is not None and shown.extra["paths"] != plan:
            raise Refused("the files containing that text changed since they were shown; nothing was "
                          "deleted; run it again")
        deleted = fs.del_(dir=a.get("dir"), key_text=a["key_text"], confirm=True) if plan else []
    out.result = {"paths": list(deleted)}
    out.done = True
    out.message = (f"deleted {', '.join(deleted)} (restore with: lsfs rollback NAME --versions 1)"
                   if deleted else "nothing matched; nothing was deleted")


def _lock(fs, a, out, preview, shown, confirm):
    rel = fs.resolve(a["name"])
    if preview:
        out.result = {"path": rel}
        out.message = f"would lock {rel}: read-only on disk, every LSFS write refused until unlocked"
        return
    res = fs.lock_file(rel)
    out.result = _one(res)
    out.done = True
    out.message = f"locked {rel}" if res.changed else f"{rel} was already locked"


def _unlock(fs, a, out, preview, shown, confirm):
    res = fs.unlock_file(fs.resolve(a["name"]))
    out.result = _one(res)
    out.done = True
    out.message = f"unlocked {res.path}" if res.changed else f"{res.path} was not locked"


def _group(fs, a, out, preview, shown, kind: str):
    expect = None
    if shown is not None and isinstance(shown.result, dict):
        expect = [m["source"] for m in shown.result.get("moves", [])]
    if kind == "semantic":
        res = fs.group_semantic(a["query"], a.get("into"), a.get("dir"), a.get("k"),
                                confirm=not preview, expect=None if preview else expect)
    else:
        res = fs.group_keywords(a["keywords"], a.get("into"), a.get("dir"), a.get("mode") or "all",
                                confirm=not preview, expect=None if preview else expect)
    out.result = _one(res)
    out.done = bool(out.result.get("done"))
    moves = out.result.get("moves") or []
    verb = "moved" if out.done else "would move"
    out.message = (f"{verb} {len(moves)} file(s) into {out.result.get('into')}/: "
                   + ", ".join(m["source"] for m in moves[:10]) + (" …" if len(moves) > 10 else "")
                   if moves else f"no file to move into {out.result.get('into')}/")


def _join(fs, a, out, preview, shown, confirm):
    names = [fs.resolve(n) for n in a["names"]]
    res = fs.file_join(names, a.get("into"), confirm=confirm)
    out.result = _one(res)
    out.done = bool(out.result.get("done"))
    if out.done:
        out.message = f"joined {len(names)} files into {res.path} (version {res.version})"
    else:
        out.needs_confirmation = out.destructive = True
        out.message = f"would replace {res.path} with {', '.join(res.parts)} joined (its content stays a version)"


def _import(fs, a, out, preview, shown, confirm):
    if preview:
        out.result = {"source": a["source"], "into": a.get("dir")}
        out.message = (f"would copy the folder {a['source']} (outside the root) into "
                       f"{a['dir'] + '/' if a.get('dir') else 'a folder named like it'}")
        return
    res = fs.create(a["source"], a.get("dir"))
    out.result = _one(res)
    out.done = True
    out.message = f"imported {len(res.imported)} file(s) into {res.into or 'the root'}"


def _translate(fs, a, out, preview, shown, confirm):
    res = fs.translate(fs.resolve(a["name"]), a["language"], confirm=confirm)
    out.result = _one(res)
    out.done = bool(out.result.get("done"))
    if out.done:
        out.message = f"wrote the {a['language']} translation of {res.source} to {res.path}"
    else:
        # Replacing an earlier translation is a replacement: it needs a yes like any other.
        out.needs_confirmation = out.destructive = True
        out.message = f"would replace the existing {res.path} with a new translation (it stays a version)"


_HANDLERS = {
    "semantic_retrieve": _semantic,
    "keywords_retrieve": _keywords,
    "integrated_retrieve": _integrated,
    "retrieve_summary": _retrieve_summary,
    "summarize": _summarize,
    "change_summary": _change_summary,
    "changes": _changes,
    "history": _history,
    "rollback": _rollback,
    "link": _link,
    "create_or_get_file": _create_or_get,
    "add_": _add,
    "overwrite": _overwrite,
    "del_": _delete,
    "lock_file": _lock,
    "unlock_file": _unlock,
    "group_semantic": lambda fs, a, out, preview, shown, confirm: _group(fs, a, out, preview, shown, "semantic"),
    "group_keywords": lambda fs, a, out, preview, shown, confirm: _group(fs, a, out, preview, shown, "keywords"),
    "file_join": _join,
    "create": _import,
    "translate": _translate,
}
assert set(_HANDLERS) == set(API_ARGS), "every api of the plan table has a handler"
