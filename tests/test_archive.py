"""lsfs export / lsfs import of a JSON archive: exact round trip, binary safety, confinement,
no clobbering without confirmation."""

from __future__ import annotations

import json
import os
import stat

import pytest

from lsfs import LSFS
from lsfs.errors import OutsideRoot, UserError
from tests.conftest import write_tree

BINARY = bytes(range(256)) + b"\xff\xfe\x00 not utf-8"
ROOT_SPECIFIC = ("exported", "root")


@pytest.fixture
def src(tmp_path):
    """A root with text, binary, nested and empty folders, a symlink, xattrs, a lock and history."""
    root = tmp_path / "src"
    write_tree(root, {
        "notes/plan.md": "# Plan\n\nShip the archive.\n",
        "notes/deep/todo.txt": "one\r\ntwo\r\n",
        "data/blob.bin": BINARY,
        "readme.txt": "unicode: café ✓\n",
    })
    (root / "empty/inner").mkdir(parents=True)
    os.symlink("notes/plan.md", root / "plan-link")
    os.chmod(root / "notes/deep/todo.txt", 0o640)
    with LSFS.init(root) as fs:
        fs.overwrite("notes/plan.md", "# Plan\n\nShip the archive, then the mount.\n")
        fs.add_("notes/plan.md", "Test the round trip.")
        fs.set_xattr("notes/plan.md", "user.colour", b"blue")
        fs.set_xattr("data/blob.bin", "user.raw", b"\x00\xff")
        fs.lock_file("readme.txt")
    os.utime(root / "data/blob.bin", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    with LSFS.open(root) as fs:
        fs.index()  # the utime is seen (no new version: same content)
    return root


def export(root, dest, versions=True) -> dict:
    with LSFS.open(root) as fs:
        fs.export_archive(dest, versions=versions)
    return json.loads(dest.read_text(encoding="utf-8"))


def strip(archive: dict) -> dict:
    return {k: v for k, v in archive.items() if k not in ROOT_SPECIFIC}


def versions_of(root, rel):
    with LSFS.open(root) as fs:
        return [(v.time, v.size, v.sha256, v.cause) for v in fs.history(rel).versions]


def test_export_import_export_round_trip_is_exact(src, tmp_path):
    first = export(src, tmp_path / "a.json")
    dst = tmp_path / "dst"
    LSFS.init(dst).close()
    with LSFS.open(dst) as fs:
        done = fs.import_archive(tmp_path / "a.json")
    assert done.done and not done.failed and not done.refused
    second = export(dst, tmp_path / "b.json")
    assert strip(first) == strip(second)


def test_round_trip_keeps_bytes_modes_mtimes_and_symlinks(src, tmp_path):
    export(src, tmp_path / "a.json")
    dst = tmp_path / "dst"
    with LSFS.init(dst) as fs:
        fs.import_archive(tmp_path / "a.json")
    for rel in ("notes/plan.md", "notes/deep/todo.txt", "data/blob.bin", "readme.txt"):
        assert (dst / rel).read_bytes() == (src / rel).read_bytes(), rel
        a, b = os.lstat(src / rel), os.lstat(dst / rel)
        assert stat.S_IMODE(a.st_mode) == stat.S_IMODE(b.st_mode), rel
    assert os.lstat(dst / "data/blob.bin").st_mtime_ns == 1_600_000_000_123_456_789
    assert os.readlink(dst / "plan-link") == "notes/plan.md"
    assert (dst / "empty/inner").is_dir()


def test_round_trip_keeps_xattrs_and_locks(src, tmp_path):
    export(src, tmp_path / "a.json")
    with LSFS.init(tmp_path / "dst") as fs:
        fs.import_archive(tmp_path / "a.json")
        assert fs.list_xattrs("notes/plan.md") == {"user.colour": b"blue"}
        assert fs.list_xattrs("data/blob.bin") == {"user.raw": b"\x00\xff"}
        locked = {f["path"] for f in fs.status(files=True)["file_states"] if f["locked"]}
    assert locked == {"readme.txt"}


def test_round_trip_recreates_history_in_order_with_times_and_causes(src, tmp_path):
    export(src, tmp_path / "a.json")
    dst = tmp_path / "dst"
    with LSFS.init(dst) as fs:
        fs.import_archive(tmp_path / "a.json")
    mine = versions_of(src, "notes/plan.md")
    assert [c for *_, c in mine] == ["initial", "overwrite", "append"]
    assert versions_of(dst, "notes/plan.md") == mine


def test_binary_content_is_base64_and_text_stays_readable(src, tmp_path):
    archive = export(src, tmp_path / "a.json", versions=False)
    by_path = {f["path"]: f for f in archive["files"]}
    assert set(archive["blobs"][by_path["data/blob.bin"]["sha256"]]) == {"base64"}
    assert archive["blobs"][by_path["readme.txt"]["sha256"]] == {"text": "unicode: café ✓\n"}
    assert "versions" not in by_path["readme.txt"]


def test_without_versions_each_imported_file_gets_one_import_version(src, tmp_path):
    export(src, tmp_path / "a.json", versions=False)
    dst = tmp_path / "dst"
    with LSFS.init(dst) as fs:
        fs.import_archive(tmp_path / "a.json")
    assert [c for *_, c in versions_of(dst, "notes/plan.md")] == ["import"]


def test_a_symlink_leaving_the_root_is_left_out_of_the_export(src, tmp_path):
    os.symlink("../../outside.txt", src / "notes/escape")
    archive = export(src, tmp_path / "a.json")
    assert "notes/escape" not in [s["path"] for s in archive["symlinks"]]
    assert any(s["path"] == "notes/escape" and "outside the root" in s["reason"] for s in archive["skipped"])


def test_an_archive_inside_the_root_is_versioned_and_not_inside_itself(src):
    with LSFS.open(src) as fs:
        fs.export_archive(src / "backup.json")
        # A change between the two exports, so the second archive differs even when both fall in
        # the same second (its "exported" time has one-second resolution; equal content is
        # stored once and would make one version, not two).
        fs.create_or_get_file("notes/added.txt", "written between the two exports")
        fs.export_archive(src / "backup.json")
        assert len(fs.history("backup.json").versions) == 2
    archive = json.loads((src / "backup.json").read_text())
    assert "backup.json" not in [f["path"] for f in archive["files"]]


def hostile_archive(tmp_path, src) -> str:
    archive = export(src, tmp_path / "a.json", versions=False)
    good = archive["files"][0]
    archive["files"] += [{**good, "path": "../evil.txt"}, {**good, "path": "/etc/evil.txt"},
                         {**good, "path": ".lsfs/catalog.db"}]
    archive["symlinks"] += [{"path": "up", "target": "../../../etc/passwd"},
                            {"path": "abs", "target": "/etc/passwd"}]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(archive))
    return path


