"""Asking an LLM for a plan, and distrusting the answer.

The LLM sees the plan table and answers in a JSON schema whose ``api`` is an enum of the
table's names, so even a free-text fallback cannot name anything else. Its answer then passes
the same ``validate_plan`` as the offline parser's, plus checks that only an LLM needs:

* a destructive api is accepted only when the sentence itself (outside quotes) has a verb
  that asks for it, so text inside a file or a quote cannot talk the LLM into deleting;
* the api must fit the sentence's own leading verb when it has one ("share x.md" is a link);
* names, folders, keywords and texts must come from the sentence, and a query must share
  most of its words with it: a small model that echoes its prompt's example is caught;
* what the user said outright and the rules found (a count, a folder, keywords, a summary
  step) must survive in the LLM's plan;
* a path argument that leaves the root ("..", absolute) must appear verbatim in the sentence.

The last four were added after measuring: SmolLM2-135M, answering in schema, got 2 of 37
held-out sentences right because its answers were well-formed but about something else.

One invalid answer is sent back with the error; a second invalid answer, or an unreachable
server, returns ``None`` and the caller answers with the rules.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from typing import TYPE_CHECKING, Callable, Literal, Sequence

from pydantic import BaseModel, ConfigDict

from lsfs.errors import BackendUnavailable
from lsfs.parser.plan import API_ARGS, APIS, Plan, PlanError, validate_plan
from lsfs.parser.text import lift_quotes

if TYPE_CHECKING:
    from lsfs.llm import LLMClient

log = logging.getLogger("lsfs.parser")


class PlanArgs(BaseModel):
    """Every argument any api takes; ``validate_plan`` checks which belong to the chosen api."""

    model_config = ConfigDict(extra="forbid")

    query: str | None = None
    keywords: list[str] | None = None
    mode: Literal["all", "any"] | None = None
    k: int | None = None
    dir: str | None = None
    name: str | None = None
    names: list[str] | None = None
    content: str | None = None
    since: str | None = None
    versions: int | None = None
    date: str | None = None
    expires: str | None = None
    into: str | None = None
    key_text: str | None = None
    source: str | None = None
    language: str | None = None


class PlanModel(BaseModel):
    """The LLM's answer: one api from the table and its arguments."""

    # An echoed "destructive" (it is in the plan JSON users see) is ignored, never trusted:
    # ``validate_plan`` computes it.
    model_config = ConfigDict(extra="ignore")

    api: Literal[APIS]  # type: ignore[valid-type]
    args: PlanArgs


_TABLE = "\n".join(f"- {api}: {', '.join(args)}" for api, args in API_ARGS.items())

SYSTEM_PROMPT = f"""You turn one command about the user's files into one API call.
Answer with a JSON object {{"api": ..., "args": {{...}}}} and nothing else.
APIs and their args:
{_TABLE}
Meaning: semantic_retrieve finds files by topic; keywords_retrieve by exact words (mode "all"
or "any"); integrated_retrieve by topic and words; retrieve_summary finds files and summarises
each; summarize summarises one named file; change_summary summarises a file's changes
(content = new text to write first, if given); changes lists recent changes in the root;
history lists a file's versions; rollback restores a file (versions = how many back, or date);
link makes a share link; create_or_get_file creates or opens a file; add_ appends content;
overwrite replaces content; del_ deletes a file by name, or files in dir containing key_text;
lock_file/unlock_file block or allow edits; group_semantic/group_keywords move matching files
into a folder; file_join joins files (names) into one; create imports a folder (source) into
dir; translate writes a translation.
Rules: leave out args the sentence does not give. k and versions are integers. keywords and
names are lists of strings. Durations (since, expires) are ISO 8601 like "P3M", "P1D",
"PT48H"; expires null means never. date is "YYYY-MM-DD". Keep file and folder names exactly
as the user wrote them. Today is {{today}}.
Examples:
"find 2 papers about LLM uncertainty" -> {{"api": "semantic_retrieve", "args": {{"query": "LLM uncertainty", "k": 2}}}}
"files containing 'GPU' or 'CUDA' in notes/" -> {{"api": "keywords_retrieve", "args": {{"keywords": ["GPU", "CUDA"], "mode": "any", "dir": "notes"}}}}
"roll back report.md by 2 versions" -> {{"api": "rollback", "args": {{"name": "report.md", "versions": 2}}}}
"share cnn.md for 3 months" -> {{"api": "link", "args": {{"name": "cnn.md", "expires": "P3M"}}}}"""

# Verbs a sentence must contain (outside quotes) before an LLM may pick a destructive api.
_CONSENT = {
    "del_": r"delet|remov|\brm\b|eras|trash|discard|wip|purg|drop|destroy|get\s+rid|clean|"
            r"clear|throw|nuke|scrap|\bbin\b",
    "overwrite": r"overwrit|replac|rewrit|\bset\b|chang|updat|edit|modif|writ|sav|fill|"
                 r"substitut|swap|clear|empty",
    "rollback": r"roll|revert|restor|undo|go\s+back|reset|bring\s+back|recover|\bback\b",
    "group_semantic": r"group|organi|cluster|categori|gather|collect|sort|bundle|\bfile\b|mov|"
                      r"\bput\b|place|relocat|arrang|classif",
    "lock_file": r"lock|freez|protect|read[- ]?only|immutable|prevent|block|nobody|no\s+one",
    "file_join": r"join|merg|combin|concat|stitch|append|together|fuse|unite|consolidat",
    "change_summary": r"overwrit|replac|rewrit|\bset\b|chang|updat|edit|modif|writ|append|add",
}
_CONSENT["group_keywords"] = _CONSENT["group_semantic"]
_PATH_ARGS = ("name", "dir", "into")
PLAN_MAX_TOKENS = 200


