"""The supervisor (``lsfs watch``): whatever happens on disk reaches the index and the
version history, other commands go through it, and a crash at any moment is repaired.

Most tests run the real supervisor as a subprocess on a real folder and wait (with a
deadline, polling) for what a user would see: a search that finds the new text, a
history that grew. The event-coalescing unit tests at the top need no process.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from watchdog.events import (
    DirMovedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from lsfs import LSFS, owner
from lsfs.ignore import IgnoreRules
from lsfs.lock import RootLock
from lsfs.store.catalog import Catalog
from supervisor.events import Batch, ChangeBuffer, Changed, EventTranslator, Lost, Moved, RulesChanged

from conftest import CORPUS, REPO, run_cli, write_tree

WAIT_S = 60  # generous: the machine is shared; a healthy run takes well under a second


# -- helpers -------------------------------------------------------------------------------

def eventually(check, what: str, timeout: float = WAIT_S):
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what} (last: {last!r})")


def start_watch(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    log = open(root.parent / f"watch-{time.monotonic_ns()}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsfs", "watch", "--root", str(root), *args],
        stdout=log, stderr=subprocess.STDOUT, env=full_env,
    )
    proc.log_path = Path(log.name)
    log.close()
    return proc


def log_of(proc) -> str:
    return proc.log_path.read_text(errors="replace")


def wait_watching(root: Path, proc: subprocess.Popen, timeout: float = 120) -> dict:
    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"lsfs watch exited with {proc.returncode}:\n{log_of(proc)}")
        state = owner.probe(root)
        return state if state["state"] == "watching" else None

    return eventually(ready, "the supervisor to finish reconciling", timeout)


def stop_watch(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"lsfs watch did not stop on SIGTERM:\n{log_of(proc)}")
    return proc.returncode


def catalog(root: Path) -> Catalog:
    return Catalog(root / ".lsfs" / "catalog.db", readonly=True)


def causes(root: Path, rel: str) -> list[str]:
    cat = catalog(root)
    try:
        row = cat.file_by_path(rel, include_deleted=True)
        return [v.cause for v in cat.versions_of(row.id)] if row else []
    finally:
        cat.close()


def live_row(root: Path, rel: str):
    cat = catalog(root)
    try:
        return cat.file_by_path(rel)
    finally:
        cat.close()


def grep(client, word: str) -> list[str]:
    return [h.path for h in client.keywords_retrieve([word])]


def top(client, query: str, k: int = 1) -> list[str]:
    return [h.path for h in client.semantic_retrieve(query, k=k)]


def embedded(client) -> int:
    return client.hello()["stats"]["embedded_chunks"]


def settle(root: Path, client, name: str = "sentinel") -> None:
    """Write a sentinel file and wait until it is indexed: events are applied in order,
    so everything that happened before it has been handled too."""
    rel = f"sentinels/{name}-{time.monotonic_ns()}.txt"
    token = f"sentinel{time.monotonic_ns()}"
    write_tree(root, {rel: token})
    eventually(lambda: grep(client, token) == [rel], f"{rel} to be indexed")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_consistent(root: Path) -> None:
    """Catalog, vectors and disk agree (run with no supervisor; opens Chroma itself)."""
    with LSFS.open(root) as fs:
        r = fs._root
        cat = r.catalog
        disk = {rel: sha(root / rel) for rel, _ in IgnoreRules(root).walk()}
        live = {f.path: f for f in cat.live_files()}
        assert set(live) == set(disk), (sorted(set(live) ^ set(disk)))[:10]
        for rel, row in live.items():
            assert row.state == "indexed", (rel, row.state, row.reason)
            assert row.sha256 == disk[rel] and row.indexed_sha == row.sha256, rel
            assert cat.latest_version(row.id).sha256 == disk[rel], rel
            assert len(cat.chunks_of(row.id)) == row.n_chunks, rel
        expected = {
            f"{fid}:{seq}"
            for fid, seq in cat.query(
                "SELECT c.file_id, c.seq FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.state='indexed'"
            )
        }
        assert set(r.vectors().all_ids()) == expected
        for row in cat.deleted_files():
            assert not cat.chunks_of(row.id) and cat.doc_text(row.id) is None


# -- what happened: events become few, bounded changes ------------------------------------

def translator(root: Path, rules: dict | None = None) -> EventTranslator:
    write_tree(root, rules or {})
    return EventTranslator(root, IgnoreRules(root))


def test_lsfs_state_git_temp_files_and_reads_are_not_changes(tmp_path):
    t = translator(tmp_path)
    assert t.translate(FileModifiedEvent(str(tmp_path / ".lsfs/catalog.db-wal"))) == []
    assert t.translate(FileCreatedEvent(str(tmp_path / ".git/index.lock"))) == []
    assert t.translate(FileCreatedEvent(str(tmp_path / "notes/.lsfs-tmp-abc123"))) == []
    assert t.translate(FileOpenedEvent(str(tmp_path / "notes/a.md"))) == []
    assert t.translate(FileClosedNoWriteEvent(str(tmp_path / "notes/a.md"))) == []
    assert t.translate(FileModifiedEvent(str(tmp_path / "notes/a.md"))) == [Changed("notes/a.md")]


def test_ignored_paths_are_dropped_and_an_ignore_file_change_rereads_its_folder(tmp_path):
    t = translator(tmp_path, {"proj/.gitignore": "build/\n*.log\n"})
    assert t.translate(FileCreatedEvent(str(tmp_path / "proj/build/out.txt"))) == []
    assert t.translate(FileCreatedEvent(str(tmp_path / "proj/run.log"))) == []
    assert t.translate(FileModifiedEvent(str(tmp_path / "proj/.gitignore"))) == [
        RulesChanged("proj"), Changed("proj/.gitignore")
    ]
    (tmp_path / "proj/.gitignore").write_text("build/\n")
    t.translate(FileModifiedEvent(str(tmp_path / "proj/.gitignore")))
    assert t.translate(FileCreatedEvent(str(tmp_path / "proj/run.log"))) == [Changed("proj/run.log")]


def test_a_save_by_rename_from_a_temp_name_is_a_change_of_the_target(tmp_path):
    t = translator(tmp_path)
    event = FileMovedEvent(str(tmp_path / "notes/.lsfs-tmp-x1"), str(tmp_path / "notes/a.md"))
    assert t.translate(event) == [Changed("notes/a.md")]
    event = FileMovedEvent(str(tmp_path / "notes/a.md"), str(tmp_path / "notes/b.md"))
    assert t.translate(event) == [Moved("notes/a.md", "notes/b.md", False), Changed("notes/a.md"), Changed("notes/b.md")]


def test_a_burst_on_one_file_is_one_dirty_path():
    buf = ChangeBuffer()
    for _ in range(1000):
        buf.add(Changed("notes/a.md"))
    batch = buf.take(threading.Event(), timeout=5)
    assert batch.paths == {"notes/a.md"} and batch.changes == 1000 and not batch.rescan


def test_a_dirty_folder_covers_everything_below_it():
    buf = ChangeBuffer(quiet=0)
    buf.add(Changed("src"))
    for i in range(500):
        buf.add(Changed(f"src/pkg/m{i}.py"))
    buf.add(Changed("docs/a.md"))
    assert buf.take(threading.Event(), timeout=5).paths == {"src", "docs/a.md"}


def test_a_huge_burst_stays_bounded_and_becomes_one_rescan():
    buf = ChangeBuffer(quiet=0, max_paths=1000)
    sizes = []
    for i in range(10_000):
        buf.add(Changed(f"burst/f{i}.txt"))
        sizes.append(buf.pending())
    assert max(sizes) <= 1001
    batch = buf.take(threading.Event(), timeout=5)
    assert batch.rescan and not batch.paths and not batch.moves and batch.changes == 10_000


def test_a_lost_event_queue_means_a_full_rescan():
    buf = ChangeBuffer(quiet=0)
    buf.add(Changed("a.txt"))
    buf.add(Lost("the kernel's inotify queue overflowed"))
    buf.add(Changed("b.txt"))
    batch = buf.take(threading.Event(), timeout=5)
    assert batch.rescan and not batch.paths


def test_an_inotify_overflow_reported_by_watchdog_becomes_a_rescan():
    import logging

    from supervisor.events import OverflowAlarm

    buf = ChangeBuffer(quiet=0)
    alarm = OverflowAlarm(buf)
    alarm.install()
    try:
        buf.add(Changed("a.txt"))
        logging.getLogger(OverflowAlarm.LOGGER).warning("Inotify queue overflowed; filesystem events were lost")
    finally:
        alarm.remove()
    batch = buf.take(threading.Event(), timeout=5)
    assert batch.rescan and "overflowed" in batch.reason


def test_watchdogs_per_file_echo_of_a_folder_move_is_folded_into_it(tmp_path):
    t = translator(tmp_path)
    buf = ChangeBuffer(quiet=0)
    events = [DirMovedEvent(str(tmp_path / "papers"), str(tmp_path / "lib/papers"))]
    events += [FileMovedEvent(str(tmp_path / f"papers/p{i}.md"), str(tmp_path / f"lib/papers/p{i}.md")) for i in range(300)]
    for event in events:
        for change in t.translate(event):
            buf.add(change)
    batch = buf.take(threading.Event(), timeout=5)
    assert batch.moves == [Moved("papers", "lib/papers", True)]
    assert batch.paths == {"papers", "lib/papers"}


def test_take_returns_nothing_when_nothing_happened_or_when_stopping():
    buf = ChangeBuffer()
    assert buf.take(threading.Event(), timeout=0.05) is None
    stop = threading.Event()
    stop.set()
    buf.add(Changed("a.txt"))
    assert buf.take(stop, timeout=5) is None
    assert isinstance(buf.take(threading.Event(), timeout=5), Batch)


# -- one supervisor, many behaviours (each test uses its own files) -------------------------

@dataclass
class Watched:
    root: Path
    proc: subprocess.Popen
    client: owner.RemoteLSFS


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    root = tmp_path_factory.mktemp("watched") / "root"
    write_tree(root, CORPUS)
    LSFS.init(root).close()
    proc = start_watch(root)
    try:
        wait_watching(root, proc)
        client = owner.connect(root)
        yield Watched(root, proc, client)
        client.close()
    finally:
        stop_watch(proc)


def test_a_new_file_becomes_findable_by_keyword_and_by_meaning(watched):
    root, client = watched.root, watched.client
    write_tree(root, {"inbox/whales.txt": "Humpback whales sing long, complex songs to find mates in the ocean."})
    eventually(lambda: grep(client, "humpback") == ["inbox/whales.txt"], "grep to find the new file")
    assert top(client, "marine mammals that sing") == ["inbox/whales.txt"]
    assert causes(root, "inbox/whales.txt") == ["external"]


def test_an_edit_becomes_an_external_version_and_replaces_the_old_text(watched):
    root, client = watched.root, watched.client
    (root / "notes/transformers.txt").write_text("Zebrafish can regenerate the muscle of their hearts.")
    eventually(lambda: grep(client, "zebrafish") == ["notes/transformers.txt"], "the edit to be indexed")
    assert grep(client, "positional encodings") == []
    assert top(client, "animals that regrow damaged organs") == ["notes/transformers.txt"]
    assert causes(root, "notes/transformers.txt") == ["initial", "external"]
    cat = catalog(root)
    logged = cat.query("SELECT cause, version FROM changes WHERE path='notes/transformers.txt' ORDER BY id")
    cat.close()
    assert logged[-1] == ("external", 2)


def test_a_rename_keeps_the_history_and_embeds_nothing(watched):
    root, client = watched.root, watched.client
    before_id = live_row(root, "travel/kyoto.md").id
    before = embedded(client)
    os.rename(root / "travel/kyoto.md", root / "travel/kyoto-in-autumn.md")
    eventually(lambda: live_row(root, "travel/kyoto-in-autumn.md"), "the rename to reach the catalog")
    assert live_row(root, "travel/kyoto-in-autumn.md").id == before_id and live_row(root, "travel/kyoto.md") is None
    assert causes(root, "travel/kyoto-in-autumn.md") == ["initial"]
    assert top(client, "maple leaves and bamboo in a Japanese city") == ["travel/kyoto-in-autumn.md"]
    assert embedded(client) == before


def test_a_move_across_folders_keeps_the_history(watched):
    root, client = watched.root, watched.client
    before_id = live_row(root, "recipes/bread.md").id
    before = embedded(client)
    (root / "archive/2024").mkdir(parents=True)
    os.rename(root / "recipes/bread.md", root / "archive/2024/bread.md")
    eventually(lambda: grep(client, "sourdough") == ["archive/2024/bread.md"], "grep to see the moved file")
    assert live_row(root, "archive/2024/bread.md").id == before_id
    assert top(client, "bake a loaf with a starter") == ["archive/2024/bread.md"]
    assert embedded(client) == before


def test_a_deleted_file_leaves_both_indexes_and_keeps_its_versions(watched):
    root, client = watched.root, watched.client
    os.unlink(root / "finance/budget-2024.txt")
    eventually(lambda: grep(client, "index fund") == [], "the delete to reach the keyword index")
    assert "finance/budget-2024.txt" not in top(client, "household budget and monthly savings", k=20)
    assert live_row(root, "finance/budget-2024.txt") is None
    assert causes(root, "finance/budget-2024.txt") == ["initial"]


def test_a_folder_move_carries_every_file_without_embedding(watched):
    root, client = watched.root, watched.client
    ids = {p: live_row(root, p).id for p in ("papers/llm-uncertainty.md", "papers/llm-hallucination.md")}
    before = embedded(client)
    (root / "library").mkdir()
    os.rename(root / "papers", root / "library/papers")
    eventually(lambda: live_row(root, "library/papers/llm-uncertainty.md"), "the folder move to reach the catalog")
    for old, fid in ids.items():
        assert live_row(root, "library/" + old).id == fid and live_row(root, old) is None
    assert top(client, "is the model confident in its answers") == ["library/papers/llm-uncertainty.md"]
    assert embedded(client) == before


def test_a_folder_delete_removes_everything_below_it(watched):
    root, client = watched.root, watched.client
    write_tree(root, {f"trash/t{i}.txt": f"discarded draft number {i} mentions quasar{i}" for i in range(3)})
    eventually(lambda: len(client.keywords_retrieve(["discarded draft"])) == 3, "the drafts to be indexed")
    for i in range(3):
        os.unlink(root / f"trash/t{i}.txt")
    os.rmdir(root / "trash")
    eventually(lambda: client.keywords_retrieve(["discarded draft"]) == [], "the folder delete to apply")
    assert all(live_row(root, f"trash/t{i}.txt") is None for i in range(3))


def test_an_editors_atomic_save_is_one_external_version_of_the_same_file(watched):
    root, client = watched.root, watched.client
    fid = live_row(root, "notes/cnn.md").id
    temp = root / "notes/.cnn.md.swx~"
    temp.write_text("# Recurrent networks\n\nAn RNN reads a sequence one step at a time, carrying a hidden state.")
    os.replace(temp, root / "notes/cnn.md")
    eventually(lambda: grep(client, "hidden state") == ["notes/cnn.md"], "the saved text to be indexed")
    assert live_row(root, "notes/cnn.md").id == fid
    assert causes(root, "notes/cnn.md") == ["initial", "external"]
    cat = catalog(root)
    assert cat.query("SELECT path FROM files WHERE path LIKE '%swx%'") == []
    cat.close()


def test_a_save_that_renames_the_original_to_a_backup_keeps_the_history(watched):
    root, client = watched.root, watched.client
    fid = live_row(root, "code/fib.py").id
    os.rename(root / "code/fib.py", root / "code/fib.py~")  # vim's writebackup
    (root / "code/fib.py").write_text("def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)  # recursive\n")
    os.unlink(root / "code/fib.py~")
    eventually(lambda: grep(client, "recursive") == ["code/fib.py"], "the saved file to be indexed")
    assert live_row(root, "code/fib.py").id == fid
    assert causes(root, "code/fib.py") == ["initial", "external"]
    assert live_row(root, "code/fib.py~") is None


def test_ignored_files_and_lsfs_temp_files_are_never_indexed(watched):
    root, client = watched.root, watched.client
    write_tree(root, {
        "proj/.lsfsignore": "build/\n*.log\n",
        "proj/build/out.txt": "compiled artefact wombat",
        "proj/debug.log": "log line wombat",
        "proj/.lsfs-tmp-zz9": "half written wombat",
        "proj/main.txt": "the real source mentions a wombat",
    })
    eventually(lambda: grep(client, "wombat") == ["proj/main.txt"], "the unignored file to be indexed")
    settle(root, client)
    assert grep(client, "wombat") == ["proj/main.txt"]


def test_changing_an_ignore_file_applies_to_files_already_indexed(watched):
    root, client = watched.root, watched.client
    write_tree(root, {"drafts/a.txt": "first draft about narwhals", "drafts/b.txt": "second draft about narwhals"})
    eventually(lambda: sorted(grep(client, "narwhals")) == ["drafts/a.txt", "drafts/b.txt"], "the drafts to be indexed")
    (root / "drafts/.lsfsignore").write_text("a.txt\n")
    eventually(lambda: grep(client, "narwhals") == ["drafts/b.txt"], "the newly ignored file to leave the index")
    (root / "drafts/.lsfsignore").unlink()
    eventually(lambda: sorted(grep(client, "narwhals")) == ["drafts/a.txt", "drafts/b.txt"], "it to come back")


def test_a_write_through_the_socket_is_not_processed_again_when_seen_on_disk(watched):
    root, client = watched.root, watched.client
    result = client.overwrite("notes/own.md", "written by LSFS itself about axolotls")
    assert result.cause == "write"
    assert grep(client, "axolotls") == ["notes/own.md"]  # visible at once, no event needed
    settle(root, client)
    assert causes(root, "notes/own.md") == ["write"]
    cat = catalog(root)
    assert [c for (c,) in cat.query("SELECT cause FROM changes WHERE path='notes/own.md'")] == ["write"]
    cat.close()


def test_a_burst_of_saves_to_one_file_is_coalesced(watched):
    root, client = watched.root, watched.client
    before = embedded(client)
    target = root / "notes/burst.md"
    for i in range(20):
        target.write_text(f"draft {i} of a note about puffins" + (" final" if i == 19 else ""))
    eventually(lambda: grep(client, "puffins final") == ["notes/burst.md"], "the last save to be indexed")
    settle(root, client)
    # 20 saves within milliseconds: one sync (two if the machine stalled mid-burst), not 20.
    assert len(causes(root, "notes/burst.md")) <= 2
    assert embedded(client) - before <= 3  # the note (1 chunk, twice at most) and the sentinel


def test_files_that_live_for_an_instant_leave_nothing_behind(watched):
    root, client = watched.root, watched.client
    for i in range(50):
        p = root / f"flash/f{i}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_text(f"ephemeral note {i} about lemmings")
        p.unlink()
    settle(root, client)
    assert grep(client, "lemmings") == []
    cat = catalog(root)
    assert cat.query("SELECT count(*) FROM files WHERE path LIKE 'flash/%' AND state != 'deleted'") == [(0,)]
    cat.close()


def test_cli_commands_go_through_the_supervisor_that_holds_the_root(watched):
    root = watched.root
    assert not RootLock(root / ".lsfs").try_acquire()  # the supervisor holds the root
    fast_fail = {"LSFS_LOCK_TIMEOUT": "0.2"}  # a local open would fail at once
    w = run_cli("write", "inbox/idea.md", "--text", "A bicycle powered by tidal energy.", "--root", str(root), env=fast_fail)
    assert w.code == 0, w.err
    s = run_cli("search", "ocean power for cycling", "-k", "1", "--root", str(root), "--json", env=fast_fail)
    assert s.code == 0, s.err
    assert json.loads(s.out)["results"][0]["path"] == "inbox/idea.md"
    i = run_cli("index", "inbox", "--root", str(root), "--json", env=fast_fail)
    assert i.code == 0 and json.loads(i.out)["new"] == 0, i.err
    g = run_cli("grep", "tidal energy", "--root", str(root), env=fast_fail)  # read-only: the catalog directly
    assert g.code == 0 and g.out.split() == ["inbox/idea.md"]


def test_cli_errors_through_the_socket_keep_their_message_and_exit_code(watched):
    r = run_cli("write", "no-such-file-anywhere", "--append", "--text", "x", "--root", str(watched.root))
    assert r.code == 1 and r.err.startswith("lsfs: error: no file named 'no-such-file-anywhere'")
    r = run_cli("write", "../escape.txt", "--text", "x", "--root", str(watched.root))
    assert r.code == 1 and "outside the root" in r.err
    assert not (watched.root.parent / "escape.txt").exists()


def test_status_says_a_supervisor_is_running(watched):
    r = run_cli("status", "--root", str(watched.root), "--json")
    out = json.loads(r.out)
    assert out["supervisor"] == {"running": True, "pid": watched.proc.pid, "state": "watching"}
    assert {"root", "files", "chunks", "versions"} <= set(out)
    text = run_cli("status", "--root", str(watched.root)).out
    assert f"supervisor: running (pid {watched.proc.pid}" in text


def test_a_second_watch_on_the_same_root_exits_3_naming_the_first(watched):
    r = run_cli("watch", "--root", str(watched.root))
    assert r.code == 3
    assert r.err.startswith("lsfs: error: a supervisor is already running for") and f"pid {watched.proc.pid}" in r.err
    assert watched.proc.poll() is None


# -- lifecycle -----------------------------------------------------------------------------

@pytest.fixture
def root(corpus_dir):
    LSFS.init(corpus_dir).close()
    return corpus_dir


def test_sigterm_stops_cleanly_removing_the_socket_and_releasing_the_root(root):
    proc = start_watch(root)
    wait_watching(root, proc)
    assert (root / ".lsfs/sock").exists()
    assert stop_watch(proc) == 0, log_of(proc)
    assert not (root / ".lsfs/sock").exists()
    lock = RootLock(root / ".lsfs")
    assert lock.try_acquire()
    lock.release()
    assert owner.probe(root)["running"] is False
    assert "stopping" in log_of(proc)
    r = run_cli("search", "sourdough", "-k", "1", "--root", str(root), "--json")  # back to opening locally
    assert r.code == 0 and json.loads(r.out)["results"][0]["path"] == "recipes/bread.md"


def test_watch_refuses_while_another_command_holds_the_root(root):
    with LSFS.open(root):
        r = run_cli("watch", "--root", str(root), env={"LSFS_LOCK_TIMEOUT": "0.2"})
    assert r.code == 3
    assert "busy with another LSFS command" in r.err and "supervisor is already running" not in r.err
    assert not (root / ".lsfs/sock").exists()


def test_watch_needs_an_lsfs_root(tmp_path):
    r = run_cli("watch", "--root", str(tmp_path))
    assert r.code == 1 and "is not an LSFS root" in r.err and "lsfs init" in r.err
    r = run_cli("watch", "--root", str(tmp_path / "missing"))
    assert r.code == 1 and "does not exist" in r.err
    r = run_cli("watch", "--root", str(tmp_path), "--poll", "0")
    assert r.code == 2


def test_a_supervisor_whose_root_disappears_stops_instead_of_forgetting_every_file(root):
    proc = start_watch(root)
    wait_watching(root, proc)
    shutil.move(str(root), str(root.parent / "elsewhere"))
    (root / "notes").mkdir(parents=True)  # an empty folder where the root was
    (root / "notes/new.txt").write_text("x")
    assert proc.wait(timeout=WAIT_S) == 1
    assert "is gone" in log_of(proc)
    moved = root.parent / "elsewhere"
    assert causes(moved, "notes/cnn.md") == ["initial"] and live_row(moved, "notes/cnn.md") is not None


def test_polling_mode_follows_changes_without_inotify(root):
    proc = start_watch(root, "--poll", "0.3")
    try:
        state = wait_watching(root, proc)
        with owner.connect(root) as client:
            assert client.hello()["mode"] == "polling"
            (root / "notes/cnn.md").write_text("Capybaras are the largest rodents and love warm water.")
            eventually(lambda: grep(client, "capybaras") == ["notes/cnn.md"], "a rescan to pick up the edit")
            os.unlink(root / "recipes/bread.md")
            eventually(lambda: grep(client, "sourdough") == [], "a rescan to pick up the delete")
        assert state["running"]
    finally:
        assert stop_watch(proc) == 0
    assert causes(root, "notes/cnn.md") == ["initial", "external"]


def test_restart_reconciles_what_happened_while_nobody_watched(root):
    before = live_row(root, "notes/cnn.md").id
    os.rename(root / "notes/cnn.md", root / "notes/convnets.md")
    (root / "recipes/tomato-soup.txt").write_text("Gazpacho is a cold soup of raw blended vegetables.")
    os.unlink(root / "travel/kyoto.md")
    write_tree(root, {"new/idea.txt": "A treehouse hotel for owls."})
    proc = start_watch(root)
    try:
        wait_watching(root, proc)
        with owner.connect(root) as client:
            assert grep(client, "gazpacho") == ["recipes/tomato-soup.txt"]
            assert grep(client, "treehouse") == ["new/idea.txt"]
            assert grep(client, "arashiyama") == []
            assert client.hello()["stats"]["moved"] == 1
    finally:
        stop_watch(proc)
    assert live_row(root, "notes/convnets.md").id == before
    assert causes(root, "recipes/tomato-soup.txt") == ["initial", "external"]
    assert "reconciled: 1 new, 1 changed, 1 deleted, 1 moved" in log_of(proc)
    assert_consistent(root)


def test_kill_9_during_a_burst_then_restart_ends_consistent(tmp_path):
    root = tmp_path / "root"
    write_tree(root, {f"base/b{i:03d}.txt": f"base document {i} about topic {i % 7}" for i in range(40)})
    LSFS.init(root).close()
    proc = start_watch(root)
    wait_watching(root, proc)
    with owner.connect(root) as client:
        start = embedded(client)
        for i in range(300):
            write_tree(root, {f"burst/n{i:03d}.txt": f"burst note {i}: the {i % 13}th heron flew over lake {i}"})
            if i % 10 == 0:
                (root / f"base/b{i // 10:03d}.txt").write_text(f"edited base {i} now about otters")
            if i % 30 == 0:
                os.unlink(root / f"base/b{20 + i // 30:03d}.txt")
        eventually(lambda: embedded(client) > start, "the supervisor to be busy embedding the burst")
    proc.kill()  # kill -9 in the middle of it
    proc.wait()
    # While nobody watches: more changes, of every kind.
    (root / "moved").mkdir()
    for i in range(5):
        os.rename(root / f"burst/n{i:03d}.txt", root / f"moved/n{i:03d}.txt")
        os.unlink(root / f"burst/n{100 + i:03d}.txt")
        (root / f"burst/n{200 + i:03d}.txt").write_text(f"rewritten after the crash {i}")
    proc = start_watch(root)
    try:
        wait_watching(root, proc, timeout=300)
        with owner.connect(root) as client:
            eventually(lambda: client.hello()["pending"] == 0, "the event queue to drain")
            settle(root, client)
            assert grep(client, "rewritten after the crash") == sorted(f"burst/n{200 + i:03d}.txt" for i in range(5))
    finally:
        assert stop_watch(proc) == 0, log_of(proc)
    assert_consistent(root)


def test_vectors_left_inconsistent_by_a_crash_are_repaired_on_start(root):
    from supervisor import Supervisor

    with LSFS.open(root) as fs:
        r = fs._root
        cnn = r.catalog.file_by_path("notes/cnn.md")
        r.vectors().delete([f"{cnn.id}:0"])  # killed while forgetting the file
        r.vectors().upsert(["9999:0"], r.embedder().embed(["orphan"]), [9999])  # killed before the commit
    lines = []
    sup = Supervisor(root, report=lines.append)
    sup.start()
    try:
        eventually(lambda: sup.state == "watching", "the supervisor to reconcile")
        hits = sup.call("semantic_retrieve", ("small filters sliding over an image",), {"k": 1})
        assert hits[0].path == "notes/cnn.md"
    finally:
        sup.stop()
    assert any("1 stray vectors removed, 1 files to re-embed" in line for line in lines), lines
    assert_consistent(root)


def test_the_inotify_watch_limit_falls_back_to_rescans_with_a_warning(root, monkeypatch):
    from watchdog.observers.inotify_c import InotifyFD

    from supervisor import Supervisor

    real_add = InotifyFD.add_callback
    top_dir = os.fsencode(str(root))

    def limited(self, path, mask, callback, id_):
        if path != top_dir:  # the kernel refuses every watch past the first
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return real_add(self, path, mask, callback, id_)

    monkeypatch.setattr(InotifyFD, "add_callback", limited)
    lines = []
    sup = Supervisor(root, report=lines.append)
    sup.start()
    try:
        eventually(lambda: sup.state == "watching", "the supervisor to start")
        assert sup.mode == "polling"
        assert any("inotify watch limit reached" in line and "rescanning" in line for line in lines), lines
        (root / "notes/cnn.md").write_text("Pangolins are covered in keratin scales.")
        eventually(lambda: [h.path for h in sup.call("keywords_retrieve", (["pangolins"],))] == ["notes/cnn.md"],
                   "a rescan to find the edit in an unwatched folder")
    finally:
        sup.stop()


def test_no_inotify_at_all_falls_back_to_rescans(root, monkeypatch):
    from watchdog.observers.inotify_c import InotifyFD

    from supervisor import Supervisor

    def refuse(self, path, mask, callback, id_):
        raise OSError(errno.EMFILE, "inotify instance limit reached")

    monkeypatch.setattr(InotifyFD, "add_callback", refuse)
    lines = []
    sup = Supervisor(root, report=lines.append)
    sup.start()
    try:
        assert sup.mode == "polling" and any("inotify instance limit reached" in line for line in lines)
        os.unlink(root / "recipes/bread.md")
        eventually(lambda: sup.call("keywords_retrieve", (["sourdough"],)) == [], "a rescan to see the delete")
    finally:
        sup.stop()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_recorded_and_indexed_once_readable(watched):
    root, client = watched.root, watched.client
    write_tree(root, {"locked/secret.txt": "the treasure is under the oak"})
    eventually(lambda: grep(client, "treasure") == ["locked/secret.txt"], "the file to be indexed")
    (root / "locked/secret.txt").chmod(0)
    os.utime(root / "locked/secret.txt")  # a new mtime: the supervisor looks again, and cannot read
    eventually(lambda: live_row(root, "locked/secret.txt").state == "failed", "the failure to be recorded")
    assert live_row(root, "locked/secret.txt").reason == "permission denied"
    (root / "locked/secret.txt").chmod(0o644)  # chmod alone changes no size, mtime or inode
    eventually(lambda: live_row(root, "locked/secret.txt").state == "indexed", "the file to be read again")


def test_a_file_unreadable_for_a_while_is_indexed_once_a_chmod_makes_it_readable(fs, monkeypatch):
    # The tests run as root, whom the kernel never refuses; refuse like it does for others.
    import lsfs.index

    real_open = os.open
    secret = str(fs.root / "notes/secret.txt")

    def guarded_open(path, flags, *args, **kwargs):
        if str(path) == secret:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    write_tree(fs.root, {"notes/secret.txt": "the treasure is buried under the old oak"})
    fs.index()
    monkeypatch.setattr(lsfs.index.os, "open", guarded_open)  # "chmod 000"
    os.utime(fs.root / "notes/secret.txt", ns=(1, 1))  # and a new mtime, so LSFS looks again
    fs.index()
    assert fs.keywords_retrieve(["treasure"]) == []
    row = fs._root.catalog.file_by_path("notes/secret.txt")
    assert (row.state, row.reason) == ("failed", "permission denied")
    monkeypatch.undo()  # "chmod 644": nothing in size, mtime or inode changes
    stats = fs.index()
    assert stats.changed == 1 and fs._root.catalog.file_by_path("notes/secret.txt").state == "indexed"
    assert fs.keywords_retrieve(["treasure"])[0].path == "notes/secret.txt"
