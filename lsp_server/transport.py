"""Reading the client's byte stream so that no input can stop the server.

pygls reads header lines and bodies straight from stdin or the socket. Three inputs break it: a
body length beyond memory (`Content-Length: 999999999999` allocates it up front from stdin and the
server dies), a header line longer than the socket reader's limit (the TCP session ends) and a
broken frame, after which every later message is lost until a header line happens to start a
line again. `SafeStdin` (stdio) and `SafeStreamReader` (TCP) bound all three: a header line is read
in pieces of at most MAX_LINE bytes, a body over MAX_BODY bytes is read and discarded in chunks
(the protocol then answers a parse error naming the size), and a line holding `Content-Length:`
after other bytes is split there, so the stream resynchronises at the next message.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO

MAX_LINE = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # VS Code stops syncing files to extensions at 50 MB
DISCARD_CHUNK = 1024 * 1024
HEADER = b"Content-Length:"


class _Bounded:
    """What both readers share: the bytes read ahead of the caller, and the rules for lines and bodies."""

    def __init__(self) -> None:
        self.pending = b""
        self.discarded: int | None = None  # the size of the last body thrown away, for the error message

    def _line_ahead(self) -> tuple[bytes, bool]:
        """A line from the bytes read ahead, and whether it is whole (else the caller reads on)."""
        end = self.pending.find(b"\n")
        if end >= 0:
            line, self.pending = self.pending[: end + 1], self.pending[end + 1 :]
            return line, True
        line, self.pending = self.pending, b""
        return line, len(line) >= MAX_LINE  # a piece as long as a line may be counts as one

    def _resynchronised(self, line: bytes) -> bytes:
        """Garbage before a header is handed back alone; the header waits for the next call."""
        line, header = split_at_header(line)
        self.pending = header + self.pending
        return line

    def _body_ahead(self, n: int) -> bytes:
        body, self.pending = self.pending[:n], self.pending[n:]
        return body

    def _skipped(self, n: int, left: int) -> bytes:
        """After skipping an oversized body: b" " (not JSON: the protocol answers a parse error),
        or b"" when the stream ended first."""
        if left > 0:
            return b""
        self.discarded = n
        return b" "


class SafeStdin(_Bounded):
    """The readline/read pair pygls's reader needs, bounded and resynchronising."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self.raw = raw

    def readline(self) -> bytes:
        line, whole = self._line_ahead()
        if not whole:
            line += self.raw.readline(MAX_LINE - len(line))
        return self._resynchronised(line)

    def read(self, n: int) -> bytes:
        if n > MAX_BODY:
            left = n - len(self._body_ahead(n))
            while left > 0 and (chunk := self.raw.read(min(left, DISCARD_CHUNK))):
                left -= len(chunk)
            return self._skipped(n, left)
        body = self._body_ahead(n)
        if len(body) < n:
            body += self.raw.read(n - len(body)) or b""
        return body


class SafeStreamReader(_Bounded):
    """SafeStdin's bounds for a socket: the readline/readexactly pair of pygls's async read loop."""

    def __init__(self, raw: asyncio.StreamReader) -> None:
        super().__init__()
        self.raw = raw  # opened with limit=MAX_LINE: a longer line raises LimitOverrunError, read in pieces here

    async def readline(self) -> bytes:
        line, whole = self._line_ahead()
        if not whole:
            try:
                line += await self.raw.readuntil(b"\n")
            except asyncio.LimitOverrunError as over:  # no newline within the limit: hand back a piece
                line += await self.raw.read(max(1, min(over.consumed, MAX_LINE)))
            except asyncio.IncompleteReadError as end:  # end of stream
                line += end.partial
        return self._resynchronised(line)

    async def readexactly(self, n: int) -> bytes:
        if n > MAX_BODY:
            left = n - len(self._body_ahead(n))
            while left > 0 and (chunk := await self.raw.read(min(left, DISCARD_CHUNK))):
                left -= len(chunk)
            return self._skipped(n, left)
        body = self._body_ahead(n)
        if len(body) < n:
            try:
                body += await self.raw.readexactly(n - len(body))
            except asyncio.IncompleteReadError as end:  # the client went away mid-body
                body += end.partial
        return body


def split_at_header(line: bytes) -> tuple[bytes, bytes]:
    """A line holding `Content-Length:` after other bytes, cut there: (the garbage, the header on)."""
    cut = line.find(HEADER, 1)
    return (line[:cut], line[cut:]) if cut > 0 else (line, b"")
