"""The scriptable OpenAI-compatible stub (tests/engine/openai_stub_server.py) as its own process.

Editor tests written in other languages (the VS Code extension's Node tests) need a real model server
with scripted replies too. Protocol, one JSON object per line:
- stdout, first line: ``{"url": "http://127.0.0.1:PORT/v1"}``; then ``{"request": {...}}`` for every
  request received and ``{"disconnect": PATH}`` when a client hung up mid-stream.
- stdin: ``{"path": "/v1/completions", "text": "..."}`` (a streamed FIM reply),
  ``{"path": "/v1/chat/completions", "content": "..."}`` (a streamed chat reply); ``"pause": SECONDS``
  first stalls that long before sending (a slow model, for cancellation); ``"repeat": N`` queues the
  same reply N times (an editor asks once per keystroke). The process ends when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from tests.engine.openai_stub_server import Pause, Reply, StubServer, chat_chunk, completion_chunk


def reply_for(line: dict[str, Any]) -> tuple[str, Reply]:
    """One scripted reply from one stdin line; a line that makes no sense is a clear error."""
    path = line.get("path")
    events: list[Any] = [Pause(float(line["pause"]))] if line.get("pause") else []
    if path == "/v1/completions" and isinstance(line.get("text"), str):
        events += [completion_chunk(line["text"]), completion_chunk("", "stop")]
    elif path == "/v1/chat/completions" and isinstance(line.get("content"), str):
        events += [chat_chunk(line["content"]), chat_chunk(finish="stop")]
    else:
        want = "path /v1/completions with text, or /v1/chat/completions with content"
        raise ValueError(f"cannot script {line!r}: want {want}")
    return path, Reply.sse(*events)


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    async with StubServer() as server:
        emit({"url": server.url})
        reported = {"requests": 0, "disconnects": 0}

        async def report() -> None:
            while True:
                for request in server.requests[reported["requests"] :]:
                    emit({"request": {"method": request.method, "path": request.path, "body": request.body}})
                reported["requests"] = len(server.requests)
                for path in server.disconnects[reported["disconnects"] :]:
                    emit({"disconnect": path})
                reported["disconnects"] = len(server.disconnects)
                await asyncio.sleep(0.02)

        reporter = asyncio.ensure_future(report())
        try:
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                if line.strip():
                    try:
                        script = json.loads(line)
                        path, reply = reply_for(script)
                        server.script(path, *[reply] * int(script.get("repeat", 1)))
                    except (ValueError, KeyError, TypeError) as error:
                        emit({"error": str(error)})
        finally:
            reporter.cancel()


if __name__ == "__main__":
    asyncio.run(main())
