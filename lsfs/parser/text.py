"""Reading the pieces of a command sentence: quotes, polite wrapping, counts, folders, file
references and keyword lists. The offline rules (``offline.py``) decide *what* is asked; this
module finds *the values* the sentence gives.

Quoted text is lifted out first and replaced by a marker ``«n»``, so that nothing inside
quotes can trigger a rule ("append 'delete everything' to todo.md" appends) and nothing
quoted is ever split on "and"/"or".
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

from lsfs.timeparse import COUNT_RE, NUMBER_WORDS

MARK_RE = re.compile(r"«(\d+)»")

# --------------------------------------------------------------------------- quotes

_SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'"})
# Single quotes open after a non-word character and close before one; an apostrophe inside
# a word ("it's") does not close them.
_QUOTE_RE = re.compile(r'"([^"]*)"|(?<![\w])\'((?:[^\']|\'(?=\w))+?)\'(?![\w])')


def lift_quotes(sentence: str) -> tuple[str, list[str]]:
    """Replace quoted runs by ``«n»`` markers; return the text and the quoted contents."""
    quotes: list[str] = []

    def keep(m: re.Match) -> str:
        quotes.append(m.group(1) if m.group(1) is not None else m.group(2))
        return f" «{len(quotes) - 1}» "

    text = _QUOTE_RE.sub(keep, sentence.translate(_SMART))
    return " ".join(text.split()), quotes


# --------------------------------------------------------------------------- politeness

_PREFIX_RE = re.compile(
    r"^(?:please|pls|plz|kindly|hey|hi|hello|ok(?:ay)?|so|now|then|also|just|quickly|"
    r"lsfs|assistant|alright|right|yes|hmm+|um+|"
    r"(?:could|can|would|will|won't)\s+(?:you|u)(?:\s+(?:please|kindly|quickly|just))*|"
    r"would\s+you\s+(?:mind|be\s+able\s+to)|are\s+you\s+able\s+to|"
    r"do\s+me\s+a\s+favou?r(?:\s+and)?|"
    r"(?:i|we)(?:'d|\s+would)\s+(?:like|love)(?:\s+(?:you|it\s+if\s+you))?(?:\s+to)?|"
    r"(?:i|we)\s+(?:want|need|wanna|wish)(?:\s+you)?(?:\s+to)?|i'd\s+appreciate\s+it\s+if\s+you|"
    r"(?:can|could|may)\s+(?:i|we)(?:\s+please)?|i'?m\s+trying\s+to|i'?m|i\s+am|we're|"
    r"help\s+me(?:\s+to)?|let's|lets|let\s+us|go\s+ahead\s+and|try\s+to|time\s+to|"
    r"is\s+it\s+possible\s+to|i\s+wonder\s+if\s+you\s+could|you\s+should|"
    r"it\s+would\s+be\s+(?:great|nice)\s+if\s+you\s+could)\b[\s,:;!-]*",
    re.IGNORECASE,
)
_SUFFIX_RE = re.compile(
    r"[\s,;:-]*\b(?:please|pls|plz|thanks|thank\s+you|thx|ty|for\s+me|asap|right\s+now|now|"
    r"if\s+you\s+can|if\s+possible|when\s+you\s+can|real\s+quick|quickly|for\s+me\s+please|"
    r"will\s+you|would\s+you|could\s+you|ok|okay)\s*[.!?]*$|[\s.!?;,]+$",
    re.IGNORECASE,
)


_SLANG = [(re.compile(p, re.I), r) for p, r in (
    (r"\bgimme\b", "give me"), (r"\bwanna\b", "want to"), (r"\bu\b", "you"),
    (r"\bpls\b|\bplz\b", "please"), (r"\bthx\b", "thanks"))]
_TRAILING_ASK = re.compile(r"[,;]?\s*(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:find|get|"
                           r"show|locate|pull\s+up|dig\s+up)\s+(?:it|them|me\s+(?:it|them))"
                           r"(?:\s+for\s+me)?\s*[?.!]*$", re.I)


def strip_politeness(text: str) -> str:
    """Remove polite wrapping ("could you please …, thanks") that carries no meaning."""
    for rx, repl in _SLANG:
        text = rx.sub(repl, text)
    text = _TRAILING_ASK.sub("", text)  # "I remember a paper about X, can you find it?"
    text = re.sub(r"\s*\b(?:please|kindly)\b,?\s*", " ", text, flags=re.IGNORECASE).strip()
    for _ in range(6):
        new = _PREFIX_RE.sub("", text, count=1).strip()
        new = _SUFFIX_RE.sub("", new).strip()
        if new == text:
            break
        text = new
    return text


# --------------------------------------------------------------------------- counts

COUNT = rf"(?:\d+|{COUNT_RE})"

SINGULAR = (r"(?:paper|document|doc|file|note|article|result|hit|match|item|report|page|text|"
            r"entry|record|one|essay|pdf|memo|email|transcript|speech|publication|study|"
            r"write-?up|piece|source|reference|chapter|post|letter|abstract|draft)")
PLURAL = (r"(?:papers|documents|docs|files|notes|articles|results|hits|matches|items|reports|"
          r"pages|texts|entries|records|ones|things|essays|pdfs|memos|emails|transcripts|"
          r"speeches|publications|studies|write-?ups|pieces|sources|references|chapters|posts|"
          r"letters|abstracts|drafts|materials|resources|readings|works|stuff)")
OBJ = rf"(?:(?:research|scientific|academic|text|word|pdf|markdown)\s+)?(?:{PLURAL}|{SINGULAR})"
_BEST = (r"(?:most\s+(?:relevant|similar|related|pertinent|useful|closely\s+related|"
         r"appropriate|fitting)|best(?:[\s-]+match(?:ing|ed)?)?|closest|top|nearest|"
         r"best[\s-]+fitting|highest[\s-]+ranked|top[\s-]+ranked)")

_COUNT_RES = [
    re.compile(rf"\b(?:top|first|best)[\s-]*(?P<n>{COUNT})\b", re.I),
    re.compile(rf"\b(?P<n>{COUNT})\s+(?:{_BEST}\s+)?(?:[\w-]+\s+){{0,2}}?{OBJ}\b", re.I),
    re.compile(rf"\b(?P<n>{COUNT})\s+{_BEST}\b", re.I),
    re.compile(rf"\b(?:limit(?:ed)?(?:\s+(?:it|them|the\s+results|results))?(?:\s+to)?|at\s+most|"
               rf"up\s+to|no\s+more\s+than|max(?:imum)?(?:\s+of)?|just|only)\s+"
               rf"(?P<n>{COUNT})\b(?!\s*(?:version|day|week|month|year|hour|minute))", re.I),
    re.compile(r"(?:-k\s*|\bk\s*=\s*)(?P<n>\d+)\b", re.I),
    re.compile(rf"\b(?P<n>{COUNT})\s+(?:of\s+them|results?|hits?|matches)\b", re.I),
]
_ONE_RES = [
    re.compile(rf"\b(?:the\s+)?(?:single\s+|one\s+)?{_BEST}\s+(?:\w+\s+)?{SINGULAR}\b", re.I),
    re.compile(rf"\bthe\s+(?:single\s+)?{_BEST}\b(?!\s+(?:\w+\s+)?{PLURAL}\b)", re.I),
    re.compile(rf"\b(?:a|an|one|a\s+single|the|that|which)\s+(?:single\s+)?(?:[\w-]+\s+)?"
               rf"{SINGULAR}\s+(?:about|on|regarding|related|relating|concerning|discussing|"
               rf"that|which|mentioning|containing|with|covering|dealing|talking|most)\b", re.I),
    re.compile(rf"^(?:\w+\s+){{0,3}}?(?:a|an|one|a\s+single)\s+{SINGULAR}\b", re.I),
]


def find_count(text: str) -> tuple[int | None, tuple[int, int] | None]:
    """How many results the sentence asks for ("top 7", "two papers", "the most relevant")."""
    for rx in _COUNT_RES:
        m = rx.search(text)
        if m:
            n = m.group("n").lower()
            value = int(n) if n.isdigit() else NUMBER_WORDS.get(" ".join(n.split()))
            if value:
                return value, m.span()
    for rx in _ONE_RES:
        m = rx.search(text)
        if m:
            return 1, None
    return None, None


# --------------------------------------------------------------------------- file names

EXTS = (r"md|markdown|txt|text|pdf|docx?|odt|rtf|html?|xml|json|jsonl|ya?ml|toml|csv|tsv|"
        r"xlsx?|pptx?|py|ipynb|rst|tex|log|org|ini|cfg|conf|js|ts|java|c|cpp|h|go|rs|rb|sh|"
        r"sql|png|jpe?g|gif|svg|epub|eml|bib|mdx|adoc|tar|gz|zip")
_FILE_RE = re.compile(
    rf"(?<![\w/~.-])(?P<f>(?:~?/|\./)?(?:[\w~.-]+/)*[\w][\w.-]*\.(?:{EXTS}))(?![\w/-])", re.I
)
_PATH_RE = re.compile(r"(?<![\w/~.-])(?P<f>(?:~|\.\.?)?/?[\w.-]+(?:/[\w.-]+)+)(?![\w/-])")
_TOKEN_RE = re.compile(r"[\w][\w.-]*(?:/[\w.-]+)*")


@dataclass
class NameIndex:
    """What the root holds, for telling a file reference from a topic word."""

    names: set[str] = field(default_factory=set)  # full paths, file names, stems (lowercase)
    dirs: set[str] = field(default_factory=set)  # every parent folder (lowercase)

    @classmethod
    def build(cls, paths) -> "NameIndex":
        index = cls()
        for path in paths:
            p = str(path).replace("\\", "/").strip("/").lower()
            if not p:
                continue
            parts = p.split("/")
            base = parts[-1]
            index.names.update({p, base})
            if "." in base:
                index.names.add(base.rsplit(".", 1)[0])
            for i in range(1, len(parts)):
                index.dirs.add("/".join(parts[:i]))
                index.dirs.add(parts[i - 1])
        return index

    def is_file(self, word: str) -> bool:
        return word.lower().strip("/") in self.names

    def is_dir(self, word: str) -> bool:
        return word.lower().strip("/") in self.dirs


def find_files(text: str, index: NameIndex) -> list[tuple[str, tuple[int, int]]]:
    """File references in order: names with an extension, paths, and names the root holds."""
    found: list[tuple[str, tuple[int, int]]] = []

    def free(span):
        return all(span[1] <= s or span[0] >= e for _, (s, e) in found)

    for rx in (_FILE_RE, _PATH_RE):
        for m in rx.finditer(text):
            span = m.span("f")
            value = m.group("f").rstrip(".")
            if free(span) and not value.endswith("/"):
                found.append((value, span))
    if index.names:
        for m in _TOKEN_RE.finditer(text):
            word = m.group(0).rstrip(".")
            if index.is_file(word) and free(m.span()):
                found.append((word, (m.start(), m.start() + len(word))))
    return sorted(found, key=lambda item: item[1][0])


# --------------------------------------------------------------------------- folders

NAME = r"(?:«\d+»|[~.\w][\w.~-]*(?:/[\w.~-]+)*/?)"
DIRWORD = r"(?:folder|directory|dir|subfolder|sub-folder|subdirectory|sub-directory|collection)"
_DET = r"(?:the\s+|my\s+|our\s+|this\s+|that\s+)?"
_SRC = r"(?:in|inside|within|under|from|of|across|at|throughout)"
_DIR_RES = [
    # "search the docs folder for X": the folder is the verb's object
    rf"^(?:search\w*|scan\w*|look\s+(?:through|in)|go\s+through|check|grep\w*)\s+(?P<w>{_DET}"
    rf"(?P<d>{NAME})\s+{DIRWORD})\b",
    # "search notes/meetings/ for X"
    r"^(?:search\w*|scan\w*|look\s+(?:through|in)|go\s+through|check|grep\w*)\s+(?P<w>(?:in\s+)?"
    r"(?P<d>[~.\w][\w.~-]*(?:/[\w.~-]+)*/))(?=\s|$)",
    rf"\b{_SRC}\s+{_DET}{DIRWORD}\s+(?:called\s+|named\s+|titled\s+)?(?P<d>{NAME})",
    rf"\b{_SRC}\s+{_DET}(?P<d>{NAME})\s+{DIRWORD}\b",
    rf"\b{_SRC}\s+{_DET}(?P<d>[~.\w][\w.~-]*(?:/[\w.~-]+)*/)(?![\w.])",
    rf"\b(?:inside|within|under|underneath|beneath)\s+{_DET}(?P<d>{NAME})",
]
_DIR_RES = [re.compile(p, re.I) for p in _DIR_RES]
_KNOWN_DIR_RE = re.compile(rf"\b(?:in|from|of)\s+{_DET}(?P<d>{NAME})", re.I)
_INTO_RES = [
    rf"\b(?:into|to|onto)\s+(?:an?\s+|the\s+|my\s+)?(?:new\s+|separate\s+|single\s+|own\s+|"
    rf"dedicated\s+)*{DIRWORD}\s+(?:called\s+|named\s+|titled\s+)?(?P<d>{NAME})",
    rf"\b(?:in|under|inside)\s+(?:an?\s+|the\s+)?(?:new\s+|separate\s+|dedicated\s+)+{DIRWORD}"
    rf"\s+(?:called\s+|named\s+|titled\s+)?(?P<d>{NAME})",
    rf"\b(?:in|under|inside)\s+an?\s+{DIRWORD}\s+(?:called|named|titled)\s+(?P<d>{NAME})",
    rf"\b(?:into|onto)\s+(?:the\s+|a\s+new\s+|a\s+|my\s+)?(?P<d>{NAME})(?:\s+{DIRWORD})?",
    # plain "to" last, and not the "to" of "related to X" / "similar to X"
    rf"(?<!related\s)(?<!relating\s)(?<!similar\s)(?<!relevant\s)(?<!close\s)(?<!due\s)"
    rf"\bto\s+(?:the\s+|a\s+new\s+|a\s+|my\s+)?(?P<d>{NAME})(?:\s+{DIRWORD})?",
    rf"\b{DIRWORD}\s+(?:called|named)\s+(?P<d>{NAME})",
]
_INTO_RES = [re.compile(p, re.I) for p in _INTO_RES]
# words that follow "into"/"to" without naming a place
_NOT_PLACE = {"a", "an", "the", "it", "them", "one", "me", "us", "be", "do", "make", "get",
              "folder", "folders", "directory", "groups", "group", "new", "see", "have",
              "form", "create", "produce", "their", "its", "separate", "clusters", "cluster",
              "lsfs", "index", "root", "system", "here", "there", "this"}


def clean_dir(value: str) -> str:
    value = value.strip().rstrip(".,;:!?")
    if value.startswith("./"):
        value = value[2:]
    return value.rstrip("/") or value


def find_dir(text: str, index: NameIndex) -> tuple[str | None, tuple[int, int] | None]:
    """The folder a command is limited to ("in notes/", "inside cranfield", "from the folder
    named X"). A plain "in X" counts only when X is a folder the root holds."""
    for rx in _DIR_RES:
        for m in rx.finditer(text):
            d = m.group("d")
            if d.lower().rstrip("/") in _NOT_PLACE or _FILE_RE.fullmatch(d):
                continue
            return d, (m.span("w") if "w" in rx.groupindex else m.span())
    if index.dirs:
        for m in _KNOWN_DIR_RE.finditer(text):
            if index.is_dir(m.group("d").rstrip(".,")):
                return m.group("d"), m.span()
    return None, None


def find_into(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """The target of a grouping or join ("into folder llm", "to a new folder called x")."""
    for rx in _INTO_RES:
        for m in rx.finditer(text):
            d = m.group("d")
            if d.lower().rstrip("/") in _NOT_PLACE:
                continue
            return d, m.span()
    return None, None


def cut(text: str, span: tuple[int, int] | None) -> str:
    """``text`` without ``span``, whitespace tidied."""
    if not span:
        return text
    return " ".join((text[: span[0]] + " " + text[span[1]:]).split())


# --------------------------------------------------------------------------- keyword lists

_TERM_LEAD = re.compile(
    r"^(?:(?:the|a|an)\s+)?(?:(?:exact|specific|literal)\s+)?(?:key\s*)?"
    r"(?:words?|terms?|phrases?|strings?|text|tags?|keywords?)\b\s*:?\s*"
    r"|^(?:both|either|all(?:\s+of)?|any(?:\s+of)?|one\s+of|at\s+least\s+one\s+of|each\s+of)"
    r"(?:\s+(?:the\s+)?(?:key\s*)?(?:words?|terms?|keywords?|phrases?))?\b\s*:?\s*"
    r"|^(?:the|a|an)\s+",
    re.I,
)
_TERM_TAIL = re.compile(
    r"\s+(?:in\s+(?:them|it|the\s+(?:text|body|title|content))|anywhere|somewhere|"
    r"(?:as\s+)?(?:key)?words?|terms?|in\s+their\s+text)$", re.I)
_SPLIT_RE = re.compile(r"\s*[,;]\s*(?:(?:and|or)\s+)?|\s+(?:and|or|&|\+|as\s+well\s+as|plus|"
                       r"nor|and\s+also|but\s+also)\s+", re.I)
_ANY_RE = re.compile(r"\b(?:or|either|any(?:\s+of)?|one\s+of|at\s+least\s+one)\b", re.I)


def split_terms(fragment: str, quotes: list[str]) -> tuple[list[str], str]:
    """Keywords and mode from "'deep learning' or GPU", "both Stanford and MIT".

    Splits only on whole-word "and"/"or"/commas, never inside a quote or a word ("Stanford",
    "Anderson" stay whole). ``mode`` is "any" when the user says or/either/any, else "all".
    """
    mode = "any" if _ANY_RE.search(fragment) else "all"
    terms: list[str] = []
    for piece in _SPLIT_RE.split(fragment):
        piece = piece.strip(" .,:;!?")
        for _ in range(3):
            piece = _TERM_LEAD.sub("", piece).strip()
            piece = _TERM_TAIL.sub("", piece).strip(" .,:;!?")
        if not piece or piece.lower() in {"both", "either", "all", "any", "them", "it", "neither"}:
            continue
        terms.append(unmark(piece, quotes).strip())
    seen: list[str] = []
    for t in terms:
        if t and t not in seen:
            seen.append(t)
    return seen, mode


def unmark(text: str, quotes: list[str]) -> str:
    """Put quoted contents back (without the quote marks)."""
    return MARK_RE.sub(lambda m: quotes[int(m.group(1))], text)


# --------------------------------------------------------------------------- languages

LANGUAGES = {
    "english", "french", "german", "spanish", "italian", "portuguese", "dutch", "russian",
    "chinese", "mandarin", "cantonese", "japanese", "korean", "arabic", "hindi", "bengali",
    "turkish", "polish", "swedish", "norwegian", "danish", "finnish", "greek", "hebrew",
    "czech", "hungarian", "romanian", "ukrainian", "vietnamese", "thai", "indonesian",
    "malay", "persian", "farsi", "urdu", "swahili", "latin", "catalan", "tagalog",
    "esperanto", "irish", "welsh", "bulgarian", "serbian", "croatian", "slovak", "slovenian",
    "estonian", "latvian", "lithuanian", "icelandic", "punjabi", "tamil", "telugu", "marathi",
    "gujarati", "basque", "galician", "afrikaans", "filipino", "klingon",
}
LANGUAGE_RE = "|".join(sorted(LANGUAGES, key=len, reverse=True))


# --------------------------------------------------------------------------- the sentence

@dataclass
class Ctx:
    """One sentence being read: the text with quotes lifted, and what we know of the root."""

    text: str
    quotes: list[str]
    index: NameIndex
    today: _dt.date

    def files(self, text: str | None = None):
        return find_files(self.text if text is None else text, self.index)

    def unmark(self, text: str) -> str:
        return unmark(text, self.quotes)

    def quote_in(self, text: str) -> str | None:
        m = MARK_RE.search(text)
        return self.quotes[int(m.group(1))] if m else None
