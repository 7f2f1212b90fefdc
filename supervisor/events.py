"""What happened on disk: watchdog's events turned into a few plain changes, coalesced.

This module only records *what happened*. What to do about it (read, version, index,
forget) is the indexer's job, through the same sync functions ``lsfs index`` uses; the
daemon (``supervisor.daemon``) hands each ``Batch`` to them.

Coalescing keeps memory bounded whatever the burst: changes collapse into a set of
dirty paths (a folder covers everything below it), moves into a bounded list of hints,
and past ``max_paths`` the whole batch becomes "rescan everything", which a stat walk
answers correctly. A batch is handed out once nothing new arrived for ``quiet``
seconds, or ``max_delay`` seconds after its first change, so an editor's save, a burst
of writes or a ``git checkout`` each end in one sync instead of one per event.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from lsfs.ignore import ALWAYS, IGNORE_FILES, TEMP_PREFIX, IgnoreRules

log = logging.getLogger("lsfs.supervisor.events")

QUIET_S = 0.15
MAX_DELAY_S = 2.0
MAX_PATHS = 50_000
MAX_MOVES = 10_000


# -- the changes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Changed:
    """Something happened at this path (file or folder): look at it again."""

    path: str


@dataclass(frozen=True)
class Moved:
    """A rename inside the root. A hint only: it is applied when the disk still agrees."""

    src: str
    dest: str
    is_dir: bool


@dataclass(frozen=True)
class RulesChanged:
    """A ``.gitignore`` or ``.lsfsignore`` in this folder changed: re-read it, re-walk the folder."""

    folder: str


@dataclass(frozen=True)
class Lost:
    """Events were dropped (the kernel's queue overflowed): only a full rescan is safe."""

    reason: str


@dataclass
class Batch:
    """Everything that happened since the last batch, coalesced."""

    paths: set[str] = field(default_factory=set)
    moves: list[Moved] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)  # whose ignore rules changed
    rescan: bool = False
    reason: str = ""  # why a full rescan is needed
    changes: int = 0  # how many changes were folded into this batch

    def __bool__(self) -> bool:
        return bool(self.paths or self.moves or self.folders or self.rescan)


# -- from watchdog events to changes -----------------------------------------------------

_CONTENT_EVENTS = (FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileAttribEvent,
                   DirCreatedEvent, DirDeletedEvent)


class EventTranslator:
    """Turns one watchdog event into changes, dropping what LSFS never indexes:
    ``.lsfs/`` and ``.git/``, LSFS's own temp files, ignored paths, and events that say
    nothing about content (opened, closed without writing, folder listing changed)."""

    def __init__(self, root: Path, rules: IgnoreRules):
        self.root = str(Path(root))
        self._prefix = self.root.rstrip("/") + "/"
        self.rules = rules

    def rel(self, path: str | bytes) -> str | None:
        path = os.fsdecode(path)
        if not path.startswith(self._prefix):
            return None
        return path[len(self._prefix):].rstrip("/") or None

    def skipped(self, rel: str | None, is_dir: bool) -> bool:
        if rel is None:
            return True
        parts = rel.split("/")
        if parts[0] in ALWAYS or any(p in ALWAYS for p in parts) or parts[-1].startswith(TEMP_PREFIX):
            return True
        return self.rules.ignored(rel, is_dir)

    def _rules_changes(self, rel: str | None) -> list:
        if rel is None or PurePosixPath(rel).name not in IGNORE_FILES:
            return []
        folder = str(PurePosixPath(rel).parent)
        folder = "" if folder == "." else folder
        self.rules.forget(folder)
        return [RulesChanged(folder)]

    def translate(self, event: FileSystemEvent) -> list:
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            src, dest = self.rel(event.src_path), self.rel(event.dest_path)
            out = self._rules_changes(src) + self._rules_changes(dest)
            src_ok = not self.skipped(src, event.is_directory)
            dest_ok = not self.skipped(dest, event.is_directory)
            if src_ok and dest_ok:
                out.append(Moved(src, dest, event.is_directory))
            if src_ok:
                out.append(Changed(src))
            if dest_ok:
                out.append(Changed(dest))
            return out
        if not isinstance(event, _CONTENT_EVENTS):
            return []
        rel = self.rel(event.src_path)
        out = self._rules_changes(rel)
        if not self.skipped(rel, event.is_directory):
            out.append(Changed(rel))
        return out


