"""lsfs mount: a real FUSE mount of a real root (real model, real Chroma), exercised with
ordinary file calls, the way any program would use it."""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lsfs.mount import fuse_missing, is_mounted

from conftest import CORPUS, run_cli, write_tree

pytestmark = pytest.mark.skipif(bool(fuse_missing()), reason=f"no FUSE here: {fuse_missing()}")


# -- a worked example content generator (what a plugin package would register) ----------------
class FolderNoteGenerator:
    """Writes a note naming the file's folder and its neighbours."""

    name = "folder-note"

    def can_handle(self, path, context):
        return path.endswith(".txt")

    def generate(self, path, context):
        names = ", ".join(f["name"] for f in context["folder_files"])
        return f"{path} lives in '{context['folder']}' beside {names}\n".encode()


class FlakyGenerator:
    """Fails on its first call (a backend hiccup), succeeds on the next."""

    name = "flaky"

    def __init__(self):
        self.calls = 0

    def can_handle(self, path, context):
        return True

    def generate(self, path, context):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("backend not reachable")
        return b"second time lucky\n"


class _Mounted:
    def __init__(self, root: Path, mp: Path, mount):
        self.root, self.mp, self.mount = root, mp, mount

    def remote(self):
        from lsfs import owner

        return owner.connect(self.root)


def _mount(root: Path, mp: Path, generators=None):
    from lsfs.mount import Mount

    mp.mkdir(parents=True, exist_ok=True)
    m = Mount(root, mp, generators=generators)
    failure: list[BaseException] = []

    def serve():
        try:
            m.run()
        except BaseException as exc:  # surfaced by the waiting loop below
            failure.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not is_mounted(mp):
        if failure:
            raise failure[0]
        assert time.monotonic() < deadline, "the mount did not come up"
        time.sleep(0.1)
    return m, thread


def _unmount(mp: Path, thread: threading.Thread) -> None:
    subprocess.run(["fusermount3", "-u", str(mp)], check=False)
    if is_mounted(mp):  # something still holds a file open: detach lazily, never leak a mount
        subprocess.run(["fusermount3", "-uz", str(mp)], check=False)
    thread.join(timeout=60)


@pytest.fixture(scope="module")
def mounted(tmp_path_factory):
    from lsfs import LSFS

    base = tmp_path_factory.mktemp("mount")
    root = base / "root"
    write_tree(root, CORPUS)
    LSFS.init(root).close()
    flaky = FlakyGenerator()
    m, thread = _mount(root, base / "mnt", [FolderNoteGenerator(), flaky])
    m.ops.generation.retry_after = 0.0
    mounted = _Mounted(root, base / "mnt", m)
    mounted.flaky = flaky
    try:
        yield mounted
    finally:
        _unmount(base / "mnt", thread)


def _versions(mounted, rel: str) -> int:
    return len(mounted.remote().history(rel).versions)


# -- reading and writing ---------------------------------------------------------------------
def test_lists_and_reads_the_tree_through_the_mount(mounted):
    names = set(os.listdir(mounted.mp))
    assert {"notes", "papers", ".lsfs"} <= names
    assert (mounted.mp / "notes/cnn.md").read_text() == CORPUS["notes/cnn.md"]


def test_a_write_through_the_mount_is_versioned_and_searchable(mounted):
    (mounted.mp / "notes/tides.md").write_text("# Tides\n\nThe moon's gravity raises ocean tides twice a day.\n")
    assert (mounted.root / "notes/tides.md").read_text().startswith("# Tides")
    fs = mounted.remote()
    assert [v.cause for v in fs.history("notes/tides.md").versions] == ["write"]
    assert fs.search("moon gravity ocean tides", k=1)[0].path == "notes/tides.md"


def test_many_write_calls_in_one_open_make_one_version(mounted):
    (mounted.mp / "notes/log.txt").write_text("start\n")
    before = _versions(mounted, "notes/log.txt")
    with open(mounted.mp / "notes/log.txt", "a", buffering=1) as fh:
        for i in range(5):
            fh.write(f"line {i}\n")
            fh.flush()
    assert _versions(mounted, "notes/log.txt") == before + 1
    assert (mounted.root / "notes/log.txt").read_text() == "start\n" + "".join(f"line {i}\n" for i in range(5))


def test_a_write_at_an_offset_keeps_the_rest_of_the_file(mounted):
    (mounted.mp / "offset.txt").write_bytes(b"0123456789")
    with open(mounted.mp / "offset.txt", "r+b") as fh:
        fh.seek(3)
        fh.write(b"ab")
    assert (mounted.mp / "offset.txt").read_bytes() == b"012ab56789"
    assert (mounted.root / "offset.txt").read_bytes() == b"012ab56789"


