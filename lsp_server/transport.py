"""Reading the client's byte stream so that no input can stop the server.

pygls reads header lines and bodies straight from stdin. Two inputs break it: a body length
beyond memory (`Content-Length: 999999999999` allocates it up front and the server dies) and a
broken frame, after which every later message is lost until a header line happens to start a
line again. `SafeStdin` bounds both: a header line is read in pieces of at most MAX_LINE bytes,
a body over MAX_BODY bytes is read and discarded in chunks (the protocol then answers a parse
error naming the size), and a line holding `Content-Length:` after other bytes is split there,
so the stream resynchronises at the next message.
"""

from __future__ import annotations

from typing import BinaryIO

MAX_LINE = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # VS Code stops syncing files to extensions at 50 MB
DISCARD_CHUNK = 1024 * 1024
HEADER = b"Content-Length:"


class SafeStdin:
    """The readline/read pair pygls's reader needs, bounded and resynchronising."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.pending = b""
        self.discarded: int | None = None  # the size of the last body thrown away, for the error message

    def readline(self) -> bytes:
        line = self._line()
        cut = line.find(HEADER, 1)
        if cut > 0:  # garbage before a header: hand back the garbage, keep the header for the next call
            self.pending = line[cut:] + self.pending
            line = line[:cut]
        return line

    def read(self, n: int) -> bytes:
        if n > MAX_BODY:
            return self._discard(n)
        body, self.pending = self.pending[:n], self.pending[n:]
        if len(body) < n:
            body += self.raw.read(n - len(body)) or b""
        return body

    def _line(self) -> bytes:
        end = self.pending.find(b"\n")
        if end >= 0:
            line, self.pending = self.pending[: end + 1], self.pending[end + 1 :]
            return line
        line, self.pending = self.pending, b""
        if len(line) >= MAX_LINE:
            return line
        return line + self.raw.readline(MAX_LINE - len(line))

    def _discard(self, n: int) -> bytes:
        """Skip an oversized body; b" " (not JSON: the protocol answers a parse error), b"" at EOF."""
        left = n - len(self.pending[:n])
        self.pending = self.pending[n:]
        while left > 0:
            chunk = self.raw.read(min(left, DISCARD_CHUNK))
            if not chunk:
                return b""
            left -= len(chunk)
        self.discarded = n
        return b" "
