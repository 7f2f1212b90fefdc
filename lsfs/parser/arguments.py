"""One extractor per api family: given a sentence whose intent is known, pull the plan's
arguments. Each returns ``(api, args)`` or raises ``UserError`` saying what is missing."""

from __future__ import annotations

import re

from lsfs.errors import UserError
from lsfs.parser.text import (
    COUNT,
    DIRWORD,
    MARK_RE,
    NAME,
    PLURAL,
    Ctx,
    clean_dir,
    cut,
    find_dir,
    find_into,
    split_terms,
)
from lsfs.parser.topic import (
    command_part,
    count_and_dir,
    file_name,
    mask_files,
    named_in_root,
    split_keyword_clause,
    topic_of,
    unknown_sentence,
)
from lsfs.parser.vocab import (
    CHANGE_WORD,
    CONNECTOR_RE,
    KEYWORD_CUE_RE,
    LANG,
    SUMMARY_CLAUSE,
    SUMMARY_WORD,
    THEN_DELETE,
    THEN_GROUP,
)
from lsfs.timeparse import NUMBER_WORDS, search_date, search_duration


def _h_retrieve(ctx: Ctx, text: str | None = None, *, summary: bool = False):
    text = ctx.text if text is None else text
    # "keyword search: a, b" names the mode outright, like grep; "semantic search for X" and
    # "hybrid search for X" only announce what the wording will show anyway
    text = re.sub(r"^(?:semantic|integrated|hybrid)\s+search\w*\s+(?:for\s+)?", "find ", text,
                  flags=re.I)
    grep = re.match(r"^(?:grep\w*|(?:full[- ]text\s+|text\s+|keywords?\s+)search\w*)\s*:?\s*"
                    r"(?:for\s+)?", text, re.I)
    text, k, d = count_and_dir(ctx, text)
    if grep:
        rest = text[grep.end():] if text.lower().startswith(grep.group(0).lower()) else text
        terms, mode = split_terms(rest, ctx.quotes)
        if not terms:
            raise unknown_sentence(ctx.text)
        return ("keywords_retrieve", {"keywords": terms, "mode": mode, "dir": d})
    rest, keywords, mode = split_keyword_clause(ctx, text)
    query = topic_of(ctx, rest) if rest.strip() else None
    if summary:
        if not query and not keywords:
            raise UserError("say what to summarise, e.g. 'summarize the papers about X' or "
                            "'summarize notes.md'")
        return ("retrieve_summary", {"query": query, "keywords": keywords, "k": k, "dir": d})
    if keywords and query:
        return ("integrated_retrieve", {"query": query, "keywords": keywords, "k": k, "dir": d})
    if keywords:
        return ("keywords_retrieve", {"keywords": keywords, "mode": mode, "dir": d})
    if not query:
        raise UserError(f"say what to look for in {ctx.text!r}, e.g. 'find papers about X'; "
                        f"or search directly: lsfs search \"…\"")
    return ("semantic_retrieve", {"query": query, "k": k, "dir": d})


def _h_summary(ctx: Ctx):
    text = ctx.text
    clause = SUMMARY_CLAUSE.search(text)
    if clause and not re.match(rf"^{SUMMARY_WORD}", text, re.I):
        # "find papers about X and summarize them"
        return _h_retrieve(ctx, text[: clause.start()], summary=True)
    if CHANGE_WORD.search(text) and ctx.files():
        return _h_change_summary(ctx)
    body = re.sub(
        rf"^(?:can\s+you\s+)?(?:give\s+(?:me\s+)?|write\s+|make\s+|provide\s+|show\s+(?:me\s+)?|"
        rf"get\s+(?:me\s+)?|i\s+want\s+|need\s+)?(?:an?\s+|the\s+)?(?:short\s+|brief\s+|quick\s+|"
        rf"one[- ]paragraph\s+)*(?:{SUMMARY_WORD}|boil\s+down)\w*\s*(?:of|for|on|about)?\s*"
        rf"(?:what\s+)?", "", text, flags=re.I).strip()
    body = re.sub(r"^(?:what\s+(?:is|'s)\s+(?:in\s+)?|what\s+do(?:es)?\s+)", "", body, flags=re.I)
    body = re.sub(r"\s+(?:say|says|is\s+about|are\s+about)\s*$", "", body, flags=re.I)
    files = ctx.files(body)
    plural = re.search(rf"\b{PLURAL}\b", command_part(mask_files(ctx, body)), re.I)
    if files and not plural and not KEYWORD_CUE_RE.search(body):
        if len(files) > 1:
            raise UserError("summarize one file at a time; you named "
                            f"{', '.join(f for f, _ in files)}")
        return ("summarize", {"name": files[0][0]})
    if not plural and not CONNECTOR_RE.search(body) and not KEYWORD_CUE_RE.search(body):
        name = file_name(ctx, re.sub(r"\s+(?:about|say|says)\s*$", "", body, flags=re.I))
        if name and (len(name.split()) == 1 or ctx.index.is_file(name)):
            return ("summarize", {"name": name})
        named = named_in_root(ctx, body)
        if named:
            return ("summarize", {"name": named})
    return _h_retrieve(ctx, body or text, summary=True)


