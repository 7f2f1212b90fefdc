"""PDF text through pypdf, page by page."""

from __future__ import annotations

import io
import logging

from lsfs.extract import ExtractFailed


def extract(data: bytes) -> str:
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
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        raise ExtractFailed(f"corrupt PDF: {exc}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())