def test_paths_and_links_leaving_the_root_are_refused_one_by_one(src, tmp_path):
    path = hostile_archive(tmp_path, src)
    dst = tmp_path / "dst"
    with LSFS.init(dst) as fs:
        done = fs.import_archive(path)
    refused = {r["path"] for r in done.refused}
    assert refused == {"../evil.txt", "/etc/evil.txt", ".lsfs/catalog.db", "up", "abs"}
    assert not (tmp_path / "evil.txt").exists() and not os.path.lexists(dst / "up")
    assert (dst / "notes/plan.md").is_file()  # the rest came in


def test_a_different_existing_file_is_not_replaced_without_confirmation(src, tmp_path):
    export(src, tmp_path / "a.json", versions=False)
    dst = tmp_path / "dst"
    write_tree(dst, {"notes/plan.md": "mine, not the archive's\n"})
    with LSFS.init(dst) as fs:
        plan = fs.import_archive(tmp_path / "a.json")
        assert not plan.done and [c["path"] for c in plan.conflicts] == ["notes/plan.md"]
        assert not (dst / "readme.txt").exists()  # nothing happened
        assert (dst / "notes/plan.md").read_text() == "mine, not the archive's\n"
        done = fs.import_archive(tmp_path / "a.json", confirm=True)
        assert done.replaced == ["notes/plan.md"]
        assert fs.read("notes/plan.md", version=1)[1] == b"mine, not the archive's\n"
    assert (dst / "notes/plan.md").read_bytes() == (src / "notes/plan.md").read_bytes()


def test_an_identical_existing_file_is_left_alone(src, tmp_path):
    export(src, tmp_path / "a.json", versions=False)
    dst = tmp_path / "dst"
    write_tree(dst, {"readme.txt": (src / "readme.txt").read_bytes()})
    with LSFS.init(dst) as fs:
        done = fs.import_archive(tmp_path / "a.json")
        assert done.done and "readme.txt" in done.unchanged
        assert len(fs.history("readme.txt").versions) == 1


def test_import_into_a_folder_keeps_everything_under_it(src, tmp_path):
    export(src, tmp_path / "a.json")
    dst = tmp_path / "dst"
    with LSFS.init(dst) as fs:
        fs.import_archive(tmp_path / "a.json", into="restored")
    assert (dst / "restored/data/blob.bin").read_bytes() == BINARY
    assert os.readlink(dst / "restored/plan-link") == "notes/plan.md"
    assert (dst / "restored/plan-link").read_text().startswith("# Plan")


