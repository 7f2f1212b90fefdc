"""The offline change summary: counts, sections, significant sentences (pure functions)."""

from __future__ import annotations

from lsfs.diffsummary import diff_stat, sentences, significant_sentences, summarize_texts

OLD = """# Field notes

We walked the coast on Monday.

## Birds

Gulls everywhere, as usual.
A heron stood in the shallows.

## Weather

Grey and windy all day.
"""

NEW = """# Field notes

We walked the coast on Monday.

## Birds

Gulls everywhere, as usual.
Ok.
Two oystercatchers probed the mudflats while a peregrine falcon hunted starlings overhead.

## Weather

Grey and windy all day.

## Next trip

Bring the telescope.
"""


def test_counts_lines_added_and_removed_like_a_line_diff():
    s = summarize_texts(OLD, NEW, "notes.md")
    assert (s.lines_added, s.lines_removed) == (6, 1)
    assert diff_stat(OLD, NEW) == (6, 1)


def test_names_the_markdown_sections_touched_and_the_new_heading():
    s = summarize_texts(OLD, NEW, "notes.md")
    assert s.sections == ["Birds", "Next trip"]  # blank lines added above "Next trip" do not touch "Weather"
    assert s.headings_added == ["Next trip"] and s.headings_removed == []


def test_sections_are_read_only_in_markdown_files():
    assert summarize_texts(OLD, NEW, "notes.txt").sections == []


def test_the_most_significant_sentence_is_picked_not_the_first_line():
    s = summarize_texts(OLD, NEW, "notes.md")
    assert s.added[0].startswith("Two oystercatchers probed the mudflats")
    assert s.removed == ["A heron stood in the shallows."]
    assert "Ok." not in s.added  # too short to say anything


def test_headline_carries_counts_sections_and_the_top_sentences():
    line = summarize_texts(OLD, NEW, "notes.md").headline()
    assert line.startswith('+6 -1 lines in "Birds", "Next trip"')
    assert 'new section "Next trip"' in line
    assert 'added "Two oystercatchers' in line and 'removed "A heron stood in the shallows."' in line


def test_a_moved_sentence_is_not_reported_as_added_or_removed():
    old = "Alpha beta gamma delta epsilon.\n\nZeta eta theta iota kappa.\n"
    new = "Zeta eta theta iota kappa.\n\nAlpha beta gamma delta epsilon.\n"
    s = summarize_texts(old, new)
    assert s.lines_added and s.added == [] and s.removed == []


def test_rewrapped_text_yields_no_sentences():
    old = "The committee approved the budget\nafter a long debate.\n"
    new = "The committee approved the budget after a long debate.\n"
    assert summarize_texts(old, new).added == []


def test_a_one_word_edit_reports_both_versions_of_the_sentence():
    s = summarize_texts("We sample three answers per question.\n", "We sample five answers per question.\n")
    assert s.added == ["We sample five answers per question."]
    assert s.removed == ["We sample three answers per question."]


def test_a_new_file_is_summarised_by_size_and_sections():
    s = summarize_texts(None, NEW, "notes.md")
    assert s.new_file and s.lines_added == len(NEW.splitlines())
    assert s.headline() == 'new: 17 lines; sections "Field notes", "Birds", "Weather" and 1 more'


def test_identical_text_is_no_change():
    s = summarize_texts(OLD, OLD, "notes.md")
    assert not s.changed and s.headline() == "no change to the text"


def test_a_missing_final_newline_counts_as_a_changed_line():
    assert diff_stat("a\nb\n", "a\nb") == (1, 1)


def test_large_files_fall_back_to_an_order_blind_count():
    old = "".join(f"line {i}\n" for i in range(30_000))
    new = old.replace("line 17\n", "line seventeen\n") + "a brand new closing line here\n"
    s = summarize_texts(old, new)
    assert (s.lines_added, s.lines_removed) == (2, 1)
    assert s.added[0] == "a brand new closing line here"


def test_sentences_split_lists_and_headings_apart_from_prose():
    text = "# Title\n\nFirst sentence here. Second one\ncontinues here!\n- a bullet item\n- another bullet"
    assert sentences(text) == [
        "Title", "First sentence here.", "Second one continues here!", "a bullet item", "another bullet",
    ]


def test_sentences_in_fenced_code_are_not_headings():
    s = summarize_texts("# A\n\n```\n# not a heading\n```\n", "# A\n\n```\n# not a heading\nx = 1\n```\n", "f.md")
    assert s.sections == ["A"]


def test_significance_favours_new_words_over_length():
    other = "the cat sat on the mat and looked at the garden for a long time"
    picked = significant_sentences(
        "The cat sat on the mat and looked at the garden for a very long time.\n"
        "Quantum entanglement puzzles physicists.",
        other,
        keep=1,
    )
    assert picked == ["Quantum entanglement puzzles physicists."]
