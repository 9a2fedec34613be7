"""Failures become messages, never crashes: a handler that raises logs the error, tells the user in
one line, and answers with its empty result."""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import Callable
from typing import Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException


def guarded(empty: Any = None, *, what: str | None = None) -> Callable:
    """Wrap an async handler ``(ls, params)``; cancellation and deliberate protocol errors pass through."""

    def wrap(handler: Callable) -> Callable:
        name = what or handler.__name__.replace("_", " ")

        @functools.wraps(handler)
        async def run(ls, *args):
            try:
                return await handler(ls, *args)
            except (asyncio.CancelledError, JsonRpcException):
                raise
            except Exception as error:  # noqa: BLE001 - the point: no handler failure reaches the client raw
                ls.report(f"{name} failed: {error}", t.MessageType.Error, detail=traceback.format_exc())
                return empty() if callable(empty) else empty

        return run

    return wrap


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but could not be done; the message says why."""

    CODE = -32803
