"""Content made on demand: generated files, the README overlay, computed attributes.

A file marked with the xattr ``user.lsfs.generator=NAME`` and still empty gets its content
from the generator NAME the first time anything looks at it (``stat`` included, so the size
is right before the first read). Only empty files are ever filled; the content goes through
the write path (versioned, indexed) and the marker is then removed. A failure keeps the
marker, so the next look retries, and says why in the log.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from lsfs.xattrs import GENERATOR

log = logging.getLogger("lsfs.mount")

# After a failure, stat() waits this long before asking the generator again (open and
# read always retry): `ls -l` over a folder must not hammer a dead LLM.
RETRY_AFTER_S = 5.0
DESCRIPTION = "user.lsfs.description"  # what `lsfs generate --no-content` said the file is for
MAX_SIBLINGS = 20
SNIPPET_CHARS = 300


class FileListReadme:
    """The README overlay used when no ``readme`` generator plugin is installed: every
    file with its state and number of versions."""

    name = "readme"

    def can_handle(self, path: str, context: dict[str, Any]) -> bool:
        return path == ".lsfs/README"

    def generate(self, path: str, context: dict[str, Any]) -> bytes:
        backend = context["backend"]
        rows = backend.query(
            "SELECT f.path, f.state, f.size, (SELECT count(*) FROM versions v WHERE v.file_id = f.id)"
            " FROM files f WHERE f.state != 'deleted' ORDER BY f.path"
        )
        lines = [f"# {Path(context['root']).name}", "", f"{len(rows)} files (path, state, size, versions)", ""]
        lines += [f"- {p}  {state}  {size or 0} B  v{n}" for p, state, size, n in rows]
        lines += ["", "Virtual folders: .lsfs/search/<query>/ (ranked matches), .lsfs/versions/<path>/ (every version)."]
        return ("\n".join(lines) + "\n").encode()


def load(generators: Sequence | None) -> dict[str, Any]:
    """Generators by name: the given ones, else the ``lsfs.generators`` entry points,
    with the file-list README as a fallback overlay."""
    if generators is None:
        try:  # the built-ins (readme, llm) plus every plugin, when lsfs.generators exists
            from lsfs.generators import registry

            generators = registry()
        except ImportError:
            from lsfs.plugins import load_generators

            generators = load_generators()
    found = {g.name: g for g in generators}
    found.setdefault("readme", FileListReadme())
    return found


def summary(text: str | None, limit: int = 300) -> str:
    """A short offline summary: the first sentences of the text (headings skipped)."""
    if not text:
        return ""
    lines = [ln.strip() for ln in text.splitlines()]
    body = " ".join(ln for ln in lines if ln and not ln.startswith("#"))
    title = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("#")), "")
    sentences = re.split(r"(?<=[.!?])\s+", body)
    out = title + (": " if title and body else "")
    for s in sentences:
        if len(out) + len(s) > limit and out.strip(": "):
            break
        out += s + " "
    out = out.strip()
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


class Generation:
    """Fills marked empty files, once, through the write path."""

    def __init__(self, backend, generators: dict[str, Any], mountpoint: str | None = None):
        self.backend = backend
        self.generators = generators
        self.mountpoint = mountpoint
        self.retry_after = RETRY_AFTER_S
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._failed: dict[str, float] = {}

    def context(self, rel: str, marker: str | None = None) -> dict[str, Any]:
        """What a generator gets: the root, the LSFS methods, settings, the file's marker,
        size and description (``user.lsfs.description``), and its folder's other files as
        ``{"name", "snippet"}`` (the start of their indexed text)."""
        root = self.backend.path
        folder = str(PurePosixPath(rel).parent)
        folder = "" if folder in (".", ".lsfs") else folder
        me = PurePosixPath(rel).name
        try:
            names = sorted(n for n in os.listdir(root / folder) if n != ".lsfs" and n != me)
        except OSError:
            names = []
        siblings = []
        for name in names[:MAX_SIBLINGS]:
            row = self.backend.file_row(f"{folder}/{name}" if folder else name)
            text = self.backend.doc_text(row.id) if row is not None else None
            siblings.append({"name": name, "snippet": (text or "")[:SNIPPET_CHARS]})
        row = self.backend.file_row(rel) if not rel.startswith(".lsfs/") else None
        attrs = self.backend.user_xattrs(row.id) if row is not None else {}
        try:
            size = (root / rel).stat().st_size
        except OSError:
            size = 0
        description = attrs.get(DESCRIPTION)
        return {
            "root": root, "fs": self.backend.fs, "backend": self.backend, "config": self.backend.ro.config,
            "path": rel, "folder": folder, "folder_files": siblings, "size": size,
            "marker": marker.encode() if marker else None,
            "description": description.decode("utf-8", "replace") if description else None,
            "mountpoint": self.mountpoint,
        }

    def marker(self, rel: str) -> str | None:
        row = self.backend.file_row(rel)
        if row is None:
            return None
        value = self.backend.user_xattrs(row.id).get(GENERATOR)
        return value.decode("utf-8", "replace").strip() if value else None

    def ensure(self, rel: str, *, retry: bool) -> bool:
        """Generate ``rel`` if it is empty and marked; True when content was written.
        ``retry=False`` (stat) respects the back-off after a failure."""
        full = self.backend.path / rel
        try:
            if full.is_symlink() or not full.is_file() or full.stat().st_size != 0:
                return False
        except OSError:
            return False
        name = self.marker(rel)
        if not name:
            return False
        if not retry and time.monotonic() - self._failed.get(rel, -1e9) < self.retry_after:
            return False
        with self._guard:
            lock = self._locks.setdefault(rel, threading.Lock())
        with lock:
            if full.stat().st_size != 0:  # another thread filled it meanwhile
                return False
            return self._generate(rel, name)

    def _generate(self, rel: str, name: str) -> bool:
        gen = self.generators.get(name)
        if gen is None:
            return self._fail(rel, f"no content generator named {name!r} (installed: {', '.join(sorted(self.generators))})")
        ctx = self.context(rel, name)
        try:
            if not gen.can_handle(rel, ctx):
                return self._fail(rel, f"generator {name!r} declines {rel}")
            content = gen.generate(rel, ctx)
        except Exception as exc:  # a plugin or a backend failed: keep the marker, say why
            return self._fail(rel, f"generator {name!r} failed: {type(exc).__name__}: {exc}")
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not content:
            return self._fail(rel, f"generator {name!r} produced nothing")
        if (self.backend.path / rel).stat().st_size != 0:
            log.info("%s was written while %r generated it; keeping what was written", rel, name)
            return False
        try:
            self.backend.fs.write_path(rel, bytes(content))
            self.backend.fs.remove_xattr(rel, GENERATOR)
        except Exception as exc:
            return self._fail(rel, f"writing the generated content failed: {exc}")
        self._failed.pop(rel, None)
        log.info("generated %s with %r (%d bytes)", rel, name, len(content))
        return True

    def _fail(self, rel: str, why: str) -> bool:
        self._failed[rel] = time.monotonic()
        log.warning("generation of %s failed; the marker stays for a retry: %s", rel, why)
        return False
