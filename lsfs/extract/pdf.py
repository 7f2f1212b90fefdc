"""PDF text through pypdf, page by page, in a helper process with a time bound
(``lsfs.extract.bounded``): a malformed PDF can make pypdf loop."""

from __future__ import annotations

import io
import logging

from lsfs.extract import ExtractFailed


# Pages read at most: a PDF claiming more is read up to here.
MAX_PAGES = 5000


def extract(data: bytes) -> str:
    """The PDF's text, extracted within ``bounded.timeout_s()`` seconds."""
    from lsfs.extract import bounded

    return bounded.run("pdf", data)


def extract_here(data: bytes) -> str:
    """Extract in this process, with no time bound (the helper process calls this)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs every recoverable oddity as a warning; a bad file is reported once, by us.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise ExtractFailed("encrypted PDF (needs a password)") from None
        pages = [page.extract_text() or "" for _, page in zip(range(MAX_PAGES), reader.pages)]
    except PdfReadError as exc:
        raise ExtractFailed(f"corrupt PDF: {exc}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())