def _check_consent(sentence: str, plan: Plan) -> None:
    if not plan.destructive:
        return
    bare, _ = lift_quotes(sentence)
    bare = re.sub(r"«\d+»", " ", bare)
    pattern = _CONSENT.get(plan.api)
    if pattern and not re.search(pattern, bare, re.IGNORECASE):
        raise PlanError(f"the sentence does not ask to {plan.api}; choose a non-destructive api "
                        f"unless the user's own words ask for it")


def _check_verb(sentence: str, plan: Plan) -> None:
    from lsfs.parser.offline import head_verb
    from lsfs.parser.vocab import HEAD_APIS

    found = head_verb(sentence)
    if found and plan.api not in HEAD_APIS[found[0]]:
        family, verb = found
        raise PlanError(f"the sentence starts with {verb!r}, which asks for "
                        f"{' or '.join(sorted(HEAD_APIS[family]))}, not {plan.api}")


_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "and", "for", "with", "from", "that", "this", "about", "into", "all", "any"}


def _grounded(value: str, sentence: str, names: Sequence[str]) -> bool:
    low = sentence.lower()
    v = value.lower().strip().strip("/")
    if not v or v in low or any(v == n.lower().strip("/") for n in names):
        return True
    stem = v.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return bool(stem) and stem in low


def _check_grounding(sentence: str, plan: Plan, names: Sequence[str]) -> None:
    """Every name, folder, keyword and text in the plan must come from the sentence (or be a
    path the root holds), and a query must share most of its words with the sentence: a
    model that echoes its prompt's example, or invents a file, is caught here."""
    args = plan.args
    values = [args.get(a) for a in ("name", "into", "dir", "source", "key_text", "content")]
    values += list(args.get("names") or []) + list(args.get("keywords") or [])
    for value in values:
        if isinstance(value, str) and not _grounded(value, sentence, names):
            raise PlanError(f"{value!r} is not in the sentence; use the user's own words")
    query = args.get("query")
    if isinstance(query, str):
        said = {w[:4] for w in _WORD.findall(sentence.lower())}
        words = [w for w in _WORD.findall(query.lower()) if len(w) > 2 and w not in _STOP]
        if words and sum(w[:4] in said for w in words) * 4 < len(words) * 3:
            raise PlanError(f"the query {query!r} is not what the sentence asks about")


_SUMMARIES = {"summarize", "retrieve_summary", "change_summary"}


def _check_kept(plan: Plan, rules: Plan | None) -> None:
    """What the user said outright, and the rules therefore found (a count, a folder, words
    to match, a summary step), must not be lost by the LLM's plan."""
    if rules is None:
        return
    takes = API_ARGS[plan.api]
    if rules.api in _SUMMARIES and plan.api not in _SUMMARIES:
        raise PlanError("the sentence asks for a summary; use summarize, retrieve_summary or "
                        "change_summary")
    for arg, what in (("keywords", "words the files must contain"), ("k", "how many results"),
                      ("dir", "the folder to look in")):
        said = rules.args.get(arg)
        if said and (arg not in takes or plan.args.get(arg) is None):
            raise PlanError(f"the sentence gives {what} ({said!r}); keep it in the plan")


def _check_paths(sentence: str, plan: Plan) -> None:
    values = [plan.args.get(a) for a in _PATH_ARGS] + list(plan.args.get("names") or [])
    for value in values:
        if not isinstance(value, str):
            continue
        escapes = value.startswith(("/", "~", "\\")) or ".." in re.split(r"[/\\]", value)
        if escapes and value not in sentence:
            raise PlanError(f"{value!r} leaves the root and is not in the sentence; use the "
                            f"names the user wrote")


def plan_with_llm(
    sentence: str,
    *,
    llm: "LLMClient",
    today: _dt.date,
    names: Sequence[str] = (),
    exists: Callable[[str], bool],
) -> Plan | None:
    """A validated plan from the LLM, or ``None`` when the caller should use the rules."""
    from lsfs.errors import UserError
    from lsfs.llm import LLMOutputError
    from lsfs.parser import parse_offline

    try:  # the rules' reading, to check that the LLM keeps what the user said outright
        rules = parse_offline(sentence, today=today, names=names, exists=exists)
    except UserError:
        rules = None
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT.replace("{today}", today.isoformat())},
        {"role": "user", "content": sentence},
    ]
    for attempt in (1, 2):
        raw = ""
        try:
            # A plan is a few dozen tokens; the cap stops a small model that rambles
            # inside a JSON string from holding the CLI for a minute.
            answer = llm.structured(messages, PlanModel, max_tokens=PLAN_MAX_TOKENS)
            raw = answer.model_dump_json(exclude_none=True)
            args = answer.args.model_dump(exclude_none=True)
            plan = validate_plan(answer.api, args, today=today, exists=exists)
            _check_consent(sentence, plan)
            _check_verb(sentence, plan)
            _check_grounding(sentence, plan, names)
            _check_kept(plan, rules)
            _check_paths(sentence, plan)
            plan.source = "llm"
            return plan
        except BackendUnavailable as exc:
            log.info("LLM unavailable, using the offline parser: %s", exc)
            return None
        except (LLMOutputError, PlanError) as exc:
            raw = getattr(exc, "raw", "") or raw
            log.info("LLM plan rejected (attempt %d): %s", attempt, exc)
            messages = messages + [
                {"role": "assistant", "content": raw or "{}"},
                {"role": "user", "content": f"That answer is invalid: {exc}. Reply again with "
                                            f"one corrected JSON object "
                                            f"{json.dumps({'api': '...', 'args': {}})}."},
            ]
    return None
