"""What a sentence is about and which file it names: the topic of a search, its keyword
clause, its count and folder, and the file a command acts on."""

from __future__ import annotations

import re

from lsfs.errors import UserError
from lsfs.parser.text import (
    COUNT,
    MARK_RE,
    NAME,
    OBJ,
    PLURAL,
    Ctx,
    clean_dir,
    cut,
    find_count,
    find_dir,
    split_terms,
)
from lsfs.parser.vocab import CONNECTOR, CONNECTOR_RE, FOR_TOPIC_RE, KEYWORD_CUE_RE


def unknown_sentence(sentence: str) -> UserError:
    return UserError(
        f"could not understand {sentence.strip()!r}; rephrase it as a command (e.g. 'find "
        f"papers about X', 'delete notes.md'), or search directly: lsfs search \"…\"")


def command_part(text: str) -> str:
    m = CONNECTOR_RE.search(text)
    return text[: m.start()] if m else text


def mask_files(ctx: Ctx, text: str) -> str:
    """``text`` with each file reference replaced by ``FILE`` (so "notes/todo.md" does not
    read as the plural noun "notes")."""
    for _, (start, end) in reversed(ctx.files(text)):
        text = text[:start] + "FILE" + text[end:]
    return text


def named_in_root(ctx: Ctx, text: str) -> str | None:
    for word in re.findall(r"[\w][\w.-]*", text):
        if ctx.index.is_file(word):
            return word
    return None


_OBJ_STRIP = re.compile(
    rf"^(?:(?:all|any|every|each|some|the|my|our|these|those|me|us|a|an|of|few|single)\s+)*"
    rf"(?:{COUNT}\s+)?(?:(?:most|best|top|closest)(?:\s+(?:relevant|similar|related|"
    rf"matching))?(?:\s+|$))?(?:{OBJ}\s*)?", re.I)
_VERB_STRIP = re.compile(
    r"^(?:find\w*|s[ea]{1,2}r?ch\w*|serch\w*|searhc\w*|look\w*(?:\s+(?:for|up|through|into))?|"
    r"locat\w*|retriev\w*|fetch\w*|grep\w*(?:\s+for)?|query|dig\s+up|hunt\w*(?:\s+for)?|"
    r"seek\w*|scan\w*(?:\s+for)?|lookup|browse|pull\s+up|bring\s+up|track\s+down|check\s+for|"
    r"identify|discover|surface|show\w*|list\w*|display\w*|give|get|tell|fetch|return|"
    r"what|which|where|are\s+there|is\s+there|do\s+(?:i|we|you)\s+have|have|see|view|"
    r"need|want|i\s+want|i\s+need|pull|any)\b\s*(?:for\s+)?(?:me\s+|us\s+)?(?:for\s+)?", re.I)
_TAIL_JUNK = re.compile(
    r"(?:[\s,]+(?:please|thanks|thank\s+you|for\s+me|in\s+(?:here|lsfs|the\s+index)|"
    r"i\s+(?:have|saved|wrote|keep)|(?:do\s+)?we\s+have|(?:do\s+)?i\s+have|you\s+(?:have|know)|"
    r"(?:that\s+)?(?:i|we)\s+(?:have|own|stored|saved)|there\s+are|are\s+there|"
    r"(?:stored|saved|kept)\s+here|if\s+any)|[\s,.;:!?]+)$", re.I)
_LEAD_JUNK = re.compile(r"^(?:the|a|an|some|any|my|our|this|that|these|those|of|for|on|about|"
                        r"with)\s+", re.I)


def _clean_topic(ctx: Ctx, text: str) -> str | None:
    text = text.strip(" ,.;:!?")
    for _ in range(3):
        text = _TAIL_JUNK.sub("", text).strip()
        text = _LEAD_JUNK.sub("", text).strip()
        text = re.sub(rf"\s+{PLURAL}$", "", text, flags=re.I).strip() if len(text.split()) > 1 \
            else text
    text = ctx.unmark(text).strip(" ,.;:!?\"'")
    if not text or re.fullmatch(rf"(?:{OBJ}|anything|something|everything|stuff|things?|"
                                rf"them|it|those|these|all|one|ones)", text, re.I):
        return None
    if all(w in _NOT_A_TOPIC for w in re.findall(r"[\w']+", text.lower())):
        return None  # "how many files do I have": no subject to search for
    return text


# Words that cannot make a search topic on their own.
_NOT_A_TOPIC = {"how", "many", "much", "what", "which", "who", "where", "when", "why", "do",
                "does", "i", "we", "you", "have", "has", "is", "are", "there", "can", "relevant",
                "related", "similar", "useful", "good", "matching", "the", "a", "an", "some",
                "any", "me", "my", "it", "them", "all", "more", "other", "else"}


def topic_of(ctx: Ctx, text: str) -> str | None:
    """The semantic query of a retrieval-like sentence, with command words removed."""
    text = text.strip()
    m = CONNECTOR_RE.search(text)
    f = FOR_TOPIC_RE.search(text)
    if f and (not m or f.start() < m.start()):
        return _clean_topic(ctx, text[f.end():])
    if m:
        before = text[: m.start()]
        # "papers on X" and "summarize what my notes say about X": the connector follows
        # command words; a connector deep inside a topic ("attention on GPUs") is kept
        if not before.strip() or _looks_like_command(before):
            after = text[m.end():]
            # "tell me about the files on X": the first topic is itself a command phrase
            if re.match(rf"^\s*(?:the\s+|my\s+|our\s+|any\s+)?{OBJ}\s+{CONNECTOR}\s", after, re.I):
                return topic_of(ctx, after)
            return _clean_topic(ctx, after)
    stripped = _VERB_STRIP.sub("", text, count=1)
    stripped = _OBJ_STRIP.sub("", stripped, count=1)
    stripped = re.sub(r"^(?:(?:that|which)\s+(?:is|are)\s+)?(?:for|on|about|to)\s+", "", stripped,
                      flags=re.I)
    return _clean_topic(ctx, stripped)


