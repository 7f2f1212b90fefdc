"""The LLM client against a real OpenAI-compatible server on loopback (SmolLM2-135M served by
llama_cpp.server, started by the ``llm_server`` fixture), and against a closed port.

SmolLM2-135M is tiny: its plans are often valid but wrong. These tests therefore check the
machinery (the real client, structured output, validation, fallback), not the model's taste.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from typing import Literal

import pytest
from pydantic import BaseModel

from lsfs.config import Config
from lsfs.errors import BackendUnavailable
from lsfs.llm import LLMClient, LLMOutputError
from lsfs.parser import parse, parse_offline, validate_plan
from lsfs.parser.llm_plan import PlanModel

pytestmark = pytest.mark.slow
TODAY = dt.date(2026, 11, 22)


def client_for(server, **kw) -> LLMClient:
    return LLMClient(server.base_url, server.model, timeout=120, retries=1, **kw)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens once the socket is closed


def test_the_server_starts_quickly_from_the_bundled_model(llm_server):
    assert llm_server.base_url.startswith("http://127.0.0.1:")
    assert llm_server.startup_s < 60


def test_the_real_client_gets_a_text_reply(llm_server):
    reply = client_for(llm_server).complete(
        [{"role": "user", "content": "Say hello in one word."}], max_tokens=8)
    assert isinstance(reply, str) and reply.strip()


def test_the_model_name_is_discovered_when_the_server_has_only_one(llm_server):
    client = LLMClient.from_config(Config(llm_base_url=llm_server.base_url, llm_model=None))
    client.complete([{"role": "user", "content": "Hi"}], max_tokens=4)
    assert client.model == llm_server.model


class Verdict(BaseModel):
    answer: Literal["yes", "no"]


def test_structured_output_returns_a_schema_valid_object(llm_server):
    client = client_for(llm_server)
    messages = [{"role": "user", "content": "Is Paris in France? Answer yes or no in JSON."}]
    verdict = client.structured(messages, Verdict, max_tokens=30)
    assert isinstance(verdict, Verdict)
    # llama.cpp refuses OpenAI's json_schema form; the client settles on its own form.
    assert client.structured_mode in ("json_schema", "json_object", "tools")


@pytest.mark.parametrize("sentence", ["find 2 papers about LLM uncertainty",
                                      "summarize cnn.md", "share report.md for 3 months"])
def test_parse_with_the_real_llm_gives_a_checked_llm_plan_or_the_rules_answer(llm_server,
                                                                              sentence):
    plan = parse(sentence, llm=client_for(llm_server), today=TODAY)
    if plan.source == "llm":
        # it passed the contract and the sentence checks; re-validating changes nothing
        assert validate_plan(plan.api, plan.args, today=TODAY).to_json() == plan.to_json()
    else:
        assert plan.to_json() == parse_offline(sentence, today=TODAY).to_json()


def test_the_real_llm_answers_a_plain_search_end_to_end(llm_server):
    # the topic of the prompt's own example: even a 135M model gets this one, which shows
    # an LLM plan can pass every check and be used
    plan = parse("find papers about LLM uncertainty", llm=client_for(llm_server), today=TODAY)
    assert plan.source == "llm"
    assert plan.to_json()["args"] == {"query": "LLM uncertainty", "k": None, "dir": None}


def test_bad_answers_from_the_real_server_fall_back_to_the_offline_parser(llm_server):
    # A reply cut off after a few tokens is not JSON: the real answer is bad, the retry is
    # bad too, and the rules answer.
    client = client_for(llm_server, max_tokens=3)
    with pytest.raises(LLMOutputError):
        client.structured([{"role": "user", "content": "lock report.md"}], PlanModel)
    sentence = "roll back report.md by 2 versions"
    plan = parse(sentence, llm=client, today=TODAY)
    assert plan.source == "offline"
    assert plan.to_json() == parse_offline(sentence, today=TODAY).to_json()


def test_a_server_that_is_down_is_backend_unavailable_with_the_setting_to_fix():
    url = closed_port_url()
    client = LLMClient(url, "any", timeout=5, retries=1)
    began = time.monotonic()
    with pytest.raises(BackendUnavailable) as err:
        client.complete([{"role": "user", "content": "hi"}])
    assert err.value.exit_code == 4
    assert url in str(err.value) and "LSFS_LLM_BASE_URL" in str(err.value)
    assert "\n" not in str(err.value)
    assert time.monotonic() - began < 30


def test_with_the_server_down_parse_still_answers_offline():
    client = LLMClient(closed_port_url(), "any", timeout=5, retries=0)
    plan = parse("share cnn.md for 3 months", llm=client, today=TODAY)
    assert plan.source == "offline"
    assert plan.to_json() == {"api": "link", "args": {"name": "cnn.md", "expires": "P3M"},
                              "destructive": False}


def test_no_llm_configured_names_the_settings():
    with pytest.raises(BackendUnavailable) as err:
        LLMClient.from_config(Config())
    message = str(err.value)
    assert all(s in message for s in ("LSFS_LLM_BASE_URL", "LSFS_LLM_MODEL", "OPENAI_API_KEY"))