def _h_change_summary(ctx: Ctx):
    text = ctx.text
    name = file_name(ctx, text, allow_quote=False)
    content = ctx.quote_in(text)
    writes = re.search(r"^(?:overwrit|replac|rewrit|set|chang|updat|edit|modif|writ|append|add)",
                       text, re.I)
    if not writes:
        content = None
    if not name:
        raise UserError("say which file's changes to summarise, e.g. 'summarize the changes "
                        "to report.md'")
    return ("change_summary", {"name": name, "content": content})


def _since(ctx: Ctx, text: str) -> str | None:
    if re.search(r"\b(?:today|this\s+morning|tonight)\b", text, re.I):
        return "P1D"
    found = search_duration(text)
    if found and found[0] is not None and not re.search(r"\bago\b", text[found[1][1]:], re.I):
        return found[0].iso
    dated = search_date(text, ctx.today)
    if dated:
        days = (ctx.today - dated[0]).days
        return f"P{max(days, 1)}D"
    return None


def _h_changes(ctx: Ctx):
    return ("changes", {"since": _since(ctx, ctx.text)})


def _h_history(ctx: Ctx):
    files = ctx.files()
    if files:
        return ("history", {"name": files[0][0]})
    text = ctx.text
    if re.match(r"^(?:when|who)\s+", text, re.I):
        text = re.sub(r"^(?:when\s+(?:was|did)|who\s+(?:has\s+)?\w+)\s+", "", text, flags=re.I)
        text = re.sub(r"\s+(?:last\s+|first\s+)?(?:changed|modified|edited|updated|touched|saved|"
                      r"created|change|modify|edit|update)\b.*$", "", text, flags=re.I)
    else:
        text = re.sub(r"^.*?\b(?:history|versions|revisions|previous\s+copies|version\s+log)\b"
                      r"\s*(?:of|for|on)?\s*", "", text, count=1, flags=re.I)
    name = file_name(ctx, text) if text.strip() else None
    if not name:
        raise UserError("say which file's history to show, e.g. 'history of report.md'")
    return ("history", {"name": name})


_VERSIONS_RES = [
    (re.compile(rf"\b(?P<n>{COUNT}|a|an|one)\s+(?:more\s+)?(?:versions?|revisions?|changes?|"
                rf"edits?|saves?|steps?|updates?)\b(?:\s+(?:back|ago|earlier|before))?",
                    re.I), None),
    (re.compile(rf"\b(?:last|previous|past|latest|recent)\s+(?P<n>{COUNT})\s+(?:changes|edits|"
                rf"versions|revisions|updates|saves)\b", re.I), None),
    (re.compile(rf"\bby\s+(?P<n>{COUNT})\b", re.I), None),
    (re.compile(r"\bversion\s+before\s+(?:the\s+)?last\b|\btwice\b", re.I), 2),
    (re.compile(r"\b(?:last|latest|most\s+recent|previous|prior|earlier|last\s+saved|"
                r"recent)\s+(?:change|edit|version|revision|save|update|modification|state|"
                r"copy)\b|\bonce\b|\bone\s+step\b", re.I), 1),
]


