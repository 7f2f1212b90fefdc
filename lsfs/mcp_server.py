"""``lsfs mcp``: the plan APIs as Model Context Protocol tools, served on stdio.

One tool per api of DESIGN.md's plan table, with exactly that table's argument names; a
call becomes ``Plan(api, args)`` and runs through ``lsfs.apis.execute``, the same path as
``lsfs ask``. So an agent gets what a person gets: names resolved the same way, every path
confined to the root, and destructive calls (``parser.DESTRUCTIVE``, a join onto an existing
file, a change_summary with new content, an import) refused unless the call says
``confirm: true``. A refused call changes nothing and says what it would have done.

The server is a long-lived face. If ``lsfs watch`` already owns the root, the tools talk to
it over the owner socket; otherwise this process hosts the supervisor itself, so the index
follows outside edits while an agent is connected and CLI commands run meanwhile reach
the same warm owner instead of waiting for a lock.

Importing this module loads nothing heavy; ``mcp`` is imported by ``build_server``.
"""

from __future__ import annotations

import inspect
import logging
import threading
from pathlib import Path
from typing import Any, Literal, Optional

from lsfs.errors import BackendUnavailable, LSFSError, Refused
from lsfs.parser.plan import API_ARGS, DESTRUCTIVE

log = logging.getLogger("lsfs.mcp")

# JSON type of each plan argument (DESIGN.md's plan table). Optional ones may be null.
ARG_TYPES: dict[str, Any] = {
    "query": str,
    "k": int,
    "dir": str,
    "keywords": list[str],
    "mode": Literal["all", "any"],
    "name": str,
    "content": str,
    "since": str,
    "versions": int,
    "date": str,
    "expires": str,
    "key_text": str,
    "into": str,
    "names": list[str],
    "source": str,
    "language": str,
}

# Arguments a call cannot do without (the rest may be omitted or null).
REQUIRED: dict[str, tuple[str, ...]] = {
    "semantic_retrieve": ("query",),
    "keywords_retrieve": ("keywords",),
    "integrated_retrieve": ("query", "keywords"),
    "summarize": ("name",),
    "change_summary": ("name",),
    "history": ("name",),
    "rollback": ("name",),
    "link": ("name",),
    "create_or_get_file": ("name",),
    "add_": ("name", "content"),
    "overwrite": ("name", "content"),
    "lock_file": ("name",),
    "unlock_file": ("name",),
    "group_semantic": ("query", "into"),
    "group_keywords": ("keywords", "into"),
    "file_join": ("names",),
    "create": ("source",),
    "translate": ("name", "language"),
}

# Tools that can replace, move, hide or delete content, or read from outside the root:
# they take ``confirm`` and do nothing without it. file_join, change_summary and translate
# need it only in some cases (an existing target, new content); the executor decides.
CONFIRMABLE = frozenset(DESTRUCTIVE | {"file_join", "change_summary", "create", "translate"})

DESCRIPTIONS: dict[str, str] = {
    "semantic_retrieve": "Find the k files (default 5) closest in meaning to query, best first; dir limits the search to a folder.",
    "keywords_retrieve": "List the files containing all (mode 'all', default) or any (mode 'any') of the keywords, exactly as grep -rliF would.",
    "integrated_retrieve": "Files containing the keywords, ranked by closeness in meaning to query.",
    "retrieve_summary": "Find the k best files (default 3) for query and/or keywords and summarize each.",
    "summarize": "A few sentences saying what the file called name is about.",
    "change_summary": "Without content: the latest recorded changes to the file. With content: replace the file's content (kept as a version) and summarize what changed; needs confirm.",
    "changes": "Recorded changes, newest first; since is a duration such as 'P1D' or '48h'.",
    "history": "The versions of a file, oldest first (n = 1 is the oldest, the highest n the current content).",
    "rollback": "Restore a file to an earlier version: versions back (default 1) or the newest version on or before date (YYYY-MM-DD). Undoable; needs confirm.",
    "link": "A shareable URL for the file; expires is a duration ('P3M', '7d') or null for none.",
    "create_or_get_file": "Create the file (and its folders) with content, or return it unchanged if it exists.",
    "add_": "Append content to the file (created if missing); the previous content stays a version.",
    "overwrite": "Replace the file's whole content; the previous content stays a version. Needs confirm.",
    "del_": "Delete the file called name, or every file under dir containing key_text. Versions are kept (undo with rollback). Needs confirm.",
    "lock_file": "Make the file read-only and refuse every LSFS write to it until unlocked. Needs confirm.",
    "unlock_file": "Lift a lock.",
    "group_semantic": "Move the files closest in meaning to query (at most k) into the folder into. Needs confirm.",
    "group_keywords": "Move the files containing the keywords into the folder into. Needs confirm.",
    "file_join": "Concatenate 2+ files into into, or append them to the first when into is null. Replacing an existing into needs confirm.",
    "create": "Import (copy) the folder source from outside the root into dir. Needs confirm.",
    "translate": "Translate the file into language as a new file beside it (needs an LLM). Replacing an earlier translation needs confirm.",
}
assert set(DESCRIPTIONS) == set(API_ARGS), "every api of the plan table is described"


