"""What every command shares: options, opening the root, confirmation, output."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from lsfs.errors import Ambiguous, Refused, UsageError

RootOpt = Annotated[
    Optional[Path],
    typer.Option("--root", help="The LSFS root (default: the nearest .lsfs/ above the current folder)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")]
DirOpt = Annotated[Optional[str], typer.Option("--in", help="Only inside this folder of the root.")]


def _open(root: Path | None, readonly: bool):
    """The running owner's ``RemoteLSFS`` if a supervisor answers (writing commands), else
    the root opened here: under its lock, or read-only (the catalog only)."""
    from lsfs import owner
    from lsfs.errors import Busy
    from lsfs.paths import find_root
    from lsfs.root import configure_logging

    path = Path(root).expanduser() if root is not None else find_root()
    if (path / ".lsfs").is_dir():
        configure_logging(path / ".lsfs", None)  # --debug / LSFS_LOG=debug: .lsfs/logs/lsfs.log
        logging.getLogger("lsfs.cli").debug("lsfs %s on %s", " ".join(sys.argv[1:]), path)
    if readonly:
        from lsfs.api import LSFS

        return LSFS.open(path, readonly=True)
    if path.is_dir():
        remote = owner.connect(path)
        if remote is not None:
            return remote
    from lsfs.api import LSFS

    try:
        return LSFS.open(path, readonly=False)
    except Busy:
        # A supervisor that was starting up while we waited for the lock answers now.
        remote = owner.connect(path)
        if remote is None:
            raise
        return remote


@contextmanager
def open_fs(root: Path | None, *, readonly: bool = False) -> Iterator:
    """The root for one command; the one place the CLI chooses how to reach it.

    With a supervisor (``lsfs watch``) running, writing commands go to it over the owner
    socket: it alone may open the vector store, and its warm model answers fast.
    Otherwise the command opens the root itself, holding the root's lock until done.
    ``readonly`` commands read only the catalog, which is safe beside any writer, and
    need no lock."""
    fs = _open(root, readonly)
    try:
        yield fs
    finally:
        fs.close()


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=_plain) + "\n")


def _plain(obj):
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot render {type(obj).__name__} as JSON")


def interactive() -> bool:
    return sys.stdin.isatty()


def confirm(question: str, yes: bool) -> None:
    """Go on only with ``--yes`` or a "yes" typed at a terminal; otherwise refuse (exit 3)."""
    if yes:
        return
    if not interactive():
        raise Refused(f"{question.rstrip('?')}: needs confirmation; re-run with --yes")
    if not typer.confirm(question, default=False, err=True):
        raise Refused("not confirmed; nothing was changed")


def pick(fs, name: str, include_deleted: bool = False) -> str:
    """Resolve a NAME; when it is ambiguous and a person is at the terminal, let them choose."""
    try:
        return fs.resolve(name, include_deleted=include_deleted)
    except Ambiguous as exc:
        if not interactive():
            raise
        typer.echo(f"{name!r} matches several files:", err=True)
        for i, path in enumerate(exc.candidates, 1):
            typer.echo(f"  {i}. {path}", err=True)
        choice = typer.prompt("Which one (number)", type=int, err=True)
        if not 1 <= choice <= len(exc.candidates):
            raise UsageError(f"choose a number from 1 to {len(exc.candidates)}") from None
        return exc.candidates[choice - 1]


def print_hits(hits, *, snippets: bool = True) -> None:
    if not hits:
        typer.echo("no matches", err=True)
        return
    for h in hits:
        typer.echo(f"{h.score:8.4f}  {h.path}")
        if snippets and h.snippet:
            typer.secho(f"          {h.snippet[:160]}", dim=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.ms = round((time.perf_counter() - self.start) * 1000, 1)


class RichProgress:
    """A progress bar with files/s on stderr, shown only on a terminal."""

    def __init__(self, label: str):
        self.label = label
        self._bar = None

    def start(self, total: int) -> None:
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[progress.data.speed]{task.fields[rate]}"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=True,
        )
        self._task = self._bar.add_task(self.label, total=total, rate="")
        self._t0 = time.perf_counter()
        self._done = 0
        self._bar.start()

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._done += n
            rate = self._done / max(time.perf_counter() - self._t0, 1e-6)
            self._bar.update(self._task, advance=n, rate=f"{rate:6.1f} files/s")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
