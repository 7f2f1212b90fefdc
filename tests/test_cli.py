"""The command line: contracts other tools rely on, errors, exit codes, startup cost."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lsfs import LSFS

from conftest import REPO, run_cli


@pytest.fixture
def root(corpus_dir):
    LSFS.init(corpus_dir).close()
    return corpus_dir


def test_search_json_contract(root):
    r = run_cli("search", "bake a loaf with a starter", "-k", "3", "--root", str(root), "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert set(out) == {"query", "mode", "took_ms", "results"}
    assert out["mode"] == "hybrid" and out["query"] == "bake a loaf with a starter"
    assert out["results"][0]["path"] == "recipes/bread.md"
    assert set(out["results"][0]) == {"path", "score", "snippet"}
    assert isinstance(out["results"][0]["score"], float)


def test_status_json_contract(root):
    r = run_cli("status", "--root", str(root), "--json")
    out = json.loads(r.out)
    assert out["root"] == str(root)
    assert out["files"] == {"indexed": 12, "skipped": 0, "failed": 0}
    assert isinstance(out["chunks"], int) and out["versions"] == 12


def test_root_is_found_from_a_subfolder(root):
    r = run_cli("grep", "sourdough", cwd=root / "notes")
    assert r.code == 0 and r.out.strip() == "recipes/bread.md"


def test_grep_modes_and_folder(root):
    assert sorted(run_cli("grep", "tomato", "--root", str(root)).out.split()) == ["docs/gardening.pdf", "recipes/tomato-soup.txt"]
    assert run_cli("grep", "tomato", "--in", "recipes", "--root", str(root)).out.split() == ["recipes/tomato-soup.txt"]
    both = run_cli("grep", "garlic", "basil", "--all", "--root", str(root))
    assert both.out.split() == ["recipes/tomato-soup.txt"]
    either = run_cli("grep", "garlic", "sourdough", "--any", "--root", str(root), "--json")
    assert {r["path"] for r in json.loads(either.out)["results"]} == {"recipes/tomato-soup.txt", "recipes/bread.md"}


def test_write_show_and_versions(root):
    r = run_cli("write", "notes/todo.md", "--text", "buy milk", "--root", str(root))
    assert r.code == 0 and "notes/todo.md" in r.out
    r = run_cli("write", "todo", "-", "--append", "--root", str(root), input="call mum\n")
    assert r.code == 0
    assert run_cli("show", "todo", "--root", str(root)).out == "buy milk\ncall mum\n"
    assert run_cli("show", "todo", "--version", "1", "--root", str(root)).out == "buy milk"


def test_rm_by_content_is_refused_without_yes_when_not_interactive(root):
    r = run_cli("rm", "--containing", "tomato", "--in", "recipes", "--root", str(root), input="")
    assert r.code == 3
    assert "recipes/tomato-soup.txt" in r.err  # the plan is shown
    assert r.err.splitlines()[-1].startswith("lsfs: error:") and "--yes" in r.err
    assert (root / "recipes/tomato-soup.txt").exists()
    r = run_cli("rm", "--containing", "tomato", "--in", "recipes", "--yes", "--root", str(root))
    assert r.code == 0 and not (root / "recipes/tomato-soup.txt").exists()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["show", "../../etc/passwd"], 1, "outside the root"),
        (["show", "/etc/passwd"], 1, "outside the root"),
        (["write", "../x.txt", "--text", "x"], 1, "outside the root"),
        (["show", "nosuchfile"], 1, "no file named"),
        (["show", "bred"], 1, "did you mean recipes/bread.md"),
        (["search", "soup", "-k", "0"], 1, "k must be a positive"),
        (["search", "soup", "--mode", "fuzzy"], 1, "mode must be one of"),
        (["search"], 2, "Missing argument"),
        (["frobnicate"], 2, "No such command"),
        (["write", "x.txt"], 2, "exactly one of"),
        (["grep", "x", "--all", "--any"], 2, "not both"),
        (["show", "todo", "--version", "7"], 1, "no file named"),
    ],
)
def test_user_errors_are_one_line_with_the_right_exit_code(root, args, code, message):
    before = _user_files(root)
    r = run_cli(*args, "--root", str(root))
    assert r.code == code, r.err
    assert r.err.startswith("lsfs: error: ") and r.err.count("\n") == 1
    assert message in r.err
    assert "Traceback" not in r.err
    assert _user_files(root) == before
    assert not (root.parent / "x.txt").exists()


def _user_files(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".lsfs" not in p.parts}


def test_unknown_root_is_a_clear_error(tmp_path):
    r = run_cli("status", cwd=tmp_path)
    assert r.code == 1 and "lsfs init" in r.err


def test_a_second_writer_waits_then_exits_3(root):
    holder = LSFS.open(root)  # this process owns the root
    try:
        started = time.monotonic()
        r = run_cli("index", "--root", str(root), env={"LSFS_LOCK_TIMEOUT": "1"})
        assert r.code == 3
        assert "in use by another LSFS process" in r.err and "pid" in r.err
        assert time.monotonic() - started < 30
        # Reading the catalog needs no lock.
        assert run_cli("grep", "sourdough", "--root", str(root)).code == 0
    finally:
        holder.close()
    assert run_cli("index", "--root", str(root)).code == 0


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['lsfs'] + {args!r}\n"
        "try:\n    runpy.run_module('lsfs', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    return set(out.split("\n")[-2].split())


def test_help_and_reading_commands_do_not_load_the_model_or_chroma(root):
    heavy = {"sentence_transformers", "torch", "chromadb", "onnxruntime", "openai", "transformers"}
    assert not heavy & _modules_after(["--help"])
    assert not heavy & _modules_after(["grep", "bread", "--root", str(root)])
    assert not heavy & _modules_after(["status", "--root", str(root)])
    assert "sentence_transformers" not in _modules_after(["search", "bread", "--root", str(root)])
