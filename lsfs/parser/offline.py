"""The rule-based parser: a sentence to a plan with no LLM.

Two steps. ``_intent`` decides what is asked, mostly from the leading verb once polite
wrapping is gone ("delete …", "find …", "roll back …"), and, when the verb says little
("show", "give me", "what …"), from cue words in the part of the sentence before its topic:
"show papers about version history" is a search, not a history request, because "history"
sits inside the topic. Then one extractor per api family (``arguments.py``) pulls the
values, helped by ``topic.py`` (topic, keyword clause, file name) and ``text.py`` (quotes,
counts, folders, keyword lists).

Anything the rules cannot place raises ``UserError``; a destructive api is only chosen when
its verb is the sentence's own verb, never from a word inside a topic or a quote.
"""

from __future__ import annotations

import datetime as _dt
import re

from lsfs.errors import UserError
from lsfs.parser.arguments import HANDLERS
from lsfs.parser.text import (
    DIRWORD,
    OBJ,
    PLURAL,
    Ctx,
    NameIndex,
    lift_quotes,
    strip_politeness,
)
from lsfs.parser.topic import command_part, mask_files, unknown_sentence
from lsfs.parser.vocab import (
    CHANGE_WORD,
    CONNECTOR_RE,
    FOR_TOPIC_RE,
    GENERIC_HEAD,
    HEAD_RES,
    KEYWORD_CUE_RE,
    LANG,
    SUMMARY_CLAUSE,
    SUMMARY_WORD,
    THEN_DELETE,
    THEN_GROUP,
)


def parse_sentence(sentence: str, *, today: _dt.date, names=()) -> tuple[str, dict]:
    """``(api, args)`` for a sentence, or ``UserError`` when no rule fits."""
    if not sentence or not sentence.strip():
        raise UserError("the sentence is empty; say what to do, e.g. 'find papers about X'")
    text, quotes = lift_quotes(sentence.strip())
    text = strip_politeness(text)
    ctx = Ctx(text=text, quotes=quotes, index=NameIndex.build(names), today=today)
    family = _intent(ctx)
    if family is None:
        family = _later_clause(ctx)
    if family is None:
        raise unknown_sentence(sentence)
    try:
        return HANDLERS[family](ctx)
    except UserError:
        # "I'm writing a report on X, find me relevant docs": the first verb was context
        first = ctx.text
        family = _later_clause(ctx)
        if family is None or ctx.text == first:
            raise
        return HANDLERS[family](ctx)


def head_verb(sentence: str) -> tuple[str, str] | None:
    """``(family, verb)`` when the sentence opens with a command verb ("share", "delete"),
    after polite wrapping; ``None`` when its intent rests on weaker cues."""
    text, _ = lift_quotes(sentence.strip())
    text = strip_politeness(text)
    for family, rx in HEAD_RES:
        m = rx.match(text)
        if m:
            return family, m.group(0)
    return None


def _later_clause(ctx: Ctx) -> str | None:
    """"I messed up todo.md, restore it to yesterday": the command is a later clause and
    "it" is the file named before. Rewrites ``ctx.text`` to that clause when one fits."""
    parts = re.split(r"\s*[,;]\s*|\s+(?:so|and\s+then|then)\s+", ctx.text)
    for i in range(1, len(parts)):
        clause = parts[i]
        if not any(rx.match(clause) for _, rx in HEAD_RES):
            continue
        earlier = ctx.files(" ".join(parts[:i]))
        if earlier:
            clause = re.sub(r"\b(?:it|this(?:\s+file)?|that(?:\s+file)?)\b", earlier[-1][0],
                            clause, count=1, flags=re.I)
        ctx.text = clause
        return _intent(ctx)
    return None


