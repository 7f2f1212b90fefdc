"""Embeddings from an OpenAI-compatible /v1/embeddings server, and model switches.

The server (tests/embed_server.py) is a real HTTP server on loopback that serves the
bundled model, so the remote path must rank exactly like the local one.
"""

from __future__ import annotations

import pytest

from lsfs import LSFS
from tests import embed_server
from tests.conftest import CORPUS, write_tree

QUERIES = [
    "how confident are language models in their answers",
    "image classification with filters",
    "what to cook with tomatoes",
    "temples and gardens in Japan",
    "saving money every month",
]


@pytest.fixture(scope="module")
def server():
    srv = embed_server.start(scale=3.0)  # unnormalised rows: the client must normalise
    yield srv
    srv.stop()


@pytest.fixture
def remote_env(server, monkeypatch):
    monkeypatch.setenv("LSFS_EMBED_BASE_URL", server.base_url)
    monkeypatch.setenv("LSFS_EMBED_MODEL", server.model)
    return {"LSFS_EMBED_BASE_URL": server.base_url, "LSFS_EMBED_MODEL": server.model}


def _ranking(fs: LSFS, query: str) -> list[tuple[str, float]]:
    return [(h.path, round(h.score, 4)) for h in fs.semantic_retrieve(query, k=12)]


def test_remote_embeddings_rank_like_the_local_model(tmp_path, monkeypatch, server):
    local_root, remote_root = tmp_path / "local", tmp_path / "remote"
    write_tree(local_root, CORPUS)
    write_tree(remote_root, CORPUS)
    with LSFS.init(local_root) as fs:
        local = {q: _ranking(fs, q) for q in QUERIES}
    monkeypatch.setenv("LSFS_EMBED_BASE_URL", server.base_url)
    monkeypatch.setenv("LSFS_EMBED_MODEL", server.model)
    before = len(server.requests)
    with LSFS.init(remote_root) as fs:
        remote = {q: _ranking(fs, q) for q in QUERIES}
    assert len(server.requests) > before  # the vectors really came over HTTP
    for q in QUERIES:
        assert [p for p, _ in remote[q]] == [p for p, _ in local[q]], q
        for (_, a), (_, b) in zip(remote[q], local[q]):
            assert a == pytest.approx(b, abs=2e-3)


def test_first_index_records_model_and_dimension(tmp_path, remote_env):
    write_tree(tmp_path / "r", CORPUS)
    with LSFS.init(tmp_path / "r") as fs:
        meta = fs._root.catalog
        assert meta.get_meta("embed_model") == "remote:all-MiniLM-L6-v2"
        assert meta.get_meta("embed_dim") == "384"


def test_a_different_model_is_refused_until_rebuild(tmp_path, cli, server):
    root = tmp_path / "r"
    write_tree(root, CORPUS)
    assert cli("init", str(root)).code == 0
    env = {"LSFS_EMBED_BASE_URL": server.base_url, "LSFS_EMBED_MODEL": server.model}
    for args in (["search", "image classification", "--mode", "semantic"], ["index"]):
        res = cli(*args, "--root", str(root), env=env)
        assert res.code == 3, res.err
        assert res.err.count("\n") == 1
        assert "local:all-MiniLM-L6-v2" in res.err and "remote:all-MiniLM-L6-v2" in res.err
        assert "lsfs index --rebuild" in res.err
    # keyword search never touches vectors, so it keeps working
    assert cli("grep", "tomatoes", "--root", str(root), env=env).code == 0

    res = cli("index", "--rebuild", "--root", str(root), env=env)
    assert res.code == 0, res.err
    res = cli("search", "image classification", "--mode", "semantic", "--json", "--root", str(root), env=env)
    assert res.code == 0, res.err
    assert '"notes/cnn.md"' in res.out
    # and back to the local model: refused again, the remote vectors are not reused
    res = cli("search", "image classification", "--mode", "semantic", "--root", str(root))
    assert res.code == 3 and "lsfs index --rebuild" in res.err


def test_same_name_with_another_dimension_is_refused(tmp_path, remote_env, monkeypatch):
    root = tmp_path / "r"
    write_tree(root, CORPUS)
    LSFS.init(root).close()
    other = embed_server.start(dims=128)  # same model name, another vector space
    try:
        monkeypatch.setenv("LSFS_EMBED_BASE_URL", other.base_url)
        with LSFS.open(root) as fs:
            from lsfs.errors import Refused

            with pytest.raises(Refused, match=r"128-dimensional.*384-dimensional.*index --rebuild"):
                fs.semantic_retrieve("image classification")
            assert fs._root.catalog.get_meta("embed_dim") == "384"
            fs.index(rebuild=True)
            assert fs._root.catalog.get_meta("embed_dim") == "128"
            assert fs.semantic_retrieve("image classification", k=1)[0].path == "notes/cnn.md"
    finally:
        other.stop()


def test_unreachable_embedding_server_names_the_setting(tmp_path, cli):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path / "r"
    write_tree(root, {"a.txt": "hello there"})
    res = cli("init", str(root), env={"LSFS_EMBED_BASE_URL": f"http://127.0.0.1:{port}/v1"})
    assert res.code == 4
    assert "LSFS_EMBED_BASE_URL" in res.err and res.err.count("\n") == 1
