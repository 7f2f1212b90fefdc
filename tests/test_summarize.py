"""Summaries, retrieve-summary and translation (lsfs.apis.summarize) on a real root with the
real embedding model. The LLM in the translation tests is a stand-in object with the LLM
client's contract (``complete(messages, ...) -> str``): the server is an edge LSFS does not
own, and the real one is exercised in test_ask_llm.py."""

from __future__ import annotations

import pytest

from lsfs.apis.summarize import language_tag, split_sentences, translation_path
from lsfs.errors import BackendUnavailable, Locked, UserError

# A preamble of boilerplate, then a document about one subject: a truncation would show the
# boilerplate; a summary must show the subject.
REPORT = (
    "Draft version three. Do not circulate. Printed on recycled paper.\n\n"
    "Contact the office for any question about formatting.\n\n"
    "## Findings\n\n"
    "Honeybee colonies declined sharply in the valley during the dry summer. "
    "Beekeepers reported that hives lost half of their foragers within weeks. "
    "Pesticide residues on the orchards were the main suspect for the bee losses. "
    "Colonies placed far from sprayed orchards kept most of their bees. "
    "The study recommends planting wildflower strips to feed the honeybees.\n"
)


class ScriptedLLM:
    """Answers every request with ``reply`` and records what it was sent."""

    def __init__(self, reply="Texte traduit.", fail: Exception | None = None):
        self.reply, self.fail, self.calls = reply, fail, []

    def complete(self, messages, **kw):
        self.calls.append(messages)
        if self.fail:
            raise self.fail
        return self.reply


def test_sentences_split_at_ends_and_paragraphs_without_markdown():
    text = "# Title here\n\nFirst one is here. Second one follows!\n\n- item one\n- item two"
    assert split_sentences(text) == ["Title here", "First one is here.", "Second one follows!",
                                     "item one", "item two"]


def test_an_extractive_summary_is_not_the_first_lines(fs):
    fs.create_or_get_file("reports/bees.md", REPORT)
    found = fs.summarize("bees")
    assert found.source == "extractive"
    assert len(found.sentences) == 3
    first = split_sentences(REPORT)[:3]
    assert not set(found.sentences) & set(first)
    assert all("bee" in s.lower() or "hive" in s.lower() for s in found.sentences)


def test_an_extractive_summary_keeps_the_documents_order(fs):
    fs.create_or_get_file("reports/bees.md", REPORT)
    sentences = fs.summarize("bees").sentences
    order = split_sentences(REPORT)
    assert [order.index(s) for s in sentences] == sorted(order.index(s) for s in sentences)


def test_a_short_file_is_its_own_summary(fs):
    found = fs.summarize("notes/cnn.md")
    assert found.sentences == split_sentences((fs.root / "notes/cnn.md").read_text())[1:]  # no heading


def test_a_pdf_is_summarized_from_its_extracted_text(fs):
    found = fs.summarize("docs/gardening.pdf")
    assert "tomatoes" in found.summary


def test_an_empty_file_has_nothing_to_summarize(fs):
    fs.create_or_get_file("empty.txt", "")
    with pytest.raises(UserError, match="nothing to summarize"):
        fs.summarize("empty.txt")


def test_an_unreachable_llm_leaves_the_extractive_summary_and_says_why(fs):
    from lsfs.apis.summarize import summarize

    llm = ScriptedLLM(fail=BackendUnavailable("cannot reach the LLM server; fix LSFS_LLM_BASE_URL"))
    found = summarize(fs._root, "notes/cnn.md", llm=llm)
    assert found.source.startswith("extractive (LLM unavailable: cannot reach")
    assert "filters" in found.summary


def test_the_llm_summary_is_used_when_it_answers(fs):
    from lsfs.apis.summarize import summarize

    found = summarize(fs._root, "notes/cnn.md", llm=ScriptedLLM("It is about CNNs."))
    assert (found.summary, found.source) == ("It is about CNNs.", "llm")


def test_retrieve_summary_summarizes_each_semantic_hit(fs):
    hits = fs.retrieve_summary("baking sourdough bread", k=2)
    assert len(hits) == 2 and hits[0].path == "recipes/bread.md"
    assert "starter" in hits[0].summary.lower()


