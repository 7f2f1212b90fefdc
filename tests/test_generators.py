"""Content generators: the registry (built-ins + entry-point plugins), filling empty files on
first read through the write path, the README overlay, and the worked example plugin that
the README's plugin how-to shows."""

from __future__ import annotations

import logging
import os
import socket
import sys
import textwrap

import pytest

from lsfs import LSFS
from lsfs.apis.generate import fill, overlay
from lsfs.errors import BackendUnavailable, OutsideRoot, UserError
from lsfs.generators import README_PATH, registry
from lsfs.plugins import ContentGenerator, load_generators
from lsfs.xattrs import GENERATOR
from tests.conftest import write_tree


# -- the worked example plugin (the README's how-to shows this class) ------------------------
class LicenseGenerator:
    """Fills an empty LICENSE file with the MIT licence text, naming the root's folder."""

    name = "license"

    def can_handle(self, path, context):
        return path.rsplit("/", 1)[-1] == "LICENSE" and context["size"] == 0

    def generate(self, path, context):
        holder = context["root"].name
        return f"MIT License\n\nCopyright (c) {holder}\n".encode()


class BrokenGenerator:
    name = "broken"

    def can_handle(self, path, context):
        return path.endswith(".broken")

    def generate(self, path, context):
        raise RuntimeError("the upstream service said no")


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "proj"
    write_tree(r, {
        "docs/intro.md": "# Intro\n\nThis project parses dates written in plain English.\n",
        "docs/LICENSE": "",
        "docs/notes.broken": "",
        "docs/full.md": "already has content\n",
    })
    with LSFS.init(r) as fs:
        yield fs


def test_the_example_plugin_satisfies_the_protocol():
    assert isinstance(LicenseGenerator(), ContentGenerator)


def test_the_registry_has_the_built_ins_once_each():
    names = [g.name for g in registry()]
    assert names[:2] == ["readme", "llm"]
    assert len(names) == len(set(names))


