"""Server-sent events, as OpenAI-compatible servers stream them: `data: {json}` events, then `data: [DONE]`.

Kept apart from the backend so the framing rules (blank line ends an event, `:` starts a comment, several
`data:` lines join with a newline) are read and tested in one place.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from .base import BackendError

DONE = "[DONE]"


@dataclass(frozen=True)
class SseEvent:
    event: str  # "message" unless the server named it (some send "error")
    data: str


async def sse_events(lines: AsyncIterable[str]) -> AsyncIterator[SseEvent]:
    """Events from the lines of a text/event-stream body (line endings already stripped)."""
    event, data = "", []
    async for line in lines:
        if not line:
            if data:
                yield SseEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # comment, used as a keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
    if data:  # a server that ends the body without the final blank line
        yield SseEvent(event or "message", "\n".join(data))


async def sse_json(lines: AsyncIterable[str]) -> AsyncIterator[dict[str, Any]]:
    """The JSON object in each event, up to `[DONE]`; anything else is a malformed stream.

    After `[DONE]` the rest of the body (only the end of the chunked encoding) is still read, so that the
    connection is complete and goes back to the pool instead of being closed: that saves a TLS handshake
    on every keystroke with a remote API.
    """
    events = sse_events(lines)
    async for event in events:
        if event.data.strip() == DONE:
            async for _ in events:
                pass
            return
        try:
            payload = json.loads(event.data)
        except json.JSONDecodeError as error:
            message = f"malformed stream: event data is not JSON: {event.data[:200]!r}"
            raise BackendError(message, kind="malformed") from error
        if not isinstance(payload, dict):
            raise BackendError(f"malformed stream: event data is not an object: {event.data[:200]!r}", kind="malformed")
        if event.event == "error" and "error" not in payload:
            payload = {"error": payload}
        yield payload
