"""lsfs history, diff, rollback, changes."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Optional

import typer

from lsfs.cli.common import JsonOpt, RootOpt, YesOpt, confirm, emit_json, open_fs, pick
from lsfs.errors import UsageError

NameArg = Annotated[str, typer.Argument(help="A path, file name or stem (deleted files too).")]


def _local(iso: str) -> str:
    """An ISO time from the API as 'YYYY-MM-DD HH:MM:SS' local time, for people."""
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def history(name: NameArg, root: RootOpt = None, json_out: JsonOpt = False) -> None:
    """List a file's versions, oldest first (the last one is its current content)."""
    with open_fs(root, readonly=True) as fs:
        found = fs.history(pick(fs, name, include_deleted=True))
    if json_out:
        emit_json(found.to_dict())
        return
    count = len(found.versions)
    head = f"{found.path}: {count} version{'s' if count != 1 else ''}"
    if found.deleted:
        head += f", deleted {_local(found.deleted_at)}" if found.deleted_at else ", deleted"
        head += f" (restore: lsfs rollback {found.path} --versions 1)"
    typer.echo(head)
    if not found.versions:
        return
    width = max(len(str(v.size)) for v in found.versions)
    for v in found.versions:
        mark = "  current" if v is found.versions[-1] and not found.deleted else ""
        typer.echo(f"{v.n:>5}  {_local(v.time)}  {v.size:>{width}} B  {v.cause:<9}  {v.sha256[:12]}{mark}")


def diff(
    name: NameArg,
    from_n: Annotated[Optional[int], typer.Option("--from", help="Older version (default: the one before --to).")] = None,
    to_n: Annotated[Optional[int], typer.Option("--to", help="Newer version (default: the current one).")] = None,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what changed between two versions as a unified diff (default: previous vs current)."""
    with open_fs(root, readonly=True) as fs:
        found = fs.diff(pick(fs, name, include_deleted=True), from_n, to_n)
    if json_out:
        emit_json(found.to_dict())
        return
    if found.extracted:
        typer.secho("[comparing the text extracted from the documents]", dim=True, err=True)
    if not found.text:
        what = f"version {found.from_n} and {found.to_n}" if found.from_n else f"version {found.to_n}"
        typer.echo(f"no differences between {what} of {found.path}", err=True)
        return
    if not sys.stdout.isatty():
        sys.stdout.write(found.text)
        return
    for line in found.text.splitlines():
        if line.startswith(("+++", "---")):
            typer.secho(line, bold=True)
        elif line.startswith("@@"):
            typer.secho(line, fg="cyan")
        elif line.startswith("+"):
            typer.secho(line, fg="green")
        elif line.startswith("-"):
            typer.secho(line, fg="red")
        else:
            typer.echo(line)


def rollback(
    name: NameArg,
    versions: Annotated[
        Optional[int], typer.Option("--versions", help="Go back N versions (N-th version before the current one).")
    ] = None,
    to: Annotated[
        Optional[str], typer.Option("--to", help="Restore the file as it was at the end of this day (YYYY-MM-DD, local time).")
    ] = None,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Restore an earlier version (or a deleted file) as a new version.

    Shows what will change and asks unless --yes; undo with --versions 1."""
    if (versions is None) == (to is None):
        raise UsageError("give exactly one of --versions N (how many versions back) or --to YYYY-MM-DD")
    with open_fs(root) as fs:
        rel = pick(fs, name, include_deleted=True)
        plan = fs.rollback_plan(rel, versions, to)
        if plan.unchanged:
            result = fs.rollback(rel, versions, to, expect_target=plan.target)
        else:
            typer.echo(plan.describe(), err=True)
            verb = "Restore" if plan.deleted else "Roll back"
            confirm(f"{verb} {plan.path} to version {plan.target}?", yes)
            result = fs.rollback(rel, versions, to, expect_target=plan.target)
    if json_out:
        emit_json(result.to_dict())
    elif not result.changed:
        typer.echo(plan.describe())
    elif result.restored:
        typer.echo(f"restored {result.path} with the content of version {result.target} (now version {result.version})")
    else:
        typer.echo(
            f"rolled back {result.path} to the content of version {result.target}, recorded as version "
            f"{result.version}; undo with: lsfs rollback {result.path} --versions 1"
        )


def changes(
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only this recent: 48h, 7d, 2w, 3mo, 1y, P1D, or a date YYYY-MM-DD.")
    ] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="At most this many (newest first).")] = None,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List recent changes, newest first: time, cause, path and what changed."""
    with open_fs(root, readonly=True) as fs:
        found = fs.changes(since, limit)
    if json_out:
        emit_json({"since": since, "changes": [c.to_dict() for c in found]})
        return
    if not found:
        typer.echo("no changes" + (f" in the last {since}" if since else ""), err=True)
        return
    for c in found:
        version = f" v{c.version}" if c.version else ""
        typer.echo(f"{_local(c.time)}  {c.cause:<9}  {c.path}{version}")
        if c.summary:
            typer.secho(f"    {c.summary}", dim=True)


def register(app: typer.Typer) -> None:
    app.command()(history)
    app.command()(diff)
    app.command()(rollback)
    app.command()(changes)
