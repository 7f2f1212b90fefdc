"""Indexing: what gets read, what is skipped and why, and that re-indexing is incremental."""

from __future__ import annotations

import os

from conftest import write_tree
from lsfs import LSFS


def states(fs) -> dict[str, tuple[str, str | None]]:
    return {f["path"]: (f["state"], f["reason"]) for f in fs.status(files=True)["file_states"]}


def test_every_supported_format_is_indexed(fs):
    got = states(fs)
    for path in ("notes/cnn.md", "code/fib.py", "web/astronomy.html", "docs/gardening.pdf", "docs/sales-report.docx"):
        assert got[path][0] == "indexed", (path, got[path][1])
    assert fs.status()["files"] == {"indexed": 12, "skipped": 0, "failed": 0}


def test_html_script_and_style_are_not_text(fs):
    assert fs.keywords_retrieve(["event horizon"])[0].path == "web/astronomy.html"
    assert fs.keywords_retrieve(["hidden script text"]) == []
    assert fs.keywords_retrieve(["color:red"]) == []


def test_pdf_and_docx_text_is_searchable(fs):
    assert [h.path for h in fs.keywords_retrieve(["mulch"])] == ["docs/gardening.pdf"]
    assert [h.path for h in fs.keywords_retrieve(["eight percent"])] == ["docs/sales-report.docx"]
    # Table cells are part of a DOCX's text.
    assert [h.path for h in fs.keywords_retrieve(["Europe", "region"])] == ["docs/sales-report.docx"]


