"""No path given by a user ever reaches outside the root, and a refusal changes nothing."""

from __future__ import annotations

import os

import pytest

from lsfs.errors import OutsideRoot, UserError

ATTEMPTS = ["../escape.txt", "notes/../../escape.txt", "/etc/passwd", "/tmp/escape.txt", "link-out/x.txt",
            ".lsfs/catalog.db", ".lsfs/config.toml", "bad\x00name.txt"]


@pytest.fixture
def outside(fs, tmp_path):
    target = tmp_path / "outside"
    target.mkdir()
    os.symlink(target, fs.root / "link-out")
    return target


def snapshot(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".lsfs" not in p.parts}


@pytest.mark.parametrize("name", ATTEMPTS)
def test_every_write_api_refuses_paths_outside_the_root(fs, outside, name):
    before = snapshot(fs.root)
    for call in (
        lambda: fs.overwrite(name, "x"),
        lambda: fs.create_or_get_file(name, "x"),
        lambda: fs.add_(name, "x"),
        lambda: fs.del_(name),
        lambda: fs.read(name),
    ):
        with pytest.raises(UserError):
            call()
    assert snapshot(fs.root) == before
    assert list(outside.iterdir()) == []
    assert not (fs.root.parent / "escape.txt").exists()


def test_search_folders_are_confined(fs, outside):
    for d in ("..", "/etc", "link-out", "../outside"):
        with pytest.raises(UserError):
            fs.search("x", dir=d)
        with pytest.raises(UserError):
            fs.keywords_retrieve(["x"], dir=d)


def test_a_symlinked_parent_cannot_smuggle_a_write_out(fs, outside):
    with pytest.raises(OutsideRoot):
        fs.overwrite("link-out/new.txt", "smuggled")
    assert not (outside / "new.txt").exists()
