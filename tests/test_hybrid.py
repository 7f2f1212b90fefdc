"""Hybrid search: weighted score fusion, feedback, and chunks embedded with their title."""

from __future__ import annotations

import numpy as np
import pytest

from lsfs.chunk import Chunk, embedding_input, find_title, text_hash, with_title
from lsfs.retrieve import fuse


def test_fuse_adds_weighted_cosine_and_bm25_relative_to_the_best():
    dense = [(1, 0.8, "1:0"), (2, 0.4, "2:3")]
    sparse = [(2, 10.0, 50), (3, 5.0, 70)]
    fused = fuse(dense, sparse, 0.6)
    assert [fid for fid, _, _ in fused] == [2, 1, 3]
    scores = {fid: s for fid, s, _ in fused}
    assert scores[2] == pytest.approx(0.6 * 0.4 + 0.4 * 1.0)
    assert scores[1] == pytest.approx(0.6 * 0.8)
    assert scores[3] == pytest.approx(0.4 * 0.5)
    # The snippet's chunk comes from the vector side when the file has one.
    assert {fid: c for fid, _, c in fused} == {1: "1:0", 2: "2:3", 3: 70}


def test_fuse_with_one_side_empty_keeps_the_other_order():
    assert [f for f, _, _ in fuse([(4, 0.3, "4:0"), (5, 0.2, "5:0")], [], 0.9)] == [4, 5]
    assert [f for f, _, _ in fuse([], [(6, 3.0, 1), (7, 9.0, 2)][::-1], 0.9)] == [7, 6]


@pytest.mark.parametrize("text, title", [
    ("# Sourdough bread\nFeed the starter.", "Sourdough bread"),
    ("Tomato soup\n\nRoast tomatoes.", "Tomato soup"),
    ("Report\r\n\r\nBody", "Report"),
    ("\n\n  Indented title\n\nBody", "Indented title"),
    ("def fibonacci(n):\n    return n", None),            # code: no title line
    ("One long paragraph that goes on.\nAnd on.", None),  # prose, not a title
    ("Only one line", None),
    ("x" * 300 + "\n\nBody", None),                       # too long for a title
])
def test_find_title(text, title):
    found = find_title(text)
    assert (found.text if found else None) == title


def test_chunks_without_the_title_are_hashed_and_embedded_with_it():
    text = "Wing flutter\n\nFirst part about flutter.\n\nSecond part about heat."
    title = find_title(text)
    first = Chunk(0, text.index("\n\nSecond"), text_hash(text[: text.index("\n\nSecond")]))
    second_start = text.index("Second")
    second = Chunk(second_start, len(text), text_hash(text[second_start:]))
    out = with_title(text, [first, second], title)
    assert out[0] == first  # holds the title already
    assert embedding_input(text, out[1], title) == "Wing flutter\nSecond part about heat."
    assert out[1].hash == text_hash("Wing flutter\nSecond part about heat.")
    assert with_title(text, [first, second], None) == [first, second]


def test_the_index_stores_title_context_vectors_for_later_chunks(fs):
    sections = "\n\n".join(
        f"Section {i}. " + " ".join(f"The glider's wing number {i} bends under gusts of wind, part {j}." for j in range(12))
        for i in range(6)
    )
    fs.create_or_get_file("aero/glider.md", "# Glider wing loads\n\n" + sections)
    cat = fs._root.catalog
    row = cat.file_by_path("aero/glider.md")
    chunks = cat.chunks_of(row.id)
    assert len(chunks) > 1
    text = cat.doc_text(row.id)
    last = chunks[-1]
    expected = "Glider wing loads\n" + text[last.start : last.end]
    assert last.hash == text_hash(expected)
    stored = fs._root.vectors().get_embeddings([f"{row.id}:{last.seq}"])[f"{row.id}:{last.seq}"]
    fresh = fs._root.embedder().embed([expected])[0]
    assert float(np.dot(stored, fresh)) > 0.999


def test_hybrid_finds_a_rare_exact_word_and_a_paraphrase(fs):
    assert fs.search("Arashiyama", k=3)[0].path == "travel/kyoto.md"
    assert fs.search("bake a loaf with a starter", k=3)[0].path == "recipes/bread.md"
    assert fs.search("how sure is a language model of its answers", k=1)[0].path == "papers/llm-uncertainty.md"
    hits = fs.search("soup", k=20)
    assert len({h.path for h in hits}) == len(hits)  # one row per file
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_hybrid_respects_the_folder_filter(fs):
    hits = fs.search("neural networks", k=5, dir="recipes")
    assert hits and all(h.path.startswith("recipes/") for h in hits)
