"""Sentence -> plan: what ``lsfs ask`` runs.

    from lsfs.parser import parse, parse_offline
    plan = parse_offline("find 2 papers about LLM uncertainty", today=date.today())
    plan.to_json()  # {"api": "semantic_retrieve", "args": {...}, "destructive": False}

``parse_offline`` uses rules only. ``parse`` asks an LLM when one is given, validates its
answer against the plan contract, retries once with the validation error, and otherwise
answers with the rules. Importing this package loads neither ``openai`` nor any model.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Callable, Sequence

from lsfs.parser.plan import (
    API_ARGS,
    APIS,
    DESTRUCTIVE,
    Plan,
    PlanError,
    existence_check,
    is_destructive,
    validate_plan,
)

if TYPE_CHECKING:
    from lsfs.llm import LLMClient

__all__ = [
    "API_ARGS", "APIS", "DESTRUCTIVE", "Plan", "PlanError", "is_destructive", "validate_plan",
    "parse", "parse_offline",
]


def parse_offline(
    sentence: str,
    *,
    today: _dt.date,
    names: Sequence[str] = (),
    exists: Callable[[str], bool] | None = None,
) -> Plan:
    """Turn a sentence into a ``Plan`` with rules alone (no LLM, no network).

    ``names`` are the relative paths of files in the root: they help tell a file reference
    ("summarize the cnn paper") from a topic word, and decide whether ``file_join``'s target
    already exists (``exists``, when given, decides that instead). Relative dates resolve
    against ``today``. Raises ``UserError`` with a one-line hint when no rule fits; it never
    guesses a destructive api.
    """
    from lsfs.parser.offline import parse_sentence

    api, args = parse_sentence(sentence, today=today, names=names)
    try:
        return validate_plan(api, args, today=today, exists=existence_check(names, exists))
    except PlanError as exc:
        from lsfs.errors import UserError

        raise UserError(f"could not read a complete command from {sentence!r}: {exc}") from None


def parse(
    sentence: str,
    *,
    llm: "LLMClient | None",
    today: _dt.date,
    names: Sequence[str] = (),
    exists: Callable[[str], bool] | None = None,
) -> Plan:
    """Turn a sentence into a ``Plan``, with an LLM when ``llm`` is given.

    The LLM's answer is validated against the plan contract (apis, argument names and types,
    k >= 1, real dates); an invalid answer is sent back once with the error, and if it is
    still invalid, or the LLM is unreachable, the offline rules answer. The LLM never decides
    ``destructive``, and cannot name an api outside the table.
    """
    if llm is None:
        return parse_offline(sentence, today=today, names=names, exists=exists)
    from lsfs.parser.llm_plan import plan_with_llm

    plan = plan_with_llm(sentence, llm=llm, today=today, names=names,
                         exists=existence_check(names, exists))
    if plan is not None:
        return plan
    return parse_offline(sentence, today=today, names=names, exists=exists)