def test_bad_files_are_recorded_with_reasons_and_the_rest_index(corpus_dir):
    (corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF")
    (corpus_dir / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    (corpus_dir / "blob.dat").write_bytes(bytes(range(256)) * 40)
    (corpus_dir / "huge.txt").write_text("word " * 300_000)  # 1.5 MB
    (corpus_dir / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (corpus_dir / ".lsfs").mkdir()
    (corpus_dir / ".lsfs" / "config.toml").write_text("[index]\nmax_file_mb = 1\n")
    with LSFS.init(corpus_dir) as fs:
        got = states(fs)
        assert got["broken.pdf"][0] == "failed" and "PDF" in got["broken.pdf"][1]
        assert got["broken.docx"] == ("failed", "corrupt DOCX: not a zip archive")
        assert got["image.png"] == ("skipped", "binary file type (.png)")
        assert got["blob.dat"] == ("skipped", "binary content")
        assert got["huge.txt"][0] == "skipped" and "too large" in got["huge.txt"][1]
        assert fs.status()["files"]["indexed"] == 12
        assert fs.keywords_retrieve(["sourdough"])[0].path == "recipes/bread.md"


def test_unchanged_reindex_embeds_nothing(fs):
    stats = fs.index()
    assert stats.embedded_chunks == 0
    assert stats.unchanged == 12
    assert stats.new == stats.changed == stats.deleted == 0


def test_editing_one_paragraph_reembeds_only_the_chunks_that_changed(corpus_dir):
    paragraphs = [
        f"Section {i}. " + " ".join(f"aerodynamic{i} pressure gradient wing flutter term{j}" for j in range(12))
        for i in range(30)
    ]
    (corpus_dir / "long.md").write_text("\n\n".join(paragraphs))
    with LSFS.init(corpus_dir) as fs:
        before = fs.status()["chunks"]
        paragraphs[14] = "Section 14 was rewritten: it now talks about laminar separation bubbles."
        (corpus_dir / "long.md").write_text("\n\n".join(paragraphs))
        stats = fs.index()
        assert stats.changed == 1 and stats.unchanged == 12
        assert 1 <= stats.embedded_chunks <= 2
        assert stats.reused_chunks >= 5
        assert fs.status()["chunks"] - before in (-1, 0, 1)
        assert fs.keywords_retrieve(["laminar separation"])[0].path == "long.md"


def test_long_files_are_chunked_so_the_end_is_searchable(corpus_dir):
    filler = "\n\n".join(f"Paragraph {i} about ordinary household matters and chores." for i in range(200))
    (corpus_dir / "diary.txt").write_text(filler + "\n\nThe final entry describes a volcanic eruption in Iceland.")
    with LSFS.init(corpus_dir) as fs:
        row = [f for f in fs.status(files=True)["file_states"] if f["path"] == "diary.txt"][0]
        assert row["chunks"] > 5
        hits = fs.semantic_retrieve("volcano erupting", k=1)
        assert hits[0].path == "diary.txt"
        assert "volcanic" in hits[0].snippet


def test_deleted_file_leaves_both_indexes(fs):
    vectors_before = fs._root.vectors().count()
    (fs.root / "notes/cnn.md").unlink()
    stats = fs.index()
    assert stats.deleted == 1
    assert fs.keywords_retrieve(["convolutional"]) == []
    assert "notes/cnn.md" not in [h.path for h in fs.semantic_retrieve("image classification filters", k=12)]
    assert fs._root.vectors().count() == vectors_before - 1
    assert fs.status()["deleted"] == 1


def test_moved_file_keeps_its_history_and_is_not_reembedded(fs):
    os.rename(fs.root / "notes/cnn.md", fs.root / "papers/cnn.md")
    stats = fs.index()
    assert stats.moved == 1 and stats.embedded_chunks == 0
    assert fs.keywords_retrieve(["convolutional"])[0].path == "papers/cnn.md"
    assert fs.semantic_retrieve("image classification with filters", k=1)[0].path == "papers/cnn.md"


def test_ignore_files_are_honoured(corpus_dir):
    (corpus_dir / ".gitignore").write_text("build/\n*.log\n")
    (corpus_dir / "build").mkdir()
    (corpus_dir / "build/out.txt").write_text("generated zeppelin output")
    (corpus_dir / "run.log").write_text("zeppelin log line")
    (corpus_dir / "notes/.lsfsignore").write_text("private*\n")
    (corpus_dir / "notes/private-diary.txt").write_text("zeppelin secrets")
    with LSFS.init(corpus_dir) as fs:
        assert fs.keywords_retrieve(["zeppelin"]) == []
        paths = set(states(fs))
        assert not {"build/out.txt", "run.log", "notes/private-diary.txt"} & paths


def test_index_rebuild_restores_everything_from_disk(fs):
    fs._root.catalog.execute("DELETE FROM docs")  # damage a derived index
    stats = fs.index(rebuild=True)
    assert stats.embedded_chunks == fs.status()["chunks"]
    assert fs.keywords_retrieve(["sourdough"])[0].path == "recipes/bread.md"
    assert fs.semantic_retrieve("bake bread at home", k=1)[0].path == "recipes/bread.md"


def test_symlinks_and_fifos_are_skipped_not_followed(corpus_dir):
    os.symlink("/etc/passwd", corpus_dir / "passwd-link")
    os.mkfifo(corpus_dir / "pipe")
    with LSFS.init(corpus_dir) as fs:
        got = states(fs)
        assert got["passwd-link"][0] == "skipped"
        assert got["pipe"] == ("skipped", "not a regular file")
        assert fs.keywords_retrieve(["root:x:0:0"]) == []


def test_closing_a_root_releases_its_open_files(tmp_path):
    # Chroma keeps its database and index files open until its client is closed; a process
    # that opens roots one after another (an MCP server, a test run) must not accumulate them.
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    counts = []
    for i in range(6):
        root = tmp_path / f"r{i}"
        write_tree(root, {"a.md": "Cats sleep most of the day."})
        with LSFS.init(root) as fs:
            assert fs.semantic_retrieve("cats", k=1)[0].path == "a.md"
        counts.append(open_fds())
    # Each unclosed root held about 11 descriptors; a few come and go with background threads.
    assert counts[-1] < counts[0] + 8, counts
