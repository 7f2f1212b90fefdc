"""The words the offline rules listen for: verbs that open a command (``HEADS``), topic
connectors ("about", "related to"), keyword cues ("containing", "that mention"), and clauses
that add a second step ("… and summarize them")."""

from __future__ import annotations

import re

from lsfs.parser.text import LANGUAGE_RE, OBJ, PLURAL

LANG = rf"(?:{LANGUAGE_RE})"
CONNECTOR = (
    r"(?:about|abt|on|regarding|re:?|related\s+to|relating\s+to|relevant\s+to|concerning|"
    r"covering|discussing|(?:that|which)\s+(?:discuss(?:es)?|cover|explain|describe|"
    r"talk\s+about|deal\s+with|are\s+about|is\s+about|focus\s+on|relate\s+to|concern)|"
    r"dealing\s+with|talking\s+about|on\s+the\s+(?:topic|subject)\s+of|to\s+do\s+with|"
    r"similar\s+to|pertaining\s+to|in\s+the\s+(?:area|field)\s+of|focused\s+on|focusing\s+on|"
    r"with\s+a\s+focus\s+on|explaining|describing|addressing|exploring|around|linked\s+to|"
    r"connected\s+to|associated\s+with|involving|say\s+about|says\s+about|"
    r"(?:talk|talks|discuss)\s+about|discuss(?:es)?)"
)
CONNECTOR_RE = re.compile(rf"\b{CONNECTOR}(?=\s|$)", re.I)
# "notes for X", "papers like X": the preposition after an object noun opens the topic
FOR_TOPIC_RE = re.compile(rf"\b(?:{PLURAL}|match|matches|results?|hits?|folder)\s+for\b|"
                           rf"\b{OBJ}\s+(?:like|similar\s+to|(?:written\s+|authored\s+)?by)\b",
                               re.I)

KEYWORD_CUE = (
       r"(?:(?:that|which|who|and)\s+)?(?:(?:all|both)\s+)?"
       r"(?:contain(?:s|ing)?|mentions?\s+of|mention(?:s|ing|ed)?|referenc(?:e|es|ing)|"
       r"includ(?:e|es|ing)|(?:has|have|having|use|uses|using)\s+(?:the\s+)?(?:exact\s+)?"
       r"(?:key\s*words?|words?|terms?|phrases?|strings?|text|tags?|hashtags?|labels?)|"
       # "that have 'alpha' and 'beta'", "with TODO in them"
       r"(?:has|have|having)(?=\s+(?:both\s+|either\s+|all\s+of\s+)?«)|"
       r"(?:has|have|having|with)(?=\s+(?:both\s+|either\s+)?\S+(?:\s+(?:and|or)\s+\S+)*"
       r"\s+in\s+(?:them|it|their\s+text|the\s+text)\b)|"
       r"with\s+(?:the\s+)?(?:exact\s+)?(?:key\s*words?|words?|terms?|phrases?|strings?|text)|"
       r"(?:say|says|saying)(?=\s+(?!about\b)\S)|with\s+(?=«\d+»)|"
       r"(?<!best\s)(?<!best-)matching(?:\s+the)?(?:\s+(?:key)?words?)?|"
       r"refer(?:s|ring)?\s+to|cit(?:e|es|ing)|"
       r"for\s+(?:the\s+)?(?:exact\s+)?(?:key\s*words?|words?|terms?|phrases?|strings?)|"
       r"key\s*words?\s*:?|where\s+(?:the\s+)?(?:text\s+)?(?:says|mentions|contains))")
KEYWORD_CUE_RE = re.compile(rf"\b{KEYWORD_CUE}(?=\s|$|:|«)", re.I)

SUMMARY_WORD = (r"(?:summar\w*|sum\s+(?:it|them|those|these)?\s*up|recap\w*|tl;?\s*dr|gist|"
                 r"overview|synopsis|digest|brief(?:ing)?|condense\w*)")
SUMMARY_CLAUSE = re.compile(
    rf"(?:,\s*|\s+)(?:and|then|&)\s+(?:then\s+)?(?:also\s+)?(?:give\s+(?:me\s+)?|write\s+|"
    rf"make\s+|provide\s+|show\s+(?:me\s+)?|produce\s+)?(?:an?\s+|short\s+|brief\s+|quick\s+)*"
    rf"{SUMMARY_WORD}.*$|\s+with\s+(?:an?\s+)?(?:short\s+|brief\s+)?(?:summary|summaries)\b.*$",
)
CHANGE_WORD = re.compile(
    r"\b(?:chang(?:e|es|ed)|edits|edited|modifications|modified|diff|differences?|different|"
    r"updates|what'?s\s+new|revisions?\s+made|activity)\b", re.I)

