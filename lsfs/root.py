"""An opened LSFS root: its settings, catalog, object store, indexer and retriever.

Heavy parts load on first use: Chroma when vectors are touched, the model when something
is embedded. A command that only reads the catalog (``grep``, ``status``, ``history``)
never pays for either.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from lsfs import config as config_mod
from lsfs.embed import Embedder, make_embedder
from lsfs.errors import NotFound, UserError
from lsfs.index import Indexer
from lsfs.lock import RootLock
from lsfs.paths import STATE_DIR
from lsfs.retrieve import Retriever
from lsfs.store.catalog import Catalog
from lsfs.store.objects import ObjectStore
from lsfs.store.vectors import VectorStore

log = logging.getLogger("lsfs")


class Root:
    def __init__(self, path: Path, *, lock: bool = True, readonly: bool = False):
        self.path = Path(path).resolve()
        self.state = self.path / STATE_DIR
        if not (self.state / "catalog.db").exists():
            raise NotFound(f"{self.path} is not an LSFS root (no {STATE_DIR}/catalog.db); run 'lsfs init {self.path}'")
        self.config = config_mod.load(self.path)
        self.readonly = readonly
        self.lock = RootLock(self.state)
        if lock and not readonly:
            self.lock.acquire(self.config.lock_timeout, what=str(self.path))
        try:
            self.catalog = Catalog(self.state / "catalog.db", readonly=readonly)
        except BaseException:
            self.lock.release()
            raise
        self.objects = ObjectStore(self.state / "objects")
        self._vectors: VectorStore | None = None
        self._embedder: Embedder | None = None
        self.indexer = Indexer(self.path, self.catalog, self.objects, self.config, self.vectors, self.embedder)
        self.retriever = Retriever(self.catalog, self.vectors, self.embedder)

    @classmethod
    def create(cls, path: Path) -> "Root":
        """Make ``path/.lsfs`` with default settings (idempotent), then open it."""
        path = Path(path).expanduser()
        if path.exists() and not path.is_dir():
            raise UserError(f"{path} is a file, not a folder")
        state = path / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        cfg = state / config_mod.CONFIG_NAME
        if not cfg.exists():
            cfg.write_text(config_mod.render_default(), encoding="utf-8")
        lock = RootLock(state)
        lock.acquire(config_mod.load(path).lock_timeout, what=str(path))
        try:
            Catalog(state / "catalog.db").close()
        finally:
            lock.release()
        return cls(path)

    # -- lazy heavy parts -----------------------------------------------------------------
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.config)
        return self._embedder

    def vectors(self) -> VectorStore:
        if self._vectors is None:
            if self.readonly:
                raise UserError("this operation needs the vector index; open the root for writing")
            self._check_model()
            self._vectors = VectorStore(self.state / "chroma", self.config.chroma_url)
        return self._vectors

    def model_id(self) -> str:
        if self.config.embed_base_url:
            return f"remote:{self.config.embed_base_url.rstrip('/')}:{self.config.embed_model}"
        return f"local:{self.config.embed_model}"

    def _check_model(self) -> None:
        """Vectors from two models must never mix: a changed model needs a rebuild."""
        stored = self.catalog.get_meta("embed_model")
        wanted = self.model_id()
        if stored is None:
            self.catalog.set_meta("embed_model", wanted)
        elif stored != wanted:
            raise UserError(
                f"this root was indexed with {stored} but the settings now ask for {wanted}; "
                "run 'lsfs index --rebuild' to re-embed everything with the new model"
            )

    def clear_indexes(self) -> None:
        """Drop every vector and both keyword indexes; the next sync rebuilds them from disk.

        Versions and the change log are kept: they are not derived from the disk.
        """
        self.catalog.set_meta("embed_model", self.model_id())
        self._vectors = None
        self.vectors().reset()
        self.catalog.clear_indexes()

    def close(self) -> None:
        try:
            self.catalog.close()
        finally:
            self.lock.release()
            self._vectors = None


def configure_logging(state: Path, level: str | None) -> None:
    """``--debug`` / ``LSFS_LOG=debug``: log to ``.lsfs/logs/lsfs.log``."""
    level = (level or os.environ.get("LSFS_LOG") or "").upper()
    if not level:
        return
    logs = state / "logs"
    logs.mkdir(exist_ok=True)
    target = str((logs / "lsfs.log").resolve())
    root = logging.getLogger("lsfs")
    root.setLevel(getattr(logging, level, logging.DEBUG))
    if any(getattr(h, "baseFilename", None) == target for h in root.handlers):
        return  # configured already (a process may open the root more than once)
    handler = logging.FileHandler(target)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
