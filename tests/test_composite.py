"""The composite syscalls with real files: import, lock, group (and undo), join, integrated
retrieval, and every bad input they can be given."""

from __future__ import annotations

import json
import os
import stat

import pytest

from lsfs.errors import Locked, NotFound, OutsideRoot, Refused, UserError

from conftest import DOCX_TEXT, PDF_TEXT, make_docx, make_pdf, run_cli, write_tree


def tree(root) -> dict[str, bytes]:
    """Every file under the root (outside .lsfs/) with its bytes: 'nothing changed' checks."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith(".lsfs") or not p.is_file() or p.is_symlink():
            continue
        out[rel] = p.read_bytes()
    return out


def versions(fs, rel):
    row = fs._root.catalog.file_by_path(rel, include_deleted=True)
    return [(v.n, v.sha256, v.cause) for v in fs._root.catalog.versions_of(row.id)]


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- create (lsfs import) ------------------------------------------------------------------

@pytest.fixture
def source(tmp_path):
    """A folder outside the root: nested text, a PDF, a corrupt PDF, a binary, an ignored
    build folder and a symbolic link."""
    src = tmp_path / "incoming"
    write_tree(src, {
        "README.md": "# Wind tunnel notes\n\nMeasurements of lift on a swept wing.",
        "data/runs/run1.txt": "Run one: boundary layer separation at twelve degrees.",
        "data/runs/run2.txt": "Run two: laminar flow held up to eight degrees.",
        "data/photo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "docs/broken.pdf": b"%PDF-1.4 this is not really a pdf",
        ".gitignore": "build/\n",
        "build/output.txt": "generated, must not be imported",
    })
    make_pdf(src / "docs/report.pdf", "Flutter of heated aircraft wings at supersonic speed.")
    os.symlink(src / "README.md", src / "link-to-readme.md")
    return src


def test_import_copies_a_nested_folder_and_indexes_what_it_can(fs, source):
    result = fs.create(source)
    assert result.into == "incoming"
    assert sorted(result.imported) == [
        "incoming/.gitignore", "incoming/README.md", "incoming/data/runs/run1.txt",
        "incoming/data/runs/run2.txt", "incoming/docs/report.pdf",
    ]
    skipped = {e["path"]: e["reason"] for e in result.skipped}
    failed = {e["path"]: e["reason"] for e in result.failed}
    assert "binary" in skipped["incoming/data/photo.png"]
    assert "symbolic link" in skipped["incoming/link-to-readme.md"]
    assert "pdf" in failed["incoming/docs/broken.pdf"].lower()
    assert result.ignored == 1  # build/, by the source's own .gitignore
    assert not (fs.root / "incoming/build").exists()
    assert not (fs.root / "incoming/link-to-readme.md").exists()
    # Copies are byte-identical, indexed, searchable and versioned as imports.
    assert (fs.root / "incoming/data/photo.png").read_bytes() == (source / "data/photo.png").read_bytes()
    assert [h.path for h in fs.keywords_retrieve(["laminar flow"])] == ["incoming/data/runs/run2.txt"]
    assert fs.semantic_retrieve("aeroelastic flutter of hot wings", k=1)[0].path == "incoming/docs/report.pdf"
    assert [c for _, _, c in versions(fs, "incoming/README.md")] == ["import"]
    assert (source / "README.md").exists()  # a copy, not a move
    assert not [p for p in fs.root.rglob("*") if ".lsfs-tmp-" in p.name]


def test_import_into_a_named_folder(fs, source):
    result = fs.create(source, "archive/2024")
    assert "archive/2024/data/runs/run1.txt" in result.imported
    assert (fs.root / "archive/2024/README.md").is_file()


def test_import_never_overwrites_an_existing_file(fs, source):
    write_tree(fs.root, {"incoming/README.md": "mine, keep me", "incoming/data/runs/run1.txt": (source / "data/runs/run1.txt").read_text()})
    result = fs.create(source)
    skipped = {e["path"]: e["reason"] for e in result.skipped}
    assert "not overwritten" in skipped["incoming/README.md"]
    assert "same content" in skipped["incoming/data/runs/run1.txt"]
    assert (fs.root / "incoming/README.md").read_text() == "mine, keep me"
    assert "incoming/data/runs/run2.txt" in result.imported


def test_import_refuses_the_root_a_folder_inside_it_and_a_folder_containing_it(fs):
    before = tree(fs.root)
    with pytest.raises(UserError, match="root itself"):
        fs.create(fs.root)
    with pytest.raises(UserError, match="already inside the root"):
        fs.create(fs.root / "notes")
    with pytest.raises(UserError, match="contains the root"):
        fs.create(fs.root.parent)
    assert tree(fs.root) == before


def test_import_of_a_missing_source_or_of_a_file_is_a_clear_error(fs, tmp_path):
    before = tree(fs.root)
    with pytest.raises(NotFound, match="does not exist"):
        fs.create(tmp_path / "nowhere")
    (tmp_path / "single.txt").write_text("one file")
    with pytest.raises(UserError, match="is a file, not a folder"):
        fs.create(tmp_path / "single.txt")
    assert tree(fs.root) == before


def test_import_into_a_file_or_outside_the_root_is_refused(fs, source):
    before = tree(fs.root)
    with pytest.raises(UserError, match="is a file"):
        fs.create(source, "notes/cnn.md")
    with pytest.raises(OutsideRoot):
        fs.create(source, "../elsewhere")
    assert tree(fs.root) == before


def test_cli_import_summarises_and_refuses_archives_for_now(fs, source, tmp_path):
    root = str(fs.root)
    fs.close()
    r = run_cli("import", str(source), "--into", "inbox", "--root", root)
    assert r.code == 0, r.err
    assert "imported 5 file(s) into inbox: 2 skipped, 1 failed" in r.out
    assert "inbox/docs/broken.pdf" in r.err
    archive = tmp_path / "backup.json"
    archive.write_text("{}")
    r = run_cli("import", str(archive), "--root", root)
    assert r.code == 1 and "archive" in r.err and r.err.startswith("lsfs: error:")
    r = run_cli("import", str(tmp_path / "missing"), "--root", root)
    assert r.code == 1 and "does not exist" in r.err


# -- lock_file / unlock_file ---------------------------------------------------------------

def test_lock_makes_the_file_read_only_and_unlock_restores_the_exact_mode(fs):
    path = fs.root / "notes/cnn.md"
    os.chmod(path, 0o640)
    locked = fs.lock_file("cnn")
    assert locked.changed and locked.path == "notes/cnn.md"
    assert mode_of(path) == 0o440
    row = fs._root.catalog.file_by_path("notes/cnn.md")
    assert row.locked and row.lock_mode == 0o640
    unlocked = fs.unlock_file("cnn")
    assert unlocked.changed and mode_of(path) == 0o640
    assert not fs._root.catalog.file_by_path("notes/cnn.md").locked


def test_a_locked_file_refuses_every_write_path_and_stays_as_it_was(fs):
    fs.lock_file("notes/cnn.md")
    before = tree(fs.root)
    attempts = {
        "write": lambda: fs.overwrite("cnn", "new text"),
        "append": lambda: fs.add_("cnn", "more"),
        "rm": lambda: fs.del_("cnn"),
        "rm --containing": lambda: fs.del_(dir="notes", key_text="filters", confirm=True),
        "group --keyword": lambda: fs.group_keywords(["pooling"], "vision", confirm=True),
        "group --semantic": lambda: fs.group_semantic("convolutional networks for images", "vision", k=1, confirm=True),
        "join (append into it)": lambda: fs.file_join(["cnn", "transformers"]),
        "join --into it": lambda: fs.file_join(["transformers", "kyoto"], into="notes/cnn.md", confirm=True),
    }
    for what, attempt in attempts.items():
        with pytest.raises(Locked, match="locked"):
            attempt()
    assert tree(fs.root) == before, "a refused write changed something"
    assert not (fs.root / "vision").exists()


def test_cli_write_rm_group_and_join_refuse_a_locked_file_with_exit_1(fs):
    root = str(fs.root)
    fs.lock_file("cnn")
    fs.close()
    for args in (
        ("write", "cnn", "--text", "x"),
        ("write", "cnn", "--text", "x", "--append"),
        ("rm", "cnn"),
        ("group", "--keyword", "pooling", "--into", "vision", "--yes"),
        ("join", "cnn", "transformers"),
    ):
        r = run_cli(*args, "--root", root)
        assert r.code == 1, (args, r.err)
        assert "locked" in r.err and r.err.startswith("lsfs: error:")


def test_locking_twice_and_unlocking_an_unlocked_file_say_so(fs):
    root = str(fs.root)
    fs.close()
    assert run_cli("unlock", "bread", "--root", root).out.strip() == "recipes/bread.md is not locked; nothing changed"
    assert run_cli("lock", "bread", "--root", root).out.startswith("locked: recipes/bread.md")
    r = run_cli("lock", "bread", "--root", root)
    assert r.code == 0 and r.out.strip() == "recipes/bread.md is already locked; nothing changed"
    assert "unlocked: recipes/bread.md" in run_cli("unlock", "bread", "--root", root).out


def test_a_lock_survives_reindexing_and_an_outside_move(fs):
    fs.lock_file("kyoto")
    fs.index(rebuild=True)
    assert fs._root.catalog.file_by_path("travel/kyoto.md").locked
    os.rename(fs.root / "travel/kyoto.md", fs.root / "kyoto-trip.md")  # moved outside LSFS
    fs.index()
    row = fs._root.catalog.file_by_path("kyoto-trip.md")
    assert row.locked
    with pytest.raises(Locked):
        fs.overwrite("kyoto-trip.md", "gone")
    fs.unlock_file("kyoto-trip.md")
    assert mode_of(fs.root / "kyoto-trip.md") & 0o200


def test_joining_reads_a_locked_file_without_writing_it(fs):
    fs.lock_file("kyoto")
    result = fs.file_join(["bread", "kyoto"], into="mix.md")
    assert result.done and "Arashiyama" in (fs.root / "mix.md").read_text()
    assert fs._root.catalog.file_by_path("travel/kyoto.md").locked


# -- group_semantic / group_keywords / ungroup ---------------------------------------------

def test_group_returns_its_plan_and_moves_nothing_until_confirmed(fs):
    before = tree(fs.root)
    plan = fs.group_semantic("language models that are unsure or make things up", "llm", k=2)
    assert not plan.done and plan.into == "llm"
    assert sorted(m.source for m in plan.moves) == ["papers/llm-hallucination.md", "papers/llm-uncertainty.md"]
    assert all(0 < m.score <= 1 for m in plan.moves)
    assert tree(fs.root) == before and not (fs.root / "llm").exists()


def test_group_moves_exactly_the_planned_files_keeping_history_vectors_and_search(fs):
    cat = fs._root.catalog
    ids = {p: cat.file_by_path(p).id for p in ("papers/llm-hallucination.md", "papers/llm-uncertainty.md")}
    history = {p: versions(fs, p) for p in ids}
    vectors_before = set(fs._root.vectors().all_ids())
    fs.overwrite("papers/llm-uncertainty.md", (fs.root / "papers/llm-uncertainty.md").read_text() + "\nEdited once.")
    history["papers/llm-uncertainty.md"] = versions(fs, "papers/llm-uncertainty.md")
    vectors_before = set(fs._root.vectors().all_ids())
    plan = fs.group_semantic("language models that are unsure or make things up", "llm", k=2)
    done = fs.group_semantic("language models that are unsure or make things up", "llm", k=2, confirm=True,
                             expect=[m.source for m in plan.moves])
    assert done.done and done.group_id
    moved = {m.source: m.target for m in done.moves}
    assert moved == {"papers/llm-hallucination.md": "llm/llm-hallucination.md",
                     "papers/llm-uncertainty.md": "llm/llm-uncertainty.md"}
    for src, dst in moved.items():
        assert not (fs.root / src).exists() and (fs.root / dst).is_file()
        assert cat.file_by_path(dst).id == ids[src]            # same lineage
        assert versions(fs, dst) == history[src]               # history kept, no new version
    assert set(fs._root.vectors().all_ids()) == vectors_before  # nothing re-embedded or dropped
    assert [h.path for h in fs.keywords_retrieve(["semantic entropy"])] == ["llm/llm-hallucination.md"]
    assert fs.semantic_retrieve("calibrated confidence of a language model", k=1)[0].path == "llm/llm-uncertainty.md"
    assert fs.search("hallucinated facts", k=1)[0].path == "llm/llm-hallucination.md"
    logged = cat.query("SELECT path, cause, summary FROM changes WHERE cause='move' ORDER BY id")
    assert ("llm/llm-hallucination.md", "move", "moved from papers/llm-hallucination.md") in logged


def test_group_keywords_moves_the_files_containing_all_keywords(fs):
    done = fs.group_keywords(["tomato"], "garden", confirm=True)
    assert sorted(m.target for m in done.moves) == ["garden/gardening.pdf", "garden/tomato-soup.txt"]
    done = fs.group_keywords(["flour", "oven"], "baking", dir="recipes", confirm=True)
    assert [m.source for m in done.moves] == ["recipes/bread.md"]


def test_group_renames_on_a_name_clash_and_never_overwrites(fs):
    fs.create_or_get_file("vision/cnn.md", "already here: a different cnn note")
    fs.create_or_get_file("other/cnn.md", "another CNN note about pooling")
    done = fs.group_keywords(["pooling"], "vision", confirm=True)
    targets = {m.source: (m.target, m.renamed) for m in done.moves}
    assert targets == {"notes/cnn.md": ("vision/cnn (2).md", True), "other/cnn.md": ("vision/cnn (3).md", True)}
    assert (fs.root / "vision/cnn.md").read_text() == "already here: a different cnn note"
    assert (fs.root / "vision/cnn (2).md").read_text().startswith("# Convolutional")


def test_a_file_already_in_the_target_stays_and_counts_as_grouped(fs):
    plan = fs.group_keywords(["tomato"], "recipes")
    assert [m.source for m in plan.moves] == ["docs/gardening.pdf"] and plan.already_there == 1
    with pytest.raises(UserError, match="already in recipes"):
        fs.group_keywords(["sourdough"], "recipes", confirm=True)


def test_ungroup_puts_the_files_back_and_removes_the_folder_it_made(fs):
    done = fs.group_keywords(["tomato"], "topics/garden", confirm=True)
    plan = fs.ungroup()
    assert not plan.done and sorted(m.target for m in plan.moves) == ["docs/gardening.pdf", "recipes/tomato-soup.txt"]
    assert (fs.root / "topics/garden/gardening.pdf").exists()
    undone = fs.ungroup(done.group_id, confirm=True)
    assert undone.done
    assert (fs.root / "docs/gardening.pdf").is_file() and (fs.root / "recipes/tomato-soup.txt").is_file()
    assert not (fs.root / "topics").exists()
    assert [h.path for h in fs.keywords_retrieve(["tomato"])] in (
        ["docs/gardening.pdf", "recipes/tomato-soup.txt"], ["recipes/tomato-soup.txt", "docs/gardening.pdf"])
    assert fs.groups()[0]["undone"] is not None
    with pytest.raises(UserError, match="already undone"):
        fs.ungroup(done.group_id)
    with pytest.raises(NotFound, match="no group to undo"):
        fs.ungroup()


def test_ungroup_leaves_alone_what_moved_since_and_never_overwrites(fs):
    done = fs.group_keywords(["tomato"], "garden", confirm=True)
    os.rename(fs.root / "garden/gardening.pdf", fs.root / "gardening.pdf")  # moved again, outside LSFS
    fs.index()
    fs.create_or_get_file("recipes/tomato-soup.txt", "a new soup file took the old name")
    undone = fs.ungroup(done.group_id, confirm=True)
    assert undone.skipped == [{"path": "garden/gardening.pdf", "reason": "moved again since, to gardening.pdf"}]
    assert [(m.target, m.renamed) for m in undone.moves] == [("recipes/tomato-soup (2).txt", True)]
    assert (fs.root / "recipes/tomato-soup.txt").read_text() == "a new soup file took the old name"


def test_group_bad_inputs_are_clear_errors_and_change_nothing(fs):
    before = tree(fs.root)
    bad = [
        (lambda: fs.group_semantic("", "x", confirm=True), UserError, "query is empty"),
        (lambda: fs.group_semantic("   ", "x", confirm=True), UserError, "query is empty"),
        (lambda: fs.group_semantic("cats", "x", k=0, confirm=True), UserError, "positive whole number"),
        (lambda: fs.group_semantic("cats", "x", k=-3, confirm=True), UserError, "positive whole number"),
        (lambda: fs.group_semantic("cats", "x", threshold=2.0, confirm=True), UserError, "between -1 and 1"),
        (lambda: fs.group_semantic("cats", "notes/cnn.md", confirm=True), UserError, "is a file"),
        (lambda: fs.group_semantic("cats", "../outside", confirm=True), OutsideRoot, "outside the root"),
        (lambda: fs.group_semantic("cats", "/tmp/elsewhere", confirm=True), OutsideRoot, "outside the root"),
        (lambda: fs.group_semantic("cats", ".lsfs/x", confirm=True), OutsideRoot, ".lsfs"),
        (lambda: fs.group_semantic("cats", "", confirm=True), UserError, "--into"),
        (lambda: fs.group_semantic("cats", "x", dir="nowhere", confirm=True), NotFound, "no folder"),
        (lambda: fs.group_keywords([], "x", confirm=True), UserError, "keyword"),
        (lambda: fs.group_keywords(["zeppelin"], "x", confirm=True), UserError, "no file matches"),
        (lambda: fs.group_keywords(["tomato"], "x", mode="some", confirm=True), UserError, "mode"),
        (lambda: fs.ungroup(99, confirm=True), NotFound, "no group 99"),
    ]
    for call, error, message in bad:
        with pytest.raises(error, match=message):
            call()
    assert tree(fs.root) == before and not (fs.root / "x").exists()


def test_group_refuses_when_the_plan_changed_since_it_was_shown(fs):
    with pytest.raises(Refused, match="changed since"):
        fs.group_keywords(["tomato"], "garden", confirm=True, expect=["recipes/tomato-soup.txt"])
    assert (fs.root / "docs/gardening.pdf").exists()


def test_default_semantic_group_takes_the_close_matches_only(fs):
    plan = fs.group_semantic("cooking recipes for dinner and baking", "kitchen")
    chosen = {m.source for m in plan.moves}
    assert {"recipes/bread.md", "recipes/tomato-soup.txt"} <= chosen
    assert not chosen & {"notes/cnn.md", "finance/budget-2024.txt", "code/fib.py", "travel/kyoto.md"}


def test_cli_group_asks_refuses_without_a_terminal_and_undoes(fs):
    root = str(fs.root)
    fs.close()
    before = tree(fs.root)
    r = run_cli("group", "--keyword", "tomato", "--into", "garden", "--root", root)
    assert r.code == 3 and "--yes" in r.err
    assert "recipes/tomato-soup.txt -> garden/tomato-soup.txt" in r.err
    assert tree(fs.root) == before
    r = run_cli("group", "--keyword", "tomato", "--into", "garden", "--yes", "--root", root, "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["done"] and sorted(m["target"] for m in out["moves"]) == ["garden/gardening.pdf", "garden/tomato-soup.txt"]
    listed = json.loads(run_cli("groups", "--root", root, "--json").out)["groups"]
    assert listed[0]["id"] == out["group_id"] and listed[0]["files"] == 2 and listed[0]["undone"] is None
    asked = run_cli("ungroup", "--root", root)
    assert asked.code == 3 and "would move back 2 file(s)" in asked.err and tree(fs.root) != before
    r = run_cli("ungroup", str(out["group_id"]), "--yes", "--root", root)
    assert r.code == 0, r.err
    assert tree(fs.root) == before
    r = run_cli("group", "--semantic", "soup", "--keyword", "x", "--into", "g", "--root", root)
    assert r.code == 2


# -- file_join -----------------------------------------------------------------------------

def test_join_into_a_new_file_puts_one_blank_line_between_parts(fs):
    write_tree(fs.root, {"parts/a.txt": "Alpha", "parts/b.md": "Beta\n", "parts/c.txt": "Gamma\n\n", "parts/d.txt": "Delta"})
    fs.index()
    result = fs.file_join(["parts/a.txt", "parts/b.md", "parts/c.txt", "parts/d.txt"], into="all.md")
    assert result.done and not result.appended and result.path == "all.md"
    assert (fs.root / "all.md").read_text() == "Alpha\n\nBeta\n\nGamma\n\nDelta"
    assert [c for _, _, c in versions(fs, "all.md")] == ["join"]
    assert fs.keywords_retrieve(["Gamma"], dir=None)[0].path in ("all.md", "parts/c.txt")
    assert {h.path for h in fs.keywords_retrieve(["alpha", "delta"])} == {"all.md"}


def test_join_without_into_appends_to_the_first_and_keeps_its_old_content(fs):
    old = (fs.root / "recipes/bread.md").read_bytes()
    result = fs.file_join(["bread", "tomato-soup"])
    assert result.appended and result.path == "recipes/bread.md"
    text = (fs.root / "recipes/bread.md").read_text()
    assert text == old.decode() + "\n\n" + (fs.root / "recipes/tomato-soup.txt").read_text()
    assert [c for _, _, c in versions(fs, "recipes/bread.md")] == ["initial", "join"]
    assert fs.read("recipes/bread.md", version=1)[1] == old
    assert (fs.root / "recipes/tomato-soup.txt").exists()  # the parts stay


def test_join_of_a_pdf_and_a_docx_joins_their_extracted_text_and_says_so(fs):
    result = fs.file_join(["docs/gardening.pdf", "docs/sales-report.docx", "kyoto"], into="digest.txt")
    text = (fs.root / "digest.txt").read_text()
    assert "Plant tomatoes in full sun" in text and "Revenue grew eight percent" in text and "Arashiyama" in text
    assert text.index("tomatoes") < text.index("Revenue") < text.index("Arashiyama")
    assert len(result.notes) == 2 and "docs/gardening.pdf" in result.notes[0] and "PDF" in result.notes[0]
    assert "DOCX" in result.notes[1]


def test_join_refuses_to_append_into_a_pdf_and_names_the_way_out(fs):
    before = tree(fs.root)
    with pytest.raises(UserError, match="--into"):
        fs.file_join(["docs/gardening.pdf", "kyoto"])
    with pytest.raises(UserError, match=r"\.txt or \.md"):
        fs.file_join(["kyoto", "bread"], into="joined.pdf")
    assert tree(fs.root) == before


def test_join_into_an_existing_file_needs_confirmation(fs):
    before = tree(fs.root)
    plan = fs.file_join(["bread", "kyoto"], into="finance/budget-2024.txt")
    assert not plan.done and plan.replaces
    assert tree(fs.root) == before
    done = fs.file_join(["bread", "kyoto"], into="finance/budget-2024.txt", confirm=True)
    assert done.done and "Sourdough" in (fs.root / "finance/budget-2024.txt").read_text()
    assert fs.read("finance/budget-2024.txt", version=1)[1].startswith(b"Household budget")


def test_join_bad_inputs_are_clear_errors_and_change_nothing(fs):
    (fs.root / "notes/pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    fs.index()
    before = tree(fs.root)
    bad = [
        (lambda: fs.file_join(["bread"]), UserError, "at least two files, got 1"),
        (lambda: fs.file_join([]), UserError, "at least two files, got 0"),
        (lambda: fs.file_join(["bread", "recipes/bread.md"]), UserError, "named twice"),
        (lambda: fs.file_join(["bread", "kyoto"], into="recipes/bread.md"), UserError, "joined into itself"),
        (lambda: fs.file_join(["bread", "kyoto"], into="travel/kyoto.md"), UserError, "joined into itself"),
        (lambda: fs.file_join(["bread", "kyoto"], into="notes"), UserError, "is a folder"),
        (lambda: fs.file_join(["bread", "kyoto"], into="../out.md"), OutsideRoot, "outside the root"),
        (lambda: fs.file_join(["bread", "no-such-file"]), NotFound, "no file named"),
        (lambda: fs.file_join(["bread", "notes/pic.png"], into="x.md"), UserError, "binary"),
    ]
    for call, error, message in bad:
        with pytest.raises(error, match=message):
            call()
    assert tree(fs.root) == before


def test_cli_join_confirms_before_replacing_and_reports(fs):
    root = str(fs.root)
    fs.close()
    r = run_cli("join", "bread", "kyoto", "--into", "finance/budget-2024.txt", "--root", root)
    assert r.code == 3 and "replaces its content" in r.err
    r = run_cli("join", "docs/gardening.pdf", "kyoto", "--into", "garden-trip.md", "--root", root)
    assert r.code == 0, r.err
    assert "joined into garden-trip.md" in r.out and "extracted text" in r.err
    r = run_cli("join", "bread", "--root", root)
    assert r.code == 1 and "at least two files" in r.err


# -- integrated_retrieve -------------------------------------------------------------------

def test_integrated_retrieval_ranks_only_the_files_with_the_keywords(fs):
    hits = fs.integrated_retrieve("growing vegetables in a garden", ["tomato"], k=5)
    assert [h.path for h in hits] == ["docs/gardening.pdf", "recipes/tomato-soup.txt"]
    assert hits[0].score >= hits[1].score
    assert fs.integrated_retrieve("growing vegetables in a garden", ["tomato", "soil"], k=5)[0].path == "docs/gardening.pdf"
    assert len(fs.integrated_retrieve("growing vegetables", ["tomato", "soil"], k=5)) == 1
    either = fs.integrated_retrieve("food", ["garlic", "sourdough"], k=5, mode="any")
    assert {h.path for h in either} == {"recipes/tomato-soup.txt", "recipes/bread.md"}
    assert fs.integrated_retrieve("growing vegetables", ["tomato"], k=5, dir="recipes")[0].path == "recipes/tomato-soup.txt"
    assert fs.integrated_retrieve("anything", ["zeppelin"]) == []
    assert len(fs.integrated_retrieve("growing vegetables in a garden", ["tomato"], k=1)) == 1


def test_integrated_retrieval_bad_inputs(fs):
    for call, message in (
        (lambda: fs.integrated_retrieve("", ["tomato"]), "query is empty"),
        (lambda: fs.integrated_retrieve("soup", ["tomato"], k=0), "positive whole number"),
        (lambda: fs.integrated_retrieve("soup", []), "keyword"),
        (lambda: fs.integrated_retrieve("soup", ["tomato"], dir="nowhere"), "no folder"),
    ):
        with pytest.raises(UserError, match=message):
            call()


def test_a_new_file_where_a_locked_one_was_deleted_starts_unlocked(fs):
    import os

    fs.lock_file("kyoto")
    os.unlink(fs.root / "travel/kyoto.md")  # another program removes it
    fs.index()
    (fs.root / "travel/kyoto.md").write_text("# Kyoto, rewritten")
    fs.index()
    fs.overwrite("travel/kyoto.md", "LSFS may write here again")
    assert (fs.root / "travel/kyoto.md").read_text() == "LSFS may write here again"
    assert len(fs.history("travel/kyoto.md").versions) >= 3  # the old history continues