THEN_DELETE = re.compile(
    r"(?:,\s*|\s+)(?:and|then)\s+(?:then\s+)?(?:delete|remove|trash|erase)\s+"
    r"(?:them|those|these|it|all\s+of\s+them)\b.*$", re.I)
THEN_GROUP = re.compile(
    r"(?:,\s*|\s+)(?:and|then)\s+(?:then\s+)?(?:group|move|put|gather|collect|organi[sz]e)\s+"
    r"(?:them|those|these|it|all\s+of\s+them)\b", re.I)

# Heads: the sentence's own verb, tried in this order. Later families are reached only when
# earlier ones do not match, so "remove the lock on x" is an unlock, not a delete.
HEADS: list[tuple[str, str]] = [
    ("unlock", r"(?:unlock|unfreez|unprotect)\w*|remov\w*\s+(?:the\s+)?(?:lock|protection|"
               r"write[- ]protection|read[- ]only)|(?:lift|releas\w*|drop|take\s+off|clear)\s+"
               r"(?:the\s+)?lock|make\s+.+?\s+(?:writ\w*able|editable|modifiable|unlocked)\b|"
               r"(?:allow|enable|permit|re-?enable)\s+(?:edits|editing|changes|writes|writing|"
               r"modifications)\b"),
    ("lock", r"lock\w*|freez\w*|write[- ]protect\w*|protect\w*|"
             r"make\s+(?:it\s+)?so\s+(?:that\s+)?(?:nobody|no\s+one|no-one)\s+can|"
             r"(?:don'?t|do\s+not)\s+let\s+any(?:one|body)\s+(?:edit|change|modify)|"
             r"make\s+.+?\s+(?:read[- ]?only|immutable|uneditable|non[- ]editable|locked)\b|"
             r"set\s+.+?\s+(?:to\s+)?read[- ]?only|put\s+a\s+lock\s+on|"
             r"(?:prevent|block|disallow|forbid|stop)\s+(?:any(?:one)?\s+|all\s+|further\s+|"
             r"people\s+)?(?:from\s+)?(?:edits|editing|changes|changing|writes|writing|"
             r"modifications|modifying)\b"),
    ("link", r"shar\w*|publish\w*|link\b|links\b|make\s+.+?\s+public\b|"
             r"(?:creat|mak|generat|get|giv|send|produc|build|need|want)\w*\s+(?:me\s+)?(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}?(?:link|url)\b"),
    ("translate", rf"translat\w*|(?:convert|render|turn|put)\s+.+?\s+(?:in)?to\s+{LANG}\b|"
                  rf"(?:give|get|make|create|produce|write)\w*\s+(?:me\s+)?(?:an?\s+)?{LANG}\s+"
                  rf"(?:version|translation|copy)"),
    ("rollback", r"roll\w*[\s-]*back|rollback\w*|roll\s+.+?\s+back|revert\w*|restor\w*|"
                 r"undo\w*|un-do|go\s+back|reset\w*|bring\s+back|recover\w*|"
                 r"(?:put|take|bring|set|turn)\s+(?:.+?\s+)?back\b"),
    ("join", r"join\w*|merg\w*|combin\w*|concat\w*|stitch\w*|fuse|splice|unite|"
             r"consolidat\w*|glue|put\s+.+?\s+together"),
    ("import", r"import\w*|ingest\w*|bulk[- ]?(?:import|add|load|upload)\w*|upload\w*|"
               r"bring\s+in|pull\s+in|copy\s+(?:in|over)|"
               r"(?:add|index|load)\w*\s+(?:all\s+|every\s+)?(?:of\s+)?(?:the\s+)?(?:\w+\s+)?"
               r"(?:files|documents|docs|papers|contents?|stuff)\s+(?:from|of|in)\s+|"
               r"(?:add|index|load)\w*\s+(?:the\s+|this\s+|my\s+|a\s+)?(?:folder|directory|dir)\b"),
    ("group", r"group\w*|organi[sz]\w*|cluster\w*|categori[sz]\w*|gather\w*|collect\w*|"
              r"sort\w*|bundle\w*|file\s+away|file\s+(?=.+?\s+(?:under|into)\s)|mov(?:e|es|ed|ing)\b|put\b|place\b|relocat\w*|"
              r"arrange\w*|classify|bucket"),
    ("write", r"(?:clear|empty|wipe|blank)\s+.+?\s+and\s+(?:then\s+)?(?:write|put|set|fill)"),
    ("delete", r"delet\w*|remov\w*|rm\b|eras\w*|trash\w*|discard\w*|wip(?:e|es|ing)\b|"
               r"purg\w*|drop\b|destroy\w*|get\s+rid\s+of|clean\s+(?:out|up)|clear\s+out|"
               r"throw\s+(?:away|out)|nuke|scrap|bin\b"),
    ("add", r"append\w*|add(?:s|ed|ing)?\b|insert\w*|attach\w*|tack\w*|jot\w*|"
            r"note\s+down|write\s+down|prepend\w*|stick|log\b|record\b"),
    # "changes", "updates", "edits" as nouns open a question about changes, not a write
    ("write", r"overwrit\w*|replac\w*|rewrit\w*|set\b|chang(?:e|ing)\b|updat(?:e|ing)\b|"
              r"edit(?:ing)?\b|modify(?:ing)?\b|writ(?:e|es|ing)\b|sav(?:e|es|ing)\b|fill\w*|substitut\w*|swap|clobber|"
              r"make\s+.+?\s+say"),
    ("create", r"creat\w*|mak(?:e|es|ing)\b|new\b|touch\w*|start\w*|open\w*|generat\w*|"
               r"init\w*|draft\b|set\s+up|spin\s+up|begin"),
    ("summary", rf"{SUMMARY_WORD}|give\s+me\s+(?:the\s+)?gist|boil\s+down"),
    ("history", r"(?:version\s+)?history\b|versions\b|revisions\b|when\s+was\b|"
                r"who\s+(?:has\s+)?(?:edited|changed|modified|touched|updated)\b"),
    ("retrieve", r"(?:semantic|keyword|integrated|hybrid|full[- ]text|text)\s+search\w*|"
                 r"find\w*|s[ea]{1,2}r?ch\w*|serch\w*|searhc\w*|look\w*|locat\w*|retriev\w*|"
                 r"fetch\w*|grep\w*|quer\w*|dig\s+up|hunt\w*|seek\w*|scan\w*|lookup|browse|"
                 r"pull\s+up|bring\s+up|track\s+down|check\s+for|identify|discover|surface"),
]
HEAD_RES = [(family, re.compile(rf"^(?:{rx})", re.I)) for family, rx in HEADS]

