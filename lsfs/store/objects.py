"""Version contents, content-addressed by sha256 and zlib-compressed.

An object is written to a temporary file, fsynced and renamed into place, so a reader
never sees a partial object, and identical content is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

BLOCK = 1 << 20


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _where(self, sha: str) -> Path:
        return self.path / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        return self._where(sha).exists()

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        if not self.has(sha):
            self._store(sha, iter([data]))
        return sha

    def put_stream(self, stream: BinaryIO, keep: int = 16 * BLOCK) -> tuple[str, int, bytes | None]:
        """Store what ``stream`` yields; return (sha256, size, content up to ``keep`` bytes).

        The hash covers exactly the bytes stored, so a file that changes while it is read
        still yields a consistent object. Content up to ``keep`` bytes is handed back so
        the caller can extract text without reading the file a second time.
        """
        digest = hashlib.sha256()
        kept: list[bytes] | None = []
        size = 0
        tmp = tempfile.NamedTemporaryFile(dir=self.path, prefix=".in-", delete=False)
        try:
            comp = zlib.compressobj(6)
            while block := stream.read(BLOCK):
                digest.update(block)
                size += len(block)
                if kept is not None:
                    kept.append(block)
                    if size > keep:
                        kept = None
                tmp.write(comp.compress(block))
            tmp.write(comp.flush())
            tmp.flush()
            os.fsync(tmp.fileno())
            tmp.close()
            sha = digest.hexdigest()
            if self.has(sha):
                os.unlink(tmp.name)
            else:
                self._place(tmp.name, sha)
        except BaseException:
            tmp.close()
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
            raise
        return sha, size, (b"".join(kept) if kept is not None else None)

    def _store(self, sha: str, blocks: Iterator[bytes]) -> None:
        comp = zlib.compressobj(6)
        with tempfile.NamedTemporaryFile(dir=self.path, prefix=".in-", delete=False) as tmp:
            try:
                for block in blocks:
                    tmp.write(comp.compress(block))
                tmp.write(comp.flush())
                tmp.flush()
                os.fsync(tmp.fileno())
            except BaseException:
                os.unlink(tmp.name)
                raise
        self._place(tmp.name, sha)

    def _place(self, tmp_name: str, sha: str) -> None:
        dest = self._where(sha)
        dest.parent.mkdir(exist_ok=True)
        os.replace(tmp_name, dest)
        fsync_dir(dest.parent)

    def read(self, sha: str) -> bytes:
        return b"".join(self.iter_blocks(sha))

    def iter_blocks(self, sha: str) -> Iterator[bytes]:
        decomp = zlib.decompressobj()
        with open(self._where(sha), "rb") as fh:
            while block := fh.read(BLOCK):
                yield decomp.decompress(block)
        yield decomp.flush()

    def check(self, sha: str) -> bool:
        """True when the object exists and its content still hashes to ``sha``."""
        if not self.has(sha):
            return False
        digest = hashlib.sha256()
        try:
            for block in self.iter_blocks(sha):
                digest.update(block)
        except zlib.error:
            return False
        return digest.hexdigest() == sha

    def all(self) -> Iterator[str]:
        for sub in self.path.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                for obj in sub.iterdir():
                    yield sub.name + obj.name

    def remove(self, sha: str) -> None:
        try:
            self._where(sha).unlink()
        except FileNotFoundError:
            pass

    def clean_temp(self) -> None:
        """Drop temporary files a crash left behind (never a finished object)."""
        for tmp in self.path.glob(".in-*"):
            tmp.unlink(missing_ok=True)
