"""Shareable links: signed, expiring, revocable, served by LSFS itself (``lsfs serve``).

A link is a row in the catalog's ``links`` table and a URL ``BASE/l/<id>.<mac>``:
- ``id`` is 12 random hex digits, the handle a user types into ``lsfs revoke``;
- ``mac`` is an HMAC-SHA256 (192 bits kept) over the id and the expiry, keyed by
  ``ROOT/.lsfs/secret`` (mode 0600, made on first use). The catalog holds no token, so a
  copy of ``catalog.db`` grants nothing, and ``lsfs links`` can show a link's URL again.
  Deleting the secret invalidates every URL handed out so far.

A link serves either a snapshot, the version that was current when it was made (read from
the object store, so later edits never leak), or with ``live`` the file's current content,
found through its lineage id: it follows moves and is gone once the file is deleted.

``lsfs.apis.link_access`` decides what a token may read and keeps the hit counts;
``lsfs.server`` speaks HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import errno
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sqlite3
import stat as statmod
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lsfs.timeparse import parse_duration
from lsfs.errors import NotFound, UserError
from lsfs.names import resolve_name
from lsfs.paths import confine
from lsfs.root import Root
from lsfs.store.catalog import Catalog
from lsfs.syscalls import capture_outside_change

log = logging.getLogger("lsfs.link")

DEFAULT_BASE_URL = "http://127.0.0.1:8765"
SECRET_NAME = "secret"
SERVE_NOTE = "serve.json"  # the address `lsfs serve` last listened on

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS links(
        id TEXT PRIMARY KEY,            -- 12 hex digits; the URL's token is id.mac
        file_id INTEGER NOT NULL,       -- lineage id: a live link follows moves through it
        path TEXT NOT NULL,             -- the file's path when the link was made
        live INTEGER NOT NULL DEFAULT 0,
        sha256 TEXT,                    -- snapshot: the object served (NULL for live links)
        size INTEGER,                   -- snapshot: its size in bytes
        created REAL NOT NULL,
        expires REAL,                   -- epoch seconds (ms precision); NULL = never
        revoked REAL,                   -- when revoked; NULL = active
        hits INTEGER NOT NULL DEFAULT 0,
        last_access REAL
    )""",
    "CREATE INDEX IF NOT EXISTS links_file ON links(file_id)",
]
_COLS = "id, file_id, path, live, sha256, size, created, expires, revoked, hits, last_access"

ID_HEX = 12
MAC_BYTES = 24  # 192 bits, 32 base64url characters without padding
TOKEN_RE = re.compile(rf"([0-9a-f]{{{ID_HEX}}})\.([A-Za-z0-9_-]{{{MAC_BYTES * 4 // 3}}})")


# -- expiry --------------------------------------------------------------------------------
# A private parser until lsfs.timeparse.parse_duration lands; the forms are DESIGN.md's
# (48h, 7d, 2w, 3mo, 1y, ISO 8601 P3M / PT12H) plus seconds and minutes, and "never".

_FORMS = "use e.g. 48h, 7d, 2w, 3mo, 1y, an ISO 8601 duration (P3M, PT12H) or 'never'"


def expiry_time(expires: str | dt.timedelta | dt.datetime | None, now: float) -> float | None:
    """When a link made at ``now`` (epoch seconds) expires; ``None`` = never.

    ``expires`` is a duration ("3mo", "P3M", "48h", "never"), a ``timedelta``, an aware
    ``datetime``, or ``None`` (no expiry, as in DESIGN.md's plan contract). Months and
    years are calendar months and years (Nov 30 + 3mo = Feb 28).
    """
    if expires is None:
        return None
    start = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    try:
        if isinstance(expires, dt.datetime):
            if expires.tzinfo is None:
                raise UserError("an expiry datetime needs a time zone (e.g. datetime.now(timezone.utc))")
            end = expires
        else:
            if isinstance(expires, dt.timedelta):
                end = start + expires
            else:
                parsed = parse_duration(str(expires))
                if parsed is None:
                    return None
                end = parsed.add_to(start)
    except (OverflowError, ValueError):
        raise UserError(f"--expires {expires!s} is too far in the future") from None
    if end <= start:
        raise UserError(f"--expires {expires!s} is not in the future; {_FORMS}")
    return round(end.timestamp(), 3)


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC (``2027-02-22T10:00:00+00:00``); ``None`` stays."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


# -- the signing key -----------------------------------------------------------------------

