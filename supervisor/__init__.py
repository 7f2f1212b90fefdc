"""The supervisor: keeps a root's index and versions in sync with its folder, and owns
the root while it runs (``lsfs watch``). Faces import it; ``lsfs`` itself never does."""

from supervisor.daemon import Supervisor

__all__ = ["Supervisor"]