def _h_rollback(ctx: Ctx):
    text = ctx.text
    versions = None
    date = None
    vspan = None
    for rx, fixed in _VERSIONS_RES:
        m = rx.search(text)
        if m:
            if fixed is None:
                n = m.group("n").lower()
                versions = int(n) if n.isdigit() else NUMBER_WORDS.get(n, 1)
            else:
                versions = fixed
            vspan = m.span()
            break
    rest = cut(text, vspan)
    files = ctx.files(rest)
    scan = rest
    for _, span in files:
        scan = scan[: span[0]] + " " * (span[1] - span[0]) + scan[span[1]:]
    dated = search_date(scan, ctx.today)
    if dated is None:
        m = re.search(rf"\b(?:last|past)\s+(?P<n>{COUNT})\s+(?P<u>days?|weeks?|months?)\b",
                      scan, re.I)
        if m:
            dated = search_date(f"{m.group('n')} {m.group('u')} ago", ctx.today)
    if dated and (vspan is None or _names_no_count(text, vspan)):
        date = dated[0].isoformat()
        versions = None
        rest = cut(rest, dated[1])
    body = re.sub(r"^(?:roll\w*[\s-]*back|rollback\w*|revert\w*|restor\w*|undo\w*|un-do|"
                  r"go\s+back|reset\w*|bring\s+back|recover\w*|put\s+back|roll|put|take|bring|"
                  r"set|turn)\s*", "", rest, flags=re.I)
    body = re.sub(r"\s+back\b", " ", body, count=1, flags=re.I)
    body = re.sub(r"^(?:the\s+)?(?:last|latest|previous)?\s*(?:change|edit|update)s?\s+"
                  r"(?:to|on|in|of)\s+", "", body, flags=re.I)
    body = re.sub(r"^(?:(?:on|in|to|for)\s+)", "", body.strip(), flags=re.I)
    name = file_name(ctx, body)
    if not name:
        raise UserError("say which file to roll back, e.g. 'roll back report.md by 2 versions'")
    if versions is None and date is None:
        versions = 1
    return ("rollback", {"name": name, "versions": versions, "date": date})


def _names_no_count(text: str, span) -> bool:
    """In "restore it to a version from 3 days ago", "a version" counts nothing."""
    return bool(re.fullmatch(r"(?:the\s+)?(?:a|an|one)?\s*(?:version|revision|state|copy)",
                             text[span[0]: span[1]].strip(), re.I))


_NEVER_RE = re.compile(r"\b(?:never\s+expir\w*|no\s+expir\w*|without\s+(?:an?\s+)?expir\w*|"
                       r"(?:does\s*n[o']t|doesn't|won't|will\s+not|not)\s+expire|permanent\w*|"
                       r"forever|indefinite\w*|no\s+time\s+limit|unlimited)\b", re.I)


def _h_link(ctx: Ctx):
    text = ctx.text
    expires = None
    scan = text
    for _, span in ctx.files(text):
        scan = scan[: span[0]] + " " * (span[1] - span[0]) + scan[span[1]:]
    if not _NEVER_RE.search(text):
        if re.search(r"\btomorrow\b", scan, re.I):
            expires = "P1D"
        elif re.search(r"\bnext\s+week\b", scan, re.I):
            expires = "P7D"
        else:
            found = search_duration(scan)
            if found and found[0] is not None:
                expires = found[0].iso
            else:
                m = re.search(r"\b(?:until|till|through|expir\w*\s+on|valid\s+until)\s+(.+)$",
                              scan, re.I)
                dated = search_date(m.group(1), ctx.today) if m else None
                if dated and dated[0] > ctx.today:
                    expires = f"P{(dated[0] - ctx.today).days}D"
    body = re.sub(r"^(?:shar\w*|publish\w*|link|links|make|"
                  r"(?:creat|mak|generat|get|giv|send|produc|build|need|want)\w*\s+(?:me\s+)?(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}?"
                  r"(?:link|url))\s*(?:to|for|of|on)?\s*", "", text, flags=re.I)
    name = file_name(ctx, body)
    if not name:
        raise UserError("say which file to share, e.g. 'share report.md for 3 months'")
    return ("link", {"name": name, "expires": expires})


def _h_translate(ctx: Ctx):
    text = ctx.text
    m = re.search(rf"\b{LANG}\b", text, re.I)
    if m:
        language = m.group(0).capitalize()
        rest = cut(text, m.span())
    else:
        m = re.search(r"\b(?:in)?to\s+(?P<l>[A-Za-z][\w-]*)\s*$", text)
        if not m:
            raise UserError("say which language to translate into, e.g. 'translate notes.md "
                            "into French'")
        language = m.group("l").capitalize()
        rest = text[: m.start()]
    rest = re.sub(r"\b(?:in|into|to)\s*$", "", rest.strip(), flags=re.I)
    body = re.sub(r"^(?:translat\w*|convert\w*|render\w*|turn|put|(?:give|get|make|create|produce|"
                  r"write)\w*\s+(?:me\s+)?(?:an?\s+)?(?:version|translation|copy)\s+of)\s*", "",
                  rest.strip(), flags=re.I)
    name = file_name(ctx, body)
    if not name:
        raise UserError("say which file to translate, e.g. 'translate notes.md into French'")
    return ("translate", {"name": name, "language": language})


