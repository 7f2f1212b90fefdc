"""Which paths LSFS leaves alone: ``.lsfs/``, ``.git/``, and the patterns of every
``.gitignore`` and ``.lsfsignore`` in the tree (each applies to its own folder and below,
as git does), plus the ``ignore`` list of ``config.toml``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pathspec

ALWAYS = (".lsfs", ".git")
IGNORE_FILES = (".gitignore", ".lsfsignore")
# LSFS's own temporary files (atomic writes) are never indexed or watched.
TEMP_PREFIX = ".lsfs-tmp-"

log = logging.getLogger("lsfs.ignore")


def _utf8_name(rel: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python hands them over as lone
    surrogates): the catalog, JSON and every face need real text."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class IgnoreRules:
    def __init__(self, root: Path, extra: list[str] | None = None):
        self.root = Path(root)
        self.extra = pathspec.GitIgnoreSpec.from_lines(extra or [])
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def _spec_for(self, rel_dir: str) -> pathspec.GitIgnoreSpec | None:
        if rel_dir not in self._specs:
            lines: list[str] = []
            folder = self.root / rel_dir if rel_dir else self.root
            for name in IGNORE_FILES:
                try:
                    lines += (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    continue
            self._specs[rel_dir] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[rel_dir]

    def forget(self, rel_dir: str = "") -> None:
        """Drop cached patterns (an ignore file changed)."""
        if rel_dir:
            self._specs.pop(rel_dir, None)
        else:
            self._specs.clear()

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        if not _utf8_name(rel):
            return True
        parts = rel.split("/")
        if any(p in ALWAYS for p in parts) or parts[-1].startswith(TEMP_PREFIX):
            return True
        probe = rel + "/" if is_dir else rel
        if self.extra.match_file(probe):
            return True
        # Each folder's rules see the path relative to that folder; a folder pattern
        # ("build/") also matches everything below it.
        for depth in range(len(parts)):
            spec = self._spec_for("/".join(parts[:depth]))
            if spec is not None and spec.match_file("/".join(parts[depth:]) + ("/" if is_dir else "")):
                return True
        return False

    def walk(self, under: str = ""):
        """Yield (relative path, lstat result) for every entry not ignored, folders excluded.

        Symlinks are yielded, not followed; the caller decides what to do with them.
        """
        start = self.root / under if under else self.root
        stack = [(start, under)]
        while stack:
            folder, rel_folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except (PermissionError, FileNotFoundError, NotADirectoryError):
                continue
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
                if not _utf8_name(rel):
                    log.warning("skipped %r: its name is not valid UTF-8, which LSFS cannot record; rename it", rel)
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    if self.ignored(rel, is_dir):
                        continue
                    if is_dir:
                        stack.append((Path(entry.path), rel))
                    else:
                        yield rel, entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
