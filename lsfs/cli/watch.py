"""lsfs watch: the supervisor, in the foreground."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from lsfs.cli.common import RootOpt


def watch(
    root: RootOpt = None,
    poll: Annotated[
        Optional[float],
        typer.Option("--poll", help="Rescan every SECONDS instead of using inotify (network file systems).",
                     metavar="SECONDS"),
    ] = None,
) -> None:
    """Keep the index and versions in sync with everything that happens in the folder.

    Runs until Ctrl-C or SIGTERM; meanwhile other lsfs commands on this root go through it."""
    from lsfs.paths import find_root
    from lsfs.root import configure_logging
    from supervisor import Supervisor

    path = Path(root).expanduser() if root is not None else find_root()
    if root is not None and not path.is_dir():
        from lsfs.errors import UserError

        raise UserError(f"root {path} does not exist")
    if (path / ".lsfs").is_dir():
        configure_logging(path / ".lsfs", None)
    # Progress goes to the terminal through ``report``; only failures also come from the log.
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.ERROR)
    terminal.setFormatter(logging.Formatter("%(asctime)s lsfs watch: error: %(message)s", "%H:%M:%S"))
    logging.getLogger("lsfs").addHandler(terminal)
    try:
        Supervisor(path, poll=poll, report=_say).run()
    finally:
        logging.getLogger("lsfs").removeHandler(terminal)


def _say(line: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} lsfs watch: {line}\n")
    sys.stderr.flush()


def register(app: typer.Typer) -> None:
    app.command()(watch)
