"""``change_summary(name, content)``: overwrite a file and say what changed.

Offline (the default) the summary is structured, from the diff (``lsfs.diffsummary``):
lines added and removed, Markdown sections touched, the most significant sentences added
and removed. With an LLM configured, a short natural-language summary is asked for as
well; if the LLM is unreachable the offline summary stands (the write has already
happened, so failing the call would misreport it).

LLM SEAM — ``summarize_change(old, new, path, llm)`` takes any object with
``complete(messages: list[dict]) -> str`` that raises ``BackendUnavailable`` when the
endpoint is down (the contract of ``lsfs.llm.LLMClient``). ``configured_llm(config)``
builds one from the settings once ``lsfs/llm.py`` exists, and returns None until then or
when no LLM is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lsfs.apis.history import as_text, refresh, unified
from lsfs.config import Config
from lsfs.diffsummary import DiffSummary, split_lines, summarize_texts
from lsfs.errors import BackendUnavailable, NotFound
from lsfs.names import resolve_name
from lsfs.paths import confine
from lsfs.root import Root
from lsfs.syscalls import overwrite

log = logging.getLogger("lsfs.change_summary")

# The diff shown to an LLM is cut here: a summary needs the gist, not every line.
LLM_DIFF_CHARS = 8_000

SYSTEM_PROMPT = (
    "You summarise a change to one file for its owner. Answer with one or two plain "
    "sentences saying what content was added, removed or changed, and where. No preamble, "
    "no Markdown, no speculation beyond the diff."
)


@dataclass
class ChangeReport:
    """What ``change_summary`` did and what changed."""

    path: str
    version: int | None
    cause: str                 # write (new file) or overwrite
    summary: str               # one line (offline) or the LLM's sentences
    source: str                # "offline", "llm", or "offline (LLM unavailable: …)"
    details: DiffSummary = field(default_factory=DiffSummary)

    def to_dict(self) -> dict:
        return {
            "path": self.path, "version": self.version, "cause": self.cause,
            "summary": self.summary, "source": self.source, **self.details.to_dict(),
        }


def configured_llm(config: Config):
    """The configured LLM client, or None (no LLM set up, or lsfs.llm not present yet)."""
    if not (config.llm_base_url or config.llm_model):
        return None
    try:
        from lsfs.llm import LLMClient  # the LLM issue's module
    except ImportError:
        return None
    try:
        return LLMClient.from_config(config)
    except BackendUnavailable as exc:
        log.warning("LLM not usable, summaries stay offline: %s", exc)
        return None


def llm_messages(old: str | None, new: str | None, path: str | None, details: DiffSummary) -> list[dict]:
    """The chat messages asking an LLM to summarise this change."""
    diff = unified(split_lines(old), split_lines(new), f"a/{path or 'file'}", f"b/{path or 'file'}", "", "")
    if len(diff) > LLM_DIFF_CHARS:
        diff = diff[:LLM_DIFF_CHARS] + "\n[… diff cut …]\n"
    facts = details.describe()
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"File: {path or '(unnamed)'}\nFacts: {facts}\n\nUnified diff:\n{diff}"},
    ]


def summarize_change(old: str | None, new: str | None, path: str | None = None, llm=None) -> tuple[str, str, DiffSummary]:
    """(summary, source, details) for going from ``old`` to ``new`` (None: no file).

    Without ``llm``, or when nothing changed, the offline one-line headline. With ``llm``,
    its answer; on ``BackendUnavailable`` or an empty answer, the offline headline again.
    """
    details = summarize_texts(old, new, path)
    offline = details.headline()
    if llm is None or not details.changed:
        return offline, "offline", details
    try:
        answer = llm.complete(llm_messages(old, new, path, details))
    except BackendUnavailable as exc:
        log.warning("LLM unavailable, offline summary used: %s", exc)
        return offline, f"offline (LLM unavailable: {exc})", details
    answer = " ".join(str(answer or "").split())
    if not answer:
        return offline, "offline (the LLM gave an empty answer)", details
    return answer, "llm", details


def change_summary(root: Root, name: str, content: str | bytes, llm=None) -> ChangeReport:
    """Overwrite NAME with ``content`` (creating it if missing) through the write path and
    report what changed. ``llm`` defaults to the configured one (see ``configured_llm``)."""
    try:
        rel = resolve_name(root.path, root.catalog, name)
    except NotFound:
        rel = confine(root.path, name)
    refresh(root, rel)  # an unseen outside edit is the "before", and is kept as a version
    full = root.path / rel
    old_bytes = full.read_bytes() if full.is_file() else None
    new_bytes = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    written = overwrite(root, rel, new_bytes)
    old_text = None if old_bytes is None else as_text(rel, old_bytes)[0]
    new_text = as_text(rel, new_bytes)[0]
    if (old_bytes is not None and old_text is None) or new_text is None:
        details = DiffSummary(binary=True)
        return ChangeReport(written.path, written.version, written.cause, details.headline(), "offline", details)
    if llm is None:
        llm = configured_llm(root.config)
    summary, source, details = summarize_change(old_text, new_text, rel, llm)
    if source == "llm" and old_bytes != new_bytes:
        _replace_logged_summary(root, rel, summary)
    return ChangeReport(written.path, written.version, written.cause, summary, source, details)


def _replace_logged_summary(root: Root, rel: str, summary: str) -> None:
    """Put the LLM's summary on the change-log row the write just made."""
    row = root.catalog.file_by_path(rel)
    if row is None:
        return
    with root.catalog.transaction():
        root.catalog.execute(
            "UPDATE changes SET summary=? WHERE id=(SELECT max(id) FROM changes WHERE file_id=?)",
            (summary, row.id),
        )
