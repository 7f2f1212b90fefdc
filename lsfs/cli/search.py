"""lsfs search, grep."""

from __future__ import annotations

from typing import Annotated

import typer

from lsfs.cli.common import DirOpt, JsonOpt, RootOpt, Timer, emit_json, open_fs, print_hits


def search(
    query: Annotated[str, typer.Argument(help="What you are looking for, in your own words.")],
    k: Annotated[int, typer.Option("-k", help="How many files.")] = 10,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, semantic or keyword (BM25).")] = "hybrid",
    dir: DirOpt = None,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Find files by meaning (and words): best first, one line per file."""
    with open_fs(root) as fs, Timer() as t:
        hits = fs.search(query, k=k, mode=mode, dir=dir)
    if json_out:
        emit_json({"query": query, "mode": mode, "took_ms": t.ms, "results": [h.to_dict() for h in hits]})
    else:
        print_hits(hits)


def grep(
    keywords: Annotated[list[str], typer.Argument(help="Words or phrases (quote phrases).")],
    any_: Annotated[bool, typer.Option("--any", help="Files containing any of them.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Files containing all of them (default).")] = False,
    case_sensitive: Annotated[bool, typer.Option("--case-sensitive", help="Match case exactly.")] = False,
    dir: DirOpt = None,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Files whose text contains the keywords: the same files `grep -rliF` finds."""
    from lsfs.errors import UsageError

    if any_ and all_:
        raise UsageError("choose --all or --any, not both")
    mode = "any" if any_ else "all"
    with open_fs(root, readonly=True) as fs, Timer() as t:
        hits = fs.keywords_retrieve(keywords, mode=mode, dir=dir, case_sensitive=case_sensitive)
    if json_out:
        emit_json({"query": keywords, "mode": mode, "took_ms": t.ms, "results": [h.to_dict() for h in hits]})
        return
    if not hits:
        typer.echo("no matches", err=True)
        raise typer.Exit(1)
    import sys

    for h in hits:
        typer.echo(h.path)
        if sys.stdout.isatty():
            typer.secho(f"    {h.snippet[:160]}", dim=True)


def register(app: typer.Typer) -> None:
    app.command()(search)
    app.command()(grep)
