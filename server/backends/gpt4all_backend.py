"""In-process GGUF inference through gpt4all (llama.cpp), the default backend.

- Never downloads: `allow_download=False` with an explicit directory and file.
- Fill-in-the-middle prompts contain special tokens, which gpt4all's `generate()` does not
  parse; this calls the low-level `llmodel_prompt` with `special=True` and its own prompt and
  response callbacks, so cancellation and the timeout are checked after every prompt batch
  and every generated token.
- Keeps the evaluated context between calls.  gpt4all truncates its context to `n_past`
  before reading a prompt, so when a new prompt shares a beginning with the previous one,
  only the differing tail is evaluated (the typing-forward case).  Which tokens are shared is
  computed from the token ids gpt4all reports and the GGUF vocabulary, and verified against
  the text; when they do not line up the context is simply re-read.
"""

from __future__ import annotations

import bisect
import ctypes
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server.backends.base import (
    ChatMessage,
    FimContext,
    Generation,
    ModelError,
    ModelInfo,
    OnText,
    StopReason,
)
from server.backends.counting import count_tokens
from server.backends.tokens import TokenBytes, common_prefix
from server.models.families import (
    FIM_FORMATS,
    chat_prompt,
    chat_stops,
    fim_prompt,
    fim_stops,
    markers,
    sanitize,
    sanitize_context,
)
from server.models.gguf_meta import check_runnable, read_meta

log = logging.getLogger(__name__)
_IMPORT_LOCK = threading.Lock()

class ContextOverflow(ModelError):
    """The prompt has more tokens than the context window."""


#: Prompt tokens per llama_decode call; also how often cancellation is checked while reading.
N_BATCH = 64


