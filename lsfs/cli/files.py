"""lsfs show, write, rm."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lsfs.cli.common import DirOpt, JsonOpt, RootOpt, YesOpt, confirm, emit_json, open_fs, pick
from lsfs.errors import UsageError, UserError


def show(
    name: Annotated[str, typer.Argument(help="A path, file name or stem.")],
    version: Annotated[Optional[int], typer.Option("--version", help="Print version N (1 = oldest).")] = None,
    root: RootOpt = None,
) -> None:
    """Print a file, or one of its versions."""
    with open_fs(root, readonly=True) as fs:
        rel = pick(fs, name, include_deleted=version is not None)
        path, data = fs.read(rel, version)
    if not sys.stdout.isatty():
        sys.stdout.buffer.write(data)
        return
    from lsfs.extract import ExtractFailed, Skip, extract

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = extract(path, data).text
        except (Skip, ExtractFailed):
            raise UserError(f"{path} is binary; redirect it to a file: lsfs show {name} > copy") from None
        typer.secho(f"[text extracted from {path}]", dim=True, err=True)
    typer.echo(text, nl=not text.endswith("\n"))


def write(
    name: Annotated[str, typer.Argument(help="The file to write (created if missing).")],
    stdin: Annotated[Optional[str], typer.Argument(help="'-' reads the content from standard input.", show_default=False)] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="The content.")] = None,
    from_file: Annotated[Optional[Path], typer.Option("--from", help="Take the content from this file.")] = None,
    append: Annotated[bool, typer.Option("--append", help="Add to the end instead of replacing.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Replace (or --append to) a file's content; the old content stays a version."""
    if stdin not in (None, "-"):
        raise UsageError(f"unexpected argument {stdin!r}; use '-' to read standard input")
    sources = [s for s in (text is not None, from_file is not None, stdin == "-") if s]
    if len(sources) != 1:
        raise UsageError("give exactly one of --text T, --from FILE or '-' (standard input)")
    if text is not None:
        data = text.encode("utf-8")
    elif from_file is not None:
        try:
            data = from_file.expanduser().read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {from_file}: {exc.strerror}") from None
    else:
        data = sys.stdin.buffer.read()
    with open_fs(root) as fs:
        if append:
            result = fs.add_(pick(fs, name), data)
        else:
            try:
                target = pick(fs, name)
            except UserError as exc:
                if type(exc).__name__ != "NotFound":
                    raise
                target = name
            result = fs.overwrite(target, data)
    if json_out:
        emit_json(result.to_dict())
    else:
        typer.echo(f"{result.cause}: {result.path} ({result.size} bytes, version {result.version})")


def rm(
    name: Annotated[Optional[str], typer.Argument(help="The file to delete.")] = None,
    containing: Annotated[Optional[str], typer.Option("--containing", help="Delete every file containing this text.")] = None,
    dir: DirOpt = None,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete a file, or every file in a folder that contains some text (asks first).

    Deleted content stays in the history: 'lsfs rollback NAME --versions 1' restores it."""
    if bool(name) == bool(containing):
        raise UsageError("give a file NAME, or --containing TEXT (with --in DIR), not both")
    with open_fs(root) as fs:
        if name:
            deleted = fs.del_(pick(fs, name))
        else:
            plan = [h.path for h in fs.delete_plan(dir, containing)]
            if not plan:
                raise UserError(f"no file{' in ' + dir if dir else ''} contains {containing!r}; nothing deleted")
            if not json_out:
                typer.echo(f"Files containing {containing!r}:", err=True)
                for p in plan:
                    typer.echo(f"  {p}", err=True)
            confirm(f"Delete these {len(plan)} file(s)?", yes)
            deleted = fs.del_(dir=dir, key_text=containing, confirm=True)
    if json_out:
        emit_json({"deleted": deleted})
    else:
        for p in deleted:
            typer.echo(f"deleted: {p}")


def register(app: typer.Typer) -> None:
    app.command()(show)
    app.command()(write)
    app.command()(rm)