# -- coalescing ----------------------------------------------------------------------------

class ChangeBuffer:
    """A thread-safe, bounded, coalescing buffer of changes, read in batches."""

    def __init__(self, *, quiet: float = QUIET_S, max_delay: float = MAX_DELAY_S,
                 max_paths: int = MAX_PATHS, max_moves: int = MAX_MOVES):
        self.quiet = quiet
        self.max_delay = max_delay
        self.max_paths = max_paths
        self.max_moves = max_moves
        self._cond = threading.Condition()
        self._batch = Batch()
        self._first = 0.0
        self._last = 0.0
        self._last_dir_move: Moved | None = None
        self.received = 0

    def add(self, change) -> None:
        with self._cond:
            self.received += 1
            b = self._batch
            now = time.monotonic()
            if not b:
                self._first = now
            self._last = now
            b.changes += 1
            if isinstance(change, Lost):
                self._overflow(change.reason)
            elif isinstance(change, RulesChanged):
                b.folders.add(change.folder)
            elif b.rescan:
                pass  # a full rescan covers it
            elif isinstance(change, Changed):
                self._add_path(change.path)
            elif isinstance(change, Moved):
                self._add_move(change)
            self._cond.notify_all()

    def _add_path(self, path: str) -> None:
        paths = self._batch.paths
        if path in paths or any(a in paths for a in _ancestors(path)):
            return  # a dirty folder is walked whole
        paths.add(path)
        if len(paths) > self.max_paths:
            self._overflow(f"more than {self.max_paths} paths changed at once")

    def _add_move(self, move: Moved) -> None:
        last = self._last_dir_move
        if last is not None and move.src.startswith(last.src + "/") and move.dest == last.dest + move.src[len(last.src):]:
            return  # watchdog's per-file echo of a folder move already recorded
        if move.is_dir:
            self._last_dir_move = move
        if len(self._batch.moves) < self.max_moves:
            self._batch.moves.append(move)
        # else: the paths are still dirty; the indexer recognises unchanged content as moved

    def _overflow(self, reason: str) -> None:
        b = self._batch
        if not b.rescan:
            log.warning("full rescan: %s", reason)
            b.reason = reason
        b.rescan = True
        b.paths.clear()
        b.moves.clear()

    def pending(self) -> int:
        with self._cond:
            return len(self._batch.paths) + len(self._batch.moves) + len(self._batch.folders) + int(self._batch.rescan)

    def request_rescan(self, reason: str) -> None:
        self.add(Lost(reason))

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def take(self, stop: threading.Event, timeout: float | None = None) -> Batch | None:
        """Wait for a batch that has settled; ``None`` when ``stop`` is set or on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                if self._batch:
                    due = min(self._last + self.quiet, self._first + self.max_delay)
                    if now >= due:
                        batch, self._batch = self._batch, Batch()
                        self._last_dir_move = None
                        return batch
                    wait = due - now
                else:
                    wait = 0.5
                if deadline is not None:
                    if now >= deadline:
                        return None
                    wait = min(wait, deadline - now)
                self._cond.wait(wait)
        return None


def _ancestors(path: str):
    i = path.rfind("/")
    while i > 0:
        path = path[:i]
        yield path
        i = path.rfind("/")


# -- plugging into watchdog ----------------------------------------------------------------

class ChangeHandler(FileSystemEventHandler):
    """watchdog's handler: translate each event and drop it into the buffer. Runs on
    watchdog's thread, so it does nothing slow."""

    def __init__(self, translator: EventTranslator, buffer: ChangeBuffer):
        super().__init__()
        self.translator = translator
        self.buffer = buffer

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            for change in self.translator.translate(event):
                self.buffer.add(change)
        except Exception:  # never let one odd event kill watchdog's thread
            log.exception("could not handle %r", event)
            self.buffer.request_rescan("an event could not be handled")


class OverflowAlarm(logging.Handler):
    """watchdog reports a kernel queue overflow only in its log; turn that into a rescan."""

    LOGGER = "watchdog.observers.inotify_c"

    def __init__(self, buffer: ChangeBuffer):
        super().__init__(logging.WARNING)
        self.buffer = buffer

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.buffer.add(Lost("the kernel's inotify queue overflowed"))

    def install(self) -> None:
        logger = logging.getLogger(self.LOGGER)
        logger.addHandler(self)
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)

    def remove(self) -> None:
        logging.getLogger(self.LOGGER).removeHandler(self)
