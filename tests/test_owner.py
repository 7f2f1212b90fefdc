"""The owner socket: values and errors cross it unchanged; only the owner's API is reachable."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from lsfs import LSFS, owner
from lsfs.errors import Ambiguous, Busy, LSFSError, NotFound, Refused, UsageError, UserError
from lsfs.index import SyncStats
from lsfs.owner import ProtocolError, decode, decode_error, encode, encode_error
from lsfs.retrieve import Hit
from lsfs.syscalls import FileInfo, WriteResult

from conftest import write_tree


def roundtrip(value):
    # Through the bytes that go on the wire.
    return decode(json.loads(owner.dumps({"v": encode(value)}))["v"])


# -- the codec ---------------------------------------------------------------------------

def test_api_results_come_back_as_the_same_types():
    hits = [Hit("notes/cnn.md", 0.8125, "A CNN learns small filters"), Hit("a.txt", 1.0, "")]
    info = FileInfo("notes/x.md", "indexed", 12, 2, False, "text", None, "hello", True)
    written = WriteResult("notes/x.md", 3, 12, "overwrite")
    stats = SyncStats(new=2, changed=1, seconds=0.25, paths=["a", "b"])
    assert roundtrip(hits) == hits and type(roundtrip(hits)[0]) is Hit
    assert roundtrip(info) == info and type(roundtrip(info)) is FileInfo
    assert roundtrip(written) == written and type(roundtrip(written)) is WriteResult
    assert roundtrip(stats) == stats and type(roundtrip(stats)) is SyncStats


def test_bytes_tuples_sets_dates_and_odd_dicts_keep_their_types():
    value = {
        "read": ("notes/cnn.md", b"\x00\xffbinary\n"),
        "ids": {3, 4},
        "when": dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.timezone.utc),
        "day": dt.date(2026, 11, 22),
        "by_version": {1: "initial", 2: "external"},
        "__lsfs__": "a user's key that looks like a tag",
        "path": Path("/tmp/x"),
        "nested": [[1, 2.5, None, True]],
        "names": ["naïve – résumé.md", "caf\udce9.txt"],  # the second is not valid UTF-8 on disk
    }
    assert roundtrip(value) == value
    assert type(roundtrip(value)["read"]) is tuple and type(roundtrip(value)["read"][1]) is bytes


def test_only_lsfs_dataclasses_are_built_from_the_peers_words():
    for name in ("subprocess:Popen", "os:system", "lsfs.api:LSFS", "lsfs.retrieve:nothing_here"):
        with pytest.raises(ProtocolError):
            decode({"__lsfs__": "dataclass", "type": name, "fields": {}})


def test_values_that_cannot_travel_are_refused_when_sent():
    with pytest.raises(TypeError, match="cannot send"):
        encode({"x": object()})


def test_errors_come_back_as_the_same_class_with_message_and_exit_code():
    for exc in (NotFound("no file named 'x'"), Busy("root is busy"), UsageError("bad"), Refused("confirm")):
        back = decode_error(json.loads(json.dumps(encode_error(exc))))
        assert type(back) is type(exc) and back.message == exc.message and back.exit_code == exc.exit_code
        assert str(back) == str(exc)


def test_ambiguous_keeps_its_candidates():
    exc = Ambiguous("'cnn' matches 2 files", ["a/cnn.md", "b/cnn.md"])
    back = decode_error(json.loads(json.dumps(encode_error(exc))))
    assert isinstance(back, Ambiguous) and back.candidates == ["a/cnn.md", "b/cnn.md"] and back.exit_code == 3


def test_an_error_class_unknown_to_the_client_arrives_as_its_nearest_known_base():
    class VersionGone(NotFound):
        pass

    back = decode_error(encode_error(VersionGone("version 9 is gone")))
    assert type(back) is NotFound and back.message == "version 9 is gone"


def test_a_bug_in_the_owner_arrives_as_an_internal_error_not_a_foreign_class():
    back = decode_error(encode_error(KeyError("boom")))
    assert type(back) is LSFSError and "internal error" in back.message and "KeyError" in back.message
    assert type(decode_error({"type": "SystemExit", "message": "x"})) is LSFSError


# -- where the socket is -------------------------------------------------------------------

def test_the_socket_lives_in_the_state_folder_when_its_path_fits(tmp_path):
    assert owner.server_socket_path(tmp_path) == tmp_path / ".lsfs" / "sock"


def test_a_root_too_deep_for_a_socket_path_uses_a_short_private_one(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = owner.server_socket_path(deep)
    assert len(os.fsencode(str(path))) <= owner.MAX_SOCKET_PATH
    assert path.parent == tmp_path / "lsfs" and path.suffix == ".sock"
    assert owner.server_socket_path(tmp_path / ("d" * 60) / ("f" * 60)) != path  # one per root
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert str(owner.server_socket_path(deep)).startswith(f"/tmp/lsfs-{os.getuid()}/")


def test_connect_finds_no_owner_where_no_socket_exists(tmp_path):
    (tmp_path / ".lsfs").mkdir()
    assert owner.connect(tmp_path) is None
    assert owner.probe(tmp_path) == {"running": False, "pid": None, "state": None}


def test_a_socket_file_left_by_a_dead_owner_reads_as_no_owner(tmp_path):
    (tmp_path / ".lsfs").mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(tmp_path / ".lsfs" / "sock"))
    dead.close()  # the file stays, nobody listens: what kill -9 leaves behind
    assert (tmp_path / ".lsfs" / "sock").exists()
    assert owner.connect(tmp_path) is None


# -- a real owner in this process -----------------------------------------------------------

@pytest.fixture
def served(corpus_dir):
    from supervisor import Supervisor

    LSFS.init(corpus_dir).close()
    sup = Supervisor(corpus_dir, quiet=0.05)
    sup.start()
    try:
        yield sup
    finally:
        sup.stop()


@pytest.fixture
def remote(served):
    client = owner.connect(served.path)
    assert client is not None
    with client:
        yield client


def test_the_socket_is_private_to_its_user(served):
    mode = os.stat(served.path / ".lsfs" / "sock").st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_remote_search_equals_the_owners_own_answer(served, remote):
    assert remote.search("bake a loaf with a starter", k=3) == served.fs.search("bake a loaf with a starter", k=3)
    assert remote.search("bake a loaf with a starter", k=3)[0].path == "recipes/bread.md"
    assert [h.path for h in remote.keywords_retrieve(["tomato"], mode="all", dir="recipes")] == ["recipes/tomato-soup.txt"]


def test_remote_writes_and_reads_carry_bytes_and_results(remote):
    result = remote.overwrite("notes/todo.md", b"buy oat milk\n")
    assert isinstance(result, WriteResult) and result.cause == "write" and result.version == 1
    path, data = remote.read("todo")
    assert (path, data) == ("notes/todo.md", b"buy oat milk\n")
    assert remote.add_("todo", "call the plumber").version == 2
    assert remote.keywords_retrieve(["plumber"])[0].path == "notes/todo.md"
    made = remote.create_or_get_file("projects/plan.md", "Ship the zeppelin.")
    assert isinstance(made, FileInfo) and made.created


def test_remote_errors_are_the_api_errors(remote, served):
    write_tree(served.path, {"a/cnn.md": "one", "b/cnn.md": "two"})
    remote.index()
    with pytest.raises(Ambiguous) as amb:
        remote.resolve("cnn")
    assert sorted(amb.value.candidates) == ["a/cnn.md", "b/cnn.md", "notes/cnn.md"]
    with pytest.raises(NotFound, match="no file named 'nothing-like-this'"):
        remote.read("nothing-like-this")
    with pytest.raises(UserError, match="mode must be"):
        remote.search("x", mode="fuzzy")


def test_progress_callbacks_stay_on_the_callers_side(remote, served):
    class Bar:
        def start(self, total): ...
        def advance(self, n=1): ...
        def finish(self): ...

    write_tree(served.path, {"extra/new.txt": "a brand new note about glaciers"})
    stats = remote.index(["extra"], progress=Bar())
    assert isinstance(stats, SyncStats) and stats.seen >= 1


def test_only_rpc_methods_are_reachable(remote, served):
    assert "search" in remote.methods()
    with pytest.raises(AttributeError):
        remote.close_all  # noqa: B018 - not an API method
    with pytest.raises(AttributeError):
        remote._catalog  # noqa: B018
    for name in ("close", "__init__", "_root", "open"):
        with pytest.raises(UsageError, match="not a method the LSFS supervisor serves"):
            remote._call(name, (), {})


def test_a_method_added_to_rpc_methods_is_served_without_changing_the_client(corpus_dir, monkeypatch):
    from supervisor import Supervisor

    monkeypatch.setattr(LSFS, "RPC_METHODS", LSFS.RPC_METHODS | {"echo_back"})
    monkeypatch.setattr(LSFS, "echo_back", lambda self, data, *, times=1: {"data": data * times}, raising=False)
    LSFS.init(corpus_dir).close()
    sup = Supervisor(corpus_dir)
    sup.start()
    try:
        with owner.connect(corpus_dir) as client:
            assert client.echo_back(b"ab", times=2) == {"data": b"abab"}
    finally:
        sup.stop()


def test_an_oversized_request_is_refused_and_the_connection_closed(served):
    served._server.max_request = 1000
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(served.path / ".lsfs" / "sock"))
    reader = sock.makefile("rb")
    big = json.dumps({"id": 1, "method": "overwrite", "args": ["x.txt", "y" * 5000], "kwargs": {}}).encode() + b"\n"
    sock.sendall(big)
    reply = json.loads(reader.readline())
    assert reply["ok"] is False and "request too large" in reply["error"]["message"]
    assert reader.readline() == b""  # hung up
    sock.close()
    assert not (served.path / "x.txt").exists()


def test_garbage_on_the_socket_gets_a_protocol_error(served):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(served.path / ".lsfs" / "sock"))
    sock.sendall(b"this is not json\n")
    reply = json.loads(sock.makefile("rb").readline())
    assert reply["ok"] is False and reply["error"]["type"] == "LSFSError" and "not JSON" in reply["error"]["message"]
    sock.close()


def test_concurrent_writers_through_the_socket_lose_nothing(served):
    errors = []

    def writer(i):
        try:
            with owner.connect(served.path) as client:
                for n in range(4):
                    client.overwrite(f"load/w{i}.txt", f"writer {i} round {n} quokka{i}x{n}")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    cat = served.root.catalog
    for i in range(4):
        row = cat.file_by_path(f"load/w{i}.txt")
        assert [v.cause for v in cat.versions_of(row.id)] == ["write", "overwrite", "overwrite", "overwrite"]
        assert served.fs.keywords_retrieve([f"quokka{i}x3"])[0].path == f"load/w{i}.txt"


def test_a_long_root_path_is_served_through_the_recorded_short_socket(tmp_path, monkeypatch):
    from supervisor import Supervisor

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    deep = tmp_path / ("r" * 70) / ("s" * 40)
    write_tree(deep, {"note.txt": "a lighthouse keeper's diary"})
    LSFS.init(deep).close()
    sup = Supervisor(deep)
    sup.start()
    try:
        monkeypatch.delenv("XDG_RUNTIME_DIR")  # a client with another environment still finds it
        recorded = (deep / ".lsfs" / "sock.path").read_text().strip()
        assert len(recorded) <= owner.MAX_SOCKET_PATH
        with owner.connect(deep) as client:
            assert client.keywords_retrieve(["lighthouse"])[0].path == "note.txt"
    finally:
        sup.stop()
    assert not (deep / ".lsfs" / "sock.path").exists() and not Path(recorded).exists()
