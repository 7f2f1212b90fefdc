"""The supervisor: the one process that owns a root while it runs (``lsfs watch``).

It holds the root's lock, keeps the model warm, answers other LSFS processes on the owner
socket, and keeps catalog, versions, keyword and vector indexes in step with the disk:
- on start it reconciles (repairs vectors left by a crash, then walks the disk against
  the catalog: new, changed, deleted and moved files);
- then it follows inotify events (``supervisor.events`` says what happened) and hands
  each settled batch to the indexer's sync functions, which decide what to do;
- where inotify cannot watch everything (watch limit, a network file system) or when
  asked (``--poll``), it rescans periodically instead.

Writes and syncs never run at the same time: one process-level lock covers every
indexer run and every request that may write. Requests that only read run beside them
(the catalog serialises its own statements, Chroma and the model are thread-safe).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import signal
import stat as statmod
import threading
import time
from pathlib import Path
from typing import Any, Callable

from lsfs import owner
from lsfs.api import LSFS
from lsfs.errors import Busy, LSFSError, NotFound, Refused, UsageError
from lsfs.index import SyncStats
from lsfs.lock import RootLock
from lsfs.paths import STATE_DIR
from lsfs.root import Root
from supervisor.events import ChangeBuffer, ChangeHandler, EventTranslator, OverflowAlarm
from supervisor.server import OwnerServer

log = logging.getLogger("lsfs.supervisor")

# Requests that only read: they do not wait for a running sync. Anything else (and any
# method added to LSFS.RPC_METHODS later) takes the write lock, which is always safe.
READ_ONLY = frozenset({
    "status", "search", "semantic_retrieve", "keywords_retrieve", "integrated_retrieve",
    "delete_plan", "read", "resolve", "changes", "links", "groups",
    "retrieve_summary", "summarize",
    "generate_plan", "overlay",  # the LLM or the catalog only; a slow LLM must not hold writes
})
SUPERVISOR_LOCK = "supervisor.lock"
POLL_ENV = "LSFS_WATCH_POLL"
# Polling when inotify cannot be used: at least this often, at most 5 x a rescan's cost.
FALLBACK_POLL_S = 2.0
HEALTH_CHECK_S = 5.0
RETRY_AFTER_ERROR_S = 10.0
# Paths synced under one hold of the write lock.
SYNC_GROUP = 64

Report = Callable[[str], None]


class _Stopping(Exception):
    """Raised inside a long sync when the supervisor is asked to stop."""


class _RootGone(Exception):
    """The root folder (or its state) disappeared from under the supervisor."""


class _StopCheck:
    """A progress sink that aborts a long sync between files once stop is requested.

    Aborting is safe: every batch is one transaction, and the next start reconciles.
    """

    def __init__(self, stop: threading.Event):
        self.stop = stop

    def start(self, total: int) -> None:
        self.advance(0)

    def advance(self, n: int = 1) -> None:
        if self.stop.is_set():
            raise _Stopping()

    def finish(self) -> None:
        pass


class Supervisor:
    """Owns ``root`` between ``start()`` and ``stop()``; ``run()`` does both in the foreground."""

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        poll: float | None = None,
        quiet: float | None = None,
        report: Report | None = None,
    ):
        self.path = Path(root).expanduser().resolve()
        self.state_dir = self.path / STATE_DIR
        env_poll = os.environ.get(POLL_ENV)
        if poll is None and env_poll:
            try:
                poll = float(env_poll)
            except ValueError:
                raise UsageError(f"{POLL_ENV}={env_poll!r} is not a number of seconds") from None
        if poll is not None and poll <= 0:
            raise UsageError("the polling interval must be a positive number of seconds")
        self.poll = poll
        self._report = report or (lambda line: None)
        self.buffer = ChangeBuffer(**({"quiet": quiet} if quiet is not None else {}))
        self.fs: LSFS | None = None
        self.root: Root | None = None
        self.state = "stopped"
        self.mode = "polling" if poll else "inotify"
        self.started_at: str | None = None
        self.error: str | None = None  # why the sync loop gave up, if it did
        self.totals = {"batches": 0, "new": 0, "changed": 0, "deleted": 0, "moved": 0, "skipped": 0,
                       "failed": 0, "embedded_chunks": 0, "reused_chunks": 0, "errors": 0}
        self._write_lock = threading.RLock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._inflight = 0
        self._inflight_cond = threading.Condition()
        self._sup_lock = RootLock(self.state_dir, SUPERVISOR_LOCK)
        self._server: OwnerServer | None = None
        self._observer = None
        self._alarm: OverflowAlarm | None = None
        self._thread: threading.Thread | None = None
        self._poll_every = poll or FALLBACK_POLL_S

    # -- starting and stopping -------------------------------------------------------------
    def start(self) -> None:
        """Take the root, listen, warm the model, start watching; returns once serving.

        Refuses (exit 3) when another supervisor runs for this root, or when a command
        holds the root and does not finish within ``lock_timeout``.
        """
        if not (self.state_dir / "catalog.db").exists():
            raise NotFound(f"{self.path} is not an LSFS root (no {STATE_DIR}/catalog.db); run 'lsfs init {self.path}'")
        if not self._sup_lock.try_acquire():
            raise Refused(
                f"a supervisor is already running for {self.path} ({_pid_of(self._sup_lock)}); "
                "it keeps the index in sync, so there is nothing to start"
            )
        try:
            try:
                self.root = Root(self.path)
            except Busy:
                raise Busy(
                    f"cannot start the supervisor: {self.path} is busy with another LSFS command "
                    f"({RootLock(self.state_dir).holder()}); start it again when that finishes"
                ) from None
            self.fs = LSFS(self.root)
            self.state = "starting"
            self.started_at = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
            self._server = OwnerServer(self.path, self.call, self.hello, max_request=self._max_request())
            self._server.start()
            self._warm()
            self._ready.set()
            if self.mode == "inotify":
                self._start_observer()
            self._thread = threading.Thread(target=self._loop, name="lsfs-supervisor", daemon=True)
            self._thread.start()
        except BaseException:
            self._shutdown()
            raise

    def stop(self) -> None:
        """Stop watching and serving, finish the request or sync in progress, release the root."""
        self._stop.set()
        self.buffer.wake()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._shutdown()

    def _shutdown(self) -> None:
        self._stop.set()
        self._ready.set()  # let waiting requests through to a clean refusal
        self._stop_observer()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.state != "failed":
            self.state = "stopping"
        with self._inflight_cond:
            self._inflight_cond.wait_for(lambda: self._inflight == 0, timeout=30)
        with self._write_lock:
            if self.root is not None:
                self.root.close()
                self.root = None
        self._sup_lock.release()
        if self.state != "failed":
            self.state = "stopped"

    def run(self) -> None:
        """Foreground: start, then serve until SIGINT or SIGTERM, then stop cleanly."""
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, lambda *_: self._stop.set())
        try:
            self.start()
            self._report(f"watching {self.path} (pid {os.getpid()}, {self._mode_text()}); Ctrl-C stops")
            while not self._stop.wait(0.5):
                pass
            if self.error is None:
                self._report("stopping")
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.error is not None:
            raise LSFSError(self.error)

    # -- serving other processes -----------------------------------------------------------
    def call(self, method: str, args: tuple = (), kwargs: dict | None = None) -> Any:
        """Run one ``LSFS`` method for another process (or an in-process face).

        Only names in ``LSFS.RPC_METHODS``; anything that may write waits for the sync in
        progress and keeps the indexer out until it is done.
        """
        kwargs = kwargs or {}
        if method.startswith("_") or method not in type(self.fs).RPC_METHODS:
            raise UsageError(f"{method!r} is not a method the LSFS supervisor serves")
        self._ready.wait()
        with self._inflight_cond:
            if self._stop.is_set() or self.root is None:
                raise Refused("the LSFS supervisor is stopping; run the command again")
            self._inflight += 1
        try:
            fn = getattr(self.fs, method)
            if method in READ_ONLY:
                return fn(*args, **kwargs)
            with self._write_lock:
                return fn(*args, **kwargs)
        finally:
            with self._inflight_cond:
                self._inflight -= 1
                self._inflight_cond.notify_all()

    def hello(self) -> dict:
        """Who answers on the socket: pid, root, protocol, state, methods, counters."""
        return {
            "protocol": owner.PROTOCOL,
            "pid": os.getpid(),
            "root": str(self.path),
            "state": self.state,
            "mode": self.mode,
            "started": self.started_at,
            "methods": sorted(type(self.fs).RPC_METHODS) if self.fs is not None else [],
            "pending": self.buffer.pending(),
            "stats": dict(self.totals),
        }

    def _max_request(self) -> int:
        # A write carries the file's bytes base64-encoded inside one JSON line.
        return int(self.root.config.max_file_bytes * 4 / 3) + 2**20

    # -- warming and watching -------------------------------------------------------------
    def _warm(self) -> None:
        """Load the model and open Chroma now, so the first search is already fast."""
        embedder = self.root.embedder()
        warm = getattr(embedder, "warm", None)
        if warm is not None:
            warm()
        embedder.embed(["warm up"])
        self.root.vectors().count()

    def _start_observer(self) -> None:
        from watchdog.events import (
            DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileAttribEvent, FileClosedEvent,
            FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
        )
        from watchdog.observers import Observer

        from lsfs.ignore import IgnoreRules

        translator = EventTranslator(self.path, IgnoreRules(self.path, self.root.config.ignore))
        handler = ChangeHandler(translator, self.buffer)
        # Only events about content: the kernel then does not even report our own reads.
        wanted = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
                  FileAttribEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        observer = Observer()
        try:
            observer.schedule(handler, str(self.path), recursive=True, event_filter=wanted)
            observer.start()
        except OSError as exc:
            _stop_quietly(observer)
            self._fall_back(f"cannot watch with inotify ({exc.strerror or exc})")
            return
        self._observer = observer
        self._alarm = OverflowAlarm(self.buffer)
        self._alarm.install()

    def _stop_observer(self) -> None:
        if self._alarm is not None:
            self._alarm.remove()
            self._alarm = None
        if self._observer is not None:
            _stop_quietly(self._observer)
            self._observer = None

    def _fall_back(self, why: str) -> None:
        self._stop_observer()
        self.mode = "polling"
        self._poll_every = max(self._poll_every, FALLBACK_POLL_S)
        message = f"warning: {why}; falling back to rescanning the folder every {self._poll_every:g} s"
        log.warning(message)
        self._report(message)

    def _check_watches(self) -> None:
        """inotify silently skips folders past the kernel's watch limit; count to notice."""
        if self._observer is None:
            return
        for attempt in range(2):
            folders, watches = _count_folders(self.path), _count_inotify_watches()
            if watches is None or watches >= folders:
                return
            if attempt == 0:
                time.sleep(0.5)  # folders created or removed while counting settle
        self._fall_back(
            f"inotify watch limit reached ({watches} of {folders} folders watched; "
            "raise fs.inotify.max_user_watches)"
        )

    def _observer_alive(self) -> bool:
        obs = self._observer
        return obs is not None and obs.is_alive() and all(e.is_alive() for e in obs.emitters)

    # -- keeping in sync -------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self.state = "reconciling"
            self._check_watches()
            self._reconcile()
            self.state = "watching"
            last_health = time.monotonic()
            while not self._stop.is_set():
                if self.mode == "polling":
                    batch = self.buffer.take(self._stop, timeout=self._poll_every)
                    if self._stop.is_set():
                        break
                    started = time.monotonic()
                    self._run_batch(batch, full=True)
                    # A rescan walks everything: keep it a small share of the machine.
                    self._poll_every = max(self.poll or FALLBACK_POLL_S, 5 * (time.monotonic() - started))
                    continue
                batch = self.buffer.take(self._stop, timeout=HEALTH_CHECK_S)
                if batch:
                    self._run_batch(batch)
                if time.monotonic() - last_health >= HEALTH_CHECK_S:
                    last_health = time.monotonic()
                    self._check_root()
                    if not self._observer_alive() and not self._stop.is_set():
                        self._fall_back("the inotify watcher stopped")
                        self.buffer.request_rescan("the watcher stopped")
        except _Stopping:
            pass
        except _RootGone as exc:
            self.error = f"stopped: {exc}"
            self.state = "failed"
            self._stop.set()
        except Exception as exc:  # a bug or a broken store: say so, stop serving
            log.exception("supervisor loop failed")
            self.error = (f"the supervisor stopped syncing: {type(exc).__name__}: {exc} "
                          "(with --debug the details go to .lsfs/logs/); restart 'lsfs watch'")
            self.state = "failed"
            self._stop.set()

    def _reconcile(self) -> None:
        """What happened while nobody watched: crash leftovers, then a full stat walk."""
        started = time.monotonic()
        with self._write_lock:
            removed, marked = self.root.indexer.repair_vectors()
            stats = self.root.indexer.sync(cause="external", progress=_StopCheck(self._stop))
        if removed or marked:
            self._report(f"repaired the vector index: {removed} stray vectors removed, {marked} files to re-embed")
        self._count(stats)
        self._report("reconciled: " + _describe(stats, time.monotonic() - started))

    def _check_root(self) -> None:
        if not (self.state_dir / "catalog.db").exists():
            # Root deleted, moved or unmounted: a sync now would record every file as deleted.
            raise _RootGone(f"{self.path} or its {STATE_DIR}/ is gone (moved, deleted or unmounted?)")

    def _run_batch(self, batch, *, full: bool = False) -> None:
        self._check_root()
        started = time.monotonic()
        stats = SyncStats()
        try:
            idx = self.root.indexer
            folders = batch.folders if batch else set()
            check = _StopCheck(self._stop)
            if full or batch.rescan or "" in folders:
                if batch and batch.rescan:
                    self._report(f"rescanning the whole folder: {batch.reason}")
                with self._write_lock:
                    idx.ignore.forget()
                    stats = idx.sync(cause="external", progress=check)
            else:
                with self._write_lock:
                    for folder in folders:
                        idx.ignore.forget(folder)
                    for move in batch.moves:
                        stats.moved += self._apply_move(move)
                # In groups, so a write sent through the socket waits for one group, not
                # for a whole git checkout. Paths still on disk go first and vanished ones
                # last: a file whose content reappeared elsewhere is then seen as moved.
                for group in self._groups(batch.paths | folders):
                    check.advance(0)
                    with self._write_lock:
                        stats.add(idx.sync_paths(group, cause="external", progress=check))
        except (_Stopping, _RootGone):
            raise
        except Exception as exc:
            self.totals["errors"] += 1
            log.exception("sync failed")
            self._report(f"warning: sync failed ({type(exc).__name__}: {exc}); rescanning in {RETRY_AFTER_ERROR_S:g} s")
            if not self._stop.wait(RETRY_AFTER_ERROR_S):
                self.buffer.request_rescan("retry after a failed sync")
            return
        self._count(stats)
        if stats.new or stats.changed or stats.deleted or stats.moved or stats.skipped or stats.failed:
            self._report("synced: " + _describe(stats, time.monotonic() - started))

    def _groups(self, paths: set[str]) -> list[list[str]]:
        present, gone = [], []
        for rel in sorted(paths):
            (present if os.path.lexists(self.path / rel) else gone).append(rel)
        groups = [present[i : i + SYNC_GROUP] for i in range(0, len(present), SYNC_GROUP)]
        return groups + ([gone] if gone else [])

    def _apply_move(self, move) -> int:
        """Carry history along a rename, if the disk still shows that rename happened."""
        src, dest = self.path / move.src, self.path / move.dest
        try:
            st = os.lstat(dest)
        except FileNotFoundError:
            return 0
        if os.path.lexists(src) or statmod.S_ISDIR(st.st_mode) != move.is_dir:
            return 0
        cat = self.root.catalog
        if not move.is_dir and (cat.file_by_path(move.src) is None or cat.file_by_path(move.dest) is not None):
            return 0
        return self.root.indexer.move_tree(move.src, move.dest)

    def _count(self, stats: SyncStats) -> None:
        t = self.totals
        t["batches"] += 1
        for key in ("new", "changed", "deleted", "moved", "skipped", "failed", "embedded_chunks", "reused_chunks"):
            t[key] += getattr(stats, key)

    def _mode_text(self) -> str:
        return "inotify" if self.mode == "inotify" else f"rescanning every {self._poll_every:g} s"


