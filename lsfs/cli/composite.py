"""lsfs import, lock, unlock, group, ungroup, groups, join."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lsfs.cli.common import DirOpt, JsonOpt, RichProgress, RootOpt, YesOpt, confirm, emit_json, open_fs, pick
from lsfs.errors import UsageError, UserError


def _import_archive(fs, source: Path, into: Optional[str], yes: bool, json_out: bool) -> None:
    """``lsfs import ARCHIVE.json`` (an archive written by ``lsfs export``) plugs in here."""
    from lsfs.cli.archive import import_archive

    import_archive(fs, source, into, yes, json_out)


def import_(
    source: Annotated[Path, typer.Argument(help="A folder outside the root (or an archive from 'lsfs export').")],
    into: Annotated[Optional[str], typer.Option("--into", help="Folder inside the root (default: the source's name).")] = None,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a folder into the root and index it; existing files are never overwritten.

    The source's .gitignore/.lsfsignore are honoured; symbolic links are not followed.
    An archive from 'lsfs export' is recreated instead (replacing files asks, or --yes)."""
    # Absolute here: the root's owner process (lsfs watch) may run in another folder.
    src = source.expanduser().absolute()
    with open_fs(root) as fs:
        if src.is_file() and src.suffix.lower() == ".json":
            _import_archive(fs, src, into, yes, json_out)
            return
        result = fs.create(src, into, progress=RichProgress("importing"))
    if json_out:
        emit_json(result.to_dict())
        return
    where = result.into or "the root"
    typer.echo(
        f"imported {len(result.imported)} file(s) into {where}: "
        f"{len(result.skipped)} skipped, {len(result.failed)} failed"
        + (f", {result.ignored} left out by ignore rules (.git, .gitignore, .lsfsignore)" if result.ignored else "")
    )
    problems = [("skipped", e) for e in result.skipped] + [("failed", e) for e in result.failed]
    for state, e in problems[:20]:
        typer.echo(f"  {state}: {e['path']} ({e['reason']})", err=True)
    if len(problems) > 20:
        typer.echo(f"  … and {len(problems) - 20} more (--json lists all)", err=True)


def _lock_command(locking: bool, name: str, root, json_out: bool) -> None:
    with open_fs(root) as fs:
        path = pick(fs, name)
        result = fs.lock_file(path) if locking else fs.unlock_file(path)
    if json_out:
        emit_json(result.to_dict())
    elif not result.changed:
        state = "already locked" if locking else "not locked"
        typer.echo(f"{result.path} is {state}; nothing changed")
    elif locking:
        typer.echo(f"locked: {result.path} (read-only, mode {result.mode[2:]})")
    else:
        typer.echo(f"unlocked: {result.path} (mode {result.mode[2:]} restored)")