def test_a_plugin_installed_with_an_entry_point_joins_the_registry(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "example_gen_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "example_gen_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: example-gen-plugin\nVersion: 0.1\n")
    (site / "example_gen_plugin-0.1.dist-info" / "entry_points.txt").write_text(textwrap.dedent("""\
        [lsfs.generators]
        shout = example_gen_plugin:ShoutGenerator
        readme = example_gen_plugin:ShoutGenerator
        """))
    (site / "example_gen_plugin.py").write_text(textwrap.dedent("""\
        class ShoutGenerator:
            name = "shout"
            def can_handle(self, path, context):
                return path.endswith(".shout")
            def generate(self, path, context):
                return path.upper().encode()
        """))
    monkeypatch.syspath_prepend(str(site))
    assert "shout" in [g.name for g in load_generators()]
    names = [g.name for g in registry()]
    assert "shout" in names and names.count("readme") == 1  # a plugin cannot take a built-in's name
    monkeypatch.delitem(sys.modules, "example_gen_plugin", raising=False)


def test_an_empty_file_is_filled_through_the_write_path(root):
    result = fill(root, "docs/LICENSE", [LicenseGenerator()])
    assert result.filled and result.generator == "license" and result.version == 2
    assert (root.root / "docs/LICENSE").read_text() == "MIT License\n\nCopyright (c) proj\n"
    assert [v.cause for v in root.history("docs/LICENSE").versions] == ["initial", "generate"]
    assert [h.path for h in root.keywords_retrieve("MIT License")] == ["docs/LICENSE"]


def test_a_file_with_content_is_never_filled(root):
    result = fill(root, "docs/full.md", [LicenseGenerator(), BrokenGenerator()])
    assert not result.filled and "only empty files" in result.reason
    assert (root.root / "docs/full.md").read_text() == "already has content\n"


def test_a_file_no_generator_accepts_stays_empty(root):
    root.create_or_get_file("docs/other.txt")
    result = fill(root, "docs/other.txt", [LicenseGenerator()])
    assert not result.filled and result.reason == "no generator accepts this file"


def test_the_marker_chooses_the_generator_and_is_removed_once_filled(root):
    root.create_or_get_file("docs/anything.txt")
    root.set_xattr("docs/anything.txt", GENERATOR, b"shout")

    class Shout:
        name = "shout"

        def can_handle(self, path, context):
            return context["marker"] == b"shout"

        def generate(self, path, context):
            return b"HELLO\n"

    assert fill(root, "docs/anything.txt", [LicenseGenerator(), Shout()]).generator == "shout"
    assert GENERATOR not in root.list_xattrs("docs/anything.txt")


def test_a_marker_naming_a_missing_generator_is_not_filled_by_another(root):
    root.set_xattr("docs/LICENSE", GENERATOR, b"no-such-generator")
    result = fill(root, "docs/LICENSE", [LicenseGenerator()])
    assert not result.filled and "no-such-generator" in result.reason
    assert (root.root / "docs/LICENSE").read_bytes() == b""
    assert root.get_xattr("docs/LICENSE", GENERATOR) == b"no-such-generator"


def test_a_failed_generation_changes_nothing_keeps_the_marker_and_logs_why(root, caplog):
    root.set_xattr("docs/notes.broken", GENERATOR, b"broken")
    with caplog.at_level(logging.WARNING, logger="lsfs"), pytest.raises(UserError, match="upstream service said no"):
        fill(root, "docs/notes.broken", [BrokenGenerator()])
    assert (root.root / "docs/notes.broken").read_bytes() == b""
    assert root.get_xattr("docs/notes.broken", GENERATOR) == b"broken"
    assert len(root.history("docs/notes.broken").versions) == 1
    assert "the upstream service said no" in caplog.text and "marker stays" in caplog.text


def test_a_generator_returning_nothing_is_a_failure(root):
    class Empty(LicenseGenerator):
        def generate(self, path, context):
            return b""

    with pytest.raises(UserError, match="produced no content"):
        fill(root, "docs/LICENSE", [Empty()])


def test_a_locked_empty_file_is_not_filled(root):
    root.lock_file("docs/LICENSE")
    with pytest.raises(UserError, match="locked"):
        fill(root, "docs/LICENSE", [LicenseGenerator()])
    assert (root.root / "docs/LICENSE").read_bytes() == b""


def test_fill_refuses_paths_outside_the_root(root):
    with pytest.raises(OutsideRoot):
        fill(root, "../escape", [LicenseGenerator()])


def test_the_context_names_the_folders_other_files_with_snippets(root):
    seen = {}

    class Spy(LicenseGenerator):
        def generate(self, path, context):
            seen.update(context)
            return b"x\n"

    fill(root, "docs/LICENSE", [Spy()])
    siblings = {f["name"]: f["snippet"] for f in seen["folder_files"]}
    assert set(siblings) == {"intro.md", "notes.broken", "full.md"}
    assert "plain English" in siblings["intro.md"]
    assert seen["config"] is not None and seen["root"] == root.root and seen["fs"] is root


def test_the_readme_overlay_lists_files_states_and_versions(root):
    root.overwrite("docs/intro.md", "# Intro\n\nNow it also parses times.\n")
    text = overlay(root, README_PATH).decode()
    assert "- docs/intro.md" in text and "2 version(s)" in text
    assert "indexed" in text and "## Recent changes" in text
    assert not (root.root / ".lsfs/README").exists()  # computed, never stored


def test_an_unknown_virtual_path_has_no_overlay(root):
    assert overlay(root, ".lsfs/NOPE") is None


# -- the llm generator against a real server ----------------------------------------------

def patient_llm(root) -> None:
    """A tiny CPU model on a shared machine can take minutes: give it time (config.toml)."""
    cfg = root / ".lsfs" / "config.toml"
    cfg.write_text(cfg.read_text().replace("llm_timeout = 60.0", "llm_timeout = 600.0"))
    assert "llm_timeout = 600.0" in cfg.read_text()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def test_an_llm_marked_file_is_filled_by_the_real_llm_and_versioned(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv("LSFS_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("LSFS_LLM_MODEL", llm_server.model)
    write_tree(tmp_path / "r", {"recipes/pancakes.md": "Pancakes: flour, eggs, milk. Fry in butter.\n",
                                "recipes/waffles.md": ""})
    LSFS.init(tmp_path / "r").close()
    patient_llm(tmp_path / "r")
    with LSFS.open(tmp_path / "r") as fs:
        fs.set_xattr("recipes/waffles.md", GENERATOR, b"llm")
        result = fs.fill_generated("recipes/waffles.md")
        assert result.filled and result.generator == "llm" and result.size > 0
        assert (tmp_path / "r/recipes/waffles.md").read_bytes().strip()
        assert fs.history("recipes/waffles.md").versions[-1].cause == "generate"


def test_an_unreachable_llm_leaves_the_file_and_marker_for_a_retry(tmp_path, monkeypatch):
    monkeypatch.setenv("LSFS_LLM_BASE_URL", closed_port_url())
    monkeypatch.setenv("LSFS_LLM_MODEL", "none")
    write_tree(tmp_path / "r", {"later.md": ""})
    with LSFS.init(tmp_path / "r") as fs:
        fs.set_xattr("later.md", GENERATOR, b"llm")
        with pytest.raises(BackendUnavailable, match="cannot reach the LLM server.*LSFS_LLM_BASE_URL"):
            fill(fs, "later.md")
        assert (tmp_path / "r/later.md").read_bytes() == b""
        assert fs.get_xattr("later.md", GENERATOR) == b"llm"


def test_no_llm_configured_names_the_setting(root):
    root.create_or_get_file("docs/later.md")
    root.set_xattr("docs/later.md", GENERATOR, b"llm")
    if root._root.config.llm_base_url or root._root.config.llm_api_key:
        pytest.skip("an LLM is configured in this environment")
    with pytest.raises(BackendUnavailable, match="no LLM is configured; set LSFS_LLM_BASE_URL"):
        fill(root, "docs/later.md")


# -- --debug / LSFS_LOG=debug ---------------------------------------------------------------

def test_debug_writes_a_log_under_dot_lsfs_logs(root, cli):
    root.close()
    r = cli("--debug", "status", "--root", str(root.root))
    assert r.code == 0, r.err
    log = root.root / ".lsfs/logs/lsfs.log"
    assert "status --root" in log.read_text()


def test_lsfs_log_debug_writes_the_same_log(root, cli):
    root.close()
    r = cli("status", "--root", str(root.root), env={"LSFS_LOG": "debug"})
    assert r.code == 0, r.err
    assert "DEBUG" in (root.root / ".lsfs/logs/lsfs.log").read_text()


def test_without_debug_nothing_is_logged(root, cli):
    root.close()
    r = cli("status", "--root", str(root.root), env={"LSFS_LOG": ""})
    assert r.code == 0, r.err
    assert not os.path.exists(root.root / ".lsfs/logs")


def test_fill_through_a_running_owner_returns_the_same_result_and_errors(tmp_path, monkeypatch):
    from lsfs import owner
    from lsfs.apis.generate import FillResult
    from supervisor import Supervisor

    for k in ("LSFS_LLM_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(k, raising=False)
    write_tree(tmp_path / "r", {"full.md": "content\n", "later.md": ""})
    LSFS.init(tmp_path / "r").close()
    sup = Supervisor(tmp_path / "r", quiet=0.05)
    sup.start()
    try:
        with owner.connect(tmp_path / "r") as remote:
            result = fill(remote, "full.md")
            assert isinstance(result, FillResult) and not result.filled
            remote.set_xattr("later.md", GENERATOR, b"llm")
            with pytest.raises(BackendUnavailable, match="LSFS_LLM_BASE_URL"):
                fill(remote, "later.md")
            assert remote.get_xattr("later.md", GENERATOR) == b"llm"
            assert b"- full.md" in remote.overlay(README_PATH)
    finally:
        sup.stop()
