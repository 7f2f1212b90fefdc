"""lsfs generate PROMPT: the LLM proposes a tree (validated, bounded, confined), the user
confirms, the files are created through the write path. The LLM parts run against the real
loopback server (SmolLM2-135M: it answers poorly, so these tests check what must hold)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from lsfs import LSFS
from lsfs.apis.generate import MAX_FILES, create_tree, parse_proposal, propose_tree
from lsfs.errors import UserError
from lsfs.xattrs import GENERATOR
from tests.conftest import write_tree


class FixedReply:
    """Stands in for the LLM server (an edge we do not own) with one canned reply."""

    def __init__(self, reply: str):
        self.reply = reply

    def complete(self, messages, **kw):
        return self.reply


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "r"
    write_tree(r, {"existing.md": "already here\n", "afile": "a file, not a folder\n"})
    with LSFS.init(r) as fs:
        yield fs


def patient_llm(root) -> None:
    """A tiny CPU model on a shared machine can take minutes: give it time (config.toml)."""
    cfg = root / ".lsfs" / "config.toml"
    cfg.write_text(cfg.read_text().replace("llm_timeout = 60.0", "llm_timeout = 600.0"))
    assert "llm_timeout = 600.0" in cfg.read_text()


def llm_env(server) -> dict:
    return {"LSFS_LLM_BASE_URL": server.base_url, "LSFS_LLM_MODEL": server.model}


# -- the proposal: schema, bounds, confinement ------------------------------------------------

def test_a_reply_that_is_not_json_is_a_clear_error():
    with pytest.raises(UserError, match="did not propose a tree .*not a JSON object"):
        parse_proposal("Sure! Here are some files: notes.md, todo.md")


def test_a_tree_of_the_wrong_shape_is_a_clear_error():
    with pytest.raises(UserError, match="proposed tree is not valid .*files"):
        parse_proposal('{"folders": ["a", "b"]}')


def test_a_tree_with_too_many_files_is_refused():
    files = [{"path": f"f{i}.md", "description": ""} for i in range(MAX_FILES + 1)]
    with pytest.raises(UserError, match="not valid"):
        parse_proposal(json.dumps({"files": files}))


def test_an_over_long_path_is_refused():
    with pytest.raises(UserError, match="not valid"):
        parse_proposal(json.dumps({"files": [{"path": "a" * 500, "description": ""}]}))


def test_paths_leaving_the_root_are_refused_one_by_one_with_the_reason(root):
    reply = json.dumps({"files": [
        {"path": "../escape.md", "description": "up"},
        {"path": "/etc/passwd", "description": "abs"},
        {"path": "docs/../../x.md", "description": "sneaky"},
        {"path": ".lsfs/config.toml", "description": "state"},
        {"path": "existing.md", "description": "taken"},
        {"path": "afile/inside.md", "description": "under a file"},
        {"path": "docs/ok.md", "description": "fine"},
        {"path": "docs/ok.md", "description": "again"},
    ]})
    plan = propose_tree(root._root, "anything", llm=FixedReply(reply))
    assert plan.files == [{"path": "docs/ok.md", "description": "fine"}]
    reasons = {r["path"]: r["reason"] for r in plan.refused}
    assert "'..' would leave the folder" in reasons["../escape.md"]
    assert "absolute path" in reasons["/etc/passwd"]
    assert "'..'" in reasons["docs/../../x.md"]
    assert ".lsfs/" in reasons[".lsfs/config.toml"]
    assert "already exists" in reasons["existing.md"]
    assert "is a file, not a folder" in reasons["afile/inside.md"]
    assert "proposed twice" in reasons["docs/ok.md"]


def test_into_puts_every_proposed_file_under_that_folder(root):
    reply = json.dumps({"files": [{"path": "a.md", "description": ""}, {"path": "sub/b.md", "description": ""}]})
    plan = propose_tree(root._root, "x", into="new", llm=FixedReply(reply))
    assert [f["path"] for f in plan.files] == ["new/a.md", "new/sub/b.md"]


def test_create_tree_checks_paths_again_whoever_sent_the_plan(root):
    result = create_tree(root._root, [{"path": "../../evil.md", "description": ""},
                                      {"path": "fine.md", "description": "a note"}], content=False)
    assert [c["path"] for c in result.created] == ["fine.md"]
    assert result.refused[0]["path"] == "../../evil.md"
    assert not (root.root.parent.parent / "evil.md").exists()


def test_no_content_creates_empty_files_marked_for_the_llm_with_their_description(root):
    result = create_tree(root._root, [{"path": "notes/a.md", "description": "the agenda"}], content=False)
    assert result.created == [{"path": "notes/a.md", "size": 0, "generated": False}]
    assert (root.root / "notes/a.md").read_bytes() == b""
    assert root.list_xattrs("notes/a.md") == {GENERATOR: b"llm", "user.lsfs.description": b"the agenda"}
    assert [v.cause for v in root.history("notes/a.md").versions] == ["generate"]


# -- the CLI ---------------------------------------------------------------------------------

def test_without_an_llm_generate_exits_4_naming_the_setting(root, cli):
    root.close()
    r = cli("generate", "a folder of notes", "--root", str(root.root), "--yes",
            env={"LSFS_LLM_BASE_URL": "", "LSFS_LLM_MODEL": "", "OPENAI_API_KEY": ""})
    assert r.code == 4
    assert r.err.startswith("lsfs: error: ") and "LSFS_LLM_BASE_URL" in r.err


def test_an_unreachable_llm_exits_4_and_creates_nothing(root, cli):
    root.close()
    r = cli("generate", "a folder of notes", "--root", str(root.root), "--yes",
            env={"LSFS_LLM_BASE_URL": closed_port_url(), "LSFS_LLM_MODEL": "x"})
    assert r.code == 4 and "cannot reach the LLM server" in r.err and "LSFS_LLM_BASE_URL" in r.err
    assert sorted(p.name for p in root.root.iterdir()) == [".lsfs", "afile", "existing.md"]


def test_an_empty_prompt_is_a_user_error(root, cli):
    root.close()
    r = cli("generate", "  ", "--root", str(root.root))
    assert r.code == 1 and "say what to generate" in r.err


@pytest.mark.slow
def test_generate_asks_first_and_refuses_without_a_terminal(root, cli, llm_server):
    root.close()
    patient_llm(root.root)
    r = cli("generate", "two notes about gardening", "--into", "garden", "--root", str(root.root),
            env=llm_env(llm_server), timeout=900)
    assert r.code in (1, 3), r.err  # 1 only if the tiny model proposed nothing usable
    if r.code == 3:
        assert "needs confirmation; re-run with --yes" in r.err and "the LLM proposes:" in r.err
    assert not (root.root / "garden").exists()


@pytest.mark.slow
def test_generate_no_content_creates_marked_empty_files_inside_into(root, cli, llm_server):
    root.close()
    patient_llm(root.root)
    r = cli("generate", "notes for a cooking class", "--into", "cooking", "--no-content", "--yes",
            "--json", "--root", str(root.root), env=llm_env(llm_server), timeout=900)
    if r.code == 1 and "proposed no file" in r.err:
        pytest.skip("the tiny model proposed nothing usable this time")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["created"]
    with LSFS.open(root.root) as fs:
        for c in out["created"]:
            assert c["path"].startswith("cooking/")
            assert os.path.getsize(root.root / c["path"]) == 0
            assert fs.get_xattr(c["path"], GENERATOR) == b"llm"


@pytest.mark.slow
def test_generated_content_is_non_empty_and_versioned(tmp_path, llm_server, monkeypatch):
    # One file only: each generated file costs the tiny CPU model tens of seconds.
    for k, v in llm_env(llm_server).items():
        monkeypatch.setenv(k, v)
    write_tree(tmp_path / "r", {"veg/carrots.md": "Carrots like sandy soil.\n"})
    LSFS.init(tmp_path / "r").close()
    patient_llm(tmp_path / "r")
    with LSFS.open(tmp_path / "r") as fs:
        plan = fs.generate_plan("one short note about tomatoes", into="veg")
        if not plan.files:
            pytest.skip("the tiny model proposed nothing usable this time")
        result = fs.generate_tree(plan.files[:1])
        assert [c["generated"] for c in result.created] == [True], result
        rel = result.created[0]["path"]
        assert rel.startswith("veg/") and (tmp_path / "r" / rel).read_bytes().strip()
        assert [v.cause for v in fs.history(rel).versions] == ["generate"]
        assert GENERATOR not in fs.list_xattrs(rel)