def _h_lock(ctx: Ctx, api: str = "lock_file"):
    text = ctx.text
    files = ctx.files()
    if files:
        return (api, {"name": files[0][0]})
    body = re.sub(r"^(?:un)?(?:lock\w*|freez\w*|protect\w*|write[- ]protect\w*|unfreez\w*|"
                  r"unprotect\w*|remov\w*\s+(?:the\s+)?\w+\s+(?:on|from)|"
                  r"(?:lift|releas\w*|drop|take\s+off|clear)\s+(?:the\s+)?lock\s+(?:on|from)|"
                  r"make|set|put\s+a\s+lock\s+on|(?:prevent|block|disallow|forbid|stop|allow|"
                  r"enable|permit|re-?enable)\s+(?:\w+\s+){0,3}?(?:to|on|of|in))\s*", "", text,
                  flags=re.I)
    body = re.sub(r"\s+(?:read[- ]?only|immutable|uneditable|non[- ]editable|locked|writ\w*able|"
                  r"editable|modifiable|unlocked)\b.*$", "", body, flags=re.I)
    name = file_name(ctx, body)
    if not name:
        raise UserError("say which file, e.g. 'lock report.md'")
    return (api, {"name": name})


def _h_unlock(ctx: Ctx):
    return _h_lock(ctx, "unlock_file")


def _h_join(ctx: Ctx):
    text = ctx.text
    into = None
    m = re.search(rf"(?:\s*>\s*|\s+(?:and\s+)?(?:call|name)\s+(?:it|them|the\s+result)\s+|"
                  rf"\s+(?:and\s+)?(?:then\s+)?(?:save|store|write|put)\s+(?:it|them|the\s+"
                  rf"result|everything|the\s+output)?\s*(?:as|to|in|into)\s+|\s+(?:into|as|to\s+"
                  rf"(?:make|form|create)|in\s+a\s+new\s+file)\s+)(?:an?\s+|the\s+)?(?:new\s+|"
                  rf"single\s+)?(?:file\s+)?(?:called\s+|named\s+)?(?P<n>{NAME})", text, re.I)
    if m and m.group("n").lower() not in ("one", "a", "single", "new", "file", "it", "them"):
        into = ctx.unmark(m.group("n")).rstrip(".,")
        text = text[: m.start()]
    files = [f for f, _ in ctx.files(text)]
    if len(files) < 2:
        body = re.sub(r"^(?:join\w*|merg\w*|combin\w*|concat\w*|stitch\w*|fuse|splice|unite|"
                      r"consolidat\w*|glue|put)\s+(?:together\s+)?(?:the\s+)?(?:files?\s+)?", "",
                      text, flags=re.I)
        body = re.sub(r"\s+together$", "", body.strip(), flags=re.I)
        parts = re.split(r"\s*,\s*(?:and\s+)?|\s+(?:and|with|&|plus|to)\s+|\s+", body.strip())
        files = [ctx.unmark(p).strip(".,") for p in parts if p and p.lower() not in
                 ("the", "file", "files", "together", "both")]
    if len(files) < 2:
        raise UserError("name at least two files to join, e.g. 'join a.md and b.md into c.md'")
    return ("file_join", {"names": files, "into": into})


def _h_append_file(ctx: Ctx):
    files = [f for f, _ in ctx.files()]
    return ("file_join", {"names": [files[1], files[0]], "into": files[1]})


def _h_group(ctx: Ctx):
    text = ctx.text
    then = THEN_GROUP.search(text)
    if then:
        into, span = find_into(text[then.end():])
        text = text[: then.start()] + " " + (cut(text[then.end():], span) if span else "")
    else:
        into, span = find_into(text)
        text = cut(text, span)
    text = re.sub(r"^(?:group\w*|organi[sz]\w*|cluster\w*|categori[sz]\w*|gather\w*|collect\w*|"
                  r"sort\w*|bundle\w*|file\s+away|file|mov\w*|put|place|relocat\w*|arrange\w*|"
                  r"classify|bucket)\s+(?:together\s+|up\s+)?", "", text.strip(), flags=re.I)
    text = re.sub(r"^(?:find\w*|search\w*|look\w*\s+for)\s+", "", text, flags=re.I)
    if into is None:
        # "file everything about insurance under insurance": the only folder is the target
        into, span = find_dir(text, ctx.index)
        text = cut(text, span)
    text, k, d = count_and_dir(ctx, text)
    rest, keywords, mode = split_keyword_clause(ctx, text)
    into = clean_dir(ctx.unmark(into)) if into else None
    if keywords:
        return ("group_keywords", {"keywords": keywords, "into": into, "dir": d, "mode": mode})
    query = topic_of(ctx, rest)
    if not query:
        raise UserError("say which files to group, e.g. 'group the papers about X into "
                        "folder Y'")
    return ("group_semantic", {"query": query, "into": into, "dir": d, "k": k})


