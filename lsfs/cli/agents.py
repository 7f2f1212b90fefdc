"""lsfs mcp: the plan APIs as MCP tools for AI agents, on stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lsfs.cli.common import RootOpt


def mcp(
    root: RootOpt = None,
    no_watch: Annotated[
        bool,
        typer.Option("--no-watch", help="Do not host the supervisor: open the root directly "
                     "(holds its lock while serving)."),
    ] = False,
) -> None:
    """Serve this root to an MCP client (Claude Desktop, an IDE, an agent) on stdin/stdout.

    One tool per plan API (semantic_retrieve, keywords_retrieve, del_, rollback, ...).
    Destructive tools refuse unless called with confirm=true. Uses the running 'lsfs watch'
    if there is one, else hosts the supervisor in this process until the client hangs up."""
    from lsfs.mcp_server import serve_stdio
    from lsfs.paths import find_root
    from lsfs.errors import UserError
    from lsfs.root import configure_logging

    path = Path(root).expanduser() if root is not None else find_root()
    if not path.is_dir():
        raise UserError(f"root {path} does not exist")
    if (path / ".lsfs").is_dir():
        configure_logging(path / ".lsfs", None)
    serve_stdio(path, host=not no_watch)


def register(app: typer.Typer) -> None:
    app.command()(mcp)
