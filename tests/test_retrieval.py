"""Retrieval: semantic search finds the right file; keyword search equals grep -rliF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lsfs import LSFS

from conftest import write_tree


@pytest.mark.parametrize(
    "query, expected",
    [
        ("how sure is a language model about its answers", "papers/llm-uncertainty.md"),
        ("neural network that recognises pictures", "notes/cnn.md"),
        ("what to cook with tomatoes and basil", "recipes/tomato-soup.txt"),
        ("bake a loaf with a starter", "recipes/bread.md"),
        ("trip to Japan to see temples", "travel/kyoto.md"),
        ("light cannot escape", "web/astronomy.html"),
        ("growing vegetables in the garden", "docs/gardening.pdf"),
        ("how much revenue did we make this quarter", "docs/sales-report.docx"),
        ("saving money every month", "finance/budget-2024.txt"),
    ],
)
def test_semantic_search_finds_the_right_file(fs, query, expected):
    assert fs.semantic_retrieve(query, k=1)[0].path == expected
    assert fs.search(query, k=3)[0].path == expected


def test_results_are_one_per_file_best_first(fs):
    hits = fs.search("language models", k=12, mode="semantic")
    paths = [h.path for h in hits]
    assert len(paths) == len(set(paths))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert set(paths[:2]) == {"papers/llm-uncertainty.md", "papers/llm-hallucination.md"}


def test_search_can_be_limited_to_a_folder(fs):
    hits = fs.search("language models", k=5, dir="recipes")
    assert hits and all(h.path.startswith("recipes/") for h in hits)


def test_two_files_with_the_same_name_never_collide(corpus_dir):
    write_tree(corpus_dir, {"a/x.txt": "penguins live in antarctica", "b/x.txt": "camels live in the desert"})
    with LSFS.init(corpus_dir) as fs:
        assert fs.semantic_retrieve("birds on the ice", k=1)[0].path == "a/x.txt"
        assert fs.semantic_retrieve("animals of the sahara", k=1)[0].path == "b/x.txt"


GREP_CORPUS = {
    "a.txt": "The Boundary Layer separates.\nC++ and e.g. punctuation; don't stop.",
    "b.md": "boundary layers are thin.\nNASA measured it (twice).",
    "c.txt": "Nothing to see. BOUNDARY\nLAYER split across lines.",
    "d/e.txt": "Café au lait. Ünïcode works? naïve café.",
    "d/f.txt": "ai is short; Ai and AI too. 50% of x-rays [sic]",
    "g.html": "<p>The boundary layer in <b>HTML</b> &amp; entities</p>",
    # Case folding beyond str.lower(), as grep -i and rg -i do it: long s is s, σ is ς.
    "h.txt": "A merry Chri\u017ftmas to all\n",
    "i.txt": "the road \u039f\u0394\u039f\u03a3 and the hodos \u03bf\u03b4\u03bf\u03c2\n",
}

GREP_QUERIES = [
    (["boundary layer"], "all"),
    (["Boundary Layer"], "all"),
    (["C++"], "all"),
    (["e.g."], "all"),
    (["don't"], "all"),
    (["(twice)"], "all"),
    (["café"], "all"),
    (["CAFÉ"], "all"),
    (["ai"], "all"),
    (["50%"], "all"),
    (["[sic]"], "all"),
    (["x-rays"], "all"),
    (["nasa", "boundary"], "all"),
    (["nasa", "café"], "any"),
    (["layer", "html"], "all"),
    (["entities", "&"], "all"),
    (["zzz-not-there"], "any"),
    (["christmas"], "all"),
    (["\u03bf\u03b4\u03bf\u03c3"], "all"),
    (["\u039f\u0394\u039f\u03a3"], "all"),
]


def _grep(folder: Path, keywords: list[str], mode: str, case_sensitive: bool) -> set[str]:
    flag = "-rlF" if case_sensitive else "-rliF"
    sets = []
    for kw in keywords:
        proc = subprocess.run(
            ["grep", flag, "-e", kw, "."], cwd=folder, capture_output=True, text=True, env={"LC_ALL": "C.UTF-8"}
        )
        sets.append({line[2:] for line in proc.stdout.splitlines()})
    return set.intersection(*sets) if mode == "all" else set.union(*sets)


@pytest.mark.parametrize("case_sensitive", [False, True])
def test_keyword_retrieval_equals_grep_over_the_extracted_text(tmp_path, case_sensitive):
    root = tmp_path / "root"
    write_tree(root, GREP_CORPUS)
    with LSFS.init(root) as fs:
        # grep runs over exactly the text LSFS extracted (HTML tags removed, entities decoded).
        extracted = tmp_path / "extracted"
        for f in fs.status(files=True)["file_states"]:
            row = fs._root.catalog.file_by_path(f["path"])
            write_tree(extracted, {f["path"]: fs._root.catalog.doc_text(row.id)})
        for keywords, mode in GREP_QUERIES:
            ours = {h.path for h in fs.keywords_retrieve(keywords, mode=mode, case_sensitive=case_sensitive)}
            assert ours == _grep(extracted, keywords, mode, case_sensitive), (keywords, mode)


def test_keyword_retrieval_needs_a_keyword(fs):
    from lsfs.errors import UserError

    with pytest.raises(UserError):
        fs.keywords_retrieve([""])


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_bad_search_input_is_refused(fs, mode):
    from lsfs.errors import UserError

    for query, k in (("", 5), ("   ", 5), ("soup", 0), ("soup", -3)):
        with pytest.raises(UserError):
            fs.search(query, k=k, mode=mode)
