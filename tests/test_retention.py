"""Retention: max_versions and max_age_days prune only the oldest versions, keep numbers
stable, never drop the current version, and delete an object only when nothing uses it."""

from __future__ import annotations

import json
import time

import pytest

from lsfs import LSFS
from lsfs.errors import UserError

from conftest import run_cli, write_tree

DOC = "notes/doc.md"
DAY = 86_400


def text(n: int) -> str:
    return f"# Doc\n\nRevision {n} of the document, unique word rev{n}word.\n"


def open_with(tmp_path, **settings):
    """A root with notes/doc.md at version 1 and [versions] settings in config.toml."""
    root = tmp_path / "root"
    write_tree(root, {DOC: text(1), "other/keep.md": "unrelated\n"})
    LSFS.init(root).close()
    cfg = root / ".lsfs/config.toml"
    body = cfg.read_text()
    for key, value in settings.items():
        body = body.replace(f"{key} = 0", f"{key} = {value}", 1)
    cfg.write_text(body)
    return LSFS.open(root)


def numbers(fs, rel=DOC):
    return [v.n for v in fs.history(rel).versions]


def test_max_versions_keeps_the_newest_with_their_numbers(tmp_path):
    with open_with(tmp_path, max_versions=3) as fs:
        for n in range(2, 7):
            fs.overwrite(DOC, text(n))
        assert numbers(fs) == [4, 5, 6]
        assert fs.read(DOC, version=4)[1].decode() == text(4)


def test_rollback_counts_back_among_kept_versions_and_says_when_older_were_pruned(tmp_path):
    with open_with(tmp_path, max_versions=3) as fs:
        for n in range(2, 7):
            fs.overwrite(DOC, text(n))
        assert fs.rollback_plan(DOC, versions=2).target == 4
        with pytest.raises(UserError, match=r"3 versions kept \(4 to 6; older ones were removed by the retention settings\)"):
            fs.rollback(DOC, versions=3)
        assert (fs.root / DOC).read_text() == text(6)


def test_pruned_content_leaves_the_object_store(tmp_path):
    with open_with(tmp_path, max_versions=2) as fs:
        first = fs.history(DOC).versions[0].sha256
        fs.overwrite(DOC, text(2))
        fs.overwrite(DOC, text(3))
        assert not fs._root.objects.has(first)
        referenced = fs._root.catalog.referenced_objects()
        assert set(fs._root.objects.all()) == referenced


def test_an_object_another_version_still_uses_is_kept(tmp_path):
    with open_with(tmp_path, max_versions=2) as fs:
        fs.overwrite("other/keep.md", text(1))  # same bytes as doc.md's version 1
        shared = fs.history(DOC).versions[0].sha256
        fs.overwrite(DOC, text(2))
        fs.overwrite(DOC, text(3))
        assert numbers(fs) == [2, 3]
        assert fs._root.objects.has(shared) and fs.read("other/keep.md", version=2)[1].decode() == text(1)


def test_the_current_version_is_never_pruned(tmp_path):
    with open_with(tmp_path, max_versions=1) as fs:
        fs.overwrite(DOC, text(2))
        assert numbers(fs) == [2]
        with pytest.raises(UserError, match="has 1 version kept .*no earlier version"):
            fs.rollback(DOC, versions=1)


def test_max_age_keeps_every_state_of_the_window(tmp_path):
    with open_with(tmp_path, max_age_days=10) as fs:
        fs.overwrite(DOC, text(2))
        fs.overwrite(DOC, text(3))
        fid = fs._root.catalog.file_by_path(DOC).id
        now = time.time()
        for n, days in {1: 30, 2: 20, 3: 5}.items():
            fs._root.catalog.execute("UPDATE versions SET time=? WHERE file_id=? AND n=?", (now - days * DAY, fid, n))
        fs.overwrite(DOC, text(4))
        # Version 1 stopped being current 20 days ago: gone. Version 2 was current 10 days
        # ago (until day -5): kept, so the file as it was 10 days ago can still be restored.
        assert numbers(fs) == [2, 3, 4]


def test_max_age_never_drops_the_current_version_however_old(tmp_path):
    with open_with(tmp_path, max_age_days=1) as fs:
        fid = fs._root.catalog.file_by_path(DOC).id
        fs._root.catalog.execute("UPDATE versions SET time=? WHERE file_id=?", (time.time() - 400 * DAY, fid))
        fs.overwrite("other/keep.md", "a write elsewhere\n")
        assert numbers(fs) == [1]
        fs.overwrite(DOC, text(2))
        assert numbers(fs) == [1, 2]  # version 1 was current until just now


def test_retention_is_off_by_default(tmp_path):
    with open_with(tmp_path) as fs:
        for n in range(2, 12):
            fs.overwrite(DOC, text(n))
        assert numbers(fs) == list(range(1, 12))


def test_history_cli_shows_the_kept_numbers(tmp_path):
    with open_with(tmp_path, max_versions=2) as fs:
        for n in range(2, 5):
            fs.overwrite(DOC, text(n))
        root = fs.root
    r = run_cli("history", "doc", "--root", str(root), "--json")
    assert [v["n"] for v in json.loads(r.out)["versions"]] == [3, 4]


def test_pruning_keeps_an_object_a_snapshot_link_still_serves(tmp_path):
    from lsfs import LSFS

    root = tmp_path / "root"
    root.mkdir()
    (root / ".lsfs").mkdir()
    (root / ".lsfs" / "config.toml").write_text("[versions]\nmax_versions = 2\n")
    (root / "note.txt").write_text("first words")
    with LSFS.init(root) as fs:
        shared = fs.link("note.txt")
        first = fs._root.catalog.latest_version(fs._root.catalog.file_by_path("note.txt").id).sha256
        for i in range(4):
            fs.overwrite("note.txt", f"later words {i}")
        assert fs._root.objects.has(first)
        assert shared.url
