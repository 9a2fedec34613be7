"""JSON-RPC as the spec says, whatever arrives: every bad request gets an error response with its id.

pygls drops some bad messages without a word, so a client waits forever for the answer: a request
whose params have the wrong shape (the id is lost in structuring), a message without "jsonrpc",
a batch, a request after shutdown. Here each message's envelope is checked first, then its params
are structured for its method; what fails is answered (or, for a notification, logged), and the
lifecycle rules of LSP hold: requests before `initialize` get ServerNotInitialized, requests after
`shutdown` get InvalidRequest, a second `initialize` is refused.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import _prepare_command_arguments, lsp_method

log = logging.getLogger("wholerepo.protocol")
ALWAYS_ALLOWED = {t.EXIT}  # the one notification LSP lets through before initialize and after shutdown


class ProtocolError(Exception):
    """A message that cannot be handled; ``code`` is the JSON-RPC error to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WholerepoProtocol(LanguageServerProtocol):
    def __init__(self, server, converter) -> None:
        super().__init__(server, converter)
        self._initialize_received = False

    def structure_message(self, data: dict[str, Any]):
        """The JSON object hook: keep plain dicts; `handle_message` structures the whole message
        once, so a failure still knows the message's id."""
        return data

    def handle_message(self, message: Any) -> None:
        self._server.quiet_gc.worked()
        try:
            method = _check_envelope(message)
            if method is not None and not self._lifecycle_allows(message, method):
                return
            if method is not None and "params" not in message:
                message = {**message, "params": None}  # JSON-RPC lets params be omitted; pygls's types want the key
            structured = self._structure(message, method)
        except ProtocolError as error:
            self._refuse(message, error)
            return
        if method == t.INITIALIZE:
            self._initialize_received = True
        try:
            super().handle_message(structured)
        except Exception as error:  # noqa: BLE001 - pygls answers handler failures; this is the last net
            log.exception("message not handled")
            self._refuse(message, ProtocolError(t.ErrorCodes.InternalError, f"{method}: {_summary(error)}"))

    def _refuse(self, message: Any, error: ProtocolError) -> None:
        """Answer what expects an answer (anything with an id, or unreadable as a message); log the rest."""
        msg_id = _request_id(message)
        if isinstance(message, dict) and "id" not in message and "method" in message:
            log.warning("dropping a notification: %s", error.message)
        elif isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message):
            log.warning("dropping a malformed response from the client: %s", error.message)
        else:
            self.send_error(None if msg_id is _NO_ID else msg_id, error.code, error.message)

    @lsp_method(t.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: t.ExecuteCommandParams):
        """pygls's, but arguments that do not fit the command's signature are InvalidParams (pygls
        calls the command anyway and answers a TypeError as an internal error)."""
        handler = self.fm.commands.get(params.command)
        if handler is not None:
            try:
                args, kwargs = _prepare_command_arguments(handler, params, self._converter)
                function = getattr(handler, "func", None)  # pygls's wrapper of an async command
                bound = (self._server, *args) if function is not None else args
                inspect.signature(function or handler).bind(*bound, **kwargs)
            except Exception as error:  # noqa: BLE001 - whatever the arguments did wrong, the client hears it
                raise JsonRpcInvalidParams(f"{params.command}: bad arguments: {_summary(error)}") from None
        return (yield from super().lsp_workspace__execute_command(params))

    def send_error(self, msg_id, code: int, message: str) -> None:
        """An error response; ``msg_id`` None when the request's id could not be read (sent as
        `"id": null`, which lsprotocol's converter would leave out)."""
        if msg_id is None:
            self._send_data({"jsonrpc": self.VERSION, "id": None, "error": {"code": int(code), "message": message}})
        else:
            self._send_response(msg_id, error=t.ResponseError(code=code, message=message))

    def _lifecycle_allows(self, message: dict, method: str) -> bool:
        """Whether LSP's lifecycle lets the message through now: False drops a notification, a request
        that may not pass raises the ProtocolError it is answered with."""
        is_request = "id" in message
        if method in ALWAYS_ALLOWED:
            return True
        if self._shutdown:
            if is_request:
                raise ProtocolError(t.ErrorCodes.InvalidRequest, f"{method}: the server is shutting down")
            return False
        if method == t.INITIALIZE and self._initialize_received:
            raise ProtocolError(t.ErrorCodes.InvalidRequest, "initialize was already received")
        if method != t.INITIALIZE and not self._initialize_received:
            if is_request:
                raise ProtocolError(t.ErrorCodes.ServerNotInitialized, f"{method}: the server is not initialized")
            return False
        return True

    def _structure(self, message: dict, method: str | None):
        """The typed message for its method; InvalidParams naming the method when params do not fit."""
        try:
            return super().structure_message(message)
        except JsonRpcException as error:
            cause = error.__cause__ or error
            what = method or "response"
            raise ProtocolError(t.ErrorCodes.InvalidParams, f"{what}: invalid params: {_summary(cause)}") from None


_NO_ID = object()


def _request_id(message: Any):
    """The message's id when it is a valid one (integer or string), else _NO_ID."""
    if isinstance(message, dict):
        value = message.get("id", _NO_ID)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
    return _NO_ID


def _check_envelope(message: Any) -> str | None:
    """The method of a request or notification (None for a response); ProtocolError when the
    message is not a JSON-RPC 2.0 object with a usable id and method."""
    if not isinstance(message, dict):
        kind = "a batch" if isinstance(message, list) else type(message).__name__
        raise ProtocolError(t.ErrorCodes.InvalidRequest, f"expected a JSON-RPC object, got {kind}")
    if message.get("jsonrpc") != "2.0":
        raise ProtocolError(t.ErrorCodes.InvalidRequest, 'expected "jsonrpc": "2.0"')
    if "id" in message and _request_id(message) is _NO_ID:
        raise ProtocolError(t.ErrorCodes.InvalidRequest, f"id must be an integer or a string, got {message['id']!r}")
    if "method" not in message:
        if "id" not in message or ("result" in message) == ("error" in message):
            raise ProtocolError(t.ErrorCodes.InvalidRequest, "neither a request, a notification nor a response")
        return None
    method = message["method"]
    if not isinstance(method, str):
        raise ProtocolError(t.ErrorCodes.InvalidRequest, f"method must be a string, got {method!r}")
    if "params" in message and message["params"] is not None and not isinstance(message["params"], dict | list):
        raise ProtocolError(t.ErrorCodes.InvalidParams, f"{method}: params must be an object or an array")
    return method


def _summary(error: BaseException, limit: int = 300) -> str:
    """One line out of a cattrs error tree: the first leaf's message."""
    while getattr(error, "exceptions", None):
        error = error.exceptions[0]
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= limit else text[:limit] + "…"
