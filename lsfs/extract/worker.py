"""The helper process of ``lsfs.extract.bounded``: read requests, parse, answer."""

from __future__ import annotations

import pickle
import resource
import struct
import sys


def _parsers() -> dict:
    from lsfs.extract import pdf

    return {"pdf": pdf.extract_here}


def main() -> None:
    from lsfs.extract import ExtractFailed, Skip
    from lsfs.extract.bounded import MEMORY_LIMIT

    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass
    parsers = _parsers()
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        (size,) = struct.unpack(">Q", head)
        kind, data = pickle.loads(inp.read(size))
        try:
            answer = ("ok", parsers[kind](data))
        except Skip as exc:
            answer = ("skip", str(exc))
        except ExtractFailed as exc:
            answer = ("failed", str(exc))
        except MemoryError:
            answer = ("failed", f"{kind} needs too much memory to read")
        except RecursionError:
            answer = ("failed", f"unreadable {kind}: its structure nests without end")
        except Exception as exc:  # a third-party parser may raise anything on a bad file
            answer = ("failed", f"unreadable {kind}: {type(exc).__name__}: {exc}"[:300])
        blob = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(struct.pack(">Q", len(blob)) + blob)
        out.flush()


if __name__ == "__main__":
    main()
