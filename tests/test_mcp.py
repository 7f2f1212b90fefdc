"""``lsfs mcp`` driven by the ``mcp`` package's own stdio client, as an agent would.

Each test starts the real server process (``python -m lsfs mcp --root R``), which hosts the
supervisor for the root, and talks MCP to it over stdin/stdout.
"""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest

from lsfs import LSFS
from lsfs.mcp_server import CONFIRMABLE
from lsfs.parser.plan import API_ARGS
from tests.conftest import REPO

pytest.importorskip("mcp")


@pytest.fixture
def root(corpus_dir):
    LSFS.init(corpus_dir).close()  # released: the server must be able to take it
    return corpus_dir


def session(root, scenario):
    """Run ``await scenario(client)`` against a fresh ``lsfs mcp`` serving ``root``."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {"PYTHONPATH": str(REPO), "HOME": os.environ.get("HOME", "/root")}
    for var in ("LSFS_CACHE_DIR", "XDG_CACHE_HOME", "LSFS_TODAY"):
        if var in os.environ:
            env[var] = os.environ[var]
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "lsfs", "mcp", "--root", str(root)], env=env, cwd=str(root)
    )

    async def main():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                return await scenario(client)

    return anyio.run(main)


def text_of(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def payload(result) -> dict:
    assert not result.is_error, text_of(result)
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(text_of(result))


def test_lists_one_tool_per_plan_api_with_exactly_its_arguments(root):
    async def scenario(client):
        return (await client.list_tools()).tools

    tools = {t.name: t for t in session(root, scenario)}
    assert set(tools) == set(API_ARGS)
    for api, args in API_ARGS.items():
        props = tools[api].input_schema["properties"]
        expected = list(args) + (["confirm"] if api in CONFIRMABLE else [])
        assert list(props) == expected, api
    sem = tools["semantic_retrieve"].input_schema
    assert sem["required"] == ["query"]
    assert {"type": "integer"} in sem["properties"]["k"]["anyOf"]
    assert tools["keywords_retrieve"].input_schema["properties"]["keywords"]["items"] == {"type": "string"}
    assert tools["del_"].input_schema["properties"]["confirm"] == {"default": False, "title": "Confirm", "type": "boolean"}
    assert "confirm" not in tools["semantic_retrieve"].input_schema["properties"]


def test_semantic_search_finds_the_right_file(root):
    async def scenario(client):
        return await client.call_tool("semantic_retrieve", {"query": "image classification with filters", "k": 2})

    out = payload(session(root, scenario))
    assert out["done"] is True
    assert out["result"][0]["path"] == "notes/cnn.md"
    assert len(out["result"]) == 2


def test_delete_is_refused_without_confirm_and_runs_with_it(root):
    async def scenario(client):
        refused = await client.call_tool("del_", {"name": "cnn"})
        still_there = (root / "notes/cnn.md").exists()
        done = await client.call_tool("del_", {"name": "cnn", "confirm": True})
        history = await client.call_tool("history", {"name": "notes/cnn.md"})
        changes = await client.call_tool("changes", {})
        return refused, still_there, done, history, changes

    refused, still_there, done, history, changes = session(root, scenario)
    assert refused.is_error
    assert "confirm=true" in text_of(refused) and "notes/cnn.md" in text_of(refused)
    assert still_there
    assert payload(done)["result"] == {"paths": ["notes/cnn.md"]}
    assert not (root / "notes/cnn.md").exists()
    assert len(payload(history)["result"]["versions"]) >= 1  # the content is recoverable
    assert any(c["path"] == "notes/cnn.md" and c["cause"] == "delete" for c in payload(changes)["result"])


def test_a_path_outside_the_root_is_refused(root):
    async def scenario(client):
        return await client.call_tool("create_or_get_file", {"name": "../escape.txt", "content": "x"})

    res = session(root, scenario)
    assert res.is_error
    assert "outside" in text_of(res)
    assert not (root.parent / "escape.txt").exists()


def test_cli_commands_reach_the_hosted_supervisor_while_serving(root, cli):
    async def scenario(client):
        made = await client.call_tool(
            "create_or_get_file", {"name": "notes/todo.md", "content": "Buy rye flour for the sourdough starter."}
        )
        # a writing command: without the hosted owner it would wait for the root's lock
        found = await anyio.to_thread.run_sync(
            lambda: cli("search", "rye flour sourdough starter", "-k", "1", "--json", "--root", str(root), timeout=60)
        )
        return made, found

    made, res = session(root, scenario)
    assert payload(made)["result"]["path"] == "notes/todo.md"
    assert res.code == 0, res.err
    assert [r["path"] for r in json.loads(res.out)["results"]] == ["notes/todo.md"]


def test_not_a_root_fails_with_one_line_before_serving(tmp_path, cli):
    res = cli("mcp", "--root", str(tmp_path))
    assert res.code == 1
    assert res.err.startswith("lsfs: error:") and res.err.count("\n") == 1
    assert "lsfs init" in res.err


def test_uses_a_running_lsfs_watch_as_the_owner(root):
    from lsfs import owner
    from tests.test_supervisor import start_watch, stop_watch, wait_watching

    proc = start_watch(root)
    try:
        wait_watching(root, proc)

        async def scenario(client):
            made = await client.call_tool("create_or_get_file", {"name": "notes/owls.md", "content": "Owls hunt mice at night."})
            found = await client.call_tool("semantic_retrieve", {"query": "nocturnal birds of prey", "k": 1})
            return made, found

        made, found = session(root, scenario)
        assert payload(made)["done"] is True
        assert payload(found)["result"][0]["path"] == "notes/owls.md"
        assert proc.poll() is None  # the watcher still owns the root, and has the write
        with owner.connect(root) as remote:
            assert remote.resolve("owls") == "notes/owls.md"
    finally:
        assert stop_watch(proc) == 0


def test_takes_the_root_over_when_lsfs_watch_stops_meanwhile(root):
    from tests.test_supervisor import start_watch, stop_watch, wait_watching

    proc = start_watch(root)
    try:
        wait_watching(root, proc)

        async def scenario(client):
            before = await client.call_tool("keywords_retrieve", {"keywords": ["sourdough"]})
            await anyio.to_thread.run_sync(lambda: stop_watch(proc))
            after = await client.call_tool("semantic_retrieve", {"query": "baking bread", "k": 1})
            return before, after

        before, after = session(root, scenario)
        assert [h["path"] for h in payload(before)["result"]] == ["recipes/bread.md"]
        assert payload(after)["result"][0]["path"] == "recipes/bread.md"
    finally:
        stop_watch(proc)
