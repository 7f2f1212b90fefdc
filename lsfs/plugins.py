"""Every extension point of LSFS, in one place.

Plugins are ordinary Python packages that declare entry points:

    [project.entry-points."lsfs.extractors"]
    rtf = "my_plugin:RtfExtractor"

    [project.entry-points."lsfs.generators"]
    fortune = "my_plugin:FortuneGenerator"

Each entry point names a class (instantiated with no arguments) or an instance.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("lsfs.plugins")

EXTRACTORS_GROUP = "lsfs.extractors"
GENERATORS_GROUP = "lsfs.generators"


@runtime_checkable
class ExtractorPlugin(Protocol):
    """Turns the bytes of a file type into text for indexing."""

    name: str  # recorded as the file's kind
    suffixes: tuple[str, ...]  # e.g. (".rtf",)

    def extract(self, data: bytes) -> str:
        """Return the text; raise ``lsfs.extract.ExtractFailed`` for a corrupt file."""


@runtime_checkable
class ContentGenerator(Protocol):
    """Produces the content of a file on first read (the mount's generated files).

    ``context`` (a dict; generators must ignore keys they do not know):
      ``fs``            the opened root: an ``LSFS`` facade, or a ``RemoteLSFS`` proxy when a
                        supervisor owns the root (use only methods in ``LSFS.RPC_METHODS``);
      ``root``          the root folder (``pathlib.Path``);
      ``folder``        ``path``'s folder relative to the root (``""`` for the top);
      ``config``        the root's ``lsfs.config.Config`` (LLM settings and so on);
      ``folder_files``  the other files in ``path``'s folder: dicts with ``name``, ``path``,
                        ``size`` and ``snippet`` (the first few hundred characters of text);
      ``xattrs``        the file's user attributes (name -> bytes); ``marker`` the value of
                        ``user.lsfs.generator`` (bytes or None); ``description`` the value of
                        ``user.lsfs.description`` (str or None); ``size`` the size on disk.
    Only empty files are ever filled, and the bytes returned are stored by LSFS through its
    write path (versioned and indexed); raising an exception leaves the file as it was.
    """

    name: str

    def can_handle(self, path: str, context: dict[str, Any]) -> bool:
        """True when this generator should produce ``path`` (relative to the root)."""

    def generate(self, path: str, context: dict[str, Any]) -> bytes:
        """The file's content (bytes); raise an exception to refuse (the reason is logged)."""


def _load(group: str, protocol: type) -> list:
    found = []
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
            obj = obj() if isinstance(obj, type) else obj
        except Exception as exc:  # a broken plugin must not break LSFS
            log.warning("plugin %s in %s failed to load: %s", ep.name, group, exc)
            continue
        if not isinstance(obj, protocol):
            log.warning("plugin %s in %s does not provide %s", ep.name, group, protocol.__name__)
            continue
        found.append(obj)
    return found


def load_extractors() -> list[ExtractorPlugin]:
    return _load(EXTRACTORS_GROUP, ExtractorPlugin)


def load_generators() -> list[ContentGenerator]:
    return _load(GENERATORS_GROUP, ContentGenerator)
