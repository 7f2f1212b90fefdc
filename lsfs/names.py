"""What file does the user mean? Shared by every command and API that takes a NAME.

Order: the exact relative path; else a unique match on file name or stem ("cnn" →
``models/cnn.md``); several matches are ambiguous (exit 3, candidates listed); none is
not found (exit 1, closest names suggested). Deleted files are considered only when the
caller asks (history, rollback), and only after live ones.
"""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath

from lsfs.errors import Ambiguous, NotFound
from lsfs.paths import confine
from lsfs.store.catalog import Catalog


def _stem(path: str) -> str:
    name = PurePosixPath(path).name
    return name if name.startswith(".") else name.split(".", 1)[0]


def _by_name(paths: list[str], word: str) -> list[str]:
    """Paths whose file name or stem is ``word``: exact case first, then any case."""
    for fold in (str, str.lower):
        target = fold(word)
        found = sorted({p for p in paths if fold(PurePosixPath(p).name) == target or fold(_stem(p)) == target
                        or fold(PurePosixPath(p).stem) == target})
        if len(found) > 1:
            # "kyoto" beside its translation "kyoto.fr.md" means kyoto.md, whose whole stem
            # it is; a second suffix marks a derived file.
            whole = [p for p in found if fold(PurePosixPath(p).stem) == target]
            found = whole or found
        if found:
            return found
    return []


def resolve_name(root: Path, catalog: Catalog, name: str, *, include_deleted: bool = False) -> str:
    """The relative path ``name`` refers to, or raise NotFound / Ambiguous."""
    rel = confine(root, name)
    if (root / rel).is_file() or catalog.file_by_path(rel, include_deleted=include_deleted):
        return rel
    live = catalog.all_paths()
    pools = [live]
    if include_deleted:
        pools.append(sorted(set(catalog.all_paths(include_deleted=True)) - set(live)))
    if "/" not in rel:
        for pool in pools:
            found = _by_name(pool, rel)
            if len(found) == 1:
                return found[0]
            if found:
                shown = ", ".join(found[:10]) + (" …" if len(found) > 10 else "")
                raise Ambiguous(f"{name!r} matches {len(found)} files: {shown}; give the path", found)
    everything = [p for pool in pools for p in pool]
    by_file = {}
    for p in everything:
        by_file.setdefault(PurePosixPath(p).name, p)
    close = difflib.get_close_matches(rel, everything, n=3, cutoff=0.5)
    close += [by_file[n] for n in difflib.get_close_matches(PurePosixPath(rel).name, list(by_file), n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise NotFound(f"no file named {name!r} in {root}{hint}")
