"""Settings: environment first, then ``ROOT/.lsfs/config.toml``, then defaults."""

from __future__ import annotations

import datetime as _dt
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from lsfs.errors import UserError

CONFIG_NAME = "config.toml"

# field name -> environment variable that overrides it
ENV = {
    "embed_model": "LSFS_EMBED_MODEL",
    "embed_base_url": "LSFS_EMBED_BASE_URL",
    "embed_api_key": "LSFS_EMBED_API_KEY",
    "llm_base_url": "LSFS_LLM_BASE_URL",
    "llm_model": "LSFS_LLM_MODEL",
    "llm_api_key": "OPENAI_API_KEY",
    "chroma_url": "LSFS_CHROMA_URL",
    "public_url": "LSFS_PUBLIC_URL",
    "lock_timeout": "LSFS_LOCK_TIMEOUT",
    "today": "LSFS_TODAY",
    "log": "LSFS_LOG",
}

# config.toml section for each field (the file groups them for people to read)
SECTIONS = {
    "embed": ("embed_model", "embed_base_url", "embed_api_key", "embed_batch"),
    "index": ("chunk_tokens", "max_file_mb", "ignore"),
    "llm": ("llm_base_url", "llm_model", "llm_api_key", "llm_timeout", "llm_retries"),
    "store": ("chroma_url",),
    "versions": ("max_versions", "max_age_days"),
    "links": ("public_url",),
    "process": ("lock_timeout",),
}


@dataclass
class Config:
    embed_model: str = "all-MiniLM-L6-v2"
    embed_base_url: str | None = None
    embed_api_key: str | None = None
    embed_batch: int = 32
    chunk_tokens: int = 200
    max_file_mb: float = 50.0
    ignore: list[str] = field(default_factory=list)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 60.0
    llm_retries: int = 2
    chroma_url: str | None = None
    max_versions: int = 0  # 0 keeps every version
    max_age_days: float = 0  # 0 keeps versions of any age
    public_url: str | None = None
    lock_timeout: float = 10.0
    today: str | None = None
    log: str | None = None

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def today_date(self) -> _dt.date:
        """Today, or ``LSFS_TODAY`` (YYYY-MM-DD) for reproducible runs."""
        if not self.today:
            return _dt.date.today()
        try:
            return _dt.date.fromisoformat(self.today)
        except ValueError:
            raise UserError(f"LSFS_TODAY={self.today!r} is not a date; use YYYY-MM-DD") from None


def _coerce(name: str, raw):
    kind = {f.name: f.type for f in fields(Config)}[name]
    if raw is None:
        return None
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "list[str]":
            if isinstance(raw, str):
                return [p.strip() for p in raw.split(",") if p.strip()]
            return [str(p) for p in raw]
    except (TypeError, ValueError):
        raise UserError(f"setting {name}={raw!r} is not a valid {kind}") from None
    return str(raw) if raw != "" else None


def load(root: Path | None = None, env: dict | None = None) -> Config:
    """Read the settings for ``root`` (which may be ``None`` before ``init``)."""
    env = os.environ if env is None else env
    values: dict = {}
    if root is not None:
        path = Path(root) / ".lsfs" / CONFIG_NAME
        if path.exists():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise UserError(f"{path} is not valid TOML ({exc}); fix or delete it") from None
            known = {f.name for f in fields(Config)}
            for section, table in data.items():
                items = table.items() if isinstance(table, dict) else [(section, table)]
                for key, value in items:
                    if key in known:
                        values[key] = _coerce(key, value)
    for name, var in ENV.items():
        if env.get(var):
            values[name] = _coerce(name, env[var])
    return Config(**values)


def render_default() -> str:
    """The commented ``config.toml`` that ``lsfs init`` writes."""
    c = Config()
    return f"""# LSFS settings for this root. Environment variables override these
# (LSFS_EMBED_MODEL, LSFS_EMBED_BASE_URL, LSFS_LLM_BASE_URL, LSFS_LLM_MODEL,
# OPENAI_API_KEY, LSFS_CHROMA_URL, LSFS_PUBLIC_URL, LSFS_LOCK_TIMEOUT, LSFS_TODAY).

[embed]
# A sentence-transformers model name or path; the default is bundled with LSFS.
embed_model = "{c.embed_model}"
embed_batch = {c.embed_batch}
# embed_base_url = "http://127.0.0.1:8080/v1"   # an OpenAI-compatible /v1/embeddings server

[index]
chunk_tokens = {c.chunk_tokens}      # word pieces per chunk; the model reads 256
max_file_mb = {c.max_file_mb}      # larger files are recorded as skipped
ignore = []              # extra gitignore-style patterns (.gitignore and .lsfsignore are read too)

[llm]
# llm_base_url = "http://127.0.0.1:8000/v1"
# llm_model = "gpt-4o-mini"
llm_timeout = {c.llm_timeout}
llm_retries = {c.llm_retries}

[versions]
max_versions = 0         # per file; 0 keeps every version
max_age_days = 0         # 0 keeps versions of any age

[process]
lock_timeout = {c.lock_timeout}      # seconds a command waits for another one to finish
"""
