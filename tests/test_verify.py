"""`lsfs verify [--repair]` and the recovery of interrupted operations on the next open."""

from __future__ import annotations

import json
import os

import pytest

from conftest import damage_object, run_cli
from lsfs import LSFS
from lsfs import recovery


def kinds(report) -> set[str]:
    return {p.kind for p in report.problems}


def test_a_fresh_root_verifies_clean(fs):
    report = fs.verify()
    assert report.ok and report.problems == []
    assert report.checked["files"] >= 10 and report.checked["vectors"] == report.checked["chunks"]


def test_an_outside_edit_a_new_file_and_a_deleted_file_are_reported_then_repaired(fs):
    (fs.root / "notes/cnn.md").write_text("# CNN\n\nrewritten outside LSFS\n")
    (fs.root / "notes/new.txt").write_text("a file LSFS has not seen\n")
    (fs.root / "recipes/bread.md").unlink()
    report = fs.verify()
    assert not report.ok
    by_path = {p.path: p for p in report.problems}
    assert by_path["notes/cnn.md"].kind == "file-changed"
    assert "changed on disk since LSFS last read it" in by_path["notes/cnn.md"].message
    assert by_path["notes/new.txt"].kind == "file-unknown"
    assert by_path["recipes/bread.md"].kind == "file-missing"
    versions_before = len(fs.history("notes/cnn.md").versions)
    repaired = fs.verify(repair=True)
    assert repaired.ok, repaired.problems
    assert repaired.repaired
    assert len(fs.history("notes/cnn.md").versions) == versions_before + 1  # the edit is a version now
    assert fs.read("notes/cnn.md")[1] == (fs.root / "notes/cnn.md").read_bytes()
    assert [h.path for h in fs.keywords_retrieve(["rewritten outside"])] == ["notes/cnn.md"]


def test_damaged_keyword_index_and_lost_vectors_are_rebuilt(fs):
    cat = fs._root.catalog
    row = cat.file_by_path("notes/cnn.md")
    cat.execute("DELETE FROM chunks WHERE file_id=?", (row.id,))
    other = cat.file_by_path("travel/kyoto.md")
    fs._root.vectors().delete([f"{other.id}:{i}" for i in range(other.n_chunks)])
    report = fs.verify()
    assert {"keyword-index", "vectors"} <= kinds(report)
    repaired = fs.verify(repair=True)
    assert repaired.ok, repaired.problems
    assert fs.semantic_retrieve("temples and maple leaves in autumn", k=1)[0].path == "travel/kyoto.md"
    assert "notes/cnn.md" in [h.path for h in fs.search("convolutional filters pooling", mode="keyword")]


def test_a_lost_version_object_is_reported_and_not_invented(fs):
    fs.overwrite("notes/cnn.md", "second version\n")
    first = fs._root.catalog.version(fs._root.catalog.file_by_path("notes/cnn.md").id, 1)
    fs._root.objects.remove(first.sha256)
    report = fs.verify(repair=True)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["object-missing"]
    assert "version 1 of notes/cnn.md is lost" in report.problems[0].message
    assert not fs._root.objects.has(first.sha256)


@pytest.mark.parametrize("big", [False, True], ids=["packed", "loose"])
def test_a_corrupt_object_whose_file_is_still_on_disk_is_stored_again(fs, big):
    name = "notes/cnn.md"
    if big:  # random bytes do not compress: more than the pack takes, so a file of its own
        name = "notes/noise.bin"
        fs.write_path(name, os.urandom(100_000))
    row = fs._root.catalog.file_by_path(name)
    assert (fs._root.objects.path / row.sha256[:2] / row.sha256[2:]).exists() == big
    damage_object(fs.root, row.sha256)
    assert kinds(fs.verify()) == {"object-corrupt"}
    assert fs.verify(repair=True).ok
    assert fs._root.objects.check(row.sha256)


def test_temp_files_left_by_a_killed_write_are_reported_and_removed(fs):
    stray = fs.root / "notes" / ".lsfs-tmp-abc123"
    stray.write_text("half a write")
    assert kinds(fs.verify()) == {"temp-file"}
    assert fs.verify(repair=True).ok
    assert not stray.exists()


def test_an_interrupted_write_is_finished_by_the_next_open(corpus_dir):
    with LSFS.init(corpus_dir) as fs:
        # What a process killed right after the rename leaves: new content on disk, the
        # intent in the catalog, no version for it yet.
        with_intent = recovery.intent(fs._root.catalog, "write", ["notes/cnn.md"], "overwrite")
        with_intent.__enter__()
        (corpus_dir / "notes/cnn.md").write_text("# CNN\n\nnew content, never recorded\n")
        (corpus_dir / "notes/.lsfs-tmp-zz").write_text("leftover")
    with LSFS.open(corpus_dir) as fs:
        assert recovery.pending(fs._root.catalog) == []
        versions = fs.history("notes/cnn.md").versions
        assert versions[-1].cause == "overwrite"
        assert fs.read("notes/cnn.md", version=versions[-1].n)[1] == b"# CNN\n\nnew content, never recorded\n"
        assert not (corpus_dir / "notes/.lsfs-tmp-zz").exists()
        assert fs.verify().ok


def test_cli_verify_exits_0_when_all_agree_and_1_with_each_problem_listed(corpus_dir):
    root = corpus_dir
    LSFS.init(root).close()
    res = run_cli("verify", "--root", str(root))
    assert res.code == 0 and res.out.startswith("all agree:")
    (root / "notes/cnn.md").write_text("changed\n")
    res = run_cli("verify", "--root", str(root), "--json")
    assert res.code == 1
    out = json.loads(res.out)
    assert out["ok"] is False
    assert out["problems"] == [{"kind": "file-changed", "path": "notes/cnn.md",
                                "message": "notes/cnn.md changed on disk since LSFS last read it (an outside change not yet recorded as a version)"}]
    res = run_cli("verify", "--root", str(root))
    assert res.code == 1
    assert "problem: notes/cnn.md changed on disk" in res.out
    assert res.err.strip() == "lsfs: error: verify found 1 problem(s); run 'lsfs verify --repair' to rebuild the derived state from disk"
    res = run_cli("verify", "--repair", "--root", str(root))
    assert res.code == 0, res.out + res.err
    assert "repaired: re-synced 1 path(s)" in res.out