# -- helpers -------------------------------------------------------------------------------

def _describe(stats: SyncStats, seconds: float) -> str:
    parts = [f"{stats.new} new", f"{stats.changed} changed", f"{stats.deleted} deleted"]
    if stats.moved:
        parts.append(f"{stats.moved} moved")
    if stats.skipped or stats.failed:
        parts.append(f"{stats.skipped} skipped, {stats.failed} failed")
    parts.append(f"{stats.embedded_chunks} chunks embedded")
    return ", ".join(parts) + f" in {seconds:.2f} s"


def _pid_of(lock: RootLock) -> str:
    m = re.match(r"pid (\d+)", lock.holder())
    return f"pid {m.group(1)}" if m else lock.holder()


def _stop_quietly(observer) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(timeout=5)
    except Exception:  # stopping a half-started observer may fail; nothing to keep
        log.debug("observer stop failed", exc_info=True)


def _count_folders(root: Path) -> int:
    """Folders inotify would watch below ``root`` (watchdog watches all, ignored ones too)."""
    count = 1
    for top, dirs, _files in os.walk(root):
        for d in dirs:
            if not os.path.islink(os.path.join(top, d)):
                count += 1
    return count


def _count_inotify_watches() -> int | None:
    """Watches this process holds, from /proc (None where /proc cannot tell)."""
    total = 0
    found = False
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as fh:
                total += sum(1 for line in fh if line.startswith("inotify wd:"))
            found = True
        except OSError:
            continue
    return total if found else None
