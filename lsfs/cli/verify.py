"""lsfs verify [--repair]: prove that catalog, objects, indexes and disk agree."""

from __future__ import annotations

from typing import Annotated

import typer

from lsfs.cli.common import JsonOpt, RootOpt, emit_json, open_fs

# Exit 1 when something disagrees: the check failed, as `git fsck` and `restic check` do.
DISAGREE_EXIT = 1


def verify(
    repair: Annotated[bool, typer.Option("--repair", help="Rebuild derived state (indexes, vectors, catalog rows) from disk; never touches your files or versions.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Prove that catalog, version objects, keyword index, vectors and disk agree (exit 0 only then)."""
    with open_fs(root) as fs:
        report = fs.verify(repair=repair)
    if json_out:
        emit_json(report.to_dict())
    else:
        for line in report.repaired:
            typer.echo(f"repaired: {line}")
        for p in report.problems:
            typer.echo(f"problem: {p.message}")
        c = report.checked
        summary = (
            f"{c.get('files', 0)} files, {c.get('versions', 0)} versions ({c.get('objects', 0)} objects re-hashed), "
            f"{c.get('chunks', 0)} chunks, {c.get('vectors', 0)} vectors checked in {report.seconds:.1f} s"
        )
        typer.echo(("all agree: " if report.ok else f"{len(report.problems)} problem(s): ") + summary)
    if not report.ok:
        if not json_out:
            hint = ("what is left needs your attention (a lost version cannot be re-created)" if repair
                    else "run 'lsfs verify --repair' to rebuild the derived state from disk")
            typer.echo(f"lsfs: error: verify found {len(report.problems)} problem(s); {hint}", err=True)
        raise typer.Exit(DISAGREE_EXIT)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