def test_truncate_shortens_the_file_as_a_new_version(mounted):
    (mounted.mp / "trunc.txt").write_bytes(b"keep this, drop that")
    os.truncate(mounted.mp / "trunc.txt", 9)
    assert (mounted.root / "trunc.txt").read_bytes() == b"keep this"
    assert _versions(mounted, "trunc.txt") == 2


def test_unlink_removes_the_file_and_keeps_its_history(mounted):
    (mounted.mp / "gone.txt").write_text("short-lived")
    os.unlink(mounted.mp / "gone.txt")
    assert not (mounted.root / "gone.txt").exists()
    assert mounted.remote().read("gone.txt", version=1)[1] == b"short-lived"


def test_writing_a_locked_file_is_refused(mounted):
    (mounted.mp / "locked.txt").write_text("frozen")
    mounted.remote().lock_file("locked.txt")
    with pytest.raises(PermissionError):
        (mounted.mp / "locked.txt").write_text("changed")
    assert (mounted.root / "locked.txt").read_text() == "frozen"


# -- folders and renames -----------------------------------------------------------------------
def test_rmdir_of_a_non_empty_folder_fails_enotempty(mounted):
    (mounted.mp / "full").mkdir()
    (mounted.mp / "full/f.txt").write_text("x")
    with pytest.raises(OSError) as err:
        os.rmdir(mounted.mp / "full")
    assert err.value.errno == errno.ENOTEMPTY
    assert (mounted.root / "full/f.txt").exists()


def test_renaming_a_folder_moves_its_children_and_their_history(mounted):
    (mounted.mp / "before/sub").mkdir(parents=True)
    (mounted.mp / "before/sub/deep.md").write_text("deep content v1")
    (mounted.mp / "before/sub/deep.md").write_text("deep content v2")
    os.rename(mounted.mp / "before", mounted.mp / "after")
    assert (mounted.mp / "after/sub/deep.md").read_text() == "deep content v2"
    assert not (mounted.root / "before").exists()
    assert _versions(mounted, "after/sub/deep.md") == 2


def test_renaming_a_file_keeps_its_history_under_the_new_name(mounted):
    (mounted.mp / "old-name.md").write_text("v1")
    (mounted.mp / "old-name.md").write_text("v2")
    os.rename(mounted.mp / "old-name.md", mounted.mp / "notes/new-name.md")
    assert (mounted.root / "notes/new-name.md").read_text() == "v2"
    assert not (mounted.root / "old-name.md").exists()
    assert (mounted.mp / ".lsfs/versions/notes/new-name.md/v1").read_text() == "v1"


def test_renaming_a_file_onto_another_continues_that_files_history(mounted):
    (mounted.mp / "doc.md").write_text("original")
    (mounted.mp / ".doc.md.swp").write_text("edited by an editor")
    os.rename(mounted.mp / ".doc.md.swp", mounted.mp / "doc.md")
    assert (mounted.mp / "doc.md").read_text() == "edited by an editor"
    assert _versions(mounted, "doc.md") == 2


# -- symlinks ----------------------------------------------------------------------------------
def test_symlinks_inside_the_root_are_created_and_read(mounted):
    os.symlink("notes/cnn.md", mounted.mp / "cnn-link")
    assert os.readlink(mounted.mp / "cnn-link") == "notes/cnn.md"
    assert (mounted.mp / "cnn-link").read_text() == CORPUS["notes/cnn.md"]


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../etc/passwd", "notes/../../outside"])
def test_a_symlink_leading_outside_the_root_is_refused(mounted, target):
    with pytest.raises(OSError) as err:
        os.symlink(target, mounted.mp / "escape")
    assert err.value.errno in (errno.EPERM, errno.EACCES)
    assert not os.path.lexists(mounted.root / "escape")


# -- virtual folders ---------------------------------------------------------------------------
def test_search_folder_lists_ranked_symlinks_into_the_tree(mounted):
    folder = mounted.mp / ".lsfs/search/convolutional image filters"
    entries = sorted(os.listdir(folder))
    assert entries[0] == "01-cnn.md"
    assert os.readlink(folder / "01-cnn.md") == "../../../notes/cnn.md"
    assert (folder / "01-cnn.md").read_text() == CORPUS["notes/cnn.md"]


def test_versions_folder_has_one_readable_entry_per_version(mounted):
    (mounted.mp / "hist.md").write_text("first")
    (mounted.mp / "hist.md").write_text("second")
    folder = mounted.mp / ".lsfs/versions/hist.md"
    assert sorted(os.listdir(folder)) == ["v1", "v2"]
    assert (folder / "v1").read_text() == "first"
    assert (folder / "v2").read_text() == "second"
    assert "notes" in os.listdir(mounted.mp / ".lsfs/versions")