class LinkSecret:
    """``ROOT/.lsfs/secret``: 32 random bytes (hex), mode 0600, owned by this user.

    Made on first use. A key that others can read, that belongs to someone else or that is
    a symlink is refused, not silently fixed: whoever read it can forge links, so the user
    has to decide (tighten it, or delete it and so invalidate every URL made so far).
    """

    def __init__(self, state: Path):
        self.path = Path(state) / SECRET_NAME
        self._cached: tuple[tuple, bytes] | None = None
        self._lock = threading.Lock()

    def get(self, *, create: bool = False) -> bytes | None:
        """The key; ``None`` when there is none yet and ``create`` is false."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            if not create:
                return None
            self._create()
            st = os.lstat(self.path)
        sig = (st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode, st.st_uid)
        with self._lock:
            if self._cached is not None and self._cached[0] == sig:
                return self._cached[1]
            key = self._read()
            self._cached = (sig, key)
            return key

    def _refuse(self, why: str) -> UserError:
        return UserError(
            f"{self.path} {why}; links cannot be trusted with it. Fix it, or delete it to "
            "invalidate every link made so far (a new key is made by the next 'lsfs link')"
        )

    def _read(self) -> bytes:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._refuse("is a symbolic link") from None
            raise UserError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            if not statmod.S_ISREG(st.st_mode):
                raise self._refuse("is not a regular file")
            if st.st_uid != os.geteuid():
                raise self._refuse(f"belongs to another user (uid {st.st_uid})")
            if st.st_mode & 0o077:
                raise UserError(
                    f"{self.path} is readable by other users (mode {statmod.S_IMODE(st.st_mode):04o}); "
                    f"run 'chmod 600 {self.path}', or delete it to invalidate every link made so far"
                )
            text = os.read(fd, 4096).decode("ascii", "replace").strip()
        finally:
            os.close(fd)
        if not re.fullmatch(r"[0-9a-f]{64,}", text):
            raise self._refuse("is damaged (expected at least 64 hex digits)")
        return bytes.fromhex(text)

    def _create(self) -> None:
        # Written whole under a temporary name, then hard-linked into place: a second process
        # making the key at the same moment either wins or reads the winner's, never half.
        tmp = self.path.with_name(f".{SECRET_NAME}-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)


def sign(key: bytes, link_id: str, expires: float | None) -> str:
    when = "never" if expires is None else f"{expires:.3f}"
    digest = hmac.new(key, f"lsfs-link/1\n{link_id}\n{when}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")


# -- records -------------------------------------------------------------------------------

@dataclass
class Link:
    """One shareable link, as ``lsfs links --json`` shows it."""

    id: str
    url: str
    path: str            # the file's path when the link was made
    live: bool           # serves the current content (else the snapshot made with the link)
    created: str         # ISO 8601, UTC
    expires: str | None  # ISO 8601, UTC; None = never
    revoked: bool
    hits: int
    last_access: str | None
    state: str           # active | expired | revoked | gone (file deleted, or snapshot lost)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LinkRow:
    id: str
    file_id: int
    path: str
    live: int
    sha256: str | None
    size: int | None
    created: float
    expires: float | None
    revoked: float | None
    hits: int
    last_access: float | None


def ensure_schema(catalog: Catalog) -> None:
    catalog.ensure_schema(SCHEMA)


def _has_table(catalog: Catalog) -> bool:
    return bool(catalog.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='links'"))


def link_rows(catalog: Catalog, where: str = "", params: tuple = ()) -> list[LinkRow]:
    if not _has_table(catalog):
        return []
    return [LinkRow(*r) for r in catalog.query(f"SELECT {_COLS} FROM links {where}", params)]


def base_url(root: Root) -> str:
    """The URL prefix links are printed with: ``LSFS_PUBLIC_URL`` (or ``[links] public_url``),
    else the address ``lsfs serve`` last listened on, else ``http://127.0.0.1:8765``."""
    public = root.config.public_url
    if public:
        if not re.match(r"https?://[^/\s]+", public) or any(c.isspace() for c in public):
            raise UserError(f"LSFS_PUBLIC_URL={public!r} is not an http(s) URL; use e.g. https://share.example.com")
        return public.rstrip("/")
    try:
        noted = json.loads((root.state / SERVE_NOTE).read_text(encoding="utf-8"))["url"]
        if isinstance(noted, str) and re.match(r"https?://", noted):
            return noted.rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return DEFAULT_BASE_URL


def note_serve_address(state: Path, url: str) -> None:
    """Remember where ``lsfs serve`` listens, so ``lsfs link`` prints working URLs."""
    tmp = state / f".{SERVE_NOTE}.{os.getpid()}"
    tmp.write_text(json.dumps({"url": url}) + "\n", encoding="utf-8")
    os.replace(tmp, state / SERVE_NOTE)


def _state_of(root: Root, row: LinkRow, now: float) -> str:
    if row.revoked is not None:
        return "revoked"
    if row.expires is not None and row.expires <= now:
        return "expired"
    if row.live:
        f = root.catalog.file_by_id(row.file_id)
        return "active" if f is not None and f.state != "deleted" else "gone"
    return "active" if row.sha256 and root.objects.has(row.sha256) else "gone"


def _record(root: Root, row: LinkRow, key: bytes | None, base: str, now: float) -> Link:
    url = f"{base}/l/{row.id}.{sign(key, row.id, row.expires)}" if key else ""
    return Link(
        id=row.id, url=url, path=row.path, live=bool(row.live), created=iso(row.created),
        expires=iso(row.expires), revoked=row.revoked is not None, hits=row.hits,
        last_access=iso(row.last_access), state=_state_of(root, row, now),
    )


