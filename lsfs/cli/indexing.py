"""lsfs init, index, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lsfs.cli.common import JsonOpt, RichProgress, RootOpt, emit_json, open_fs


def _summary(stats, verb: str) -> str:
    parts = [f"{verb} {stats.new} new, {stats.changed} changed, {stats.deleted} deleted"]
    if stats.moved:
        parts.append(f"{stats.moved} moved")
    parts.append(f"{stats.unchanged} unchanged")
    if stats.skipped or stats.failed:
        parts.append(f"{stats.skipped} skipped, {stats.failed} failed")
    parts.append(f"{stats.embedded_chunks} chunks embedded ({stats.reused_chunks} reused)")
    return ", ".join(parts) + f" in {stats.seconds:.1f} s"


def _stats_json(stats) -> dict:
    out = {k: getattr(stats, k) for k in stats.__dataclass_fields__ if k != "paths"}
    out["seconds"] = round(out["seconds"], 3)
    return out


def _report_problems(fs) -> None:
    bad = [f for f in fs.status(files=True)["file_states"] if f["state"] in ("skipped", "failed")]
    for f in bad[:10]:
        typer.echo(f"  {f['state']}: {f['path']} ({f['reason']})", err=True)
    if len(bad) > 10:
        typer.echo(f"  … and {len(bad) - 10} more; see 'lsfs status --files'", err=True)


def init(
    root: Annotated[Optional[Path], typer.Argument(help="Folder to manage (default: the current folder).")] = None,
    root_opt: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create .lsfs/ in a folder and index everything in it."""
    from lsfs.api import LSFS

    target = (root or root_opt or Path.cwd()).expanduser()
    with LSFS.init(target, progress=RichProgress("indexing")) as fs:
        status = fs.status()
        if json_out:
            emit_json(status)
            return
        typer.echo(
            f"LSFS root {fs.root}: {status['files']['indexed']} files indexed "
            f"({status['chunks']} chunks), {status['files']['skipped']} skipped, {status['files']['failed']} failed"
        )
        _report_problems(fs)


def index(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Files or folders (default: the whole root).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the indexes and rebuild them from disk.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-index what changed since the last run (only what changed)."""
    with open_fs(root) as fs:
        stats = fs.index(paths or None, rebuild=rebuild, progress=RichProgress("indexing"))
        if json_out:
            emit_json(_stats_json(stats))
        else:
            typer.echo(_summary(stats, "indexed"))
            if stats.skipped or stats.failed:
                _report_problems(fs)


def status(
    files: Annotated[bool, typer.Option("--files", help="List every file with its state.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Counts of indexed, skipped and failed files, chunks and versions."""
    from lsfs import owner

    with open_fs(root, readonly=True) as fs:
        st = fs.status(files=files)
    st["supervisor"] = owner.probe(st["root"])
    if json_out:
        emit_json(st)
        return
    f = st["files"]
    typer.echo(f"root: {st['root']}")
    typer.echo(f"files: {f['indexed']} indexed, {f['skipped']} skipped, {f['failed']} failed, {st['deleted']} deleted")
    typer.echo(f"chunks: {st['chunks']}   versions: {st['versions']}")
    sup = st["supervisor"]
    typer.echo(f"supervisor: running (pid {sup['pid']}, {sup['state']})" if sup["running"] else "supervisor: not running")
    if st["stale"]:
        typer.echo(f"{st['stale']} file(s) changed since indexing; run 'lsfs index'")
    if files:
        for row in st["file_states"]:
            note = f"  ({row['reason']})" if row["reason"] else ""
            lock = " [locked]" if row["locked"] else ""
            typer.echo(f"{row['state']:>8}  {row['path']}{lock}{note}")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(index)
    app.command()(status)
