"""LSFS: a semantic file system over an ordinary folder.

    from lsfs import LSFS
    with LSFS.open("~/papers") as fs:
        for hit in fs.search("LLM uncertainty", k=2):
            print(hit.path, hit.score)

Importing ``lsfs`` is cheap; the model and Chroma load on first use.
"""

__version__ = "0.1.0"

__all__ = ["LSFS", "Hit", "__version__"]


def __getattr__(name):
    # Lazy so that ``import lsfs`` (and the CLI's --help) stays fast.
    if name in ("LSFS", "Hit"):
        from lsfs import api

        return getattr(api, name)
    raise AttributeError(name)
