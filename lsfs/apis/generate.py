"""Generated content: filling marked files on first read, and ``lsfs generate PROMPT``.

``fill(fs_or_root, rel)`` is what the mount calls when an empty file is first read: it picks
the generator (the one the file's ``user.lsfs.generator`` names, else the first plugin that
accepts the path), and stores what it produced through the one write path (cause
``generate``: versioned, indexed, lock-aware). Only empty files are ever filled. On failure
nothing changes on disk, the marker stays so the next read retries, and the reason is
logged and raised.

``propose_tree`` asks the LLM for a tree of files (a validated schema, bounded in count and
size); ``create_tree`` creates the confirmed files, with content from the LLM or empty and
marked for generation on first read. Every proposed path is confined to the root; one that
is not (``../x``, ``/etc/x``) is refused on its own with the reason.
"""

from __future__ import annotations

import logging
import os
import stat as statmod
import threading
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from lsfs import xattrs
from lsfs.errors import BackendUnavailable, LSFSError, NotFound, UserError
from lsfs.generators import DESCRIPTION, LLM_MARKER, LLMGenerator, SNIPPET_CHARS, choose, registry
from lsfs.paths import STATE_DIR, confine, confine_dir
from lsfs.root import Root
from lsfs.syscalls import write_bytes

log = logging.getLogger("lsfs.generate")

CAUSE = "generate"
MAX_FILES = 30
MAX_PATH_CHARS = 200
MAX_DESCRIPTION_CHARS = 500
TREE_TOKENS = 1024

_path_locks: dict[tuple[str, str], threading.Lock] = {}
_path_locks_guard = threading.Lock()


@dataclass
class FillResult:
    path: str
    filled: bool
    generator: str | None = None
    size: int = 0
    version: int | None = None
    reason: str | None = None  # why nothing was filled

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TreePlan:
    """What the LLM proposed: files to create (confined paths) and proposals refused."""

    prompt: str
    into: str | None
    files: list[dict] = field(default_factory=list)  # {"path", "description"}
    refused: list[dict] = field(default_factory=list)  # {"path", "reason"}

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TreeResult:
    created: list[dict] = field(default_factory=list)  # {"path", "size", "generated": bool}
    refused: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # created empty and marked; why not filled

    def to_dict(self) -> dict:
        return asdict(self)


def _unwrap(fs_or_root) -> tuple[Root | None, Any]:
    """(Root, facade) for a Root or an ``LSFS``; (None, proxy) for a ``RemoteLSFS``."""
    if isinstance(fs_or_root, Root):
        return fs_or_root, None
    inner = getattr(fs_or_root, "_root", None)
    if isinstance(inner, Root):
        return inner, fs_or_root
    return None, fs_or_root


def _facade(root: Root, fs):
    if fs is not None:
        return fs
    from lsfs.api import LSFS  # the facade sits above this module; only its handle is passed on

    return LSFS(root)


# -- context ------------------------------------------------------------------------------

def folder_files(root: Root, rel: str) -> list[dict]:
    """The other files in ``rel``'s folder with a short snippet of their text."""
    parent = str(PurePosixPath(rel).parent)
    parent = "" if parent == "." else parent
    out = []
    for row in root.catalog.live_files(parent or None):
        p = PurePosixPath(row.path)
        if row.path == rel or (str(p.parent) if str(p.parent) != "." else "") != parent:
            continue
        text = root.catalog.doc_text(row.id) or ""
        out.append({"name": p.name, "path": row.path, "size": row.size or 0,
                    "snippet": text[:SNIPPET_CHARS]})
    return out


def build_context(root: Root, rel: str, fs=None) -> dict[str, Any]:
    """The ``context`` a ContentGenerator receives (documented in ``lsfs.plugins``)."""
    try:
        attrs = xattrs.list_xattrs(root, rel)
    except NotFound:
        attrs = {}
    try:
        size = os.lstat(root.path / rel).st_size
    except FileNotFoundError:
        size = 0
    description = attrs.get(DESCRIPTION)
    folder = str(PurePosixPath(rel).parent)
    return {
        "fs": _facade(root, fs),
        "root": root.path,
        "config": root.config,
        "folder": "" if folder == "." else folder,
        "folder_files": folder_files(root, rel),
        "xattrs": attrs,
        "marker": attrs.get(xattrs.GENERATOR),
        "description": description.decode("utf-8", "replace") if description else None,
        "size": size,
    }


# -- fill on first read -------------------------------------------------------------------

def _lock_for(root: Root, rel: str) -> threading.Lock:
    with _path_locks_guard:
        return _path_locks.setdefault((str(root.path), rel), threading.Lock())