def test_readme_overlay_lists_the_files(mounted):
    text = (mounted.mp / ".lsfs/README").read_text()
    assert "notes/cnn.md" in text


def test_writes_under_the_virtual_folders_fail_erofs(mounted):
    with pytest.raises(OSError) as err:
        (mounted.mp / ".lsfs/README").write_text("x")
    assert err.value.errno == errno.EROFS
    with pytest.raises(OSError) as err:
        os.mkdir(mounted.mp / ".lsfs/versions/new")
    assert err.value.errno == errno.EROFS


def test_the_real_state_folder_is_not_reachable(mounted):
    assert not (mounted.mp / ".lsfs/catalog.db").exists()


# -- extended attributes -----------------------------------------------------------------------
def test_computed_attributes_are_listed_and_readable(mounted):
    path = mounted.mp / "notes/cnn.md"
    assert {"user.lsfs.versions", "user.lsfs.status", "user.lsfs.summary"} <= set(os.listxattr(path))
    assert os.getxattr(path, "user.lsfs.versions") == b"1"
    assert os.getxattr(path, "user.lsfs.status") == b"indexed"
    assert b"onvolutional" in os.getxattr(path, "user.lsfs.summary")


def test_a_missing_attribute_is_enodata(mounted):
    with pytest.raises(OSError) as err:
        os.getxattr(mounted.mp / "notes/cnn.md", "user.never-set")
    assert err.value.errno == errno.ENODATA


def test_user_attributes_are_stored_on_file_and_catalog_and_survive_rollback(mounted):
    path = mounted.mp / "tagged.md"
    path.write_text("version one")
    os.setxattr(path, "user.project", b"apollo")
    assert "user.project" in os.listxattr(path)
    assert os.getxattr(mounted.root / "tagged.md", "user.project") == b"apollo"
    fs = mounted.remote()
    assert fs.get_xattr("tagged.md", "user.project") == b"apollo"
    path.write_text("version two")
    fs.rollback("tagged.md", 1)
    assert path.read_text() == "version one"
    assert os.getxattr(path, "user.project") == b"apollo"


def test_computed_attributes_cannot_be_set(mounted):
    with pytest.raises(OSError) as err:
        os.setxattr(mounted.mp / "notes/cnn.md", "user.lsfs.status", b"fake")
    assert err.value.errno == errno.EPERM


# -- generation on first read ------------------------------------------------------------------
def _mark(mounted, rel: str, generator: str) -> None:
    fs = mounted.remote()
    fs.create_or_get_file(rel, "")
    fs.set_xattr(rel, "user.lsfs.generator", generator.encode())


def test_a_marked_empty_file_is_generated_on_first_stat_and_versioned(mounted):
    _mark(mounted, "notes/ideas.txt", "folder-note")
    size = os.stat(mounted.mp / "notes/ideas.txt").st_size
    text = (mounted.mp / "notes/ideas.txt").read_text()
    assert size == len(text.encode()) > 0
    assert text.startswith("notes/ideas.txt lives in 'notes' beside ") and "cnn.md" in text
    assert (mounted.root / "notes/ideas.txt").read_text() == text
    assert [v.cause for v in mounted.remote().history("notes/ideas.txt").versions] == ["write", "generate"]
    assert "user.lsfs.generator" not in mounted.remote().list_xattrs("notes/ideas.txt")


def test_a_file_with_content_is_never_regenerated(mounted):
    fs = mounted.remote()
    fs.create_or_get_file("kept.txt", "mine")
    fs.set_xattr("kept.txt", "user.lsfs.generator", b"folder-note")
    assert (mounted.mp / "kept.txt").read_text() == "mine"


def test_a_failed_generation_keeps_the_marker_and_is_retried(mounted, caplog):
    _mark(mounted, "retry.md", "flaky")
    with caplog.at_level("WARNING", logger="lsfs.mount"):
        assert os.stat(mounted.mp / "retry.md").st_size == 0
    assert "backend not reachable" in caplog.text
    assert mounted.remote().get_xattr("retry.md", "user.lsfs.generator") == b"flaky"
    assert (mounted.mp / "retry.md").read_text() == "second time lucky\n"


def test_an_unknown_generator_leaves_the_file_empty(mounted):
    _mark(mounted, "nobody.md", "no-such-generator")
    assert (mounted.mp / "nobody.md").read_text() == ""
    assert mounted.remote().get_xattr("nobody.md", "user.lsfs.generator") == b"no-such-generator"


