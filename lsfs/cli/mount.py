"""lsfs mount / lsfs umount: the root as a FUSE file system."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from lsfs.cli.common import RootOpt


def mount(
    mountpoint: Annotated[Path, typer.Argument(help="An empty folder outside the root to mount on.")],
    root: RootOpt = None,
    foreground: Annotated[bool, typer.Option("--foreground", "-f", help="Serve in this process until unmounted.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Log in detail to ROOT/.lsfs/logs/ (same as LSFS_LOG=debug).")] = False,
) -> None:
    """Mount the root at MOUNTPOINT (FUSE): every write through it is versioned and indexed.

    /.lsfs/search/QUERY/, /.lsfs/versions/PATH/ and /.lsfs/README are virtual and read-only.
    Returns once the mount is up (the server runs detached); 'lsfs umount MOUNTPOINT' stops it."""
    from lsfs import mount as mount_mod
    from lsfs.errors import BackendUnavailable, UserError
    from lsfs.paths import find_root
    from lsfs.root import configure_logging

    path = Path(root).expanduser().resolve() if root is not None else find_root()
    if root is not None and not (path / ".lsfs").is_dir():
        raise UserError(f"{path} is not an LSFS root (no .lsfs/); run 'lsfs init {path}'")
    why = mount_mod.fuse_missing()
    if why:
        raise BackendUnavailable(f"cannot mount: {why}")
    mp = mount_mod.check_mountpoint(path, mountpoint)
    if debug:
        os.environ["LSFS_LOG"] = "debug"
    if not foreground:
        pid = mount_mod.spawn(path, mp)
        typer.echo(f"mounted {path} at {mp} (pid {pid}); stop with: lsfs umount {mp}")
        return
    configure_logging(path / ".lsfs", None)
    # Warnings (a failed generation, a refused write) always reach stderr, which is the
    # mount log when the mount runs detached.
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s lsfs mount: %(levelname)s %(message)s"))
    logger = logging.getLogger("lsfs")
    logger.addHandler(handler)
    if not os.environ.get("LSFS_LOG"):
        logger.setLevel(logging.WARNING)
    try:
        m = mount_mod.Mount(path, mp)
        sys.stderr.write(f"lsfs mount: serving {path} at {mp} (pid {os.getpid()})\n")
        sys.stderr.flush()
        m.run()
    finally:
        logger.removeHandler(handler)


def umount(
    mountpoint: Annotated[Path, typer.Argument(help="Where an LSFS root is mounted.")],
) -> None:
    """Unmount an LSFS mount (the same as 'fusermount3 -u MOUNTPOINT')."""
    from lsfs import mount as mount_mod

    mount_mod.umount(mountpoint)
    typer.echo(f"unmounted {Path(mountpoint).expanduser().resolve()}")


def register(app: typer.Typer) -> None:
    app.command()(mount)
    app.command()(umount)
