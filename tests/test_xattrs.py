"""User extended attributes: recorded in the catalog, mirrored on the file, kept across rewrites."""

import os

import pytest

from lsfs.errors import NotFound, UsageError


def test_a_set_attribute_is_listed_and_read_back(fs):
    fs.set_xattr("notes/cnn.md", "user.colour", b"blue")
    assert fs.list_xattrs("notes/cnn.md") == {"user.colour": b"blue"}
    assert fs.get_xattr("notes/cnn.md", "user.colour") == b"blue"


def test_the_attribute_is_mirrored_on_the_real_file(fs):
    fs.set_xattr("notes/cnn.md", "user.colour", b"blue")
    try:
        assert os.getxattr(fs.root / "notes/cnn.md", "user.colour") == b"blue"
    except OSError:
        pytest.skip("this filesystem has no user xattrs")


def test_a_missing_attribute_is_not_found(fs):
    with pytest.raises(NotFound):
        fs.get_xattr("notes/cnn.md", "user.nothing")
    with pytest.raises(NotFound):
        fs.remove_xattr("notes/cnn.md", "user.nothing")


def test_attributes_survive_an_overwrite_and_a_rollback(fs):
    fs.set_xattr("notes/cnn.md", "user.colour", b"blue")
    fs.overwrite("notes/cnn.md", "all new text\n")
    fs.rollback("notes/cnn.md", versions=1)
    assert fs.get_xattr("notes/cnn.md", "user.colour") == b"blue"
    try:
        assert os.getxattr(fs.root / "notes/cnn.md", "user.colour") == b"blue"
    except OSError:
        pytest.skip("this filesystem has no user xattrs")


@pytest.mark.parametrize("attr", ["trusted.x", "user.", "user.lsfs.versions", "security.selinux"])
def test_names_outside_user_or_computed_ones_are_refused(fs, attr):
    with pytest.raises(UsageError):
        fs.set_xattr("notes/cnn.md", attr, b"x")


def test_removing_an_attribute_removes_it_everywhere(fs):
    fs.set_xattr("notes/cnn.md", "user.colour", b"blue")
    fs.remove_xattr("notes/cnn.md", "user.colour")
    assert fs.list_xattrs("notes/cnn.md") == {}
    with pytest.raises(OSError):
        os.getxattr(fs.root / "notes/cnn.md", "user.colour")