# Verbs that say little; the intent then comes from cue words.
GENERIC_HEAD = re.compile(
    r"^(?:show|list|display|give|get|tell|what|which|where|who|how|when|is\s+there|"
    r"are\s+there|do\s+(?:i|we|you)\s+have|have|see|view|read|print|cat|bring|need|want|any|"
    r"i\s+(?:want|need)|return|pull|go\s+through|check)\w*", re.I)

# The apis each head verb can lead to. An LLM plan outside its sentence's set contradicts
# the user's own verb ("share x.md" is never a search), whatever else it gets right.
HEAD_APIS: dict[str, frozenset[str]] = {
    "unlock": frozenset({"unlock_file"}),
    "lock": frozenset({"lock_file"}),
    "link": frozenset({"link"}),
    "translate": frozenset({"translate"}),
    "rollback": frozenset({"rollback"}),
    "join": frozenset({"file_join"}),
    "import": frozenset({"create"}),
    "group": frozenset({"group_semantic", "group_keywords", "add_"}),
    "delete": frozenset({"del_"}),
    "add": frozenset({"add_", "file_join", "change_summary", "link", "create"}),
    "write": frozenset({"overwrite", "create_or_get_file", "change_summary", "add_"}),
    "create": frozenset({"create_or_get_file", "link"}),
    "summary": frozenset({"summarize", "retrieve_summary", "change_summary"}),
    "history": frozenset({"history"}),
    "retrieve": frozenset({"semantic_retrieve", "keywords_retrieve", "integrated_retrieve",
                           "retrieve_summary", "create_or_get_file", "del_", "group_semantic",
                           "group_keywords"}),
}