def tool_signature(api: str) -> inspect.Signature:
    """The Python signature whose JSON schema is the tool's input: the plan args of ``api``
    with their types, plus ``confirm: bool = False`` for confirmable tools."""
    params = []
    required = REQUIRED.get(api, ())
    for name in API_ARGS[api]:
        kind = ARG_TYPES[name]
        if name in required:
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind))
        else:
            params.append(inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[kind], default=None
            ))
    if api in CONFIRMABLE:
        params.append(inspect.Parameter("confirm", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=False))
    return inspect.Signature(params, return_annotation=dict)


class RootAccess:
    """How the tools reach the root: the running owner over its socket, or a supervisor
    hosted here. A lost owner (``lsfs watch`` stopped) is replaced on the next call."""

    def __init__(self, root: Path, *, host: bool = True):
        self.root = Path(root).expanduser().resolve()
        self._host = host
        self._lock = threading.Lock()
        self._fs = None
        self.supervisor = None

    def start(self) -> None:
        """Reach the root now, so a bad root fails before the server starts serving."""
        with self._lock:
            self._acquire()

    def _acquire(self):
        from lsfs import owner

        if self._fs is not None:
            return self._fs
        remote = owner.connect(self.root)
        if remote is not None:
            log.info("using the owner of %s (pid %s)", self.root, remote.pid)
            self._fs = remote
            return remote
        if not self._host:
            from lsfs.api import LSFS

            self._fs = LSFS.open(self.root)
            return self._fs
        from supervisor import Supervisor

        sup = Supervisor(self.root)
        try:
            sup.start()
        except Refused:
            remote = owner.connect(self.root)  # another owner started meanwhile
            if remote is None:
                raise
            self._fs = remote
            return remote
        self.supervisor = sup
        self._fs = _Hosted(sup)
        return self._fs

    def call(self, fn):
        """``fn(fs)``, reconnecting once if the owner it was talking to went away."""
        with self._lock:
            fs = self._acquire()
        try:
            return fn(fs)
        except BackendUnavailable as exc:
            if "LSFS supervisor" not in exc.message or not getattr(fs, "remote", False):
                raise
            with self._lock:
                if self._fs is fs:
                    self._fs = None
                    _close_quietly(fs)
                fs = self._acquire()
            return fn(fs)

    def close(self) -> None:
        with self._lock:
            if self._fs is not None:
                _close_quietly(self._fs)
                self._fs = None
            if self.supervisor is not None:
                self.supervisor.stop()
                self.supervisor = None


class _Hosted:
    """The in-process supervisor seen as an ``LSFS``: every call goes through
    ``Supervisor.call``, which serialises writes with the watcher's syncs."""

    remote = False

    def __init__(self, supervisor):
        self._sup = supervisor

    @property
    def root(self) -> Path:
        return self._sup.path

    def __getattr__(self, name: str):
        from lsfs.api import LSFS

        if name.startswith("_") or name not in LSFS.RPC_METHODS:
            raise AttributeError(name)
        return lambda *args, **kwargs: self._sup.call(name, args, kwargs)

    def close(self) -> None:  # the supervisor is stopped by RootAccess.close
        pass


def _close_quietly(fs) -> None:
    try:
        fs.close()
    except Exception:  # closing a dead connection: nothing left to release
        pass


def run_tool(access: RootAccess, api: str, args: dict, confirm: bool = False) -> dict:
    """Run one tool call as ``Plan(api, args)``; returns ``Outcome.to_dict()``.

    Raises ``Refused`` (nothing done) when the call needs ``confirm`` and lacks it.
    """
    from lsfs.apis.execute import execute
    from lsfs.parser.plan import Plan

    plan = Plan(api=api, args={k: v for k, v in args.items() if v is not None}, source="mcp")
    outcome = access.call(lambda fs: execute(fs, plan, confirm=confirm))
    if not outcome.done and outcome.needs_confirmation:
        why = "is destructive" if outcome.destructive else "reads a folder outside the root"
        raise Refused(
            f"refused: {api} {why}, so nothing was done without confirm=true. It would "
            f"{outcome.message.removeprefix('would ')}. Call it again with confirm=true to do it"
        )
    return outcome.to_dict()


def _make_tool(access: RootAccess, api: str):
    def tool(**kwargs) -> dict:
        from mcp.server.mcpserver.exceptions import ToolError

        confirm = bool(kwargs.pop("confirm", False))
        try:
            return run_tool(access, api, kwargs, confirm)
        except LSFSError as exc:
            raise ToolError(exc.message) from None

    tool.__name__ = tool.__qualname__ = api
    tool.__doc__ = DESCRIPTIONS[api]
    tool.__signature__ = tool_signature(api)
    return tool


def build_server(access: RootAccess):
    """An ``MCPServer`` named "lsfs" with one tool per plan api."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(
        "lsfs",
        instructions=(
            f"LSFS semantic file system over {access.root}. Search with semantic_retrieve or "
            "keywords_retrieve; names may be paths relative to the root or unique file names. "
            "Calls that delete, replace, move or lock content refuse unless confirm is true."
        ),
        log_level="WARNING",
    )
    for api in API_ARGS:
        server.add_tool(_make_tool(access, api), name=api, description=DESCRIPTIONS[api])
    return server


def serve_stdio(root: Path, *, host: bool = True) -> None:
    """Serve the tools on stdin/stdout until the client hangs up, then release the root."""
    import signal

    access = RootAccess(root, host=host)
    access.start()

    def _terminate(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        build_server(access).run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        access.close()
