"""Version retention: ``max_versions`` and ``max_age_days`` per file (0 = no limit).

Applied by the indexer each time it records a new version of a file. Only the OLDEST
versions are ever removed, so the numbers that remain are contiguous (m..N) and never
change: "version 7" means the same content before and after pruning, and "three versions
back" is always version N-3, which either still exists or was pruned (and rollback says so).

- ``max_versions = K`` keeps the newest K versions (the current one included).
- ``max_age_days = D`` keeps every state the file had during the last D days: a version is
  dropped only when its successor is older than D days (it stopped being current before
  the window), so ``rollback --to`` any day inside the window still works.
- The current version is never removed.

Objects are shared by content (two files, or two versions, with the same bytes store one
object), so a pruned version's object is deleted only when no version row references it.
Rows go first inside the caller's transaction; objects go after it commits, so a rolled
back transaction never leaves a version pointing at a deleted object.
"""

from __future__ import annotations

import time

from lsfs.store.catalog import Catalog
from lsfs.store.objects import ObjectStore

DAY = 86_400.0


def keep_from(catalog: Catalog, file_id: int, max_versions: int, max_age_days: float, now: float | None = None) -> int | None:
    """The lowest version number to keep, or None when nothing is to be pruned."""
    if max_versions <= 0 and max_age_days <= 0:
        return None
    (top,) = catalog.query("SELECT max(n) FROM versions WHERE file_id=?", (file_id,))[0]
    if top is None:
        return None
    floor = 1
    if max_versions > 0:
        floor = max(floor, top - max_versions + 1)
    if max_age_days > 0:
        cutoff = (time.time() if now is None else now) - max_age_days * DAY
        (first_recent,) = catalog.query(
            "SELECT min(n) FROM versions WHERE file_id=? AND time >= ?", (file_id, cutoff)
        )[0]
        # The version just before the first recent one was current at the cutoff: keep it.
        floor = max(floor, top if first_recent is None else first_recent - 1)
    return min(floor, top)


def prune_versions(
    catalog: Catalog, file_id: int, max_versions: int, max_age_days: float, now: float | None = None
) -> set[str]:
    """Delete the file's versions beyond the limits; return the content hashes they held."""
    floor = keep_from(catalog, file_id, max_versions, max_age_days, now)
    if floor is None:
        return set()
    with catalog.transaction() as db:
        shas = {
            r[0] for r in db.execute("SELECT sha256 FROM versions WHERE file_id=? AND n < ?", (file_id, floor))
        }
        if shas:
            db.execute("DELETE FROM versions WHERE file_id=? AND n < ?", (file_id, floor))
    return shas


def drop_unreferenced(catalog: Catalog, objects: ObjectStore, shas: set[str]) -> int:
    """Remove the objects among ``shas`` that no version (and no snapshot link) needs."""
    dropped = 0
    for sha in shas:
        if not catalog.object_in_use(sha):
            objects.remove(sha)
            dropped += 1
    return dropped
