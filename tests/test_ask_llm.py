"""``lsfs ask``, ``summarize`` and ``translate`` with an LLM: a real OpenAI-compatible server
on loopback (SmolLM2-135M via llama.cpp, the ``llm_server`` fixture), and a closed port.

SmolLM2-135M answers poorly. These tests assert what holds whatever it answers: the real
client path runs, its plan is validated (a bad one falls back to the offline parser, and the
user is told), and nothing destructive happens without a yes.
"""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest

from lsfs.parser import APIS, parse_offline
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens once the socket is closed


def with_llm(server) -> dict:
    return {"LSFS_LLM_BASE_URL": server.base_url, "LSFS_LLM_MODEL": server.model}


DOWN = {"LSFS_LLM_MODEL": "any"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from tests.conftest import CORPUS, write_tree

    path = tmp_path_factory.mktemp("askllm") / "root"
    write_tree(path, CORPUS)
    assert run_cli("init", str(path)).code == 0
    return path


def names_of(root) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and ".lsfs" not in p.relative_to(root).parts]


# A 135M model on a shared 2-core machine takes tens of seconds per answer.
SLOW = 400


def test_the_llm_plan_is_valid_or_the_offline_plan_answers(root, llm_server):
    sentence = "show the history of cnn"
    r = run_cli("ask", sentence, "--dry-run", "--json", "--root", str(root), env=with_llm(llm_server),
                timeout=SLOW)
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["api"] in APIS and set(plan) == {"api", "args", "destructive"}
    if "the offline parser answered" in r.err:  # the model's answer was rejected
        offline = parse_offline(sentence, today=dt.date.today(), names=names_of(root))
        assert plan == offline.to_json()


def test_a_retrieval_runs_end_to_end_with_the_llm_configured(root, llm_server):
    r = run_cli("ask", "find 2 papers about LLM uncertainty", "--json", "--root", str(root),
                env=with_llm(llm_server), timeout=SLOW)
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert set(out) >= {"query", "mode", "took_ms", "results", "plan"}


def test_a_delete_read_by_the_llm_still_needs_a_yes(root, llm_server):
    r = run_cli("ask", "delete cnn", "--root", str(root), input="", env=with_llm(llm_server), timeout=SLOW)
    assert r.code == 3, r.err
    assert (root / "notes/cnn.md").exists()


def test_summarize_uses_the_llms_answer(root, llm_server):
    r = run_cli("summarize", "cnn", "--json", "--root", str(root), env=with_llm(llm_server), timeout=SLOW)
    assert r.code == 0, r.err
    found = json.loads(r.out)
    assert found["source"] == "llm" and found["summary"].strip()


def test_translate_writes_an_indexed_file_beside_the_original(tmp_path, llm_server):
    from tests.conftest import write_tree

    write_tree(tmp_path / "r", {"notes/hello.md": "Good morning. The garden is green today.\n"})
    assert run_cli("init", str(tmp_path / "r")).code == 0
    env = with_llm(llm_server)
    r = run_cli("translate", "hello", "--to", "French", "--root", str(tmp_path / "r"), env=env, timeout=SLOW)
    assert r.code == 0, r.err
    assert "notes/hello.fr.md" in r.out
    assert (tmp_path / "r/notes/hello.fr.md").read_text().strip()
    hist = json.loads(run_cli("history", "notes/hello.fr.md", "--json", "--root", str(tmp_path / "r")).out)
    assert [v["cause"] for v in hist["versions"]] == ["write"]
    again = run_cli("translate", "hello", "--to", "French", "--root", str(tmp_path / "r"), env=env, input="")
    assert again.code == 3 and "exists" in again.err


def test_with_the_server_down_the_offline_parser_answers_and_says_why(root):
    env = {**DOWN, "LSFS_LLM_BASE_URL": closed_port_url()}
    r = run_cli("ask", "find 2 papers about LLM uncertainty", "--dry-run", "--json", "--root", str(root),
                env=env)
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"api": "semantic_retrieve",
                                 "args": {"query": "LLM uncertainty", "k": 2, "dir": None},
                                 "destructive": False}
    assert "cannot reach the LLM server" in r.err and "offline parser answered" in r.err


def test_with_the_server_down_summarize_is_extractive_and_says_why(root):
    env = {**DOWN, "LSFS_LLM_BASE_URL": closed_port_url()}
    r = run_cli("summarize", "cnn", "--root", str(root), env=env)
    assert r.code == 0, r.err
    assert "filters" in r.out
    assert "cannot reach the LLM server" in r.err and "extractive summary" in r.err


def test_with_the_server_down_translate_exits_4_and_writes_nothing(root):
    env = {**DOWN, "LSFS_LLM_BASE_URL": closed_port_url()}
    r = run_cli("translate", "kyoto", "--to", "German", "--root", str(root), env=env)
    assert r.code == 4
    assert r.err.startswith("lsfs: error: cannot reach the LLM server") and "LSFS_LLM_BASE_URL" in r.err
    assert not (root / "travel/kyoto.de.md").exists()


def test_without_an_llm_translate_exits_4_naming_the_setting(root):
    r = run_cli("translate", "kyoto", "--to", "German", "--root", str(root),
                env={"LSFS_LLM_BASE_URL": "", "LSFS_LLM_MODEL": "", "OPENAI_API_KEY": ""})
    assert r.code == 4 and "LSFS_LLM_BASE_URL" in r.err
    assert not (root / "travel/kyoto.de.md").exists()