# -- the API -------------------------------------------------------------------------------

def create_link(
    root: Root, name: str, expires: str | dt.timedelta | dt.datetime | None = None, live: bool = False
) -> Link:
    """Make a link to the file ``name``; see ``LSFS.link``."""
    if root.readonly:
        raise UserError("making a link needs the root opened for writing")
    now = time.time()
    expires_at = expiry_time(expires, now)  # a bad --expires fails before anything is touched
    base = base_url(root)
    if (root.path / confine(root.path, name)).is_dir():
        raise UserError(f"{name} is a folder; a link shares one file")
    rel = resolve_name(root.path, root.catalog, name)
    full = root.path / rel
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        raise NotFound(f"{rel} is not on disk (deleted?); 'lsfs index' brings the catalog up to date") from None
    if statmod.S_ISDIR(st.st_mode):
        raise UserError(f"{rel} is a folder; a link shares one file")
    if not statmod.S_ISREG(st.st_mode):
        raise UserError(f"{rel} is not a regular file (a symbolic link or special file); LSFS does not share it")
    if not os.access(full, os.R_OK):
        raise UserError(f"{rel} is not readable (permission denied)")
    # A content change LSFS has not seen yet becomes a version first, so the snapshot is
    # the file as it is now and stays recoverable like every other version.
    capture_outside_change(root, rel)
    row = root.catalog.file_by_path(rel)
    if row is None:
        raise NotFound(f"{rel} is not in the catalog; run 'lsfs index {rel}'")
    sha = size = None
    if not live:
        latest = root.catalog.latest_version(row.id)
        size_now = os.lstat(full).st_size
        if (
            latest is None or latest.sha256 != row.sha256 or latest.size != size_now
            or not root.objects.has(latest.sha256)
        ):
            why = f" ({row.reason})" if row.reason else ""
            raise UserError(
                f"LSFS keeps no stored copy of {rel}{why}, so it cannot share a snapshot of it; "
                f"share the current file with --live"
            )
        sha, size = latest.sha256, latest.size
    key = LinkSecret(root.state).get(create=True)
    ensure_schema(root.catalog)
    for _ in range(8):
        link_id = secrets.token_hex(ID_HEX // 2)
        try:
            with root.catalog.transaction() as db:
                db.execute(
                    "INSERT INTO links(id, file_id, path, live, sha256, size, created, expires) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                    (link_id, row.id, rel, int(live), sha, size, now, expires_at),
                )
            break
        except sqlite3.IntegrityError:  # the same 48-bit id twice: draw again
            continue
    else:
        raise UserError("could not draw a fresh link id; try again")
    made = link_rows(root.catalog, "WHERE id=?", (link_id,))[0]
    return _record(root, made, key, base, now)


def list_links(root: Root) -> list[Link]:
    """Every link, oldest first (revoked and expired ones included, marked by ``state``)."""
    rows = link_rows(root.catalog, "ORDER BY created, id")
    if not rows:
        return []
    key = LinkSecret(root.state).get()
    base = base_url(root)
    now = time.time()
    return [_record(root, r, key, base, now) for r in rows]


def link_id_of(text: str) -> str:
    """The link id in ``text``: an id, a token, or a whole URL as ``lsfs link`` printed it."""
    found = re.search(r"(?:^|/l/)([0-9a-f]{%d})(?:\.[A-Za-z0-9_-]*)?/?$" % ID_HEX, text.strip())
    return found.group(1) if found else text.strip()


def revoke_link(root: Root, link: str) -> tuple[Link, bool]:
    """Revoke the link ``link`` (its id, or its URL). Returns (record, newly_revoked)."""
    if root.readonly:
        raise UserError("revoking a link needs the root opened for writing")
    link_id = link_id_of(link)
    ensure_schema(root.catalog)
    now = time.time()
    with root.catalog.transaction() as db:
        changed = db.execute(
            "UPDATE links SET revoked=? WHERE id=? AND revoked IS NULL", (now, link_id)
        ).rowcount
    rows = link_rows(root.catalog, "WHERE id=?", (link_id,))
    if not rows:
        raise NotFound(f"no link with id {link!r}; 'lsfs links' lists them")
    key = LinkSecret(root.state).get()
    return _record(root, rows[0], key, base_url(root), now), bool(changed)


def pinned_objects(catalog: Catalog) -> set[str]:
    """Objects that unrevoked snapshot links serve: version pruning must keep them."""
    if not _has_table(catalog):
        return set()
    return {
        r[0] for r in catalog.query(
            "SELECT DISTINCT sha256 FROM links WHERE sha256 IS NOT NULL AND revoked IS NULL "
            "AND (expires IS NULL OR expires > ?)", (time.time(),)
        )
    }
