"""The version object store: small objects packed in one SQLite file, big ones as files."""

from __future__ import annotations

import io
import os
import zlib

import pytest

from lsfs.store.objects import PACK_MAX, ObjectStore, sha256_bytes


def loose_files(store: ObjectStore) -> list[str]:
    return [p.name for p in store.path.glob("??/*")]


def test_small_objects_share_one_pack_file_and_big_ones_are_files(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    small = [f"note {i}: the same short text, a little different each time\n".encode() for i in range(300)]
    shas = [store.put_bytes(d) for d in small]
    big = os.urandom(PACK_MAX + 1000)  # random bytes do not compress
    big_sha = store.put_bytes(big)
    assert loose_files(store) == [big_sha[2:]]  # 300 small objects, no file of their own
    assert sorted(store.all()) == sorted(set(shas) | {big_sha})
    assert [store.read(s) for s in shas] == small and store.read(big_sha) == big
    assert all(store.check(s) for s in [*shas, big_sha])


@pytest.mark.parametrize("size", [0, 10, PACK_MAX - 100, PACK_MAX + 100, 3 * (1 << 20) + 7])
def test_streamed_objects_round_trip_on_either_side_of_the_pack_limit(tmp_path, size):
    store = ObjectStore(tmp_path / "objects")
    data = os.urandom(size)
    sha, got_size, kept = store.put_stream(io.BytesIO(data), keep=1 << 20)
    assert (sha, got_size) == (sha256_bytes(data), size)
    assert kept == (data if size <= 1 << 20 else None)
    assert store.read(sha) == data and store.check(sha)
    assert bool(loose_files(store)) == (len(zlib.compress(data, 6)) > PACK_MAX)
    assert store.put_stream(io.BytesIO(data))[0] == sha  # stored once
    assert list(store.all()) == [sha]
    assert not list(store.path.glob(".in-*"))


def test_loose_objects_from_before_packing_are_still_read_listed_and_removed(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    data = b"written by an LSFS that kept every object as a file\n"
    sha = sha256_bytes(data)
    (store.path / sha[:2]).mkdir()
    (store.path / sha[:2] / sha[2:]).write_bytes(zlib.compress(data))
    assert store.has(sha) and store.read(sha) == data and list(store.all()) == [sha]
    assert store.put_bytes(data) == sha and not store._packed(sha)  # not stored twice
    store.remove(sha)
    assert not store.has(sha) and list(store.all()) == []


def test_removed_objects_are_gone_and_a_missing_one_raises(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    sha = store.put_bytes(b"short-lived")
    store.remove(sha)
    assert not store.has(sha) and not store.check(sha)
    with pytest.raises(FileNotFoundError):
        store.read(sha)


def test_a_read_only_store_reads_the_pack_and_never_creates_one(tmp_path):
    empty = ObjectStore(tmp_path / "empty", readonly=True)
    assert not empty.has("0" * 64) and list(empty.all()) == []
    assert not (tmp_path / "empty/pack.db").exists()
    writer = ObjectStore(tmp_path / "objects")
    sha = writer.put_bytes(b"kept in the pack")
    reader = ObjectStore(tmp_path / "objects", readonly=True)
    assert reader.read(sha) == b"kept in the pack"
    with pytest.raises(OSError, match="version store"):
        reader.put_bytes(b"a reader cannot write")
    writer.close()
    reader.close()