@pytest.mark.skipif(importlib.util.find_spec("lsfs.generators") is None,
                    reason="lsfs.generators (the built-in llm generator) is not merged yet")
def test_the_llm_generator_fills_a_marked_file(tmp_path, llm_server, monkeypatch):
    from lsfs import LSFS, generators

    monkeypatch.setenv("LSFS_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("LSFS_LLM_MODEL", llm_server.model)
    root = tmp_path / "root"
    write_tree(root, {"recipes/bread.md": "# Bread\n\nFlour, water, salt and yeast."})
    LSFS.init(root).close()
    m, thread = _mount(root, tmp_path / "mnt", [generators.LLMGenerator()])
    try:
        mounted = _Mounted(root, tmp_path / "mnt", m)
        _mark(mounted, "recipes/pancakes.md", "llm")
        text = (tmp_path / "mnt/recipes/pancakes.md").read_text()
        assert text.strip()
        assert (root / "recipes/pancakes.md").read_text() == text
    finally:
        _unmount(tmp_path / "mnt", thread)


# -- the command line --------------------------------------------------------------------------
def test_lsfs_mount_runs_in_the_background_until_lsfs_umount(tmp_path):
    root, mp = tmp_path / "root", tmp_path / "mnt"
    write_tree(root, {"hello.md": "hello from the mount"})
    mp.mkdir()
    assert run_cli("init", str(root)).code == 0
    r = run_cli("mount", str(mp), "--root", str(root), timeout=240)
    assert r.code == 0, r.err
    try:
        assert (mp / "hello.md").read_text() == "hello from the mount"
    finally:
        u = run_cli("umount", str(mp))
    assert u.code == 0, u.err
    assert not is_mounted(mp)
    # umount returns once the mount has released the root: the next command just works.
    s = run_cli("status", "--root", str(root), "--json")
    assert s.code == 0, s.err


def test_mounting_on_a_non_empty_folder_is_refused(tmp_path):
    root, mp = tmp_path / "root", tmp_path / "mnt"
    write_tree(root, {"a.md": "a"})
    write_tree(mp, {"stuff.txt": "x"})
    run_cli("init", str(root))
    r = run_cli("mount", str(mp), "--root", str(root))
    assert r.code == 1
    assert r.err.startswith("lsfs: error: mount point") and "not empty" in r.err


def test_mounting_inside_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    write_tree(root, {"a.md": "a"})
    (root / "mnt").mkdir()
    run_cli("init", str(root))
    r = run_cli("mount", str(root / "mnt"), "--root", str(root))
    assert r.code == 1 and "inside the root" in r.err


def test_umount_of_something_not_mounted_fails_clearly(tmp_path):
    r = run_cli("umount", str(tmp_path))
    assert r.code == 1 and "is not mounted" in r.err


@contextlib.contextmanager
def _supervised_root(tmp_path):
    """A root holding a.md ("alpha") with a supervisor running on it."""
    from lsfs import LSFS
    from supervisor.daemon import Supervisor

    root = tmp_path / "root"
    write_tree(root, {"a.md": "alpha"})
    LSFS.init(root).close()
    sup = Supervisor(root)
    sup.start()
    try:
        yield root, sup
    finally:
        sup.stop()


def test_a_mount_writes_through_a_running_supervisor(tmp_path):
    with _supervised_root(tmp_path) as (root, sup):
        m, thread = _mount(root, tmp_path / "mnt")
        try:
            assert not m.ops.backend.hosts_supervisor
            (tmp_path / "mnt/a.md").write_text("alpha, edited through the mount")
            assert [v.cause for v in sup.call("history", ("a.md",)).versions] == ["initial", "overwrite"]
        finally:
            _unmount(tmp_path / "mnt", thread)


def test_a_mount_with_its_own_generators_refuses_a_root_another_process_owns(tmp_path):
    from lsfs.errors import UsageError

    with _supervised_root(tmp_path) as (root, _sup):
        with pytest.raises(UsageError, match="stop its supervisor"):
            _mount(root, tmp_path / "mnt", [FolderNoteGenerator()])
        assert not is_mounted(tmp_path / "mnt")


def test_setting_an_attribute_with_xattr_create_on_an_existing_one_fails_eexist(mounted):
    path = mounted.mp / "once.md"
    path.write_text("x")
    os.setxattr(path, "user.once", b"1", os.XATTR_CREATE)
    with pytest.raises(OSError) as err:
        os.setxattr(path, "user.once", b"2", os.XATTR_CREATE)
    assert err.value.errno == errno.EEXIST
    with pytest.raises(OSError) as err:
        os.removexattr(path, "user.never")
    assert err.value.errno == errno.ENODATA
