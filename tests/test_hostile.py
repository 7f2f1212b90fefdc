"""Hostile input: every case in the README's "What LSFS does with bad input" table.

Each test names the case, feeds LSFS the bad input for real (real files, FIFOs, device
nodes, a sparse 1 GB file, a tmpfs that is full or read-only where this process may mount
one), and checks the one-line message, the exit code and that nothing was lost.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest

from conftest import make_pdf, run_cli, write_tree
from lsfs import LSFS
from lsfs.errors import LSFSError, OutsideRoot, UserError

GOOD = {"notes/keep.md": "# Keep\n\nThis file must survive every hostile input untouched.\n"}


def _init(root: Path, files: dict | None = None) -> None:
    write_tree(root, files or GOOD)
    assert run_cli("init", str(root)).code == 0


def _one_line_error(res, code: int, *needles: str) -> None:
    assert res.code == code, (res.code, res.out, res.err)
    lines = [ln for ln in res.err.splitlines() if ln.startswith("lsfs: error:")]
    assert len(lines) == 1, res.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in res.err


# -- path traversal in every argument -------------------------------------------------------

@pytest.fixture(scope="module")
def jail(tmp_path_factory):
    """A root with a symlink pointing out of it, and a folder outside that must stay empty."""
    base = tmp_path_factory.mktemp("jail")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    root = base / "root"
    write_tree(root, {**GOOD, "docs/a.txt": "alpha text\n", "docs/b.txt": "bravo text\n"})
    (root / "escape").symlink_to(outside, target_is_directory=True)
    with LSFS.init(root) as fs:
        yield fs, outside


def _hostile_names(outside: Path) -> list[str]:
    return [
        "../outside/secret.txt",
        "docs/../../outside/secret.txt",
        str(outside / "secret.txt"),
        "escape/secret.txt",
        "escape/new.txt",
        "docs/a\x00.txt",
        ".lsfs/catalog.db",
    ]


CALLS = {
    "overwrite": lambda fs, n: fs.overwrite(n, "pwned"),
    "add_": lambda fs, n: fs.add_(n, "pwned"),
    "create_or_get_file": lambda fs, n: fs.create_or_get_file(n, "pwned"),
    "del_": lambda fs, n: fs.del_(n),
    "del_ dir": lambda fs, n: fs.del_(dir=n, key_text="secret", confirm=True),
    "read": lambda fs, n: fs.read(n),
    "history": lambda fs, n: fs.history(n),
    "rollback": lambda fs, n: fs.rollback(n, versions=1),
    "lock_file": lambda fs, n: fs.lock_file(n),
    "set_xattr": lambda fs, n: fs.set_xattr(n, "user.x", b"1"),
    "file_join into": lambda fs, n: fs.file_join(["docs/a.txt", "docs/b.txt"], into=n, confirm=True),
    "file_join names": lambda fs, n: fs.file_join([n, "docs/a.txt"], into="docs/j.txt", confirm=True),
    "group into": lambda fs, n: fs.group_keywords(["alpha"], into=n, confirm=True),
    "index": lambda fs, n: fs.index([n]),
    "search dir": lambda fs, n: fs.search("alpha", dir=n, mode="keyword"),
    "keywords_retrieve dir": lambda fs, n: fs.keywords_retrieve(["secret"], dir=n),
    "create into": lambda fs, n: fs.create(str(fs.root / "docs"), dir=n),
    "link": lambda fs, n: fs.link(n),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_api_refuses_paths_that_leave_the_root(jail, call):
    fs, outside = jail
    before = sorted(p.name for p in outside.iterdir())
    for name in _hostile_names(outside):
        if call in ("file_join names",) and name.startswith(".lsfs"):
            continue
        with pytest.raises(LSFSError) as info:
            CALLS[call](fs, name)
        assert info.value.exit_code == 1, (call, name, info.value)
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "secret.txt").read_text() == "secret\n"
    assert (fs.root / "notes/keep.md").read_text() == GOOD["notes/keep.md"]


def test_url_encoded_dots_are_a_literal_name_inside_the_root(jail):
    fs, outside = jail
    written = fs.overwrite("%2e%2e/%2e%2e/outside/secret.txt", "literal")
    assert (fs.root / "%2e%2e/%2e%2e/outside/secret.txt").read_text() == "literal"
    assert written.path == "%2e%2e/%2e%2e/outside/secret.txt"
    assert (outside / "secret.txt").read_text() == "secret\n"


def test_cli_refuses_a_dotdot_path_with_one_line_and_exit_1(tmp_path):
    root = tmp_path / "root"
    _init(root)
    res = run_cli("write", "../evil.txt", "--text", "x", "--root", str(root))
    _one_line_error(res, 1, "outside the root")
    assert not (tmp_path / "evil.txt").exists()


def test_cli_refuses_a_nul_byte_in_a_name(tmp_path):
    root = tmp_path / "root"
    _init(root)
    # argv cannot carry NUL, so the name arrives through the Python API (the MCP and
    # socket faces pass JSON strings, which can).
    with LSFS.open(root) as fs, pytest.raises(OutsideRoot, match="NUL"):
        fs.overwrite("a\x00b.txt", "x")


# -- names and special files in the tree ----------------------------------------------------

def test_a_name_that_is_not_utf8_is_skipped_with_a_warning_and_the_rest_indexed(tmp_path):
    root = tmp_path / "root"
    write_tree(root, GOOD)
    with open(os.fsencode(root) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(b"latin-1 name\n")
    res = run_cli("init", str(root))
    assert res.code == 0, res.err
    assert "not valid UTF-8" in res.err and "rename it" in res.err
    with LSFS.open(root) as fs:
        assert [h.path for h in fs.keywords_retrieve(["survive"])] == ["notes/keep.md"]
        assert fs.verify().ok


def test_a_name_longer_than_255_bytes_is_refused(tmp_path):
    root = tmp_path / "root"
    _init(root)
    with LSFS.open(root) as fs, pytest.raises(UserError, match="longer than 255 bytes"):
        fs.overwrite("x" * 300 + ".txt", "x")


def test_a_255_byte_name_is_indexed(tmp_path):
    root = tmp_path / "root"
    _init(root, {**GOOD, "n" * 251 + ".txt": "long name content\n"})
    with LSFS.open(root, readonly=True) as fs:
        assert [h.path for h in fs.keywords_retrieve(["long name content"])] == ["n" * 251 + ".txt"]


def test_symlink_loops_and_links_out_are_recorded_not_followed(tmp_path):
    root = tmp_path / "root"
    write_tree(root, GOOD)
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    (root / "notes/up").symlink_to("..", target_is_directory=True)
    (root / "passwd").symlink_to("/etc/passwd")
    assert run_cli("init", str(root), timeout=120).code == 0
    with LSFS.open(root) as fs:
        states = {f["path"]: f for f in fs.status(files=True)["file_states"]}
        for rel in ("loop1", "loop2", "notes/up", "passwd"):
            assert states[rel]["state"] == "skipped"
            assert states[rel]["reason"] == "symbolic link (not followed)"
        assert fs.verify().ok


def test_fifos_and_device_files_do_not_block_indexing(tmp_path):
    root = tmp_path / "root"
    write_tree(root, GOOD)
    os.mkfifo(root / "pipe")
    special = ["pipe"]
    try:
        os.mknod(root / "null", 0o600 | 0o020000, os.makedev(1, 3))  # a character device
        special.append("null")
    except PermissionError:
        pass  # not root: the FIFO alone is the case
    res = run_cli("init", str(root), timeout=120)  # a blocking open would hang here
    assert res.code == 0, res.err
    with LSFS.open(root) as fs:
        states = {f["path"]: f for f in fs.status(files=True)["file_states"]}
        for rel in special:
            assert (states[rel]["state"], states[rel]["reason"]) == ("skipped", "not a regular file")
        assert fs.verify().ok


def test_a_file_that_grows_while_it_is_read_is_stored_consistently(tmp_path):
    root = tmp_path / "root"
    _init(root)
    # A binary type: LSFS reads and versions it but extracts no text, so the test spends
    # its time on reading while the file grows, not on embedding.
    growing = root / "capture.bin"
    growing.write_bytes(b"start\n")
    stop = threading.Event()

    def writer():
        with open(growing, "ab") as fh:
            while not stop.is_set() and fh.tell() < 20 * 2**20:
                fh.write(os.urandom(1 << 16))
                fh.flush()
                time.sleep(0.001)

    t = threading.Thread(target=writer)
    t.start()
    try:
        with LSFS.open(root) as fs:
            for _ in range(5):
                fs.index(["capture.bin"])
    finally:
        stop.set()
        t.join()
    with LSFS.open(root) as fs:
        fs.index(["capture.bin"])
        report = fs.verify()
        assert report.ok, report.problems  # every version's object re-hashes to its sha
        row = fs._root.catalog.file_by_path("capture.bin")
        assert fs._root.objects.read(row.sha256) == growing.read_bytes()


# -- documents that attack the parsers ------------------------------------------------------

def test_a_zip_bomb_docx_is_recorded_as_failed_without_inflating(tmp_path):
    root = tmp_path / "root"
    write_tree(root, GOOD)
    bomb = root / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(210):
                member.write(block)
    assert bomb.stat().st_size < 2 * 2**20
    assert run_cli("init", str(root)).code == 0
    with LSFS.open(root, readonly=True) as fs:
        row = {f["path"]: f for f in fs.status(files=True)["file_states"]}["bomb.docx"]
        assert row["state"] == "failed" and "expands to 210 MB" in row["reason"]
        assert fs.keywords_retrieve(["survive"])


def _raw_pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdfs_that_make_pypdf_raise_are_recorded_as_failed(tmp_path):
    root = tmp_path / "root"
    cyclic = _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
    ])
    write_tree(root, {**GOOD, "cyclic.pdf": cyclic, "garbage.pdf": b"%PDF-1.7\n" + os.urandom(4096)})
    assert run_cli("init", str(root)).code == 0
    with LSFS.open(root, readonly=True) as fs:
        states = {f["path"]: f for f in fs.status(files=True)["file_states"]}
        assert states["cyclic.pdf"]["state"] == "failed" and "cyclic" in states["cyclic.pdf"]["reason"]
        assert states["garbage.pdf"]["state"] == "failed"
        assert states["notes/keep.md"]["state"] == "indexed"


def test_a_pdf_that_takes_too_long_is_stopped_at_the_time_limit(tmp_path, monkeypatch):
    root = tmp_path / "root"
    # A single page whose content stream holds a million text operators: pypdf needs many
    # seconds for it, like a malformed file that sends it round in circles.
    ops = b"BT /F1 8 Tf " + b"(x) Tj " * 1_000_000 + b"ET"
    slow = _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream",
    ])
    write_tree(root, {**GOOD, "slow.pdf": slow})
    make_pdf(root / "fine.pdf", "a perfectly ordinary document about gardening")
    monkeypatch.setenv("LSFS_EXTRACT_TIMEOUT", "3")
    started = time.monotonic()
    with LSFS.init(root) as fs:
        took = time.monotonic() - started
        states = {f["path"]: f for f in fs.status(files=True)["file_states"]}
        assert states["slow.pdf"]["state"] == "failed"
        assert "took longer than 3 s" in states["slow.pdf"]["reason"]
        # The helper was restarted for the next PDF.
        assert states["fine.pdf"]["state"] == "indexed"
        assert [h.path for h in fs.keywords_retrieve(["gardening"])] == ["fine.pdf"]
    assert took < 60


def test_a_1gb_file_is_skipped_with_its_size_and_the_limit(tmp_path):
    root = tmp_path / "root"
    write_tree(root, GOOD)
    with open(root / "huge.log", "wb") as fh:
        fh.truncate(1 << 30)  # sparse: costs no disk
    res = run_cli("init", str(root))
    assert res.code == 0
    assert "huge.log (too large (1024.0 MB > max_file_mb 50))" in res.err
    with LSFS.open(root) as fs:
        assert fs.verify().ok


# -- the disk refuses -----------------------------------------------------------------------

def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_enospc_during_a_write_changes_nothing_fsync_edge(tmp_path, monkeypatch):
    root = tmp_path / "root"
    _init(root)
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with LSFS.open(root) as fs:
        monkeypatch.setattr(os, "fsync", full_disk)
        with pytest.raises(UserError, match="the disk is full; nothing was changed"):
            fs.overwrite("notes/keep.md", "new content that does not fit")
        monkeypatch.setattr(os, "fsync", real_fsync)
    assert (root / "notes/keep.md").read_text() == GOOD["notes/keep.md"]
    assert not [p for p in root.rglob(".lsfs-tmp-*")]
    with LSFS.open(root) as fs:
        assert fs.verify().ok
        assert len(fs.history("notes/keep.md").versions) == 1


def test_enospc_on_a_really_full_disk_keeps_the_old_content(tmp_path):
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "64m"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        root = mnt / "root"
        _init(root)
        filler = mnt / "filler"
        with open(filler, "wb") as fh:
            try:
                while True:
                    fh.write(os.urandom(1 << 16))
                    fh.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        big = tmp_path / "big.txt"  # outside the full tmpfs
        big.write_text(os.urandom(1 << 20).hex())
        res = run_cli("write", "notes/keep.md", "--from", str(big), "--root", str(root))
        _one_line_error(res, 1, "disk", "full", "nothing was changed")
        assert (root / "notes/keep.md").read_text() == GOOD["notes/keep.md"]
        filler.unlink()
        res = run_cli("verify", "--root", str(root))
        assert res.code == 0, res.out + res.err
    finally:
        _umount(mnt)


def test_a_read_only_root_gives_a_clear_error_and_reads_still_work(tmp_path):
    mnt = tmp_path / "ro"
    if not _mount_tmpfs(mnt, "64m"):
        pytest.skip("needs root to mount a tmpfs read-only")
    try:
        root = mnt / "root"
        _init(root)
        assert subprocess.run(["mount", "-o", "remount,ro", str(mnt)]).returncode == 0
        res = run_cli("write", "notes/keep.md", "--text", "x", "--root", str(root))
        _one_line_error(res, 1, "not writable", "Read-only file system")
        res = run_cli("grep", "survive", "--root", str(root))
        assert res.code == 0 and res.out.strip() == "notes/keep.md"
    finally:
        _umount(mnt)


def test_a_deleted_state_folder_says_to_run_lsfs_init(tmp_path):
    root = tmp_path / "root"
    _init(root)
    shutil.rmtree(root / ".lsfs")
    res = run_cli("search", "keep", "--root", str(root))
    _one_line_error(res, 1, "is not an LSFS root", f"lsfs init {root}")
    res = run_cli("status", cwd=root)
    _one_line_error(res, 1, "no LSFS root", "lsfs init")
    assert (root / "notes/keep.md").read_text() == GOOD["notes/keep.md"]


def test_indexing_one_named_file_keeps_it_indexed(tmp_path):
    root = tmp_path / "root"
    _init(root)
    with LSFS.open(root) as fs:
        stats = fs.index(["notes/keep.md"])
        assert stats.deleted == 0
        assert fs._root.catalog.file_by_path("notes/keep.md").state == "indexed"


def test_a_process_with_over_1024_open_descriptors_still_reads_pdfs(tmp_path):
    # A long-lived supervisor or mount holds many files open; the PDF helper's pipes then
    # get descriptors above 1023, which select() refuses ("filedescriptor out of range").
    import resource

    from lsfs.extract import bounded

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this machine allows only {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    make_pdf(tmp_path / "garden.pdf", "tomatoes need full sun and deep watering")
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        bounded._stop()  # the next PDF starts a helper whose pipes are numbered above 1100
        text = bounded.run("pdf", (tmp_path / "garden.pdf").read_bytes())
        assert "tomatoes need full sun" in text
    finally:
        bounded._stop()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