def _looks_like_command(before: str) -> bool:
    rest = re.sub(r"^(?:i|we)\s+(?:remember|recall|think|know|saw|read|wrote|had|once\s+saw)\s+"
                  r"(?:(?:that\s+)?there\s+(?:is|was|are|were)\s+)?", "", before.strip(),
                  flags=re.I)
    rest = _VERB_STRIP.sub("", rest, count=1)
    rest = re.sub(r"^(?:are|is|were|was|do|does|did)\s+", "", rest, flags=re.I)
    rest = _OBJ_STRIP.sub("", rest, count=1).strip(" ,")
    rest = re.sub(r"^(?:(?:what|that|which)\s+)?(?:(?:my|the|our)\s+)?(?:\w+\s+)?"
                  r"(?:say|says|said|have|has|(?:are|is|were|was)?\s*written)?\s*$", "", rest,
                  flags=re.I).strip()
    rest = re.sub(r"^(?:(?:do|does|did)\s+(?:i|we|you)\s+(?:have|keep|own|got)|(?:have|did)\s+"
                  r"(?:i|we)\s+(?:got|written|write|saved|stored|kept|noted|collected|wrote)|"
                  r"is\s+there|are\s+there)\b\s*", "", rest, flags=re.I).strip()
    rest = re.sub(r"^(?:anything|something|everything|stuff|things|info|information|research|"
                  r"literature|content|writing|work|material|what|me|more|ideas|thoughts)\b\s*",
                  "", rest, flags=re.I).strip()
    return not rest


def count_and_dir(ctx: Ctx, text: str):
    d, span = find_dir(text, ctx.index)
    text = cut(text, span)
    k, kspan = find_count(text)
    if kspan is not None:
        text = text[: kspan[0]] + text[kspan[1]:]
        text = " ".join(text.split())
        text = re.sub(r"\b(?:top|first)\b\s*(?=[,.;:!?]|$|" + OBJ + r")", "",
                      text.strip(), flags=re.I)
        text = re.sub(r",\s*$", "", text.strip())
    return text, k, (clean_dir(ctx.unmark(d)) if d else None)


def split_keyword_clause(ctx: Ctx, text: str):
    """Split off a keyword clause: ``(rest_of_text, keywords or None, mode)``."""
    m = KEYWORD_CUE_RE.search(text)
    if not m:
        return text, None, "all"
    tail = text[m.end():]
    stop = re.search(r"\s+(?:and\s+|but\s+)?(?:(?:that|which)\s+(?:are|is)\s+)?"
                     r"(?:about|related\s+to|regarding|on\s+the\s+topic\s+of)\b|\s+then\b|"
                     r"\s+(?:for|in)\s+(?:the\s+)?(?:folder|directory)\b|,\s*(?:top|limit)\b",
                         tail, re.I)
    terms_text = tail[: stop.start()] if stop else tail
    rest = text[: m.start()] + " " + (tail[stop.start():] if stop else "")
    lead = re.search(r"\b(?:all|both)\s*$", text[: m.start()], re.I)
    terms, mode = split_terms(terms_text, ctx.quotes)
    if lead and lead.group(0).lower().startswith("all"):
        rest = text[: lead.start()] + " " + (tail[stop.start():] if stop else "")
    return " ".join(rest.split()), (terms or None), mode


# Words that point at a file without naming it; a plan needs the name itself.
_PRONOUNS = {"it", "them", "this", "that", "these", "those", "everything", "all", "one",
             "the file", "this file", "that file", "file", "something", "anything", "files",
             "everything else", "nothing"}


def file_name(ctx: Ctx, text: str, *, allow_quote: bool = True) -> str | None:
    """The file a command is about: a name with an extension or path, a name the root holds,
    "the file called X", or else the object words themselves ("the report" -> "report")."""
    files = ctx.files(text)
    if files:
        return files[0][0]
    m = re.search(rf"\b(?:file|document|doc|note|paper)\s+(?:called|named|titled)\s+(?P<n>{NAME})",
                  text, re.I)
    if m:
        return ctx.unmark(m.group("n")).strip(".,;:!?")
    if allow_quote and MARK_RE.search(text):
        return ctx.quote_in(text)
    words = re.sub(r"^(?:(?:the|my|our|this|that|a|an|current|existing)\s+)*", "", text.strip(),
                   flags=re.I)
    words = re.sub(r"^(?:file|document|doc|folder|directory)s?\s+(?:called\s+|named\s+)?", "",
                   words, flags=re.I)
    words = re.split(r"\s+(?:for|to|into|with|from|so|because|by|until|since|as|on|at|and|"
                     r"please|now|again|back|onto|in|of|that|which|who)\b|[,;:!?]", words,
                     flags=re.I)[0]
    words = re.sub(r"\s+(?:file|document|doc|paper)$", "", words.strip(), flags=re.I)
    words = words.strip(" .,'\"")
    if not words or len(words.split()) > 4 or words.lower() in _PRONOUNS:
        return None
    if re.match(rf"^(?:all|every|each|any|both)\b|^{PLURAL}$", words, re.I):
        return None  # "lock all files in secrets/": many files, and a plan names one
    return ctx.unmark(words)
