"""A client for any OpenAI-compatible chat server (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).

    client = LLMClient.from_config(config.load(root))      # BackendUnavailable if none set
    text = client.complete([{"role": "user", "content": "hi"}])
    plan = client.structured(messages, PlanModel)           # a validated pydantic object

Structured output is asked for the strongest way the server accepts, and the answer is
remembered per client: JSON-schema ``response_format`` (OpenAI, vLLM), then
``{"type": "json_object", "schema": …}`` (llama.cpp's Python server), then a forced tool
call, then plain text with the schema in the prompt. Whatever comes back is parsed and
validated by pydantic here; a reply that does not fit raises ``LLMOutputError`` so a caller
can retry with the error or fall back.

``openai`` is imported inside the functions that need it: it costs ~0.9 s, and the CLI's
``--help`` must stay instant.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, TypeVar

from lsfs.errors import BackendUnavailable

if TYPE_CHECKING:
    import pydantic

    from lsfs.config import Config

M = TypeVar("M", bound="pydantic.BaseModel")

# Local servers ignore the key, but the openai package refuses to start without one.
PLACEHOLDER_KEY = "sk-no-key-needed"
_MODES = ("json_schema", "json_object", "tools", "text")


class LLMOutputError(ValueError):
    """The server answered, but not with what was asked (invalid JSON, wrong shape)."""

    def __init__(self, message: str, raw: str):
        super().__init__(message)
        self.raw = raw


class LLMClient:
    """Chat completions against one OpenAI-compatible endpoint and model."""

    def __init__(
        self,
        base_url: str | None,
        model: str | None,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        max_tokens: int | None = None,
    ):
        self.base_url = base_url.rstrip("/") if base_url else None
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.max_tokens = max_tokens  # a cap on every reply; None leaves it to the call
        self._client = None
        self._mode: str | None = None  # the structured-output way this server accepted

    @classmethod
    def from_config(cls, cfg: "Config") -> "LLMClient":
        """A client from LSFS settings; ``BackendUnavailable`` (exit 4) when none is set.

        Needs ``LSFS_LLM_BASE_URL`` (any OpenAI-compatible server) or ``OPENAI_API_KEY`` (for
        OpenAI itself). ``LSFS_LLM_MODEL`` may be left out when the server offers exactly one
        model, as a local llama.cpp server does.
        """
        if not cfg.llm_base_url and not cfg.llm_api_key:
            raise BackendUnavailable(
                "no LLM is configured; set LSFS_LLM_BASE_URL (an OpenAI-compatible server, e.g. "
                "http://127.0.0.1:8000/v1) and LSFS_LLM_MODEL, or OPENAI_API_KEY for OpenAI")
        return cls(cfg.llm_base_url, cfg.llm_model, api_key=cfg.llm_api_key,
                   timeout=cfg.llm_timeout, retries=cfg.llm_retries)

    # ------------------------------------------------------------------ plumbing

    def _where(self) -> str:
        return self.base_url or "api.openai.com"

    def _openai(self):
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=self.api_key or PLACEHOLDER_KEY,
                timeout=self.timeout, max_retries=self.retries)
        return self._client

    def _model_name(self) -> str:
        if self.model:
            return self.model
        try:
            models = [m.id for m in self._openai().models.list()]
        except Exception as exc:  # noqa: BLE001 - mapped to one clear message
            raise self._unavailable(exc) from None
        if len(models) != 1:
            raise BackendUnavailable(
                f"the LLM server at {self._where()} offers {len(models)} models; set "
                f"LSFS_LLM_MODEL to one of: {', '.join(models[:5]) or '(none)'}")
        self.model = models[0]
        return self.model

    def _unavailable(self, exc: Exception) -> BackendUnavailable:
        import openai

        where = self._where()
        if isinstance(exc, openai.AuthenticationError):
            return BackendUnavailable(f"the LLM server at {where} rejected the API key; check "
                                      f"OPENAI_API_KEY")
        if isinstance(exc, openai.NotFoundError):
            return BackendUnavailable(f"the LLM server at {where} has no model {self.model!r} "
                                      f"(or no /chat/completions); check LSFS_LLM_MODEL and "
                                      f"LSFS_LLM_BASE_URL")
        if isinstance(exc, openai.APITimeoutError):
            return BackendUnavailable(f"the LLM server at {where} did not answer within "
                                      f"{self.timeout:g} s; check LSFS_LLM_BASE_URL or raise "
                                      f"llm_timeout")
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailable(f"cannot reach the LLM server at {where}; start it or fix "
                                      f"LSFS_LLM_BASE_URL")
        if isinstance(exc, openai.APIStatusError):
            return BackendUnavailable(f"the LLM server at {where} failed (HTTP "
                                      f"{exc.status_code}: {_short(exc)}); check LSFS_LLM_BASE_URL "
                                      f"and LSFS_LLM_MODEL")
        return BackendUnavailable(f"the LLM server at {where} failed ({_short(exc)}); check "
                                  f"LSFS_LLM_BASE_URL")

    def _create(self, messages: list[dict], probing: bool = False, **extra):
        import openai

        client = self._openai()
        if probing:
            # Trying a response format the server may reject: a rejection must not be
            # retried with back-off (llama.cpp reports it as HTTP 500).
            client = client.with_options(max_retries=0)
        try:
            return client.chat.completions.create(model=self._model_name(), messages=messages,
                                                  **extra)
        except (openai.BadRequestError, openai.UnprocessableEntityError,
                openai.InternalServerError, openai.NotFoundError) as exc:
            if probing and _rejects_format(exc):
                raise _FormatRejected() from exc
            raise self._unavailable(exc) from None
        except openai.OpenAIError as exc:
            raise self._unavailable(exc) from None

    # ------------------------------------------------------------------ public

    @property
    def structured_mode(self) -> str | None:
        """How this server accepted a request for JSON ("json_schema", "json_object",
        "tools" or "text"); ``None`` until the first structured call."""
        return self._mode

    def complete(
        self,
        messages: list[dict],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> str:
        """The assistant's reply text. With ``json_schema``, the reply is JSON text the
        server was asked (as firmly as it allows) to shape by that schema.

        Raises ``BackendUnavailable`` naming the setting to fix when the server is missing,
        unreachable, times out after the configured retries, or refuses the request.
        """
        extra: dict[str, Any] = {"temperature": temperature}
        cap = min(filter(None, (max_tokens, self.max_tokens)), default=None)
        if cap:
            extra["max_tokens"] = cap
        if json_schema is None:
            reply = self._create(messages, **extra)
            return reply.choices[0].message.content or ""
        modes = [self._mode] if self._mode else list(_MODES)
        for mode in modes:
            try:
                text = self._complete_as(mode, messages, json_schema, extra,
                                         probing=self._mode is None and mode != "text")
            except _FormatRejected:
                continue
            self._mode = mode
            return text
        raise BackendUnavailable(f"the LLM server at {self._where()} accepts no way of asking "
                                 f"for JSON; check LSFS_LLM_BASE_URL")

    def structured(self, messages: list[dict], model_cls: type[M], *,
                   max_tokens: int = 512) -> M:
        """Ask for an answer shaped like ``model_cls`` and return it validated.

        Raises ``LLMOutputError`` when the reply is not valid JSON for the model (the caller
        may retry with the error), ``BackendUnavailable`` when the server cannot be used.
        """
        import pydantic

        schema = model_cls.model_json_schema()
        raw = self.complete(messages, json_schema=schema, max_tokens=max_tokens)
        data = extract_json(raw)
        if data is None:
            raise LLMOutputError("the reply is not a JSON object", raw)
        try:
            return model_cls.model_validate(data)
        except pydantic.ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}"
                                 for e in exc.errors()[:5])
            raise LLMOutputError(f"the reply does not fit the schema: {problems}", raw) from None

    def _complete_as(self, mode: str, messages: list[dict], schema: dict, extra: dict,
                     probing: bool) -> str:
        if mode == "json_schema":
            fmt = {"type": "json_schema",
                   "json_schema": {"name": schema.get("title", "answer"), "schema": schema}}
            reply = self._create(messages, probing=probing, response_format=fmt, **extra)
            return reply.choices[0].message.content or ""
        if mode == "json_object":
            # The schema rides in response_format (llama.cpp turns it into a grammar); it is
            # not repeated in the prompt, where it would double the tokens a small local
            # model must read. Servers that ignore it still get JSON, and validation decides.
            fmt = {"type": "json_object", "schema": schema}
            reply = self._create([{"role": "system", "content": "Reply with one JSON object."},
                                  *messages], probing=probing, response_format=fmt, **extra)
            return reply.choices[0].message.content or ""
        if mode == "tools":
            tool = {"type": "function", "function": {
                "name": "answer", "description": "Give the answer.", "parameters": schema}}
            reply = self._create(messages, probing=probing, tools=[tool],
                                 tool_choice={"type": "function", "function": {"name": "answer"}},
                                 **extra)
            message = reply.choices[0].message
            calls = message.tool_calls or []
            if calls:
                return calls[0].function.arguments or ""
            return message.content or ""
        reply = self._create(_with_schema_hint(messages, schema), **extra)
        return reply.choices[0].message.content or ""


class _FormatRejected(Exception):
    """The server refused this way of asking for JSON; try the next."""


def _rejects_format(exc) -> bool:
    text = str(getattr(exc, "message", "") or exc).lower()
    return any(w in text for w in ("response_format", "json_schema", "json_object", "tool",
                                   "function", "not supported", "unsupported", "extra inputs",
                                   "literal_error"))


def _short(exc: Exception) -> str:
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    return text[:160] + ("…" if len(text) > 160 else "")


def _with_schema_hint(messages: list[dict], schema: dict) -> list[dict]:
    hint = ("Reply with one JSON object only, no prose, matching this JSON schema:\n"
            + json.dumps(schema, separators=(",", ":")))
    return [{"role": "system", "content": hint}, *messages]


def extract_json(text: str) -> Any | None:
    """The first JSON object in a reply, tolerating code fences and prose around it."""
    if not text:
        return None
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    except json.JSONDecodeError:
        pass
    start = text.find("{")
    decoder = json.JSONDecoder()
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text[start:])
            if isinstance(value, dict):
                return value
        except json.JSONDecodeError:
            pass
        start = text.find("{", start + 1)
    return None
