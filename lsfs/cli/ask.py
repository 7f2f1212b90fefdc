"""lsfs ask, summarize, translate."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lsfs.cli.common import JsonOpt, RootOpt, Timer, YesOpt, confirm, emit_json, open_fs, pick

NameArg = Annotated[str, typer.Argument(help="A path, file name or stem.")]


class _Reasons(logging.Handler):
    """Collects why the LLM's plan was not used, to tell the user in one line."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _llm_for(root: Path | None):
    """The configured LLM client (None when no LLM is set up), from the root's settings."""
    from lsfs import config
    from lsfs.apis.change_summary import configured_llm

    cfg = config.load(root)
    return configured_llm(cfg), cfg.today_date()


def _names(fs) -> list[str]:
    return [f["path"] for f in fs.status(files=True).get("file_states", [])]


def _plan(sentence: str, fs, root: Path | None):
    """Parse with the LLM when one is configured, else (or when it fails) with the rules;
    say on stderr when an LLM was configured but the rules answered."""
    from lsfs.parser import parse

    llm, today = _llm_for(root)
    names = _names(fs) if fs is not None else []
    reasons = _Reasons()
    logger = logging.getLogger("lsfs.parser")
    old_level = logger.level
    logger.addHandler(reasons)
    if llm is not None:
        logger.setLevel(logging.INFO)
    try:
        plan = parse(sentence, llm=llm, today=today, names=names)
    finally:
        logger.removeHandler(reasons)
        logger.setLevel(old_level)
    if llm is not None and plan.source != "llm":
        why = reasons.messages[-1] if reasons.messages else "no usable answer"
        typer.echo(f"lsfs: note: the LLM's plan was not used ({' '.join(why.split())}); "
                   f"the offline parser answered", err=True)
    return plan


def _root_path(fs, root: Path | None) -> Path | None:
    return Path(fs.root) if fs is not None else root


def _dry_run(sentence: str, root: Path | None, json_out: bool) -> None:
    from lsfs.apis.execute import describe, needs_confirmation
    from lsfs.errors import UserError

    fs = None
    try:
        from lsfs.api import LSFS

        fs = LSFS.open(root, readonly=True)  # catalog only: names for the parser, no lock
    except UserError:
        if root is not None:
            raise
        fs = None  # outside any root: parse without file names
    try:
        plan = _plan(sentence, fs, _root_path(fs, root))
    finally:
        if fs is not None:
            fs.close()
    if json_out:
        emit_json(plan.to_json())
        return
    typer.echo(describe(plan))
    if needs_confirmation(plan):
        typer.echo("(this needs confirmation: lsfs ask asks first, or run it with --yes)")


def ask(
    sentence: Annotated[str, typer.Argument(help='What to do, in your own words: "find 2 papers about X".')],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the interpreted call; run nothing.")] = False,
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Do what a sentence asks: it is turned into one LSFS call, shown, then run.

    Deleting, overwriting, rolling back, grouping, locking and importing ask for
    confirmation first (--yes skips it; without a terminal they are refused). With an
    LLM configured (LSFS_LLM_BASE_URL) it reads the sentence; otherwise the built-in rules do."""
    from lsfs.apis.execute import RETRIEVALS, describe, execute

    if not sentence.strip():
        from lsfs.errors import UsageError

        raise UsageError('say what to do, e.g. lsfs ask "find 2 papers about LLM uncertainty"')
    if dry_run:
        _dry_run(sentence, root, json_out)
        return
    with open_fs(root) as fs:
        plan = _plan(sentence, fs, Path(fs.root))
        typer.echo(f"→ {describe(plan)}", err=True)
        with Timer() as t:
            outcome = execute(fs, plan)
            if not outcome.done and outcome.needs_confirmation:
                typer.echo(outcome.message, err=True)
                words = describe(plan).split(": ", 1)[1]
                confirm(f"{words[0].upper()}{words[1:]}?", yes)
                outcome = execute(fs, plan, confirm=True, shown=outcome)
    if json_out:
        if outcome.api in RETRIEVALS:
            emit_json({"query": outcome.args.get("query") or outcome.args.get("keywords"),
                       "mode": outcome.api, "took_ms": t.ms, "results": outcome.result,
                       "plan": plan.to_json()})
        else:
            emit_json({"plan": plan.to_json(), "done": outcome.done, "message": outcome.message,
                       "result": outcome.result})
        return
    _render(outcome)


def _render(outcome) -> None:
    from lsfs.apis.execute import RETRIEVALS

    if outcome.api in RETRIEVALS:
        if not outcome.result:
            typer.echo("no matches", err=True)
            return
        for h in outcome.result:
            typer.echo(f"{h['score']:8.4f}  {h['path']}")
            text = h.get("summary") or h.get("snippet") or ""
            if text:
                typer.secho(f"          {text[:400] if 'summary' in h else text[:160]}", dim=True)
        return
    if outcome.api == "summarize":
        typer.echo(f"{outcome.result['path']}:")
        typer.echo(outcome.result["summary"])
        return
    if outcome.api == "history":
        typer.echo(outcome.message)
        for v in outcome.result["versions"]:
            typer.echo(f"{v['n']:>5}  {v['time']}  {v['size']:>8} B  {v['cause']}")
        return
    if outcome.api == "changes" or (outcome.api == "change_summary" and "changes" in (outcome.result or {})):
        rows = outcome.result if outcome.api == "changes" else outcome.result["changes"]
        if not rows:
            typer.echo(outcome.message, err=True)
        for c in rows:
            typer.echo(f"{c['time']}  {c['cause']:<9}  {c['path']}  {c.get('summary') or ''}".rstrip())
        return
    typer.echo(outcome.message)


def summarize(
    name: NameArg,
    offline: Annotated[bool, typer.Option("--offline", help="Extractive summary even when an LLM is configured.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Say in a few sentences what a file is about (an LLM's words when one is configured,
    else the sentences that best represent the whole document, in order)."""
    with open_fs(root, readonly=True) as fs:
        found = fs.summarize(pick(fs, name), offline=offline)
    if json_out:
        emit_json(found.to_dict())
        return
    if found.source.startswith("extractive ("):
        typer.echo(f"lsfs: note: {found.source[len('extractive '):].strip('()')}; extractive summary",
                   err=True)
    typer.echo(found.summary)


def translate(
    name: NameArg,
    to: Annotated[str, typer.Option("--to", help="The language: French, German, ja, …")],
    yes: YesOpt = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Translate a file with the configured LLM into a new file beside it (report.md ->
    report.fr.md), indexed and versioned. Needs an LLM (LSFS_LLM_BASE_URL)."""
    with open_fs(root) as fs:
        rel = pick(fs, name)
        result = fs.translate(rel, to)
        if not result.done:
            confirm(f"{result.path} exists; replace it with a new translation?", yes)
            result = fs.translate(rel, to, confirm=True)
    if json_out:
        emit_json(result.to_dict())
        return
    typer.echo(f"wrote {result.path} ({to} translation of {result.source}, version {result.version})")


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(summarize)
    app.command()(translate)