def _intent(ctx: Ctx) -> str | None:
    text = ctx.text
    for family, rx in HEAD_RES:
        if rx.match(text):
            return _refine(family, ctx)
    cmd = command_part(text)
    generic = bool(GENERIC_HEAD.match(text))
    files = ctx.files(cmd)
    cmd = mask_files(ctx, cmd)
    if re.search(r"\b(?:link|url)\b", cmd, re.I) and files:
        return "link"
    if re.search(rf"\btranslat|\b{LANG}\s+(?:version|translation)\b", cmd, re.I):
        return "translate"
    if re.search(r"\bread[- ]?only\b", cmd, re.I) and files:
        return "lock"
    if re.search(r"\b(?:history|versions|revisions|previous\s+copies|version\s+log)\b", cmd, re.I) \
            or re.search(r"\bwhen\s+(?:was|did)\b.*\b(?:modif|chang|edit|updat)", cmd, re.I):
        return "history"
    if CHANGE_WORD.search(cmd) and not re.search(rf"\b{OBJ}\s+(?:about|on)\b", text, re.I):
        return "change_summary" if files else "changes"
    if re.search(rf"\b{SUMMARY_WORD}", cmd, re.I):
        return "summary"
    if re.match(rf"^what\s+do(?:es)?\s+(?:the|my|our)\s+.*\b{OBJ}\b.*\bsay\b", text, re.I):
        return "summary"  # "what does the paper about transformers say"
    if files and re.search(r"^(?:tell\s+me\s+)?(?:what(?:'s|\s+is)\s+(?:in\s+)?|what\s+does\s+)",
                           text, re.I) and \
            re.search(r"\b(?:about|say|says|in)\b", text, re.I):
        return "summary"
    if re.search(rf"\b{OBJ}\b",
                 cmd, re.I) or CONNECTOR_RE.search(text) or KEYWORD_CUE_RE.search(text):
        if CONNECTOR_RE.search(text) or KEYWORD_CUE_RE.search(text) or FOR_TOPIC_RE.search(text) \
                or re.search(rf"\b{PLURAL}\b", cmd, re.I):
            return "retrieve"
    if files and (generic or len(text.split()) <= 2):
        return "get"
    if re.match(r"^(?:anything|something|stuff|everything|material|info|information)\b",
                text, re.I):
        return "retrieve"
    return None


def _refine(family: str, ctx: Ctx) -> str:
    """Second look for heads whose verb serves two intents."""
    text = ctx.text
    if family in ("write", "add") and re.search(
            rf"\b(?:and|then)\s+(?:then\s+)?(?:{SUMMARY_WORD}|tell\s+me|show\s+(?:me\s+)?|"
            rf"explain|describe|list)\b.*\b(?:chang|diff|what)", text, re.I):
        return "change_summary"
    if family == "write" and re.search(r"\b(?:at|to)\s+the\s+end\b|\bappend", text, re.I):
        return "add"
    if family == "add" and len(ctx.files()) >= 2 and not ctx.quotes and \
            re.match(r"^append\w*\s+\S+\s+(?:to|onto)\s+\S+$", text, re.I):
        return "append_file"
    if family == "add" and re.search(r"\b(?:link|url)\b", text, re.I):
        return "link"
    if family == "group":
        files = ctx.files()
        # "put 'remember the keys' in reminders.md" adds text to a file
        if ctx.quotes and files and re.match(r"^(?:put|place|stick)\b", text, re.I) and \
                not KEYWORD_CUE_RE.search(text) and not re.search(rf"\b{DIRWORD}\b", text, re.I):
            return "add"
        if re.match(r"^(?:mov|put|place|relocat)", text, re.I) and files and \
                not KEYWORD_CUE_RE.search(text) and not CONNECTOR_RE.search(text):
            raise UserError("moving a single file is not an LSFS command; move it with your "
                            "file manager (LSFS notices), or group files by topic: "
                            "'group papers about X into folder Y'")
    if family == "create" and re.search(r"\b(?:link|url)\b", text, re.I):
        return "link"
    if family == "retrieve":
        if re.search(r"\b(?:file|document|doc|note|paper)\s+(?:called|named|titled)\s", text, re.I):
            return "get"  # "find the document named cnn" asks for one file by name
        if THEN_DELETE.search(text):
            return "delete"
        if THEN_GROUP.search(text):
            return "group"
        if SUMMARY_CLAUSE.search(text):
            return "summary"
    return family
