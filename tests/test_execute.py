"""``lsfs.apis.execute``: a plan becomes a call on the facade, and a destructive plan does
nothing until confirmed. Real root, real model and Chroma (the ``fs`` fixture)."""

from __future__ import annotations

import pytest

from lsfs.apis.execute import describe, execute
from lsfs.errors import Ambiguous, NotFound, OutsideRoot, Refused, UserError
from lsfs.parser import API_ARGS, Plan


def plan(api: str, **args) -> dict:
    return {"api": api, "args": args}


def test_a_semantic_plan_returns_hits_as_dicts(fs):
    out = execute(fs, plan("semantic_retrieve", query="uncertainty of language models", k=2))
    assert out.done
    assert out.result[0]["path"] == "papers/llm-uncertainty.md"
    assert set(out.result[0]) >= {"path", "score", "snippet"}
    assert len(out.result) <= 2


def test_a_keyword_plan_finds_exact_matches(fs):
    out = execute(fs, plan("keywords_retrieve", keywords=["tomato"], dir="recipes"))
    assert [h["path"] for h in out.result] == ["recipes/tomato-soup.txt"]


def test_a_destructive_plan_is_only_described_without_confirm(fs):
    out = execute(fs, plan("del_", name="cnn"))
    assert not out.done and out.needs_confirmation
    assert "notes/cnn.md" in out.message
    assert (fs.root / "notes/cnn.md").exists()


def test_a_confirmed_delete_deletes_the_resolved_file(fs):
    shown = execute(fs, plan("del_", name="cnn"))
    out = execute(fs, plan("del_", name="cnn"), confirm=True, shown=shown)
    assert out.done and out.result == {"paths": ["notes/cnn.md"]}
    assert not (fs.root / "notes/cnn.md").exists()


def test_a_plan_claiming_to_be_harmless_is_still_treated_as_destructive(fs):
    forged = {"api": "overwrite", "args": {"name": "cnn", "content": "gone"}, "destructive": False}
    out = execute(fs, forged)
    assert not out.done and out.destructive
    assert "filters" in (fs.root / "notes/cnn.md").read_text()


def test_a_confirmed_delete_refuses_when_the_matching_files_changed(fs):
    shown = execute(fs, plan("del_", dir="recipes", key_text="tomato"))
    assert shown.result == {"paths": ["recipes/tomato-soup.txt"]}
    fs.create_or_get_file("recipes/salsa.txt", "Chop a tomato and an onion finely.")
    with pytest.raises(Refused):
        execute(fs, plan("del_", dir="recipes", key_text="tomato"), confirm=True, shown=shown)
    assert (fs.root / "recipes/tomato-soup.txt").exists()


def test_a_rollback_plan_restores_the_previous_version_when_confirmed(fs):
    fs.overwrite("notes/cnn.md", "Changed.\n")
    preview = execute(fs, plan("rollback", name="cnn", versions=1))
    assert not preview.done and "version 1" in preview.message
    out = execute(fs, plan("rollback", name="cnn", versions=1), confirm=True, shown=preview)
    assert out.done and "filters" in (fs.root / "notes/cnn.md").read_text()


def test_an_unknown_name_raises_not_found(fs):
    with pytest.raises(NotFound):
        execute(fs, plan("history", name="no-such-file"))


def test_an_ambiguous_name_raises_ambiguous(fs):
    fs.create_or_get_file("other/cnn.md", "Another note on convolutional networks and images.")
    with pytest.raises(Ambiguous):
        execute(fs, plan("summarize", name="cnn"))


def test_a_new_file_outside_the_root_is_refused(fs):
    with pytest.raises(OutsideRoot):
        execute(fs, plan("create_or_get_file", name="../escape.txt", content="x"))
    assert not (fs.root.parent / "escape.txt").exists()


def test_a_folder_outside_the_root_is_refused(fs):
    with pytest.raises(OutsideRoot):
        execute(fs, plan("semantic_retrieve", query="bread", dir="../.."))


def test_an_api_outside_the_table_is_refused(fs):
    with pytest.raises(UserError, match="invalid plan"):
        execute(fs, plan("shell", command="rm -rf /"))


def test_an_import_needs_confirmation_because_it_reads_outside_the_root(fs, tmp_path):
    src = tmp_path / "outside"
    src.mkdir()
    (src / "a.txt").write_text("A note about sailing boats and the wind.")
    out = execute(fs, plan("create", source=str(src), dir="imported"))
    assert not out.done and out.needs_confirmation
    assert not (fs.root / "imported").exists()


def test_every_api_of_the_table_is_described_in_words():
    samples = {"query": "q", "keywords": ["a", "b"], "k": 2, "dir": "d", "name": "n",
               "names": ["a", "b"], "content": "c", "since": "P1D", "versions": 1,
               "expires": "P3M", "into": "i", "key_text": "t", "source": "/s", "language": "French",
               "mode": "all", "date": None}
    for api, names in API_ARGS.items():
        words = describe(Plan(api, {n: samples[n] for n in names}))
        assert words.startswith(f"{api}: ") and "unknown" not in words
