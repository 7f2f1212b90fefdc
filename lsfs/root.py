"""An opened LSFS root: its settings, catalog, object store, indexer and retriever.

Heavy parts load on first use: Chroma when vectors are touched, the model when something
is embedded. A command that only reads the catalog (``grep``, ``status``, ``history``)
never pays for either.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from lsfs import config as config_mod
from lsfs.embed import Embedder, make_embedder
from lsfs.errors import NotFound, Refused, UserError
from lsfs.index import Indexer
from lsfs.lock import RootLock
from lsfs.paths import STATE_DIR
from lsfs.retrieve import Retriever
from lsfs.store.catalog import Catalog
from lsfs.store.objects import ObjectStore
from lsfs.store.vectors import COLLECTION, VectorStore, collection_for

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
            try:
                self.lock.acquire(self.config.lock_timeout, what=str(self.path))
            except OSError as exc:
                raise UserError(
                    f"cannot open {self.path} for changes: {STATE_DIR}/ is not writable ({exc.strerror}); "
                    "commands that only read (grep, status, show, history) still work"
                ) from None
        try:
            self.catalog = Catalog(self.state / "catalog.db", readonly=readonly)
        except sqlite3.OperationalError as exc:
            self.lock.release()
            raise UserError(
                f"cannot open the catalog {self.state / 'catalog.db'}: {exc}; is the disk full? "
                "free some space and try again (nothing was changed)"
            ) from None
        except BaseException:
            self.lock.release()
            raise
        self.objects = ObjectStore(self.state / "objects", readonly=readonly)
        self._vectors: VectorStore | None = None
        self._embedder: Embedder | None = None
        self.indexer = Indexer(self.path, self.catalog, self.objects, self.config, self.vectors, self.embedder)
        self.retriever = Retriever(self.catalog, self.vectors, self.embedder)
        if lock and not readonly:
            self._recover()

    def _recover(self) -> None:
        """Finish what a killed process left half-done (see lsfs.recovery); costs one
        query when nothing is pending."""
        from lsfs import recovery

        from lsfs.errors import LSFSError

        try:
            if recovery.pending(self.catalog):
                recovery.recover(self)
        except LSFSError as exc:
            # A backend down or a model switch awaiting 'index --rebuild' must not lock the
            # user out of the root; the intents stay and the next open tries again.
            log.warning("recovery of unfinished operations postponed: %s", exc.message)
        except BaseException:
            self.close()
            raise

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
            self.check_model()
            self._embedder = CheckedEmbedder(make_embedder(self.config), self.catalog)
        return self._embedder

    def vectors(self, *, expect_filled: bool = True) -> VectorStore:
        if self._vectors is None:
            if self.readonly:
                raise UserError("this operation needs the vector index; open the root for writing")
            self.check_model()
            if self.config.chroma_url:
                # One server holds many roots: each root keeps to its own collection.
                store = VectorStore(url=self.config.chroma_url, collection=collection_for(self.root_id()))
            else:
                store = VectorStore(self.state / "chroma", collection=COLLECTION)
            if expect_filled:
                self._check_filled(store)
            self._vectors = store
        return self._vectors

    def _check_filled(self, store: VectorStore) -> None:
        """An empty store under a catalog that lists chunks means the vectors are elsewhere
        (LSFS_CHROMA_URL set or changed, a wiped server, a deleted .lsfs/chroma): searching
        would silently find nothing and a sync would see nothing to do, so say how to fix it."""
        if store.count() > 0:
            return
        chunks = self.catalog.query("SELECT count(*) FROM chunks")[0][0]
        if chunks:
            where = f"the Chroma server {self.config.chroma_url}" if self.config.chroma_url else ".lsfs/chroma"
            raise Refused(
                f"{where} holds no vectors for this root, but its catalog lists {chunks} chunks "
                "(was LSFS_CHROMA_URL set, changed or unset?); run 'lsfs index --rebuild' "
                "to embed everything into it"
            )

    def root_id(self) -> str:
        """A random id made once per root; names its collection on a Chroma server."""
        rid = self.catalog.get_meta("root_id")
        if rid is None:
            import uuid

            rid = uuid.uuid4().hex
            self.catalog.set_meta("root_id", rid)
        return rid

    def model_id(self) -> str:
        """What the settings embed with. A remote model is known by its name alone: the same
        model served from another host gives the same vectors (the dimension is checked too)."""
        if self.config.embed_base_url:
            return f"remote:{self.config.embed_model}"
        return f"local:{self.config.embed_model}"

    def check_model(self) -> None:
        """Vectors from two models must never mix: a changed model needs a rebuild."""
        stored = self.catalog.get_meta("embed_model")
        wanted = self.model_id()
        if stored is None:
            if not self.readonly:
                self.catalog.set_meta("embed_model", wanted)
        elif stored != wanted:
            raise Refused(
                f"this root was indexed with {stored} but the settings now ask for {wanted}; "
                "vectors of two models never mix, so run 'lsfs index --rebuild' to re-embed "
                "everything with the new model (or restore the old setting)"
            )

    def clear_indexes(self) -> None:
        """Drop every vector and both keyword indexes; the next sync rebuilds them from disk.

        Versions and the change log are kept: they are not derived from the disk.
        """
        self.catalog.set_meta("embed_model", self.model_id())
        self.catalog.execute("DELETE FROM meta WHERE key='embed_dim'")
        if self._vectors is not None:
            self._vectors.close()
        self._vectors = None
        self._embedder = None
        self.vectors(expect_filled=False).reset()
        self.catalog.clear_indexes()

    def close(self) -> None:
        try:
            self.catalog.close()
            self.objects.close()
            if self._vectors is not None:
                self._vectors.close()
        finally:
            self.lock.release()
            self._vectors = None


class CheckedEmbedder:
    """The configured embedder, refusing vectors whose dimension differs from the root's.

    The model name alone cannot catch a server that now serves another model under the same
    name; the dimension recorded at the first embedding (meta ``embed_dim``) can.
    """

    def __init__(self, inner: Embedder, catalog: Catalog):
        self._inner = inner
        self._catalog = catalog
        self._checked = False

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def embed(self, texts):
        """``inner.embed(texts)``, after checking the vectors' dimension against the root."""
        out = self._inner.embed(texts)
        if not self._checked and len(out):
            dim = int(out.shape[1])
            stored = self._catalog.get_meta("embed_dim")
            if stored is None:
                self._record(dim)
            elif int(stored) != dim:
                raise Refused(
                    f"the embedding model {self._inner.model_id} now gives {dim}-dimensional "
                    f"vectors but this root holds {stored}-dimensional ones; run "
                    "'lsfs index --rebuild' to re-embed everything with the new model"
                )
            self._checked = True
        return out

    def _record(self, dim: int) -> None:
        try:
            self._catalog.set_meta("embed_dim", str(dim))
        except Exception:  # a read-only catalog: the next writer records it
            pass


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
