"""The ``lsfs`` command. Each command group lives in its own module and only parses
arguments, calls the Python API and renders the result (text, or ``--json``)."""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(
    name="lsfs",
    help="A semantic file system over an ordinary folder: search, version, roll back, share.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    debug: bool = typer.Option(
        False, "--debug",
        help="Show full tracebacks and log to ROOT/.lsfs/logs/lsfs.log (same as LSFS_LOG=debug).",
    ),
) -> None:
    # main() takes --debug out of the arguments wherever it is; this declares it for --help
    # and for callers that run the typer app directly.
    if debug:
        os.environ.setdefault("LSFS_LOG", "debug")


# Registration order is the order of `lsfs --help`.
from lsfs.cli import indexing, search, files, versions, composite, links, ask, watch, agents, mount, archive, verify  # noqa: E402

for module in (indexing, search, files, versions, composite, links, ask, watch, agents, mount, archive, verify):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: one-line errors on stderr and DESIGN.md's exit codes."""
    from lsfs.errors import LSFSError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
        os.environ.setdefault("LSFS_LOG", "debug")
    code = 0
    try:
        rv = typer.main.get_command(app).main(args=args, prog_name="lsfs", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        _fail("aborted; nothing was changed", 1)
    except typer.TyperException as exc:  # typer's own usage errors (bad option, missing argument)
        ctx = getattr(exc, "ctx", None)
        name = ctx.command_path if ctx is not None else "lsfs"
        _fail(f"{exc.format_message()} (see '{name} --help')", getattr(exc, "exit_code", 2))
    except LSFSError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (e.g. `lsfs grep x | head`): not an error worth a message.
        sys.stderr.close()
        os._exit(0)
    except Exception as exc:  # a bug: say so in one line, full trace with --debug
        if debug:
            import traceback

            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for details)", 1)
    sys.exit(code)


def _fail(message: str, code: int) -> None:
    first = " ".join(str(message).split())
    sys.stderr.write(f"lsfs: error: {first}\n")
    sys.exit(code)