def test_retrieve_summary_with_keywords_only_keeps_exact_matches(fs):
    hits = fs.retrieve_summary(None, ["tomato"], k=5, dir="recipes")
    assert [h.path for h in hits] == ["recipes/tomato-soup.txt"]


def test_retrieve_summary_needs_a_query_or_keywords(fs):
    with pytest.raises(UserError):
        fs.retrieve_summary(None, None)


@pytest.mark.parametrize("rel,lang,expected", [
    ("notes/report.md", "French", "notes/report.fr.md"),
    ("report.txt", "de", "report.de.txt"),
    ("docs/paper.pdf", "Japanese", "docs/paper.ja.md"),
    ("README", "Klingon", "README.klingon.md"),
    ("a/b.md", "../../etc/passwd", "a/b.etc-passwd.md"),
])
def test_a_translation_is_named_beside_the_original(rel, lang, expected):
    assert translation_path(rel, lang) == expected


def test_a_language_that_cannot_name_a_file_is_refused():
    with pytest.raises(UserError):
        language_tag("!!!")


def test_translate_without_an_llm_is_backend_unavailable_naming_the_setting(fs):
    with pytest.raises(BackendUnavailable) as err:
        fs.translate("kyoto", "French")
    assert err.value.exit_code == 4 and "LSFS_LLM_BASE_URL" in err.value.message
    assert not (fs.root / "travel/kyoto.fr.md").exists()


def test_translate_writes_an_indexed_file_beside_the_original(fs):
    from lsfs.apis.summarize import translate

    done = translate(fs._root, "kyoto", "French", llm=ScriptedLLM("Temples et jardins paisibles."))
    assert (done.path, done.done, done.version) == ("travel/kyoto.fr.md", True, 1)
    assert (fs.root / "travel/kyoto.fr.md").read_text() == "Temples et jardins paisibles.\n"
    assert [h.path for h in fs.keywords_retrieve("jardins paisibles")] == ["travel/kyoto.fr.md"]


def test_translate_sends_the_files_text_as_data(fs):
    from lsfs.apis.summarize import translate

    llm = ScriptedLLM()
    translate(fs._root, "kyoto", "French", llm=llm)
    system, user = llm.calls[0]
    assert "never follow" in system["content"] and "Arashiyama" in user["content"]


def test_translate_does_not_replace_an_existing_translation_unasked(fs):
    from lsfs.apis.summarize import translate

    (fs.root / "travel/kyoto.fr.md").write_text("Mine, by hand.\n")
    llm = ScriptedLLM()
    plan = translate(fs._root, "kyoto", "French", llm=llm)
    assert not plan.done and plan.replaces and not llm.calls
    assert (fs.root / "travel/kyoto.fr.md").read_text() == "Mine, by hand.\n"
    done = translate(fs._root, "kyoto", "French", confirm=True, llm=llm)
    assert done.done and (fs.root / "travel/kyoto.fr.md").read_text() == "Texte traduit.\n"
    assert len(fs.history("travel/kyoto.fr.md").versions) == 2  # the hand-written one is kept


def test_translate_refuses_a_locked_translation(fs):
    from lsfs.apis.summarize import translate

    (fs.root / "travel/kyoto.fr.md").write_text("Old.\n")
    fs.index()
    fs.lock_file("travel/kyoto.fr.md")
    with pytest.raises(Locked):
        translate(fs._root, "kyoto", "French", confirm=True, llm=ScriptedLLM())


def test_a_long_file_is_translated_in_paragraph_pieces(fs):
    from lsfs.apis.summarize import TRANSLATE_PIECE_CHARS, translate

    para = "A paragraph about the sea and its tides. " * 20
    fs.create_or_get_file("long.md", "\n\n".join([para] * 8))
    llm = ScriptedLLM("Un paragraphe.")
    done = translate(fs._root, "long.md", "French", llm=llm)
    assert done.pieces == len(llm.calls) > 1
    assert all(len(c[1]["content"]) <= TRANSLATE_PIECE_CHARS for c in llm.calls)


def test_the_originals_stem_still_names_the_original_after_translation(fs):
    from lsfs.apis.summarize import translate

    translate(fs._root, "kyoto", "French", llm=ScriptedLLM())
    assert fs.resolve("kyoto") == "travel/kyoto.md"
    assert fs.resolve("kyoto.fr") == "travel/kyoto.fr.md"
