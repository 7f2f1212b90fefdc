"""The atomic syscalls: every write is atomic, versioned and indexed in the same call."""

from __future__ import annotations

import pytest

from lsfs.errors import NotFound, Refused, UserError


def versions(fs, rel):
    row = fs._root.catalog.file_by_path(rel, include_deleted=True)
    return fs._root.catalog.versions_of(row.id)


def test_overwrite_keeps_the_old_content_as_a_version_and_reindexes(fs):
    result = fs.overwrite("cnn", "Recurrent networks process sequences one step at a time.")
    assert result.path == "notes/cnn.md" and result.version == 2 and result.cause == "overwrite"
    assert (fs.root / "notes/cnn.md").read_text().startswith("Recurrent")
    assert fs.keywords_retrieve(["convolutional"]) == []
    assert fs.keywords_retrieve(["recurrent networks"])[0].path == "notes/cnn.md"
    assert fs.semantic_retrieve("sequence models", k=1)[0].path == "notes/cnn.md"
    assert fs.read("notes/cnn.md", version=1)[1].startswith(b"# Convolutional")


def test_append_adds_a_line_and_a_version(fs):
    fs.add_("transformers", "Layer norm stabilises training.")
    text = (fs.root / "notes/transformers.txt").read_text()
    assert text.endswith("word order.\nLayer norm stabilises training.")
    assert [v.cause for v in versions(fs, "notes/transformers.txt")] == ["initial", "append"]
    assert fs.keywords_retrieve(["layer norm"])[0].path == "notes/transformers.txt"


def test_create_or_get_file_creates_parents_then_returns_the_same_file(fs):
    made = fs.create_or_get_file("projects/new/plan.md", "# Plan\n\nShip the zeppelin.")
    assert made.created and made.path == "projects/new/plan.md" and made.versions == 1
    again = fs.create_or_get_file("projects/new/plan.md", "ignored")
    assert not again.created and "zeppelin" in again.text
    assert fs.keywords_retrieve(["zeppelin"])[0].path == "projects/new/plan.md"


def test_identical_content_is_stored_once(fs):
    for _ in range(3):
        fs.overwrite("bread", "same text")
    assert len(versions(fs, "recipes/bread.md")) == 2
    fs.overwrite("kyoto", "same text")
    shas = {v.sha256 for v in versions(fs, "recipes/bread.md")} | {v.sha256 for v in versions(fs, "travel/kyoto.md")}
    assert len(shas) == 3  # two originals and one shared object
    assert sum(1 for _ in fs._root.objects.all()) == len(set(fs._root.catalog.referenced_objects()))


def test_an_outside_edit_is_kept_before_lsfs_overwrites(fs):
    (fs.root / "recipes/bread.md").write_text("edited in vim, never indexed")
    fs.overwrite("bread", "written by lsfs")
    causes = [v.cause for v in versions(fs, "recipes/bread.md")]
    assert causes == ["initial", "external", "overwrite"]
    assert fs.read("recipes/bread.md", version=2)[1] == b"edited in vim, never indexed"


def test_delete_keeps_history_and_leaves_the_indexes(fs):
    assert fs.del_("kyoto") == ["travel/kyoto.md"]
    assert not (fs.root / "travel/kyoto.md").exists()
    assert fs.keywords_retrieve(["Arashiyama"]) == []
    assert fs.read("travel/kyoto.md", version=1)[1].startswith(b"# Kyoto")


def test_delete_by_content_needs_confirmation(fs):
    with pytest.raises(Refused) as exc:
        fs.del_(dir="recipes", key_text="tomato")
    assert "recipes/tomato-soup.txt" in str(exc.value)
    assert (fs.root / "recipes/tomato-soup.txt").exists()
    assert fs.del_(dir="recipes", key_text="tomato", confirm=True) == ["recipes/tomato-soup.txt"]
    assert not (fs.root / "recipes/tomato-soup.txt").exists()
    assert (fs.root / "docs/gardening.pdf").exists()  # mentions tomatoes, but outside recipes/


def test_text_is_never_written_into_a_pdf(fs):
    before = (fs.root / "docs/gardening.pdf").read_bytes()
    with pytest.raises(UserError, match="not a text format"):
        fs.add_("gardening", "more")
    assert (fs.root / "docs/gardening.pdf").read_bytes() == before


def test_ambiguous_and_unknown_names(fs):
    from lsfs.errors import Ambiguous

    fs.create_or_get_file("other/cnn.txt", "another cnn")
    with pytest.raises(Ambiguous) as exc:
        fs.resolve("cnn")
    assert exc.value.candidates == ["notes/cnn.md", "other/cnn.txt"]
    with pytest.raises(NotFound, match="did you mean"):
        fs.resolve("bred")
    assert fs.resolve("notes/cnn.md") == "notes/cnn.md"
    assert fs.resolve("Kyoto") == "travel/kyoto.md"


def test_writes_leave_no_temporary_files(fs):
    for i in range(5):
        fs.overwrite("notes/new.txt", f"version {i}")
    leftovers = [p for p in fs.root.rglob("*") if ".lsfs-tmp-" in p.name]
    assert leftovers == []
