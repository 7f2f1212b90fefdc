"""Shared fixtures: real folders in tmp dirs, the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# A small but realistic folder: each file is about one thing, so a query has one right answer.
CORPUS = {
    "papers/llm-uncertainty.md": (
        "# Uncertainty in large language models\n\n"
        "Large language models often sound confident even when they are wrong. We study how "
        "well the probabilities a model assigns to its answers are calibrated, and propose "
        "asking the model to verbalise its confidence.\n\n"
        "Calibration error drops when answers are sampled several times and their agreement "
        "is used as a confidence score."
    ),
    "papers/llm-hallucination.md": (
        "# Detecting hallucinations\n\n"
        "Language models sometimes invent facts. Semantic entropy over sampled answers "
        "flags generations whose meaning varies, a sign the model does not know."
    ),
    "notes/cnn.md": (
        "# Convolutional neural networks\n\n"
        "A CNN learns small filters that slide over an image. Pooling layers shrink the "
        "feature maps, and the last layers classify the picture, for example cat or dog."
    ),
    "notes/transformers.txt": (
        "Attention lets every token look at every other token. The transformer stacks "
        "self-attention and feed-forward layers; positional encodings give word order."
    ),
    "recipes/tomato-soup.txt": (
        "Tomato soup\n\nRoast tomatoes with garlic and onion, simmer with stock for twenty "
        "minutes, blend, and finish with basil and a little cream."
    ),
    "recipes/bread.md": (
        "# Sourdough bread\n\nFeed the starter the night before. Mix flour, water and salt, "
        "fold every half hour, shape, proof overnight in the fridge and bake in a hot oven."
    ),
    "travel/kyoto.md": (
        "# Kyoto in autumn\n\nTemples, maple leaves and quiet gardens. Take the early train "
        "to Arashiyama to see the bamboo grove before the crowds."
    ),
    "finance/budget-2024.txt": (
        "Household budget 2024: rent, groceries, insurance and savings. We put ten percent "
        "of income into an index fund every month."
    ),
    "code/fib.py": (
        "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number iteratively.\"\"\"\n"
        "    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
    ),
    "web/astronomy.html": (
        "<html><head><title>Black holes</title><style>p{color:red}</style></head><body>"
        "<h1>Black holes</h1><p>A black hole bends spacetime so strongly that not even light "
        "escapes its event horizon.</p><script>var x = 'hidden script text';</script></body></html>"
    ),
}

PDF_TEXT = (
    "Gardening for beginners. Plant tomatoes in full sun, water them deeply twice a week, "
    "and mulch to keep the soil moist. Compost feeds the soil."
)
DOCX_TEXT = (
    "Quarterly sales report. Revenue grew eight percent in the third quarter, driven by "
    "online orders in Europe; costs stayed flat."
)


def make_pdf(path: Path, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    words = text.split()
    for i in range(0, len(words), 12):
        c.drawString(50, y, " ".join(words[i : i + 12]))
        y -= 16
    c.save()


def make_docx(path: Path, text: str) -> None:
    import docx

    path.parent.mkdir(parents=True, exist_ok=True)
    d = docx.Document()
    for para in text.split(". "):
        d.add_paragraph(para)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "region"
    table.rows[0].cells[1].text = "Europe"
    d.save(str(path))


PLAN_WORDS = ["zeppelin", "albatross", "submarine", "cormorant", "hovercraft"]


def plan_drafts(tail: str = "") -> dict[int, str]:
    """Five versions of a plan (1..5), each with a word no other version has."""
    return {
        n: f"# Plan\n\nDraft {n}: we will ship the {word} by spring.\n{tail}"
        for n, word in enumerate(PLAN_WORDS, 1)
    }


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


def damage_object(root: Path, sha: str) -> None:
    """Overwrite a stored version object with bytes that are not its content, wherever the
    store keeps it (a loose file for a big object, a row of objects/pack.db for a small one)."""
    import sqlite3

    loose = root / ".lsfs/objects" / sha[:2] / sha[2:]
    if loose.exists():
        loose.chmod(0o644)
        loose.write_bytes(b"not zlib at all")
        return
    with sqlite3.connect(root / ".lsfs/objects/pack.db") as db:
        changed = db.execute("UPDATE objects SET data=? WHERE sha=?", (b"not zlib at all", sha)).rowcount
    assert changed == 1, f"object {sha} is stored nowhere"


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """A folder of real documents (text, Markdown, code, HTML, PDF, DOCX), not yet a root."""
    root = tmp_path / "root"
    write_tree(root, CORPUS)
    make_pdf(root / "docs/gardening.pdf", PDF_TEXT)
    make_docx(root / "docs/sales-report.docx", DOCX_TEXT)
    return root


@pytest.fixture
def fs(corpus_dir):
    """The corpus as an initialised LSFS root, opened by this process."""
    from lsfs import LSFS

    with LSFS.init(corpus_dir) as opened:
        yield opened


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None, env: dict | None = None, timeout: float = 120) -> Result:
    """Run the real ``lsfs`` command in a fresh process."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "lsfs", *args],
        cwd=cwd, input=input, capture_output=True, text=True, env=full_env, timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """A real OpenAI-compatible server on loopback (SmolLM2-135M via llama_cpp.server),
    shared by every test in the session: ``(base_url, model, startup_s)``."""
    try:
        from tests import llm_server as server
    except ImportError:  # tests/ itself on sys.path (pytest's default "prepend" import mode)
        import llm_server as server

    missing = server.missing_packages()
    if missing:
        pytest.skip(f"the test LLM server needs: {', '.join(missing)} (pip install)")
    proc, info = server.start(tmp_path_factory.mktemp("llm") / "server.log")
    try:
        yield info
    finally:
        server.stop(proc)
