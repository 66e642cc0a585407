"""JSON-RPC over stdio that answers every request, or ends the process when it cannot.

pygls 2.1.1 (`pygls.io_.run_async` + `JsonRPCProtocol`) parses a body with
`json.loads(object_hook=structure_message)`: when parsing or structuring fails the exception
is logged and the request is never answered (a missing `params`, `{"position": "x"}`,
params nested 100,000 deep, a truncated body).  Its header loop also never notices a
wrong `Content-Length`: the rest of the stream is read as garbage headers, forever, and the
server goes deaf while staying alive.  It serves requests before `initialize` and drops
requests after `shutdown` without an answer.

Here, until pygls does this itself:
- `SteadProtocol.receive` parses one body, checks the JSON-RPC envelope, structures the
  message and answers -32700 / -32600 / -32602 / -32002 with the request's id (salvaged
  from the raw text when the JSON cannot be parsed), before handing it to pygls;
- `serve` reads frames strictly: a header line that is not a header, or a body cut short by
  end of input, is a framing error that cannot be resynchronised: it is logged and the
  server exits with status 2, so the editor restarts it instead of talking to a deaf one.

Upstream would need: `structure_message` failures answered with the message id
(`JsonRpcProtocol.handle_message` taking the raw dict), `params` optional for untyped
methods, a strict header reader that stops on a framing error, and the -32002 /
post-shutdown rules of the LSP base protocol.  None of these has an open pygls issue we
know of; openlawlibrary/pygls#604 (Content-Length counted in characters, not bytes) is
fixed here on the way, since `_send_data` is replaced to answer unserialisable results.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, BinaryIO, Protocol

import attrs
import cattrs
from lsprotocol import types
from lsprotocol.types import ResponseErrorMessage
from pygls.exceptions import JsonRpcInternalError
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002

#: Deeper params are refused before any handler walks them recursively.
MAX_DEPTH = 100
#: A longer header line, or a bigger body, is taken as a broken stream.
MAX_HEADER_LINE = 8192
MAX_BODY = 512 * 1024 * 1024
#: Exit status after a framing error (the editor's client restarts a server that died).
FRAMING_EXIT = 2

_HEADER = re.compile(rb"([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*([^\r\n]*)\r?\n")
_ID_VALUE = re.compile(r'\s*:\s*(-?\d+(?![.eE\d])|"(?:[^"\\]|\\.)*")')
_STRING_END = re.compile(r'(?:[^"\\]|\\.)*"', re.S)


class FramingError(Exception):
    """The byte stream no longer splits into messages: nothing after this can be trusted."""


def salvage_id(body: bytes | str) -> int | str | None:
    """The top-level `id` of a message that did not parse (too deep, truncated), if any.

    A linear scan that tracks nesting and skips strings, so it works where `json.loads`
    gives up; only an integer or string id directly inside the outermost object counts.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text.lstrip().startswith("{"):
        return None
    depth = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            m = _STRING_END.match(text, i + 1)
            if m is None:
                return None
            end = m.end()
            if depth == 1 and text[i:end] == '"id"':
                v = _ID_VALUE.match(text, end)
                if v is not None:
                    try:
                        value = json.loads(v.group(1))
                    except ValueError:
                        return None
                    return value if isinstance(value, int | str) else None
            i = end
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        i += 1
    return None


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, counted without recursion; stops early past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        stack.extend((child, d + 1) for child in children)
    return deepest


