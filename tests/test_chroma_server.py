"""The vector store on a real Chroma server (``LSFS_CHROMA_URL``) started on loopback.

Everything else stays as with the embedded store: the catalog, versions and keyword index
live in ROOT/.lsfs; only the vectors move to the server, one collection per root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lsfs import LSFS
from lsfs.errors import BackendUnavailable
from tests.conftest import CORPUS, write_tree


def _chroma_cli() -> str | None:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_chroma(data, log) -> tuple[subprocess.Popen, int]:
    """A real ``chroma run`` on 127.0.0.1 keeping its data in ``data``, once it answers."""
    exe = _chroma_cli()
    if exe is None:
        pytest.skip("the 'chroma' CLI (shipped with the chromadb package) is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    import chromadb

    deadline = time.monotonic() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            return proc, port
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("chroma run did not start" + (f"; see {log.name}" if hasattr(log, "name") else ""))
            time.sleep(0.2)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """A real ``chroma run`` with its data in a temporary folder."""
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data.parent / "chroma-server.log", "wb")
    proc, port = _start_chroma(data, log)
    url = f"http://127.0.0.1:{port}"
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def server_root(tmp_path, chroma_url, monkeypatch):
    monkeypatch.setenv("LSFS_CHROMA_URL", chroma_url)
    root = tmp_path / "root"
    write_tree(root, CORPUS)
    with LSFS.init(root) as fs:
        yield fs


def _server_collection(url: str, fs: LSFS):
    import chromadb
    from urllib.parse import urlparse

    u = urlparse(url)
    client = chromadb.HttpClient(host=u.hostname, port=u.port)
    return client.get_collection(f"lsfs_{fs._root.catalog.get_meta('root_id')}")


def test_vectors_live_on_the_server_not_in_the_root(server_root, chroma_url):
    assert not (server_root.root / ".lsfs" / "chroma").exists()
    chunks = server_root.status()["chunks"]
    assert chunks > 0
    assert _server_collection(chroma_url, server_root).count() == chunks


def test_semantic_search_finds_the_right_file(server_root):
    assert server_root.semantic_retrieve("image classification with filters", k=1)[0].path == "notes/cnn.md"
    assert server_root.search("what to cook with tomatoes", k=1)[0].path == "recipes/tomato-soup.txt"


def test_a_write_updates_the_vectors_on_the_server(server_root, chroma_url):
    fs = server_root
    fs.overwrite("travel/kyoto.md", "# Reef diving\n\nCoral reefs, sea turtles and clownfish off the coast.")
    assert fs.semantic_retrieve("underwater coral and turtles", k=1)[0].path == "travel/kyoto.md"
    fid = fs._root.catalog.file_by_path("travel/kyoto.md").id
    col = _server_collection(chroma_url, fs)
    assert len(col.get(where={"file_id": fid})["ids"]) == fs._root.catalog.file_by_path("travel/kyoto.md").n_chunks
    fs.del_("travel/kyoto.md")
    assert col.get(where={"file_id": fid})["ids"] == []


def test_two_roots_on_one_server_do_not_mix(tmp_path, chroma_url, monkeypatch):
    monkeypatch.setenv("LSFS_CHROMA_URL", chroma_url)
    write_tree(tmp_path / "a", {"birds.txt": "Penguins huddle together on the Antarctic ice."})
    write_tree(tmp_path / "b", {"desert.txt": "Camels cross the Sahara carrying water and salt."})
    with LSFS.init(tmp_path / "a") as a, LSFS.init(tmp_path / "b") as b:
        assert [h.path for h in a.semantic_retrieve("camels in the desert", k=5)] == ["birds.txt"]
        assert [h.path for h in b.semantic_retrieve("penguins", k=5)] == ["desert.txt"]


def test_rebuild_resets_only_this_roots_collection(server_root, chroma_url, tmp_path, monkeypatch):
    write_tree(tmp_path / "other", {"x.txt": "Volcanoes erupt lava and ash."})
    with LSFS.init(tmp_path / "other") as other:
        before = _server_collection(chroma_url, other).count()
        server_root.index(rebuild=True)
        assert _server_collection(chroma_url, other).count() == before
    assert server_root.semantic_retrieve("image classification with filters", k=1)[0].path == "notes/cnn.md"


def test_unreachable_server_fails_with_exit_4_naming_the_setting(tmp_path, cli):
    root = tmp_path / "r"
    write_tree(root, {"a.txt": "hello"})
    res = cli("init", str(root), env={"LSFS_CHROMA_URL": f"http://127.0.0.1:{_free_port()}"})
    assert res.code == 4
    assert "LSFS_CHROMA_URL" in res.err and res.err.count("\n") == 1


def test_malformed_url_names_the_setting(tmp_path, monkeypatch):
    write_tree(tmp_path / "r", {"a.txt": "hello"})
    monkeypatch.setenv("LSFS_CHROMA_URL", "ftp://127.0.0.1:99999")
    with pytest.raises(BackendUnavailable, match="LSFS_CHROMA_URL"):
        LSFS.init(tmp_path / "r")


def test_pointing_an_indexed_root_at_a_server_asks_for_a_rebuild(tmp_path, chroma_url, cli):
    root = tmp_path / "r"
    write_tree(root, CORPUS)
    assert cli("init", str(root)).code == 0  # embedded store
    env = {"LSFS_CHROMA_URL": chroma_url}
    res = cli("search", "image classification", "--mode", "semantic", "--root", str(root), env=env)
    assert res.code == 3 and res.err.count("\n") == 1
    assert "holds no vectors" in res.err and "lsfs index --rebuild" in res.err
    assert cli("index", "--rebuild", "--root", str(root), env=env).code == 0
    res = cli("search", "image classification", "-k", "1", "--mode", "semantic", "--json", "--root", str(root), env=env)
    assert res.code == 0 and '"notes/cnn.md"' in res.out


def test_a_server_that_stops_while_running_fails_with_exit_4(tmp_path, monkeypatch):
    proc, port = _start_chroma(tmp_path / "data", subprocess.DEVNULL)
    try:
        monkeypatch.setenv("LSFS_CHROMA_URL", f"http://127.0.0.1:{port}")
        write_tree(tmp_path / "r", {"a.txt": "Penguins huddle on the ice."})
        with LSFS.init(tmp_path / "r") as fs:
            proc.terminate()
            proc.wait(timeout=30)
            with pytest.raises(BackendUnavailable, match=r"lost the Chroma server.*LSFS_CHROMA_URL") as err:
                fs.semantic_retrieve("penguins")
            assert err.value.exit_code == 4
    finally:
        if proc.poll() is None:
            proc.kill()