class Gpt4AllBackend:
    def __init__(
        self,
        path: Path,
        *,
        name: str | None = None,
        fim: str | None = None,
        chat: str | None = None,
        n_ctx: int = 2048,
        n_threads: int = 0,
        timeout_s: float = 10.0,
        chat_timeout_s: float | None = None,
    ) -> None:
        from server.models.families import detect, template_family

        self.path = Path(path)
        meta = read_meta(self.path)
        check_runnable(meta)
        detected = detect(set(meta.tokens))
        # the model's own chat template (GGUF metadata) says best how it was tuned to talk
        detected = (detected[0], template_family(meta.chat_template) or detected[1])
        self.name = name or self.path.stem
        self.context_length = min(n_ctx, meta.context_length or n_ctx)
        self._info = ModelInfo(
            name=self.name,
            fim=fim or detected[0],
            chat=chat or detected[1],
            context_length=self.context_length,
            stop=fim_stops(fim or detected[0]),
        )
        self._markers = markers(self._info.fim, self._info.chat)
        fmt = FIM_FORMATS.get(self._info.fim)
        vocab = set(meta.tokens)
        #: The vocabulary has the family's repository markers (StarCoder 1 lacks them).
        self._repo_tokens = bool(fmt and fmt.file_sep in vocab and fmt.repo_name in vocab)
        self._bytes = TokenBytes(meta.tokens, meta.token_types, meta.tokenizer_model, meta.bos_id)
        self._n_threads = n_threads or min(os.cpu_count() or 1, 8)
        self.timeout_s = timeout_s
        #: Chat reads long prompts: it gets its own, longer deadline.
        self.chat_timeout_s = chat_timeout_s or timeout_s
        self._lock = threading.Lock()
        self._ratio = 1.0
        #: Prompt tokens read per second, as observed on long enough reads (0: not yet).
        self.prompt_rate = 0.0
        self._model: Any = None
        self._load_error: ModelError | None = None
        self._load_failed_at = 0.0
        # what the evaluated context holds: prompt token ids, their end offsets, prompt bytes
        self._ctx_ids: list[int] = []
        self._ctx_offsets: list[int] = []
        self._ctx_bytes = b""

    @property
    def info(self) -> ModelInfo:
        return self._info

    # -- loading ----------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model once (blocking; call off the event loop).  Errors are kept."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> Any:
        if self._model is not None:
            return self._model
        if self._load_error is not None:
            if time.monotonic() - self._load_failed_at < 30.0:
                raise self._load_error  # not retried on every keystroke
            self._load_error = None
        started = time.perf_counter()
        try:
            with _IMPORT_LOCK:  # two backends (a settings change) may load at once
                from gpt4all import GPT4All

            self._model = GPT4All(
                model_name=self.path.name,
                model_path=str(self.path.parent),
                allow_download=False,
                device="cpu",
                n_threads=self._n_threads,
                n_ctx=self.context_length,
                verbose=False,
            )
        except Exception as exc:
            self._load_error = ModelError(
                f"{self.path}: gpt4all could not load this model ({exc}); the file may be "
                "truncated or corrupt (run `stead models verify`) or its architecture "
                "unsupported: pick another GGUF with `stead models use NAME` or model.path"
            )
            self._load_failed_at = time.monotonic()
            raise self._load_error from exc
        log.info("loaded %s in %.0f ms", self.path, (time.perf_counter() - started) * 1000)
        return self._model

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None

    # -- public API --------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """cl100k estimate scaled by what this model's tokenizer was observed to use."""
        n = count_tokens(text)
        return n if self._ratio == 1.0 else math.ceil(n * self._ratio)

    def _observe(self, prompt: str, actual: int) -> None:
        est = count_tokens(prompt)
        if est >= 16 and actual > 0:
            seen = max(0.5, min(8.0, actual / est))
            self._ratio = seen if self._ratio == 1.0 else 0.7 * self._ratio + 0.3 * seen

    def fim(
        self,
        prefix: str,
        suffix: str,
        *,
        max_tokens: int,
        stop: Sequence[str],
        cancel: threading.Event,
        on_text: OnText | None = None,
        context: FimContext | None = None,
    ) -> Generation:
        ctx = sanitize_context(context, self._markers)
        prompt = self.fim_prompt(prefix, suffix, ctx)
        stops = (*self._info.stop, *stop)
        try:
            return self._generate(prompt, max_tokens, stops, cancel, on_text)
        except ContextOverflow:
            # the estimate was off for this tokenizer: at most one token per byte fits;
            # the context files go first, the text around the cursor is what matters most
            room = max(16, self.context_length - max_tokens - 16)
            suffix_b = suffix.encode()[: room // 4].decode("utf-8", "ignore")
            left = room - len(suffix_b.encode())
            prefix_b = prefix.encode()[-left:].decode("utf-8", "ignore")
            prompt = self.fim_prompt(prefix_b, suffix_b, None)
            return self._generate(prompt, max_tokens, stops, cancel, on_text)

    def fim_prompt(self, prefix: str, suffix: str, context: FimContext | None) -> str:
        """The exact prompt `fim` sends (markers in user text removed)."""
        return fim_prompt(
            self._info.fim, sanitize(prefix, self._markers), sanitize(suffix, self._markers),
            sanitize_context(context, self._markers), repo_tokens=self._repo_tokens,
        )

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        cancel: threading.Event,
        on_text: OnText | None = None,
    ) -> Generation:
        clean = [ChatMessage(m.role, sanitize(m.content, self._markers)) for m in messages]
        prompt = chat_prompt(self._info.chat, clean)
        stops = (*chat_stops(self._info.chat), *stop)
        return self._generate(prompt, max_tokens, stops, cancel, on_text,
                              timeout_s=self.chat_timeout_s)

    # -- generation --------------------------------------------------------------------
    def _reuse_point(self, data: bytes) -> tuple[int, int]:
        """(tokens to keep, byte offset where the new prompt text starts)."""
        if not self._ctx_ids:
            return 0, 0
        shared = common_prefix(self._ctx_bytes, data)
        keep = bisect.bisect_right(self._ctx_offsets, shared)
        keep -= 1  # re-read the last shared token: it may merge with new text, and
        # sampling needs fresh logits from the end of the prompt
        while keep > 0 and self._ctx_offsets[keep - 1] < len(data) and (
            data[self._ctx_offsets[keep - 1]] & 0xC0 == 0x80
        ):
            keep -= 1  # never cut inside a UTF-8 character
        if keep <= 0:
            return 0, 0
        return keep, self._ctx_offsets[keep - 1]

    def _generate(
        self,
        prompt: str,
        max_tokens: int,
        stops: Sequence[str],
        cancel: threading.Event,
        on_text: OnText | None,
        timeout_s: float | None = None,
    ) -> Generation:
        if not prompt:
            # nothing to condition on; llama.cpp would sample from missing logits and crash
            return Generation("", 0, 0, "eos", 0.0)
        with self._lock:
            if cancel.is_set():
                return Generation("", 0, 0, "cancelled", 0.0)
            model = self._load_locked().model
            # the deadline is for reading and generating: a cold call may first spend
            # seconds loading the file, which must not count against it
            started = time.perf_counter()
            deadline = started + (timeout_s or self.timeout_s)
            # imported under the lock, once the load has imported gpt4all: a second thread
            # importing a half-initialised gpt4all package fails
            from gpt4all._pyllmodel import PromptCallback, ResponseCallback, llmodel

            data = prompt.encode("utf-8")
            keep, cut = self._reuse_point(data)
            tail = data[cut:].decode("utf-8")
            if len(data) // 8 > self.context_length:  # surely too long: do not tokenize it
                raise ContextOverflow(
                    f"prompt of {len(data)} bytes cannot fit {self.context_length} tokens"
                )
            model._set_context(
                n_predict=max_tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, n_batch=N_BATCH,
                repeat_penalty=1.0, repeat_last_n=0, reset_context=keep == 0,
            )
            ctx = model.context
            ctx.n_past = keep
            state: dict[str, Any] = {
                "prompt": 0, "out": [], "n": 0, "reason": "max_tokens", "error": None,
                "first": None,
            }
            held = ""  # text held back while it may be the start of a stop string
            max_stop = max((len(s) for s in stops), default=0)

            def check() -> StopReason | None:
                if cancel.is_set():
                    return "cancelled"
                if time.perf_counter() > deadline:
                    return "timeout"
                return None

            def on_prompt(token_id: int) -> bool:
                state["prompt"] += 1
                why = check()
                if why:
                    state["reason"] = why
                    return False
                return True

            def on_response(token_id: int, piece: str) -> bool:
                nonlocal held
                if token_id == -1:
                    state["error"] = piece
                    return False
                if state["first"] is None:
                    state["first"] = time.perf_counter()
                state["n"] += 1
                why = check()
                if why:
                    state["reason"] = why
                    return False
                held += piece
                for s in stops:
                    at = held.find(s) if s else -1
                    if at >= 0:
                        held = held[:at]
                        state["reason"] = "stop"
                        emit(held)
                        held = ""
                        return False
                # keep back the longest tail that could begin a stop string
                safe = len(held)
                for s in stops:
                    for k in range(min(len(s) - 1, len(held)), 0, -1):
                        if held.endswith(s[:k]):
                            safe = min(safe, len(held) - k)
                            break
                if safe:
                    if not emit(held[:safe]):
                        held = ""
                        state["reason"] = "callback"
                        return False
                    held = held[safe:]
                if state["n"] >= max_tokens:
                    state["reason"] = "max_tokens"
                    return False
                return True

            def emit(text: str) -> bool:
                if not text:
                    return True
                state["out"].append(text)
                return on_text(text) if on_text is not None else True

            del max_stop
            decoder = model._callback_decoder(on_response)
            try:
                llmodel.llmodel_prompt(
                    model.model,
                    ctypes.c_char_p(tail.encode("utf-8")),
                    ctypes.c_char_p(b"%1%2"),
                    PromptCallback(on_prompt),
                    ResponseCallback(decoder),
                    True,
                    ctx,
                    True,
                    ctypes.c_char_p(),
                )
            except Exception as exc:  # ctypes callback errors surface here
                self._forget()
                raise ModelError(f"{self.path}: generation failed ({exc})") from exc
            if state["reason"] == "max_tokens" and state["n"] < max_tokens:
                state["reason"] = "eos"  # gpt4all stopped on an end token
            if held and state["reason"] in ("eos", "max_tokens"):
                emit(held)
            self._remember(ctx, keep, state["prompt"], data)
            if state["error"]:
                self._forget()
                if "exceeds the context window" in state["error"]:
                    raise ContextOverflow(f"{self.path}: {state['error']}")
                raise ModelError(f"{self.path}: {state['error']}")
            if keep == 0 and state["reason"] not in ("cancelled", "timeout"):
                self._observe(prompt, state["prompt"])
        now = time.perf_counter()
        first = state["first"] or now
        read_s = first - started
        if state["prompt"] >= 64 and read_s > 0 and state["reason"] not in ("cancelled",):
            seen = state["prompt"] / read_s
            self.prompt_rate = seen if not self.prompt_rate else (
                0.5 * self.prompt_rate + 0.5 * seen)
        return Generation(
            text="".join(state["out"]),
            prompt_tokens=state["prompt"],
            completion_tokens=state["n"],
            stop_reason=state["reason"],
            latency_ms=(now - started) * 1000,
            reused_tokens=keep,
            prompt_ms=(first - started) * 1000,
            prompt=prompt,
        )

    def _forget(self) -> None:
        self._ctx_ids, self._ctx_offsets, self._ctx_bytes = [], [], b""

    def _remember(self, ctx: Any, keep: int, n_new: int, data: bytes) -> None:
        """Record the prompt tokens now in the context, if they spell exactly `data`."""
        n = keep + n_new
        if ctx.tokens_size < n or not ctx.tokens:
            self._forget()
            return
        ids = [int(ctx.tokens[i]) for i in range(n)]
        offsets, text = self._bytes.offsets(ids)
        if text != data:
            if self._ctx_ids:
                log.debug("context does not spell the prompt; disabling reuse for it")
            self._forget()
            return
        self._ctx_ids, self._ctx_offsets, self._ctx_bytes = ids, offsets, data
