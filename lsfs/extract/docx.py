"""DOCX text through python-docx: paragraphs and table cells, in document order."""

from __future__ import annotations

import io
import zipfile

from lsfs.extract import ExtractFailed

# A DOCX is a zip: refuse one that would inflate past this before python-docx opens it.
MAX_EXPANDED = 200 * 1024 * 1024


def extract(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            expanded = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        raise ExtractFailed("corrupt DOCX: not a zip archive") from None
    if expanded > MAX_EXPANDED:
        raise ExtractFailed(f"DOCX expands to {expanded // 2**20} MB (limit {MAX_EXPANDED // 2**20} MB)")

    import docx

    document = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    body = document.element.body
    for block in body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(node.text or "" for node in block.iter() if node.tag.endswith("}t"))
            if text.strip():
                parts.append(text)
        elif tag == "tbl":
            for row in block.iter():
                if row.tag.endswith("}tr"):
                    cells = []
                    for cell in row.iterchildren():
                        if cell.tag.endswith("}tc"):
                            cells.append(
                                " ".join(
                                    (n.text or "") for n in cell.iter() if n.tag.endswith("}t")
                                ).strip()
                            )
                    if any(cells):
                        parts.append(" | ".join(cells))
    return "\n\n".join(parts)