def _valid_id(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _validation_detail(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, cattrs.BaseValidationError):
            return "; ".join(cattrs.transform_error(cause))[:500]
        cause = cause.__cause__
    return str(exc)[:500] or type(exc).__name__


class SteadProtocol(LanguageServerProtocol):
    """pygls's LSP protocol with every request answered (see the module docstring)."""

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialize_seen = False
        self._writes: set[asyncio.Future[Any]] = set()

    # -- answering ---------------------------------------------------------------------
    def reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": code, "message": message}})

    def _send_data(self, data: Any) -> None:
        """As pygls's, except that a result it cannot serialise is answered -32603 (pygls
        logs it and the request is never answered)."""
        if not data:
            return
        if self.writer is None:
            log.error("unable to send data: no transport")
            return
        try:
            body = json.dumps(data, default=self._serialize_message)
        except Exception as exc:
            log.exception("cannot serialise an outgoing message")
            msg_id = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
            is_response = not isinstance(data, dict) and not hasattr(data, "method")
            if is_response and _valid_id(msg_id):
                self.reply_error(msg_id, INTERNAL_ERROR,
                                 f"the result could not be serialised: {exc}")
            return
        payload = body.encode(self.CHARSET)
        if self._include_headers:
            header = (f"Content-Length: {len(payload)}\r\n"
                      f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n")
            payload = header.encode("ascii") + payload
        try:
            res = self.writer.write(payload)
            if inspect.isawaitable(res):
                task = asyncio.ensure_future(res)
                self._writes.add(task)
                task.add_done_callback(self._writes.discard)
        except BrokenPipeError:
            log.error("the client closed the connection")
            raise
        except Exception as error:
            log.exception("error sending data")
            self._server._report_server_error(error, JsonRpcInternalError)

    # -- receiving ---------------------------------------------------------------------
    def receive(self, body: bytes) -> None:
        """Handle one framed body: exactly one answer for a request, whatever it holds."""
        try:
            data = json.loads(body)
        except RecursionError:
            self.reply_error(salvage_id(body), INVALID_PARAMS,
                             f"message nested deeper than {MAX_DEPTH} levels")
            return
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            log.warning("unparseable message body (%d bytes): %s", len(body), exc)
            self.reply_error(salvage_id(body), PARSE_ERROR, f"Parse error: {exc}")
            return
        self.receive_data(data)

    def receive_data(self, data: Any) -> None:
        if not isinstance(data, dict):
            kind = "a batch" if isinstance(data, list) else type(data).__name__
            self.reply_error(None, INVALID_REQUEST,
                             f"Invalid Request: expected one JSON object, got {kind}")
            return
        has_id = "id" in data
        msg_id = data.get("id")
        answer_id = msg_id if _valid_id(msg_id) else None
        if data.get("jsonrpc") != "2.0":
            self.reply_error(answer_id, INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"')
            return
        if has_id and msg_id is not None and not _valid_id(msg_id):
            self.reply_error(None, INVALID_REQUEST,
                             "Invalid Request: id must be a string or an integer")
            return
        if "method" not in data:
            if has_id and ("result" in data or "error" in data):
                self._structure_and_handle(data, None)  # a response to our own request
            else:
                self.reply_error(answer_id, INVALID_REQUEST,
                                 "Invalid Request: no method, result or error")
            return
        method = data["method"]
        is_request = has_id
        if not isinstance(method, str):
            if is_request:
                self.reply_error(answer_id, INVALID_REQUEST,
                                 "Invalid Request: method must be a string")
            return
        params = data.get("params")
        if params is not None and not isinstance(params, dict | list):
            if is_request:
                self.reply_error(answer_id, INVALID_PARAMS,
                                 "Invalid params: params must be an object or an array")
            return
        if depth_of(params) > MAX_DEPTH:
            if is_request:
                self.reply_error(answer_id, INVALID_PARAMS,
                                 f"Invalid params: nested deeper than {MAX_DEPTH} levels")
            else:
                log.warning("dropped %s: params nested deeper than %d", method, MAX_DEPTH)
            return
        if method == types.INITIALIZE:
            self.initialize_seen = True
        elif not self.initialize_seen and method != types.EXIT:
            if is_request:
                self.reply_error(answer_id, SERVER_NOT_INITIALIZED,
                                 f"Server not initialized: {method} before initialize")
            else:
                log.info("dropped %s before initialize", method)
            return
        if self._shutdown and method != types.EXIT:
            if is_request:
                self.reply_error(answer_id, INVALID_REQUEST,
                                 f"Invalid Request: {method} after shutdown")
            return
        typed = self.get_message_type(method)
        if is_request and typed is not None and "id" not in attrs.fields_dict(typed):
            # pygls would run it as a notification and never answer the id
            self.reply_error(answer_id, INVALID_REQUEST,
                             f"Invalid Request: {method} is a notification; send it without id")
            return
        if "params" not in data and typed is None:
            data = {**data, "params": None}  # JSON-RPC lets a request omit params
        self._structure_and_handle(data, answer_id if is_request else None, method)

    def _structure(self, data: dict[str, Any]) -> Any:
        """pygls's `structure_message` for a checked envelope, without its traceback log."""
        if "id" in data:
            if "error" in data:
                return self._converter.structure(data, ResponseErrorMessage)
            if "method" in data:
                cls = self.get_message_type(data["method"]) or JsonRPCRequestMessage
                return self._converter.structure(data, cls)
            cls = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
            return self._converter.structure(data, cls)
        cls = self.get_message_type(data["method"]) or JsonRPCNotification
        return self._converter.structure(data, cls)

    def _structure_and_handle(
        self, data: dict[str, Any], answer_id: int | str | None, method: str | None = None
    ) -> None:
        try:
            message = self._structure(data)
        except Exception as exc:
            detail = _validation_detail(exc)
            if answer_id is not None:
                self.reply_error(answer_id, INVALID_PARAMS,
                                 f"Invalid params for {method}: {detail}")
            else:
                log.warning("dropped %s: %s", method or "a response", detail)
            return
        try:
            self.handle_message(message)
        except Exception as exc:  # pygls answers handler failures; this is its own
            log.exception("failed to dispatch %s", method)
            if answer_id is not None:
                self.reply_error(answer_id, INTERNAL_ERROR, f"Internal error: {exc}")


# -- framing ----------------------------------------------------------------------------
class Reader(Protocol):
    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


class StdinReader:
    """Bounded reads from a binary stream on an executor thread (stdin blocks)."""

    def __init__(self, stream: BinaryIO, executor: Executor | None = None) -> None:
        self.stream = stream
        self.executor = executor

    def readline(self) -> Awaitable[bytes]:
        return asyncio.get_running_loop().run_in_executor(
            self.executor, self.stream.readline, MAX_HEADER_LINE)

    def readexactly(self, n: int) -> Awaitable[bytes]:
        return asyncio.get_running_loop().run_in_executor(self.executor, self._read, n)

    def _read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.stream.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


async def read_frame(reader: Reader) -> bytes | None:
    """One message body; None at a clean end of input; FramingError when out of step."""
    headers: dict[bytes, bytes] = {}
    while True:
        try:
            line = await reader.readline()
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise FramingError(f"header line too long: {exc}") from exc
        if not line:
            if headers:
                raise FramingError("input ended inside a message header")
            return None
        if line in (b"\r\n", b"\n"):
            if not headers:
                continue  # a stray blank line between messages
            break
        m = _HEADER.fullmatch(line)
        if m is None:
            shown = line[:80]
            raise FramingError(f"expected a header line, got {shown!r}"
                               f"{'...' if len(line) > 80 else ''}")
        headers[m.group(1).lower()] = m.group(2).strip()
    raw = headers.get(b"content-length")
    if raw is None or not raw.isdigit():
        raise FramingError(f"message header without a valid Content-Length: {raw!r}")
    length = int(raw)
    if length > MAX_BODY:
        raise FramingError(f"Content-Length {length} is beyond {MAX_BODY} bytes")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        body = exc.partial
    if len(body) < length:
        raise FramingError(f"input ended {length - len(body)} bytes into a "
                           f"{length}-byte message body")
    return body


async def serve(
    reader: Reader, protocol: SteadProtocol, stop: threading.Event,
    on_framing_error: Callable[[FramingError], None] | None = None,
) -> int:
    """Read and dispatch frames until end of input (0) or a framing error (FRAMING_EXIT)."""
    while not stop.is_set():
        try:
            body = await read_frame(reader)
        except FramingError as exc:
            log.critical(
                "stead: the JSON-RPC stream is out of step (%s); a wrong Content-Length "
                "cannot be recovered from, so the server exits (status %d) for the editor "
                "to restart it", exc, FRAMING_EXIT)
            if on_framing_error is not None:
                on_framing_error(exc)
            return FRAMING_EXIT
        if body is None:
            return 0
        protocol.receive(body)
    return 0


def stdin_reader(executor: Executor | None) -> StdinReader:
    return StdinReader(sys.stdin.buffer, executor)
