"""Exact-path file operations (what the mount calls): no name resolution, full history."""

from __future__ import annotations

import pytest

from lsfs.errors import Locked, NotFound, OutsideRoot, UserError


def test_write_path_creates_the_exact_path_even_when_a_stem_matches_another_file(fs):
    fs.write_path("cnn", b"a new file called cnn")
    assert (fs.root / "cnn").read_bytes() == b"a new file called cnn"
    assert "Convolutional" in (fs.root / "notes/cnn.md").read_text()


def test_write_path_on_an_existing_file_adds_an_overwrite_version(fs):
    result = fs.write_path("notes/cnn.md", b"replaced")
    assert result.cause == "overwrite"
    assert [v.n for v in fs.history("notes/cnn.md").versions] == [1, 2]


def test_write_path_refuses_paths_outside_the_root_and_missing_folders(fs):
    with pytest.raises(OutsideRoot):
        fs.write_path("../escape.txt", b"x")
    with pytest.raises(NotFound):
        fs.write_path("no/such/folder/f.txt", b"x")


def test_remove_path_deletes_and_keeps_the_history(fs):
    fs.remove_path("notes/cnn.md")
    assert not (fs.root / "notes/cnn.md").exists()
    assert fs.read("notes/cnn.md", version=1)[1].startswith(b"#")


def test_move_path_of_a_folder_carries_every_file_and_its_history(fs):
    fs.write_path("notes/cnn.md", b"second version")
    fs.move_path("notes", "archive")
    assert not (fs.root / "notes").exists()
    assert [v.n for v in fs.history("archive/cnn.md").versions] == [1, 2]


def test_move_path_onto_an_existing_file_continues_that_files_history(fs):
    fs.write_path("draft.md", b"new text for cnn")
    fs.move_path("draft.md", "notes/cnn.md")
    assert (fs.root / "notes/cnn.md").read_bytes() == b"new text for cnn"
    assert not (fs.root / "draft.md").exists()
    assert len(fs.history("notes/cnn.md").versions) == 2


def test_move_path_refuses_a_folder_into_itself_and_a_locked_file(fs):
    with pytest.raises(UserError):
        fs.move_path("notes", "notes/inner")
    fs.lock_file("notes/cnn.md")
    with pytest.raises(Locked):
        fs.move_path("notes/cnn.md", "cnn.md")
    with pytest.raises(Locked):
        fs.move_path("notes", "elsewhere")
    assert (fs.root / "notes/cnn.md").exists()