def test_import_into_a_folder_outside_the_root_is_refused(src, tmp_path):
    export(src, tmp_path / "a.json")
    with LSFS.init(tmp_path / "dst") as fs, pytest.raises(OutsideRoot):
        fs.import_archive(tmp_path / "a.json", into="../elsewhere")


def test_a_damaged_archive_is_refused_before_anything_is_written(src, tmp_path):
    archive = export(src, tmp_path / "a.json", versions=False)
    sha = next(iter(archive["blobs"]))
    archive["blobs"][sha] = {"text": "tampered"}
    (tmp_path / "bad.json").write_text(json.dumps(archive))
    dst = tmp_path / "dst"
    with LSFS.init(dst) as fs, pytest.raises(UserError, match="does not match its sha256"):
        fs.import_archive(tmp_path / "bad.json")
    assert sorted(p.name for p in dst.iterdir()) == [".lsfs"]


# -- the CLI ---------------------------------------------------------------------------------

def test_cli_export_and_import_into_a_folder(src, tmp_path, cli):
    r = cli("export", str(tmp_path / "a.json"), "--versions", "--root", str(src))
    assert r.code == 0, r.err
    assert "exported 4 file(s), 1 symlink(s)" in r.out
    dst = tmp_path / "dst"
    LSFS.init(dst).close()
    r = cli("import", str(tmp_path / "a.json"), "--into", "copy", "--root", str(dst), "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert sorted(out["imported"]) == ["copy/data/blob.bin", "copy/notes/deep/todo.txt",
                                       "copy/notes/plan.md", "copy/readme.txt"]
    assert out["symlinks"] == ["copy/plan-link"]


def test_cli_import_asks_before_replacing_and_refuses_without_a_terminal(src, tmp_path, cli):
    export(src, tmp_path / "a.json", versions=False)
    dst = tmp_path / "dst"
    write_tree(dst, {"readme.txt": "other\n"})
    LSFS.init(dst).close()
    r = cli("import", str(tmp_path / "a.json"), "--root", str(dst))
    assert r.code == 3
    assert "would replace: readme.txt" in r.err and "--yes" in r.err
    assert (dst / "readme.txt").read_text() == "other\n"
    r = cli("import", str(tmp_path / "a.json"), "--root", str(dst), "--yes")
    assert r.code == 0, r.err
    assert (dst / "readme.txt").read_text() == "unicode: café ✓\n"


def test_cli_import_of_a_json_file_that_is_no_archive_is_a_one_line_error(tmp_path, cli):
    dst = tmp_path / "dst"
    LSFS.init(dst).close()
    (tmp_path / "x.json").write_text('{"hello": 1}')
    r = cli("import", str(tmp_path / "x.json"), "--root", str(dst))
    assert r.code == 1
    assert r.err.startswith("lsfs: error: ") and "not an archive from 'lsfs export'" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_cli_export_into_a_missing_folder_is_a_one_line_error(src, tmp_path, cli):
    r = cli("export", str(tmp_path / "no/such/a.json"), "--root", str(src))
    assert r.code == 1 and "does not exist" in r.err


def test_export_and_import_work_through_a_running_owner(src, tmp_path):
    """Under 'lsfs watch' the CLI talks to the owner process; results cross the socket."""
    from lsfs import owner
    from lsfs.apis.archive import ArchiveImport, ExportResult
    from supervisor import Supervisor

    dst = tmp_path / "dst"
    LSFS.init(dst).close()
    sup = Supervisor(dst, quiet=0.05)
    sup.start()
    try:
        with owner.connect(src) or LSFS.open(src) as fs:
            fs.export_archive(str(tmp_path / "a.json"), versions=True)
        with owner.connect(dst) as remote:
            assert remote is not None
            done = remote.import_archive(str(tmp_path / "a.json"), "copy")
            assert isinstance(done, ArchiveImport) and done.done and not done.failed
            made = remote.export_archive(str(tmp_path / "b.json"))
            assert isinstance(made, ExportResult) and made.files == 4
    finally:
        sup.stop()
    assert (dst / "copy/data/blob.bin").read_bytes() == BINARY


def test_import_into_an_existing_file_is_a_user_error(src, tmp_path):
    export(src, tmp_path / "a.json")
    write_tree(tmp_path / "dst", {"taken": "a file\n"})
    with LSFS.init(tmp_path / "dst") as fs, pytest.raises(UserError, match="is a file, not a folder"):
        fs.import_archive(tmp_path / "a.json", into="taken")
