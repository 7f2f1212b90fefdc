"""lsfs link, links, revoke, serve."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lsfs.cli.common import JsonOpt, RootOpt, emit_json, open_fs, pick

ExpiresOpt = Annotated[
    Optional[str],
    typer.Option(
        "--expires",
        help="How long the link works: 48h, 7d, 2w, 3mo, 1y, an ISO 8601 duration (P3M), or 'never' (the default).",
    ),
]


def link(
    name: Annotated[str, typer.Argument(help="A path, file name or stem.")],
    expires: ExpiresOpt = None,
    live: Annotated[bool, typer.Option("--live", help="Serve the current content (follows moves) instead of a snapshot of it now.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make a shareable URL for a file (served by 'lsfs serve'); prints the URL."""
    from lsfs.errors import NotFound

    with open_fs(root) as fs:
        try:
            target = pick(fs, name)
        except NotFound:
            target = name  # fs.link says why: a folder, or no such file (with close names)
        made = fs.link(target, expires=expires, live=live)
    if json_out:
        emit_json({"url": made.url, "expires": made.expires, "id": made.id})
        return
    typer.echo(made.url)
    what = "the current content of" if made.live else "a snapshot of"
    until = f"until {made.expires}" if made.expires else "with no expiry"
    typer.echo(f"{what} {made.path}, {until}; revoke with 'lsfs revoke {made.id}'", err=True)


def links(root: RootOpt = None, json_out: JsonOpt = False) -> None:
    """List links: id, state, hits, created, expires, path."""
    with open_fs(root, readonly=True) as fs:
        found = fs.links()
    if json_out:
        emit_json({"links": [ln.to_dict() for ln in found]})
        return
    if not found:
        typer.echo("no links yet; make one with 'lsfs link NAME'", err=True)
        return
    typer.echo(f"{'ID':12}  {'STATE':7}  {'HITS':>5}  {'CREATED':25}  {'EXPIRES':25}  PATH")
    for ln in found:
        path = ln.path + ("  (live)" if ln.live else "")
        typer.echo(
            f"{ln.id:12}  {ln.state:7}  {ln.hits:>5}  {ln.created:25}  {ln.expires or 'never':25}  {path}"
        )


def revoke(
    id: Annotated[str, typer.Argument(help="The link's id (from 'lsfs links'), or its URL.")],
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke a link: from now on its URL answers 404."""
    from lsfs.apis.link import link_id_of

    with open_fs(root) as fs:
        before = next((ln for ln in fs.links() if ln.id == link_id_of(id)), None)
        done = fs.revoke(id)
    if json_out:
        emit_json({"id": done.id, "revoked": True, "path": done.path})
    elif before is not None and before.revoked:
        typer.echo(f"{done.id} was already revoked ({done.path})")
    else:
        typer.echo(f"revoked {done.id} ({done.path})")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")] = 8765,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No access log on standard error.")] = False,
    root: RootOpt = None,
) -> None:
    """Serve this root's links over HTTP, in the foreground (Ctrl-C stops)."""
    from lsfs.paths import find_root
    from lsfs.server import serve as run

    where = root.expanduser() if root is not None else find_root()

    def ready(url: str) -> None:
        typer.echo(url)  # stdout: the base URL alone, for scripts
        typer.echo(f"serving links for {where.resolve()} at {url}/l/<token> (Ctrl-C stops)", err=True)
        sys.stdout.flush()

    run(where, host, port, quiet=quiet, ready=ready)


def register(app: typer.Typer) -> None:
    app.command()(link)
    app.command()(links)
    app.command()(revoke)
    app.command()(serve)
