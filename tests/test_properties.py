"""Property tests (hypothesis): version numbering and rollback, name resolution, confinement.

Example counts are small so the file runs in seconds; the versions property uses the real
write path (model and Chroma) on one root shared by its examples, a fresh file each time.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsfs import LSFS
from lsfs.errors import Ambiguous, LSFSError, NotFound
from lsfs.names import resolve_name
from lsfs.paths import STATE_DIR, confine
from lsfs.store.catalog import Catalog

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- confinement ----------------------------------------------------------------------------

SEGMENTS = st.sampled_from(["..", ".", "a", "b.txt", "", "%2e%2e", "link", STATE_DIR, "x\x00y", "…", "c d"])


@pytest.fixture(scope="module")
def jail(tmp_path_factory):
    base = tmp_path_factory.mktemp("conf")
    (base / "outside").mkdir()
    root = base / "root"
    (root / "a").mkdir(parents=True)
    (root / "link").symlink_to(base / "outside", target_is_directory=True)
    (root / "a" / "inner").symlink_to(root / "a", target_is_directory=True)
    return root.resolve()


@FAST
@given(parts=st.lists(SEGMENTS, min_size=1, max_size=6), absolute=st.booleans())
def test_confine_returns_only_paths_that_stay_inside_the_root(jail, parts, absolute):
    name = "/".join(parts)
    if absolute:
        name = str(jail) + "/" + name
    try:
        rel = confine(jail, name)
    except LSFSError as exc:
        assert exc.exit_code == 1
        return
    assert not rel.startswith("/") and ".." not in rel.split("/")
    assert rel.split("/")[0] != STATE_DIR and "\x00" not in rel
    real = Path(os.path.realpath(jail / rel))
    assert real == jail or jail in real.parents


# -- name resolution ------------------------------------------------------------------------

NAMES = st.lists(
    st.tuples(st.sampled_from(["", "docs", "docs/old", "notes"]), st.sampled_from(["cnn", "rnn", "plan", "Plan", "todo"]),
              st.sampled_from([".md", ".txt", ".pdf"])),
    min_size=1, max_size=6, unique=True,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=NAMES)
def test_a_name_resolves_to_its_path_its_unique_stem_or_is_ambiguous(tmp_path_factory, entries):
    root = tmp_path_factory.mktemp("names")
    cat = Catalog(root / "catalog.db")
    paths = sorted({f"{d}/{s}{e}" if d else f"{s}{e}" for d, s, e in entries})
    for p in paths:
        cat.insert_file(p)
    try:
        for p in paths:
            assert resolve_name(root, cat, p) == p  # the exact path always wins
        for stem in {s for _, s, _ in entries}:
            exact = [p for p in paths if Path(p).name.split(".")[0] == stem]
            folded = [p for p in paths if Path(p).name.split(".")[0].lower() == stem.lower()]
            if len(exact) == 1:
                assert resolve_name(root, cat, stem) == exact[0]
            elif len(exact) > 1:
                with pytest.raises(Ambiguous) as info:
                    resolve_name(root, cat, stem)
                assert sorted(info.value.candidates) == sorted(exact)
            elif len(folded) == 1:
                assert resolve_name(root, cat, stem) == folded[0]
        with pytest.raises(NotFound):
            resolve_name(root, cat, "zzz-nothing")
    finally:
        cat.close()


# -- version numbering and rollback ---------------------------------------------------------

@pytest.fixture(scope="module")
def versioned(tmp_path_factory):
    root = tmp_path_factory.mktemp("versions") / "root"
    root.mkdir()
    (root / "seed.txt").write_text("seed\n")
    with LSFS.init(root) as fs:
        yield fs, itertools.count()


STEPS = st.lists(
    st.one_of(st.tuples(st.just("write"), st.sampled_from(["one", "two", "three", "four"])),
              st.tuples(st.just("rollback"), st.integers(min_value=1, max_value=4))),
    min_size=1, max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.sampled_from(["one", "two"]), steps=STEPS)
def test_versions_are_numbered_one_to_n_and_rollback_restores_version_n_minus_k(versioned, first, steps):
    fs, counter = versioned
    path = f"prop/file{next(counter)}.txt"
    fs.overwrite(path, first)
    model = [first]  # model[i] = content of version i + 1
    for kind, arg in steps:
        if kind == "write":
            fs.overwrite(path, arg)
            if arg != model[-1]:  # the same bytes again make no new version
                model.append(arg)
        else:
            if arg >= len(model):
                with pytest.raises(LSFSError):
                    fs.rollback(path, versions=arg)
                continue
            target = model[len(model) - 1 - arg]
            result = fs.rollback(path, versions=arg)
            assert result.target == len(model) - arg
            if target != model[-1]:
                model.append(target)
        history = fs.history(path).versions
        assert [v.n for v in history] == list(range(1, len(model) + 1))
        assert [fs.read(path, version=v.n)[1].decode() for v in history] == model
        assert (fs.root / path).read_text() == model[-1]
