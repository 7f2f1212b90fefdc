"""History, diff and rollback through the Python API, with real files, model and Chroma."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest

from lsfs import LSFS
from lsfs.errors import Locked, NotFound, OutsideRoot, Refused, UsageError, UserError
from lsfs.store.vectors import chunk_id

from conftest import CORPUS, plan_drafts, write_tree

PLAN = "notes/plan.md"
V = plan_drafts("\nBudget stays the same.\n")


@pytest.fixture
def vroot(tmp_path):
    root = tmp_path / "root"
    write_tree(root, {p: CORPUS[p] for p in ("notes/cnn.md", "recipes/bread.md", "travel/kyoto.md", "papers/llm-uncertainty.md")})
    return root


@pytest.fixture
def vfs(vroot):
    with LSFS.init(vroot) as fs:
        yield fs


@pytest.fixture
def five(vfs):
    """notes/plan.md written five times: versions 1..5 hold V[1]..V[5]."""
    vfs.create_or_get_file(PLAN, V[1])
    for n in range(2, 6):
        vfs.overwrite(PLAN, V[n])
    return vfs


def disk(fs, rel=PLAN) -> str:
    return (fs.root / rel).read_text()


def snapshot(fs, rel=PLAN):
    """Everything a refused rollback must leave alone."""
    cat = fs._root.catalog
    return (
        (fs.root / rel).read_bytes() if (fs.root / rel).exists() else None,
        cat.query("SELECT n, sha256, cause FROM versions ORDER BY file_id, n"),
        cat.query("SELECT count(*) FROM changes")[0][0],
    )


def set_time(fs, rel, n, when: dt.datetime) -> None:
    row = fs._root.catalog.file_by_path(rel, include_deleted=True)
    fs._root.catalog.execute("UPDATE versions SET time=? WHERE file_id=? AND n=?", (when.timestamp(), row.id, n))


# -- numbering and history ---------------------------------------------------------------

def test_history_lists_versions_oldest_first_and_the_last_is_current(five):
    h = five.history("plan")
    assert h.path == PLAN and [v.n for v in h.versions] == [1, 2, 3, 4, 5]
    assert [v.cause for v in h.versions] == ["write", "overwrite", "overwrite", "overwrite", "overwrite"]
    assert five.read(PLAN, version=5)[1].decode() == V[5] == disk(five)
    out = h.to_dict()
    assert set(out) == {"path", "versions"}
    assert set(out["versions"][0]) == {"n", "time", "size", "sha256", "cause"}
    assert dt.datetime.fromisoformat(out["versions"][0]["time"]).tzinfo is not None


def test_rollback_three_versions_restores_version_n_minus_3_as_a_new_version(five):
    result = five.rollback("plan", versions=3)
    assert disk(five) == V[2]
    assert (result.target, result.version, result.previous) == (2, 6, 5)
    h = five.history("plan")
    assert len(h.versions) == 6 and h.versions[-1].cause == "rollback"
    assert h.versions[-1].sha256 == h.versions[1].sha256


def test_show_version_uses_the_same_numbering_after_a_rollback(five):
    five.rollback(PLAN, versions=3)
    assert five.read(PLAN, version=6)[1].decode() == V[2]
    assert five.read(PLAN, version=5)[1].decode() == V[5]


def test_rollback_one_version_undoes_a_rollback(five):
    five.rollback(PLAN, versions=2)
    assert disk(five) == V[3]
    five.rollback(PLAN, versions=1)
    assert disk(five) == V[5]
    assert [v.cause for v in five.history(PLAN).versions][-2:] == ["rollback", "rollback"]


def test_rollback_updates_the_keyword_index(five):
    five.rollback(PLAN, versions=3)
    assert [h.path for h in five.keywords_retrieve(["albatross"])] == [PLAN]
    assert five.keywords_retrieve(["hovercraft"]) == []


def test_rollback_updates_the_vectors(vfs):
    vfs.overwrite("cnn", "Grandmother's lemon drizzle cake: butter, sugar, eggs, flour and lemon zest.")
    vfs.rollback("cnn", versions=1)
    cat = vfs._root.catalog
    row = cat.file_by_path("notes/cnn.md")
    text, chunks = cat.doc_text(row.id), cat.chunks_of(row.id)
    assert "Convolutional" in text
    stored = vfs._root.vectors().get_embeddings([chunk_id(row.id, c.seq) for c in chunks])
    fresh = vfs._root.embedder().embed([text[c.start : c.end] for c in chunks])
    for c, vec in zip(chunks, fresh):
        assert float(np.dot(stored[chunk_id(row.id, c.seq)], vec)) > 0.999
    assert [i for i in vfs._root.vectors().all_ids() if i.startswith(f"{row.id}:")] == [
        chunk_id(row.id, c.seq) for c in chunks
    ]
    assert vfs.semantic_retrieve("filters sliding over images to classify pictures", k=1)[0].path == "notes/cnn.md"
    assert "notes/cnn.md" not in [h.path for h in vfs.semantic_retrieve("lemon drizzle cake with butter", k=1)]


def test_rollback_to_the_current_content_changes_nothing(five):
    five.overwrite(PLAN, V[4])  # version 6 = V[4]; two back (version 4) is the same content
    before = snapshot(five)
    result = five.rollback(PLAN, versions=2)
    assert not result.changed and result.version == 6
    assert snapshot(five) == before


def test_an_unseen_outside_edit_is_kept_before_rolling_back(five):
    (five.root / PLAN).write_text("edited in vim, not yet indexed\n")
    five.rollback(PLAN, versions=1)
    assert disk(five) == V[5]
    h = five.history(PLAN)
    assert [v.cause for v in h.versions][-2:] == ["external", "rollback"]
    assert five.read(PLAN, version=6)[1] == b"edited in vim, not yet indexed\n"


# -- the preview ---------------------------------------------------------------------------

def test_plan_shows_target_and_diff_stat_without_changing_anything(five):
    before = snapshot(five)
    plan = five.rollback_plan("plan", versions=4)
    assert (plan.path, plan.current, plan.target, plan.target_cause) == (PLAN, 5, 1, "write")
    assert (plan.added, plan.removed) == (1, 1) and plan.stat() == "+1 -1 lines"
    assert snapshot(five) == before


def test_confirm_false_refuses_with_the_plan_and_changes_nothing(five):
    before = snapshot(five)
    with pytest.raises(Refused, match="back from version 5 to version 2"):
        five.rollback(PLAN, versions=3, confirm=False)
    assert snapshot(five) == before


def test_a_changed_file_since_the_preview_is_refused(five):
    plan = five.rollback_plan(PLAN, versions=1)
    five.overwrite(PLAN, "someone else wrote this meanwhile\n")
    before = snapshot(five)
    with pytest.raises(Refused, match="changed since the preview"):
        five.rollback(PLAN, versions=1, expect_target=plan.target)
    assert snapshot(five) == before


# -- by date ---------------------------------------------------------------------------

@pytest.fixture
def dated(five):
    """Versions on explicit local times across several days (no sleeping)."""
    times = {
        1: dt.datetime(2024, 3, 1, 10, 0),
        2: dt.datetime(2024, 3, 3, 9, 0),
        3: dt.datetime(2024, 3, 3, 23, 59, 59),
        4: dt.datetime(2024, 3, 4, 0, 0, 1),
        5: dt.datetime(2024, 3, 7, 12, 0),
    }
    for n, when in times.items():
        set_time(five, PLAN, n, when)
    return five


@pytest.mark.parametrize(
    "day, target",
    [("2024-03-01", 1), ("2024-03-02", 1), ("2024-03-03", 3), ("2024-03-04", 4), ("2024-03-06", 4)],
)
def test_date_picks_the_newest_version_on_or_before_the_end_of_that_day(dated, day, target):
    assert dated.rollback_plan(PLAN, date=day).target == target


def test_rollback_by_date_restores_that_days_content(dated):
    dated.rollback(PLAN, date="2024-03-03")
    assert disk(dated) == V[3]
    assert dated.history(PLAN).versions[-1].cause == "rollback"


def test_rollback_by_date_accepts_a_date_object(dated):
    assert dated.rollback_plan(PLAN, date=dt.date(2024, 3, 4)).target == 4


def test_rollback_to_today_is_the_current_content(dated):
    plan = dated.rollback_plan(PLAN, date="today")
    assert plan.target == 5 and plan.unchanged


# -- deleted files ---------------------------------------------------------------------

def test_a_deleted_file_keeps_its_history(five):
    five.del_(PLAN)
    h = five.history("plan")
    assert h.deleted and h.deleted_at and [v.n for v in h.versions] == [1, 2, 3, 4, 5]


def test_rollback_one_version_brings_a_deleted_file_back(five):
    fid = five._root.catalog.file_by_path(PLAN).id
    five.del_(PLAN)
    result = five.rollback("plan", versions=1)
    assert result.restored and result.target == 5 and disk(five) == V[5]
    row = five._root.catalog.file_by_path(PLAN)
    assert row.id == fid and row.state == "indexed"  # the same lineage, revived
    assert [h.path for h in five.keywords_retrieve(["hovercraft"])] == [PLAN]
    assert five.semantic_retrieve("ship the hovercraft by spring", k=1)[0].path == PLAN
    assert five.changes(limit=1)[0].cause == "rollback"


def test_rollback_further_back_restores_a_deleted_file_as_a_new_version(five):
    five.del_(PLAN)
    result = five.rollback(PLAN, versions=3)  # the delete is one step, then versions 5 and 4
    assert result.restored and result.target == 3 and disk(five) == V[3]
    assert [v.cause for v in five.history(PLAN).versions] == ["write"] + ["overwrite"] * 4 + ["rollback"]


def test_restoring_never_follows_a_folder_that_became_a_link_out_of_the_root(five, tmp_path):
    five.del_(PLAN)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(five.root / "notes")
    (five.root / "notes").symlink_to(outside)
    with pytest.raises(OutsideRoot):
        five.rollback(PLAN, versions=1)
    assert list(outside.iterdir()) == []


def test_restoring_where_a_file_now_stands_in_the_way_is_refused(five):
    five.del_(PLAN)
    shutil.rmtree(five.root / "notes")
    (five.root / "notes").write_text("a file called notes\n")
    with pytest.raises(UserError, match="a file now stands where one of its folders was"):
        five.rollback(PLAN, versions=1)
    assert (five.root / "notes").read_text() == "a file called notes\n"


# -- diff --------------------------------------------------------------------------------

def test_diff_defaults_to_previous_against_current(five):
    d = five.diff("plan")
    assert (d.from_n, d.to_n, d.added, d.removed) == (4, 5, 1, 1)
    assert "-Draft 4: we will ship the cormorant by spring.\n+Draft 5: we will ship the hovercraft by spring.\n" in d.text
    assert d.text.startswith(f"--- a/{PLAN}\tversion 4 (")


def test_diff_between_chosen_versions(five):
    d = five.diff(PLAN, from_n=1, to_n=3)
    assert "-Draft 1: we will ship the zeppelin" in d.text and "+Draft 3: we will ship the submarine" in d.text


def test_diff_of_the_first_version_is_against_nothing(five):
    d = five.diff(PLAN, to_n=1)
    assert d.from_n is None and d.text.startswith("--- /dev/null") and d.added == V[1].count("\n")


def test_diff_of_binary_content_says_so(vfs):
    (vfs.root / "pic.bin").write_bytes(b"\x00\x01\x02 one")
    vfs.index()
    (vfs.root / "pic.bin").write_bytes(b"\x00\x01\x02 two")
    vfs.index()
    d = vfs.diff("pic.bin")
    assert d.binary and (d.added, d.removed) == (0, 0)
    assert d.text.startswith("Binary files a/pic.bin (version 1 (") and d.text.rstrip().endswith("differ")


def test_diff_of_a_version_that_does_not_exist_is_refused(five):
    with pytest.raises(UserError, match="has versions 1 to 5; there is no version 9"):
        five.diff(PLAN, from_n=9)


# -- bad input: one clear error, nothing changed ------------------------------------------

@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"versions": 0}, UserError, "must be 1 or more"),
        ({"versions": -2}, UserError, "must be 1 or more"),
        ({"versions": 5}, UserError, "has 5 versions (1 to 5), the current one is 5, so --versions can be 1 to 4, not 5"),
        ({"versions": True}, UserError, "whole number"),
        ({"date": "2024-02-30"}, UserError, "no such date"),
        ({"date": "03/01/2024"}, UserError, "YYYY-MM-DD"),
        ({"date": "2999-01-01"}, UserError, "in the future"),
        ({"date": "2024-02-29"}, UserError,
         "no version from 2024-02-29 or earlier; its oldest kept version is from 2024-03-01 10:00"),
        ({"versions": 1, "date": "2024-03-03"}, UsageError, "exactly one of"),
        ({}, UsageError, "exactly one of"),
    ],
)
def test_bad_rollback_input_is_refused_and_changes_nothing(dated, kwargs, error, message):
    before = snapshot(dated)
    with pytest.raises(error) as exc:
        dated.rollback(PLAN, **kwargs)
    assert message in str(exc.value)
    assert type(exc.value) is error
    assert snapshot(dated) == before


def test_a_file_with_one_version_has_nothing_to_roll_back_to(vfs):
    with pytest.raises(UserError, match="has 1 version, the current one; there is no earlier version"):
        vfs.rollback("kyoto", versions=1)


def test_a_locked_file_is_refused_and_nothing_changes(five):
    five._root.catalog.execute("UPDATE files SET locked=1 WHERE path=?", (PLAN,))
    before = snapshot(five)
    with pytest.raises(Locked, match="is locked"):
        five.rollback(PLAN, versions=1)
    with pytest.raises(Locked):
        five.rollback_plan(PLAN, versions=1)
    assert snapshot(five) == before


def test_an_unknown_name_suggests_close_ones(five):
    with pytest.raises(NotFound, match="did you mean notes/plan.md"):
        five.rollback("plann", versions=1)