_SOURCE_RE = re.compile(r"(?<!\S)(?P<s>(?:~|\.{1,2})?/[^\s,]*|~|[\w.-]+/[^\s,]*|«\d+»)")


def _h_import(ctx: Ctx):
    text = ctx.text
    m = _SOURCE_RE.search(text)
    if not m:
        m = re.search(rf"\b(?:folder|directory|dir)\s+(?:called\s+|named\s+)?(?P<s>{NAME})",
                      text, re.I)
    if not m:
        m = re.search(rf"\b(?:my\s+|the\s+)?(?P<s>{NAME})\s+(?:folder|directory|dir)\b", text, re.I)
    if not m:
        raise UserError("say which folder to import, e.g. 'import ~/Downloads/papers'")
    source = ctx.unmark(m.group("s")).rstrip(".,")
    source = source.rstrip("/") if len(source) > 1 else source
    tail = text[m.end():]
    into, _ = find_into(tail)
    if into is None:
        t = re.search(rf"\b(?:under|in|inside)\s+(?:the\s+)?(?:{DIRWORD}\s+)?(?P<d>{NAME})",
                      tail, re.I)
        into = t.group("d") if t else None
    return ("create", {"source": source, "dir": clean_dir(ctx.unmark(into)) if into else None})


def _h_delete(ctx: Ctx):
    text = ctx.text
    then = THEN_DELETE.search(text)
    if then:
        text = text[: then.start()]
        text = re.sub(r"^(?:find\w*|search\w*|look\w*\s+(?:for|up))\s+", "", text, flags=re.I)
    body = re.sub(r"^(?:delet\w*|remov\w*|rm|eras\w*|trash\w*|discard\w*|wip\w*|purg\w*|drop|"
                  r"destroy\w*|get\s+rid\s+of|clean\s+(?:out|up)|clear\s+out|throw\s+(?:away|out)|"
                  r"nuke|scrap|bin)\s*", "", text.strip(), flags=re.I)
    d, span = find_dir(body, ctx.index)
    rest = cut(body, span)
    files = ctx.files(rest)
    m = re.search(r"\b(?:(?:that|which)\s+)?(?:contain\w*|mention\w*|includ\w*|say|says|saying|"
                  r"(?:with|having|has|have)\s+(?:the\s+)?(?:text|word|phrase|string|term|keyword)s?|"
                  r"matching|match(?:es)?|referring\s+to|about|related\s+to|on)\b\s*", rest, re.I)
    key_text = None
    if m and (not files or re.search(rf"\b{PLURAL}\b|\beverything\b|\banything\b",
                                      rest[: m.start()], re.I)):
        key_text = ctx.quote_in(rest[m.end():]) or ctx.unmark(rest[m.end():]).strip(" .,'\"")
    if key_text or (d and not files):
        return ("del_", {"name": None, "dir": clean_dir(ctx.unmark(d)) if d else None,
                         "key_text": key_text or None})
    if len(files) > 1:
        # A plan deletes one file or one filtered folder; never half of what was asked.
        raise UserError("delete one file at a time (or 'delete files containing X in DIR'); "
                        f"you named {len(files)}: {', '.join(f for f, _ in files)}")
    name = file_name(ctx, rest)
    if not name:
        raise UserError("say which file to delete, e.g. 'delete notes.md'")
    return ("del_", {"name": name, "dir": None, "key_text": None})


