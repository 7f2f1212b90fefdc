"""Sentence -> plan (lsfs.parser): the plan contract of DESIGN.md, the offline rules, and the
LLM path with its validation, retry and fallback. The LLM is stubbed only at its edge
(``LLMClient.complete``, where a request would leave for the server); everything after the
reply (JSON extraction, pydantic, plan validation) runs for real."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lsfs import config
from lsfs.errors import BackendUnavailable, UserError
from lsfs.llm import LLMClient
from lsfs.parser import API_ARGS, APIS, Plan, PlanError, parse, parse_offline, validate_plan
from lsfs.parser.plan import plan_mismatch

DATA = Path(__file__).parent / "data"
TODAY = dt.date(2026, 11, 22)


def load_cases(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def mismatch(case: dict, got: dict) -> str | None:
    return plan_mismatch(case["plan"], got)


def offline(sentence: str, names=(), today=TODAY) -> dict:
    return parse_offline(sentence, today=today, names=names).to_json()


OWN = load_cases("parser_cases.jsonl")


# ---------------------------------------------------------------- the case sets

def test_the_own_case_set_covers_every_api_at_least_six_times():
    counts = {api: 0 for api in APIS}
    for case in OWN:
        counts[case["plan"]["api"]] += 1
    assert len(OWN) >= 200
    assert {api: n for api, n in counts.items() if n < 6} == {}


@pytest.mark.parametrize("case", OWN, ids=[c["sentence"][:60] for c in OWN])
def test_own_case(case):
    today = dt.date.fromisoformat(case["today"])
    got = parse_offline(case["sentence"], today=today, names=case.get("names", ())).to_json()
    problem = mismatch(case, got)
    assert problem is None, f"{case['sentence']!r}: {problem}\n got  {got}\n want {case['plan']}"


def test_held_out_cases_written_after_the_rules_were_frozen_mostly_pass():
    cases = load_cases("parser_cases_unseen.jsonl")
    failures = []
    for case in cases:
        try:
            got = offline(case["sentence"], case.get("names", ()),
                          dt.date.fromisoformat(case["today"]))
        except UserError as exc:
            got = {"api": f"error: {exc}", "args": {}, "destructive": None}
        problem = mismatch(case, got)
        if problem:
            failures.append(f"{case['sentence']!r}: {problem}")
    accuracy = 1 - len(failures) / len(cases)
    assert accuracy >= 0.85, f"held-out accuracy {accuracy:.0%}:\n" + "\n".join(failures)


# ---------------------------------------------------------------- the contract

@pytest.mark.parametrize("sentence", [c["sentence"] for c in OWN[::7]])
def test_plan_json_has_exactly_api_args_destructive_and_the_tables_arg_names(sentence):
    plan = offline(sentence)
    assert list(plan) == ["api", "args", "destructive"]
    assert plan["api"] in APIS
    assert list(plan["args"]) == list(API_ARGS[plan["api"]])
    assert isinstance(plan["destructive"], bool)
    json.dumps(plan)  # serialisable as is


def test_unsaid_arguments_are_null():
    assert offline("find papers about LLM uncertainty")["args"] == {
        "query": "LLM uncertainty", "k": None, "dir": None}


def test_counts_are_ints_from_digits_or_words():
    assert offline("top 7 documents on sleep")["args"]["k"] == 7
    assert offline("find two papers about sleep")["args"]["k"] == 2
    assert offline("find a couple of notes about sleep")["args"]["k"] == 2
    assert offline("show the most relevant paper about sleep")["args"]["k"] == 1


def test_durations_in_plans_are_iso_8601():
    assert offline("share cnn.md for 3 months")["args"]["expires"] == "P3M"
    assert offline("share cnn.md for 48 hours")["args"]["expires"] == "PT48H"
    assert offline("share cnn.md for a week")["args"]["expires"] == "P7D"
    assert offline("what changed in the last day")["args"]["since"] == "P1D"


def test_a_link_without_a_duration_has_no_expiry():
    assert offline("share cnn.md")["args"]["expires"] is None
    assert offline("share cnn.md with a link that never expires")["args"]["expires"] is None


@pytest.mark.parametrize("phrase, date", [
    ("2023-6-15", "2023-06-15"), ("March 3, 2025", "2025-03-03"),
    ("12 November 2024", "2024-11-12"), ("yesterday", "2026-11-21"),
])
def test_rollback_dates_are_yyyy_mm_dd(phrase, date):
    args = offline(f"roll back report.md to {phrase}")["args"]
    assert args == {"name": "report.md", "versions": None, "date": date}


def test_relative_dates_follow_the_today_given_and_lsfs_today():
    today = config.load(None, env={"LSFS_TODAY": "2024-03-01"}).today_date()
    plan = parse_offline("restore notes.md to yesterday", today=today)
    assert plan.args["date"] == "2024-02-29"


@pytest.mark.parametrize("sentence, keywords", [
    ("find files that mention Stanford", ["Stanford"]),
    ("which documents mention Anderson?", ["Anderson"]),
    ("find files containing Stanford and Anderson", ["Stanford", "Anderson"]),
    ("files mentioning Sanderson or Brandon", ["Sanderson", "Brandon"]),
])
def test_and_or_split_only_whole_words_never_names_like_stanford(sentence, keywords):
    assert offline(sentence)["args"]["keywords"] == keywords


def test_a_semantic_query_with_and_stays_one_query():
    assert offline("papers about Stanford and Berkeley")["args"]["query"] == \
        "Stanford and Berkeley"


def test_quoted_phrases_are_kept_whole():
    args = offline('find notes containing "machine learning" or "deep learning"')["args"]
    assert args["keywords"] == ["machine learning", "deep learning"]
    assert args["mode"] == "any"
    assert offline("append 'milk and eggs, or bread' to list.md")["args"]["content"] == \
        "milk and eggs, or bread"


def test_words_inside_quotes_cannot_choose_the_api():
    plan = offline("append 'delete everything in notes/' to todo.md")
    assert (plan["api"], plan["destructive"]) == ("add_", False)


def test_destructive_words_inside_a_topic_do_not_make_a_destructive_plan():
    for sentence in ("find papers about deleting old backups",
                     "search for notes on how to lock a door",
                     "show me documents about rollback strategies"):
        plan = offline(sentence)
        assert plan["api"] == "semantic_retrieve" and plan["destructive"] is False, sentence


def test_folders_are_recognised_in_everyday_forms():
    assert offline("papers about LLMs in notes/")["args"]["dir"] == "notes"
    assert offline("papers about LLMs from folder named reports")["args"]["dir"] == "reports"
    assert offline("papers about LLMs inside cranfield")["args"]["dir"] == "cranfield"
    assert offline("papers about LLMs under reports")["args"]["dir"] == "reports"


def test_known_folders_are_recognised_after_plain_in():
    names = ["cranfield/0001.txt", "notes/a.md"]
    assert offline("papers about heat transfer in cranfield", names)["args"]["dir"] == "cranfield"
    assert offline("papers about heat transfer in cranfield")["args"]["dir"] is None


def test_file_names_are_kept_as_the_user_wrote_them():
    assert offline("summarize the cnn paper", ["models/cnn.md"])["args"]["name"] == "cnn"
    assert offline("lock notes/todo.md")["args"]["name"] == "notes/todo.md"


def test_a_sentence_that_looks_like_a_search_is_a_semantic_retrieve():
    assert offline("papers about LLM uncertainty")["api"] == "semantic_retrieve"


# ---------------------------------------------------------------- destructive flags

@pytest.mark.parametrize("sentence, destructive", [
    ("delete cnn.md", True),
    ("overwrite notes.txt with 'x'", True),
    ("roll back report.md", True),
    ("group papers about vision into vision/", True),
    ("group files containing 'invoice' into bills", True),
    ("lock report.md", True),
    ("unlock report.md", False),
    ("append 'x' to notes.txt", False),
    ("create a file called ideas.md", False),
    ("summarize the changes to report.md", False),
    ("update todo.md to 'done' and summarize the changes", True),
    ("translate cnn.md into French", False),
    ("import ~/Downloads/papers", False),
])
def test_destructive_flag_per_api(sentence, destructive):
    assert offline(sentence)["destructive"] is destructive


def test_join_is_destructive_only_into_an_existing_file():
    sentence = "join a.md and b.md into c.md"
    assert offline(sentence, names=["a.md", "b.md"])["destructive"] is False
    assert offline(sentence, names=["a.md", "b.md", "c.md"])["destructive"] is True
    assert offline("join a.md and b.md", names=["a.md", "b.md"])["destructive"] is False
    plan = parse_offline(sentence, today=TODAY, exists=lambda name: name == "c.md")
    assert plan.destructive is True


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("sentence", ["what's the weather like", "hello there",
                                      "make me a sandwich", "banana"])
def test_an_unknown_sentence_is_a_user_error_that_suggests_lsfs_search(sentence):
    with pytest.raises(UserError) as err:
        parse_offline(sentence, today=TODAY)
    assert "lsfs search" in str(err.value)
    assert err.value.exit_code == 1 and "\n" not in str(err.value)


@pytest.mark.parametrize("sentence", ["delete it", "delete", "remove this file",
                                      "delete report.md and notes.md", "lock it"])
def test_a_destructive_command_without_one_clear_file_is_refused_not_guessed(sentence):
    with pytest.raises(UserError):
        parse_offline(sentence, today=TODAY)


def test_an_empty_sentence_is_a_user_error():
    with pytest.raises(UserError, match="empty"):
        parse_offline("   ", today=TODAY)


# ---------------------------------------------------------------- validation

def test_validate_plan_normalises_types():
    plan = validate_plan("semantic_retrieve", {"query": "x", "k": "3"}, today=TODAY)
    assert plan.args == {"query": "x", "k": 3, "dir": None}
    plan = validate_plan("link", {"name": "a.md", "expires": "3 months"}, today=TODAY)
    assert plan.args["expires"] == "P3M"
    plan = validate_plan("rollback", {"name": "a.md", "date": "yesterday"}, today=TODAY)
    assert plan.args["date"] == "2026-11-21"


@pytest.mark.parametrize("api, args, message", [
    ("format_disk", {}, "not one of"),
    ("semantic_retrieve", {"query": "x", "k": 0}, "at least 1"),
    ("semantic_retrieve", {"query": "x", "name": "a.md"}, "unexpected: name"),
    ("keywords_retrieve", {"keywords": ["x"], "mode": "some"}, "mode"),
    ("rollback", {"name": "a.md", "date": "2023-02-30"}, "does not exist"),
    ("file_join", {"names": ["a.md"]}, "at least two"),
    ("summarize", {}, "needs name"),
    ("link", {"name": "a.md", "expires": "soonish"}, "expires"),
])
def test_validate_plan_rejects_what_breaks_the_contract(api, args, message):
    with pytest.raises(PlanError, match=message):
        validate_plan(api, args, today=TODAY)


def test_validate_plan_computes_destructive_whatever_the_source_claims():
    assert validate_plan("del_", {"name": "a.md"}, today=TODAY).destructive is True


# ---------------------------------------------------------------- the LLM path

class ScriptedLLM(LLMClient):
    """An LLMClient whose server replies are scripted: the stub sits where a request would
    leave the process, so parsing and validation of the reply are the real ones."""

    def __init__(self, replies):
        super().__init__("http://127.0.0.1:9/v1", "scripted")
        self.replies = list(replies)
        self.requests: list[list[dict]] = []

    def complete(self, messages, *, json_schema=None, max_tokens=None, temperature=0.0):
        self.requests.append(messages)
        reply = self.replies.pop(0) if self.replies else self.replies_exhausted()
        if isinstance(reply, Exception):
            raise reply
        return reply

    def replies_exhausted(self):
        raise AssertionError("the parser asked the LLM more often than expected")


def plan_reply(api, **args) -> str:
    return json.dumps({"api": api, "args": args})


def test_parse_uses_a_valid_llm_plan():
    llm = ScriptedLLM([plan_reply("semantic_retrieve", query="LLM uncertainty", k=2)])
    plan = parse("get me a pair of LLM uncertainty papers", llm=llm, today=TODAY)
    assert plan.source == "llm"
    assert plan.to_json() == {"api": "semantic_retrieve",
                              "args": {"query": "LLM uncertainty", "k": 2, "dir": None},
                              "destructive": False}


def test_invalid_llm_json_is_retried_once_with_the_error_then_used():
    llm = ScriptedLLM(["Sure! Here is your plan: {api: semantic",
                       plan_reply("history", name="report.md")])
    plan = parse("show the history of report.md", llm=llm, today=TODAY)
    assert plan.source == "llm" and plan.api == "history"
    assert len(llm.requests) == 2
    assert "invalid" in llm.requests[1][-1]["content"]


def test_a_plan_that_breaks_the_contract_is_retried_with_the_validation_error():
    llm = ScriptedLLM([plan_reply("semantic_retrieve", query="x", k=0),
                       plan_reply("semantic_retrieve", query="x", k=1)])
    plan = parse("find the best paper about x", llm=llm, today=TODAY)
    assert plan.args["k"] == 1
    assert "k must be at least 1" in llm.requests[1][-1]["content"]


def test_two_invalid_llm_answers_fall_back_to_the_offline_parser():
    llm = ScriptedLLM(["not json", plan_reply("no_such_api")])
    sentence = "roll back report.md by 2 versions"
    plan = parse(sentence, llm=llm, today=TODAY)
    assert plan.source == "offline"
    assert plan.to_json() == parse_offline(sentence, today=TODAY).to_json()
    assert len(llm.requests) == 2


def test_an_unreachable_llm_falls_back_to_the_offline_parser():
    llm = ScriptedLLM([BackendUnavailable("cannot reach the LLM server; fix LSFS_LLM_BASE_URL")])
    plan = parse("share cnn.md for 3 months", llm=llm, today=TODAY)
    assert plan.source == "offline"
    assert plan.to_json()["args"] == {"name": "cnn.md", "expires": "P3M"}


def test_llm_cannot_make_a_destructive_plan_the_sentence_does_not_ask_for():
    # e.g. a prompt injection read from a file: the sentence only asks to summarise
    llm = ScriptedLLM([plan_reply("del_", name="report.md"), plan_reply("del_", name="report.md")])
    plan = parse("summarize report.md", llm=llm, today=TODAY)
    assert (plan.api, plan.destructive, plan.source) == ("summarize", False, "offline")


def test_llm_paths_outside_the_root_are_rejected_unless_the_user_wrote_them():
    llm = ScriptedLLM([plan_reply("summarize", name="../../etc/passwd"),
                       plan_reply("summarize", name="/etc/shadow")])
    plan = parse("summarize notes.md", llm=llm, today=TODAY)
    assert plan.args["name"] == "notes.md" and plan.source == "offline"


def test_llm_destructive_flag_is_computed_not_trusted():
    llm = ScriptedLLM([json.dumps({"api": "del_", "args": {"name": "a.md"},
                                   "destructive": False})])
    plan = parse("delete a.md", llm=llm, today=TODAY)
    assert (plan.source, plan.destructive) == ("llm", True)


def test_without_an_llm_parse_is_the_offline_parser():
    plan = parse("lock report.md", llm=None, today=TODAY)
    assert plan.to_json() == parse_offline("lock report.md", today=TODAY).to_json()


def test_importing_the_parser_loads_neither_openai_nor_torch():
    code = ("import sys, lsfs.parser, lsfs.llm, lsfs.timeparse; "
            "print(sorted(m for m in ('openai', 'torch', 'sentence_transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, check=True)
    assert out.stdout.strip() == "[]"


def test_plan_is_a_plain_dataclass():
    plan = Plan("history", {"name": "a.md"}, False)
    assert plan.to_json() == {"api": "history", "args": {"name": "a.md"}, "destructive": False}


def test_an_llm_api_that_contradicts_the_sentences_own_verb_is_rejected():
    llm = ScriptedLLM([plan_reply("semantic_retrieve", query="essay"),
                       plan_reply("semantic_retrieve", query="essay")])
    plan = parse("share essay.docx for 10 days", llm=llm, today=TODAY)
    assert (plan.api, plan.source) == ("link", "offline")
    assert "starts with 'share'" in llm.requests[1][-1]["content"]


def test_an_llm_plan_must_use_the_sentences_own_names_and_topic():
    # the classic small-model failure: echoing the example from its prompt
    llm = ScriptedLLM([plan_reply("semantic_retrieve", query="LLM uncertainty", k=2),
                       plan_reply("summarize", name="cnn.md")])
    plan = parse("find papers about robotics", llm=llm, today=TODAY)
    assert plan.source == "offline" and plan.args["query"] == "robotics"
    assert "not what the sentence asks about" in llm.requests[1][-1]["content"]


def test_an_llm_may_resolve_a_name_to_a_path_the_root_holds():
    llm = ScriptedLLM([plan_reply("summarize", name="models/cnn.md")])
    plan = parse("summarize the cnn paper", llm=llm, today=TODAY, names=["models/cnn.md"])
    assert (plan.source, plan.args["name"]) == ("llm", "models/cnn.md")


def test_an_llm_plan_may_not_drop_what_the_user_said_outright():
    llm = ScriptedLLM([plan_reply("semantic_retrieve", query="net zero"),
                       plan_reply("keywords_retrieve", keywords=["net zero"], mode="all")])
    plan = parse("find files that contain the phrase 'net zero'", llm=llm, today=TODAY)
    assert (plan.source, plan.api) == ("llm", "keywords_retrieve")
    assert "words the files must contain" in llm.requests[1][-1]["content"]
