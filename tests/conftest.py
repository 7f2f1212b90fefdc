import pytest


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """A real OpenAI-compatible server on loopback (SmolLM2-135M via llama_cpp.server),
    shared by every test in the session: ``(base_url, model, startup_s)``."""
    try:
        from tests import llm_server as server
    except ImportError:  # tests/ itself on sys.path (pytest's default "prepend" import mode)
        import llm_server as server

    missing = server.missing_packages()
    if missing:
        pytest.skip(f"the test LLM server needs: {', '.join(missing)} (pip install)")
    proc, info = server.start(tmp_path_factory.mktemp("llm") / "server.log")
    try:
        yield info
    finally:
        server.stop(proc)