def _content_and_name(ctx: Ctx, verb: str):
    """For add_/overwrite/create: what text, and which file."""
    text = ctx.text
    files = ctx.files()
    content = None
    if ctx.quotes:
        # Content is the quoted run that is not the file name.
        for i, q in enumerate(ctx.quotes):
            if not files or q != files[0][0]:
                if not re.fullmatch(r"[\w./-]+\.\w{1,5}", q) or files:
                    content = q
                    break
    name = files[0][0] if files else None
    if content is None:
        # "add to ideas.md: try X", "append buy milk to todo.md"
        m = re.search(rf"(?P<n>{NAME})\s*:\s*(?P<c>.+)$", text)
        if m and name and m.group("n").rstrip(".,") == name:
            content = m.group("c")
        else:
            m = re.search(r"\b(?:saying|that\s+says|with\s+(?:the\s+)?(?:text|content|contents|"
                          r"line|words?)|containing|reading|with)\s*:?\s+(?P<c>.+?)(?:\s+(?:to|into|"
                          r"in|at\s+the\s+end\s+of)\s+\S+)?$", text, re.I)
            if m and not (name and m.group("c").strip().startswith(name)):
                content = m.group("c")
            elif verb == "add" and name:
                m = re.match(r"^\w+\s+(?:the\s+(?:line|text|sentence|words?)\s+)?(?P<c>.+?)\s+"
                             r"(?:to|into|onto|in|at\s+the\s+end\s+of)\s+(?:the\s+)?(?:file\s+)?"
                             + re.escape(name), text, re.I)
                content = m.group("c") if m else None
        if content is not None:
            content = ctx.unmark(content).strip()
            if name and content.endswith(name):
                content = content[: -len(name)].rstrip(" to,")
    if name is None:
        scrub = MARK_RE.sub(" ", text) if content is not None else text
        m = re.search(r"\b(?:to|into|onto|in|of|called|named|titled|at\s+the\s+end\s+of)\s+"
                      r"(?:the\s+)?(?:file\s+|document\s+)?(?P<n>[\w][\w./-]*)", scrub, re.I)
        if m and m.group("n").lower() not in ("it", "the", "a", "file", "end"):
            name = m.group("n").rstrip(".,")
        else:
            body = re.sub(r"^\w+\s+(?:(?:a|an|the)\s+)?(?:new\s+|empty\s+|blank\s+)?"
                          r"(?:file|document|doc|note)?\s*(?:called\s+|named\s+)?", "",
                              scrub, flags=re.I)
            name = file_name(ctx, body, allow_quote=False)
    return name, content


def _h_add(ctx: Ctx):
    name, content = _content_and_name(ctx, "add")
    if not name or content is None:
        raise UserError("say what to append and to which file, e.g. \"append 'buy milk' to "
                        "todo.md\"")
    return ("add_", {"name": name, "content": content})


def _h_write(ctx: Ctx):
    name, content = _content_and_name(ctx, "write")
    if name and content is None and re.match(r"^(?:edit|modif|updat|chang)", ctx.text, re.I):
        return ("create_or_get_file", {"name": name, "content": None})
    if not name or content is None:
        raise UserError("say which file and its new text, e.g. \"overwrite notes.md with "
                        "'hello'\"")
    if re.match(r"^sav", ctx.text, re.I) and re.search(r"\bas\b", ctx.text, re.I) or \
            re.search(r"\bnew\s+(?:\w+\s+)?(?:file|document|note)\b", ctx.text, re.I):
        return ("create_or_get_file", {"name": name, "content": content})
    return ("overwrite", {"name": name, "content": content})


def _h_create(ctx: Ctx):
    name, content = _content_and_name(ctx, "create")
    if not name:
        raise UserError("say the new file's name, e.g. 'create a file called ideas.md'")
    if not ctx.files() and len(name.split()) > 1 and \
            not re.search(r"\b(?:file|document|doc|note|page)\b", ctx.text, re.I):
        raise unknown_sentence(ctx.text)  # "make me a sandwich" names no file
    return ("create_or_get_file", {"name": name, "content": content})


def _h_get(ctx: Ctx):
    files = ctx.files()
    name = files[0][0] if files else file_name(ctx, ctx.text)
    if not name:
        raise unknown_sentence(ctx.text)
    return ("create_or_get_file", {"name": name, "content": None})


HANDLERS = {
    "unlock": _h_unlock, "lock": _h_lock, "link": _h_link, "translate": _h_translate,
    "rollback": _h_rollback, "join": _h_join, "append_file": _h_append_file, "group": _h_group,
    "import": _h_import, "delete": _h_delete, "add": _h_add, "write": _h_write,
    "create": _h_create, "summary": _h_summary, "history": _h_history, "changes": _h_changes,
    "change_summary": _h_change_summary, "retrieve": lambda ctx: _h_retrieve(ctx),
    "get": _h_get,
}