def fill(fs_or_root, rel: str, generators: list | None = None) -> FillResult:
    """Generate the content of the empty file ``rel`` and store it through the write path.

    Returns ``filled=False`` with the reason when there is nothing to do (the file has
    content, or no generator accepts it). A generator's failure raises (``BackendUnavailable``
    when the LLM cannot be reached, else ``UserError``), is logged, and leaves the file
    and its ``user.lsfs.generator`` marker as they were, so the next read retries.
    """
    root, fs = _unwrap(fs_or_root)
    if root is None:  # the owner fills it; generator objects reach only an in-process owner
        return fs.fill_generated(rel) if generators is None else fs.fill_generated(rel, generators=generators)
    rel = confine(root.path, rel)
    with _lock_for(root, rel):  # two first reads at once generate once
        full = root.path / rel
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            raise NotFound(f"{rel} does not exist") from None
        if not statmod.S_ISREG(st.st_mode):
            raise UserError(f"{rel} is not a regular file; nothing to generate")
        if st.st_size:
            return FillResult(rel, False, size=st.st_size, reason="the file has content; only empty files are filled")
        if root.catalog.file_by_path(rel) is None:
            root.indexer.sync_paths([rel])  # an empty file made outside LSFS: know it first
        context = build_context(root, rel, fs)
        gen = choose(rel, context, registry() if generators is None else generators)
        if gen is None:
            marker = context["marker"]
            return FillResult(rel, False, reason=f"no generator named {marker.decode('utf-8', 'replace')!r} "
                              "accepts this file" if marker else "no generator accepts this file")
        try:
            data = gen.generate(rel, context)
            if not isinstance(data, (bytes, bytearray)):
                raise TypeError(f"generate() returned {type(data).__name__}, not bytes")
            if not data:
                raise ValueError("it produced no content")
        except BackendUnavailable as exc:
            log.warning("generating %s with %s failed: %s; the marker stays for a retry", rel, gen.name, exc.message)
            raise
        except Exception as exc:
            why = exc.message if isinstance(exc, LSFSError) else f"{type(exc).__name__}: {exc}"
            log.warning("generating %s with %s failed: %s; the marker stays for a retry", rel, gen.name, why)
            raise UserError(f"generating {rel} with {gen.name} failed ({why}); the file is unchanged "
                            "and the next read retries") from None
        if os.lstat(full).st_size:  # written meanwhile (outside LSFS): never overwrite content
            return FillResult(rel, False, gen.name, os.lstat(full).st_size,
                              reason="the file got content while generating; left alone")
        try:
            result = write_bytes(root, rel, bytes(data), CAUSE)
        except LSFSError as exc:
            log.warning("storing generated %s failed: %s; the marker stays for a retry", rel, exc.message)
            raise
        if context["marker"] is not None:
            xattrs.remove_xattr(root, rel, xattrs.GENERATOR)  # filled: a later truncation is the user's
        log.info("generated %s with %s: %d bytes, version %s", rel, gen.name, result.size, result.version)
        return FillResult(rel, True, gen.name, result.size, result.version)


def overlay(fs_or_root, path: str, generators: list | None = None) -> bytes | None:
    """The content of a virtual file that exists only in the mount (``.lsfs/README``), or None."""
    root, fs = _unwrap(fs_or_root)
    root_path = root.path if root is not None else fs.root
    context = {"fs": fs if fs is not None else _facade(root, None), "root": root_path,
               "config": root.config if root is not None else None, "folder": STATE_DIR, "folder_files": [],
               "xattrs": {}, "marker": None, "description": None, "size": 0}
    for gen in registry() if generators is None else generators:
        if path.startswith(STATE_DIR + "/") and gen.can_handle(path, context):
            return gen.generate(path, context)
    return None


# -- lsfs generate PROMPT -----------------------------------------------------------------

def _tree_models():
    from pydantic import BaseModel, Field

    class ProposedFile(BaseModel):
        path: str = Field(min_length=1, max_length=MAX_PATH_CHARS,
                          description="relative path of a file, e.g. notes/ideas.md")
        description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS,
                                 description="one sentence: what the file contains")

    class ProposedTree(BaseModel):
        files: list[ProposedFile] = Field(min_length=1, max_length=MAX_FILES)

    return ProposedFile, ProposedTree


def tree_messages(prompt: str) -> list[dict]:
    return [
        {"role": "system", "content": (
            "You design a small folder of files. Reply with JSON: "
            '{"files": [{"path": "notes/intro.md", "description": "one sentence"}]}. '
            f"At most {MAX_FILES} files; relative paths only.")},
        {"role": "user", "content": prompt},
    ]


