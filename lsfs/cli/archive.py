"""lsfs export, lsfs generate, and the archive side of lsfs import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lsfs.cli.common import JsonOpt, RootOpt, YesOpt, confirm, emit_json, open_fs
from lsfs.errors import UserError


def export(
    archive: Annotated[Path, typer.Argument(help="The JSON file to write (replaced if it exists).")],
    versions: Annotated[bool, typer.Option("--versions", help="Also include every recorded version of each file (time, cause, content).")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the whole tree to one JSON archive: contents (any bytes), modes, mtimes, user
    extended attributes, symlinks, locks, and with --versions the history. 'lsfs import
    ARCHIVE.json' brings it back."""
    # Absolute here: the root's owner process (lsfs watch) may run in another folder.
    target = archive.expanduser().absolute()
    with open_fs(root) as fs:
        result = fs.export_archive(str(target), versions)
    if json_out:
        emit_json(result.to_dict())
        return
    extra = f", {result.versions} version(s)" if versions else ""
    typer.echo(f"exported {result.files} file(s), {result.symlinks} symlink(s), {result.dirs} folder(s)"
               f"{extra} to {result.archive} ({result.bytes} bytes of content)")
    for s in result.skipped[:20]:
        typer.echo(f"  left out: {s['path']} ({s['reason']})", err=True)


def import_archive(fs, source: Path, into: Optional[str], yes: bool, json_out: bool) -> None:
    """``lsfs import ARCHIVE.json``: plugged into ``lsfs import`` (lsfs.cli.composite)."""
    result = fs.import_archive(str(source), into)
    if not result.done:
        for c in result.conflicts[:20]:
            typer.echo(f"  would replace: {c['path']} ({c['reason']})", err=True)
        if len(result.conflicts) > 20:
            typer.echo(f"  … and {len(result.conflicts) - 20} more", err=True)
        confirm(f"Replace these {len(result.conflicts)} file(s) with the archive's (old content stays a version)?", yes)
        result = fs.import_archive(str(source), into, confirm=True)
    if json_out:
        emit_json(result.to_dict())
        return
    where = result.into or "the root"
    typer.echo(
        f"imported {len(result.imported)} file(s) and {len(result.symlinks)} symlink(s) into {where}"
        + (f", replaced {len(result.replaced)}" if result.replaced else "")
        + (f", {len(result.unchanged)} already there" if result.unchanged else "")
        + (f", {result.versions} version(s) recorded" if result.versions else "")
    )
    problems = [("refused", e) for e in result.refused] + [("not replaced", e) for e in result.conflicts if e["path"] not in result.replaced] \
        + [("failed", e) for e in result.failed]
    for what, e in problems[:20]:
        typer.echo(f"  {what}: {e['path']} ({e['reason']})", err=True)
    if result.failed:
        raise typer.Exit(1)


def generate(
    prompt: Annotated[str, typer.Argument(help="What to create, e.g. \"a small Python package for parsing dates\".")],
    into: Annotated[Optional[str], typer.Option("--into", help="Create the files inside this folder of the root.")] = None,
    no_content: Annotated[bool, typer.Option("--no-content", help="Create the files empty, marked to be written by the LLM on first read (lsfs mount).")] = False,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Let the LLM propose a tree of files for PROMPT, show it, and create it once you confirm.

    Needs an LLM (LSFS_LLM_BASE_URL). Every path stays inside the root; proposals that
    would not (../x, /etc/x) or that exist already are refused and listed."""
    with open_fs(root) as fs:
        plan = fs.generate_plan(prompt, into)
        for r in plan.refused:
            typer.echo(f"  refused: {r['path']} ({r['reason']})", err=True)
        if not plan.files:
            raise UserError("the LLM proposed no file that can be created"
                            + (f" ({len(plan.refused)} refused, listed above)" if plan.refused else "")
                            + "; rephrase the prompt")
        typer.echo("the LLM proposes:", err=True)
        for f in plan.files:
            typer.echo(f"  {f['path']}" + (f"  - {f['description']}" if f["description"] else ""), err=True)
        how = "empty, to be written on first read" if no_content else "with content written by the LLM"
        confirm(f"Create these {len(plan.files)} file(s) {how}?", yes)
        result = fs.generate_tree(plan.files, content=not no_content)
    if json_out:
        emit_json({"prompt": plan.prompt, "into": plan.into, **result.to_dict(),
                   "refused": plan.refused + result.refused})
        return
    for c in result.created:
        note = f"{c['size']} bytes" if c["generated"] else "empty, marked user.lsfs.generator=llm"
        typer.echo(f"created: {c['path']} ({note})")
    for f in result.failed:
        typer.echo(f"  not generated: {f['path']} ({f['reason']}); left empty and marked for a retry", err=True)


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(export)