def lock(
    name: Annotated[str, typer.Argument(help="The file to lock.")],
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make a file read-only and refuse every LSFS change to it until 'lsfs unlock'."""
    _lock_command(True, name, root, json_out)


def unlock(
    name: Annotated[str, typer.Argument(help="The file to unlock.")],
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Lift a lock and restore the file's previous permissions."""
    _lock_command(False, name, root, json_out)


def _show_plan(plan, verb: str) -> None:
    for m in plan.moves:
        note = "   (renamed: that name is taken)" if m.renamed else ""
        score = f"{m.score:8.4f}  " if plan.kind != "ungroup" else "  "
        typer.echo(f"{score}{m.source} -> {m.target}{note}", err=True)
    for s in plan.skipped:
        typer.echo(f"  left alone: {s['path']} ({s['reason']})", err=True)
    if plan.already_there:
        typer.echo(f"  ({plan.already_there} matching file(s) already in {plan.into})", err=True)
    why = f"; chosen by: {plan.rule}" if plan.kind != "ungroup" else ""
    typer.echo(f"{verb} {len(plan.moves)} file(s){why}", err=True)


def group(
    words: Annotated[Optional[list[str]], typer.Argument(help="More keywords after --keyword (or more words of the --semantic query).", show_default=False)] = None,
    semantic: Annotated[Optional[str], typer.Option("--semantic", help="Group the files closest in meaning to this query.")] = None,
    keyword: Annotated[Optional[list[str]], typer.Option("--keyword", help="Group the files containing this word or phrase (repeatable; more may follow).")] = None,
    into: Annotated[Optional[str], typer.Option("--into", help="The folder to move them into (created if missing).")] = None,
    dir: DirOpt = None,
    k: Annotated[Optional[int], typer.Option("-k", help="Semantic: at most this many files.")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Semantic: files with a similarity of at least this (0..1).")] = None,
    any_: Annotated[bool, typer.Option("--any", help="Keywords: files containing any of them (default: all).")] = False,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Move the files that match a query or keywords into one folder (shows the plan, asks).

    Nothing is overwritten: a name taken in the folder becomes 'name (2).ext'.
    Undo with 'lsfs ungroup' (the latest group) or 'lsfs ungroup ID'."""
    words = words or []
    if (semantic is None) == (not keyword):
        raise UsageError("give --semantic QUERY or --keyword KW... (one of them)")
    if into is None:
        raise UsageError("say where to put the files: --into DIR")
    if semantic is not None and any_:
        raise UsageError("--any applies to --keyword")
    if keyword and (k is not None or threshold is not None):
        raise UsageError("-k and --threshold apply to --semantic")
    with open_fs(root) as fs:
        if semantic is not None:
            query = " ".join([semantic, *words])
            run = lambda **kw: fs.group_semantic(query, into, dir, k, threshold, **kw)  # noqa: E731
        else:
            keywords = [*keyword, *words]
            run = lambda **kw: fs.group_keywords(keywords, into, dir, "any" if any_ else "all", **kw)  # noqa: E731
        plan = run()
        if not yes:
            _show_plan(plan, "would move")
        confirm(f"Move these {len(plan.moves)} file(s) into {plan.into}?", yes)
        done = run(confirm=True, expect=[m.source for m in plan.moves])
    if json_out:
        emit_json(done.to_dict())
        return
    for m in done.moves:
        typer.echo(f"moved: {m.source} -> {m.target}" + ("   (renamed: that name was taken)" if m.renamed else ""))
    typer.echo(f"group {done.group_id}: undo with 'lsfs ungroup {done.group_id}'")


def ungroup(
    group_id: Annotated[Optional[int], typer.Argument(help="The group (default: the latest not undone); see 'lsfs groups'.")] = None,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Move the files of a group back where they were (shows the plan, asks)."""
    with open_fs(root) as fs:
        plan = fs.ungroup(group_id)
        if not plan.moves:
            reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in plan.skipped[:5])
            raise UserError(f"nothing of group {plan.group_id} can be moved back ({reasons or 'it moved no files'})")
        if not yes:
            _show_plan(plan, f"group {plan.group_id}: would move back")
        confirm(f"Move these {len(plan.moves)} file(s) back?", yes)
        done = fs.ungroup(plan.group_id, confirm=True)
    if json_out:
        emit_json(done.to_dict())
        return
    for m in done.moves:
        typer.echo(f"moved back: {m.source} -> {m.target}" + ("   (renamed: that name was taken)" if m.renamed else ""))
    for s in done.skipped:
        typer.echo(f"left alone: {s['path']} ({s['reason']})", err=True)


def groups(root: RootOpt = None, json_out: JsonOpt = False) -> None:
    """The groups made with 'lsfs group', newest first (ID for 'lsfs ungroup ID')."""
    with open_fs(root) as fs:
        rows = fs.groups()
    if json_out:
        emit_json({"groups": rows})
        return
    if not rows:
        typer.echo("no groups yet", err=True)
        return
    for g in rows:
        query = g["query"] if isinstance(g["query"], str) else " ".join(map(repr, g["query"]))
        state = f"undone {g['undone']}" if g["undone"] else "active"
        typer.echo(f"{g['id']:>4}  {g['time']}  {g['files']:>3} file(s) -> {g['into']}  {g['kind']}: {query}  [{state}]")


def join(
    names: Annotated[list[str], typer.Argument(help="Two or more files, in order.")],
    into: Annotated[Optional[str], typer.Option("--into", help="Write the result to this file (default: append to the first).")] = None,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Concatenate files in order, one blank line between parts.

    Without --into, the others are appended to the first. PDF and DOCX files give their
    extracted text; text is never written into a PDF or DOCX. Every change is a version."""
    if len(names) < 2:
        raise UserError(f"join needs at least two files, got {len(names)}")
    with open_fs(root) as fs:
        parts = [pick(fs, n) for n in names]
        result = fs.file_join(parts, into)
        if not result.done:  # into an existing file: it is replaced (its content stays a version)
            typer.echo(f"{result.path} exists; joining into it replaces its content (kept as a version)", err=True)
            confirm(f"Replace {result.path} with the {len(parts)} files joined?", yes)
            result = fs.file_join(parts, into, confirm=True)
    if json_out:
        emit_json(result.to_dict())
        return
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    how = "appended to" if result.appended else "joined into"
    others = result.parts[1:] if result.appended else result.parts
    typer.echo(f"{how} {result.path}: {', '.join(others)} ({result.size} bytes, version {result.version})")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(lock)
    app.command()(unlock)
    app.command()(group)
    app.command()(ungroup)
    app.command()(groups)
    app.command()(join)