def parse_proposal(raw: str):
    """The validated ``ProposedTree`` in an LLM reply; ``UserError`` saying what is wrong."""
    import pydantic

    from lsfs.llm import extract_json

    _, ProposedTree = _tree_models()
    data = extract_json(raw)
    if data is None:
        raise UserError("the LLM did not propose a tree (its reply is not a JSON object); "
                        "try again or rephrase the prompt")
    try:
        return ProposedTree.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in exc.errors()[:3])
        raise UserError(f"the LLM's proposed tree is not valid ({problems}); try again or rephrase the prompt") from None


def check_path(root: Root, into: str | None, proposed: str) -> str:
    """The confined relative path for a proposed file, or ``UserError``/``OutsideRoot`` why not."""
    text = proposed.strip()
    if not text or text.endswith("/"):
        raise UserError("a folder, not a file")
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or text.startswith("~"):
        raise UserError("an absolute path; only paths inside the root are created")
    if ".." in pure.parts:
        raise UserError("'..' would leave the folder; only paths inside the root are created")
    rel = confine(root.path, str(PurePosixPath(into) / pure) if into else str(pure))
    blocker = _file_above(root, rel)
    if blocker:
        raise UserError(f"{blocker} is a file, not a folder")
    if os.path.lexists(root.path / rel):
        raise UserError("already exists; not overwritten")
    return rel


def _file_above(root: Root, rel: str) -> str | None:
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        p = root.path.joinpath(*parts[:i])
        if os.path.lexists(p) and not p.is_dir():
            return "/".join(parts[:i])
    return None


def _screen(root: Root, into: str | None, proposals: list[dict]) -> tuple[list[dict], list[dict]]:
    files, refused, seen = [], [], set()
    for item in proposals:
        path = str(item.get("path", ""))
        try:
            rel = check_path(root, into, path)
            if rel in seen:
                raise UserError("proposed twice")
        except LSFSError as exc:
            refused.append({"path": path, "reason": exc.message})
            continue
        seen.add(rel)
        files.append({"path": rel, "description": str(item.get("description") or "")[:MAX_DESCRIPTION_CHARS]})
    return files, refused


def propose_tree(root: Root, prompt: str, into: str | None = None, llm=None) -> TreePlan:
    """Ask the LLM for a tree of files for ``prompt`` (nothing is created)."""
    from lsfs.llm import LLMClient

    if not prompt or not prompt.strip():
        raise UserError("say what to generate: lsfs generate \"a folder of ...\"")
    into = confine_dir(root.path, into)
    if into and os.path.lexists(root.path / into) and not (root.path / into).is_dir():
        raise UserError(f"{into} is a file, not a folder")
    client = llm or LLMClient.from_config(root.config)
    _, ProposedTree = _tree_models()
    raw = client.complete(tree_messages(prompt), json_schema=ProposedTree.model_json_schema(),
                          max_tokens=TREE_TOKENS)
    log.debug("proposed tree for %r: %s", prompt, raw)
    tree = parse_proposal(raw)
    files, refused = _screen(root, into, [f.model_dump() for f in tree.files])
    return TreePlan(prompt, into, files, refused)


def create_tree(root: Root, files: list[dict], into: str | None = None, content: bool = True,
                fs=None, llm=None) -> TreeResult:
    """Create the confirmed ``files`` ({"path", "description"}; paths relative to ``into``'s
    root, as ``propose_tree`` returns them), each through the write path.

    With ``content``, the LLM writes each file (cause ``generate``); a file it fails on is
    left empty and marked, so a read through the mount retries. Without, every file is
    created empty and marked ``user.lsfs.generator=llm`` with its description.
    """
    from lsfs.llm import LLMClient

    if len(files) > MAX_FILES:
        raise UserError(f"at most {MAX_FILES} files at once")
    client = (llm or LLMClient.from_config(root.config)) if content else None
    result = TreeResult()
    # Paths are checked again here: the plan may come from another process.
    checked, result.refused = _screen(root, None, files)
    for item in checked:
        rel, description = item["path"], item["description"]
        if content:
            context = build_context(root, rel, fs)
            context.update(marker=LLM_MARKER, description=description or None, llm=client)
            try:
                data = LLMGenerator().generate(rel, context)
            except BackendUnavailable:
                raise
            except Exception as exc:  # this file stays empty and marked; the rest go on
                why = exc.message if isinstance(exc, LSFSError) else f"{type(exc).__name__}: {exc}"
                log.warning("generating %s failed: %s; created empty and marked", rel, why)
                result.failed.append({"path": rel, "reason": why})
            else:
                written = write_bytes(root, rel, data, CAUSE)
                result.created.append({"path": rel, "size": written.size, "generated": True})
                continue
        write_bytes(root, rel, b"", CAUSE)
        xattrs.set_xattr(root, rel, xattrs.GENERATOR, LLM_MARKER)
        if description:
            xattrs.set_xattr(root, rel, DESCRIPTION, description.encode("utf-8"))
        result.created.append({"path": rel, "size": 0, "generated": False})
    return result
