"""What may leave the machine: secrets are cut out of every prompt bound for a non-loopback model.

A completion prompt carries whole files. Before any text goes to a model endpoint that is not on
this machine, `redact` replaces private keys, cloud and service tokens, and the values of
password/secret/token assignments with a `<redacted:KIND>` marker, and `OutboundGuard` (a Backend
that wraps the real one) does it for every FIM and chat request, keeping a report of what it cut
from the last request (kinds and counts, never the secret itself). Files that must never leave at
all (.env, key stores, and whatever `.wholerepoignore` names) are kept out one step earlier: the
index never holds them, and `is_sensitive_path` stops a request whose cursor is inside one.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from engine import Backend, ChatMessage, ChatRequest, Delta, FimRequest, ModelInfo

if TYPE_CHECKING:  # both import this module
    from .engines import EngineSettings
    from .workspace import Workspace

# Files whose whole content is a secret: never packed, never the cursor of a remote request.
SENSITIVE_FILE_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    "credentials",
    "credentials.json",
    "*.tfvars",
    "secrets.*",
)

# (kind, pattern); where the pattern has a group named "secret", only that group is replaced.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            "private-key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ),
        ("aws-access-key-id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
        (
            "aws-secret-access-key",
            r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=]{40})\b",
        ),
        ("github-token", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b"),
        ("github-token", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"),
        ("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),
        ("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
        ("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}\b"),
        ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}\b"),
        ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
        ("stripe-key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
        ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b"),
        ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),
        ("url-credentials", r"\b[a-z][a-z0-9+.-]*://[^\s:/@\"']+:(?P<secret>[^\s@/\"']{3,})@"),
        (
            "assigned-secret",
            # NAME = "value" / NAME: 'value' in code and config, where NAME says it holds a secret.
            r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key|client_?secret)"
            r"[\w.-]*[\"']?\s*[:=]\s*(?P<quote>[\"'])(?P<secret>[^\s\"'`]{8,})(?P=quote)",
        ),
        (
            "assigned-secret",
            # NAME=value lines of .env and shell files (unquoted), where NAME says it holds a secret.
            r"(?im)^[ \t]*(?:export[ \t]+)?[\w.-]*(?:password|passwd|pwd|secret|token|api_?key|access_?key"
            r"|private_?key|client_?secret)[\w.-]*[ \t]*=[ \t]*(?P<secret>[^\s\"'`()\[\]{},;]{8,})[ \t]*$",
        ),
    )
)

# Values an assignment pattern may catch that are plainly not secrets: placeholders, references,
# and words or dotted names (`token_type = "bearer_token"`, `PASSWORD=settings.password`).
_PLACEHOLDER = re.compile(r"(?i)^(?:\$\{?\w+\}?|<[^>]*>|x{4,}|\*{4,}|changeme|example\w*|none|null|true|false)$")
_WORDS = re.compile(r"^[a-z_][a-z_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _looks_like_a_value(value: str) -> bool:
    return not _PLACEHOLDER.match(value) and not _WORDS.match(value)


@dataclass(frozen=True)
class Redaction:
    kind: str
    line: int  # 1-based line of the original text where it started


@dataclass(frozen=True)
class Redacted:
    text: str
    redactions: tuple[Redaction, ...] = ()


def redact(text: str) -> Redacted:
    """`text` with every secret replaced by `<redacted:KIND>`; overlapping matches are cut once."""
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in SECRET_PATTERNS:
        for match in pattern.finditer(text):
            if "secret" in pattern.groupindex and match.group("secret") is not None:
                start, end = match.span("secret")
                if not _looks_like_a_value(match.group("secret")):
                    continue
            else:
                start, end = match.span()
            spans.append((start, end, kind))
    if not spans:
        return Redacted(text)
    spans.sort(key=lambda span: (span[0], -span[1]))
    out: list[str] = []
    redactions: list[Redaction] = []
    cursor = 0
    for start, end, kind in spans:
        if start < cursor:  # inside a secret already cut
            continue
        out.append(text[cursor:start])
        out.append(f"<redacted:{kind}>")
        redactions.append(Redaction(kind, text.count("\n", 0, start) + 1))
        cursor = end
    out.append(text[cursor:])
    return Redacted("".join(out), tuple(redactions))


def is_sensitive_path(path: str) -> bool:
    """True for files whose whole content is a credential (.env, keys, key stores, netrc...), in any
    letter case (`.ENV` is the same file as `.env` on a case-insensitive disk)."""
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    return any(fnmatch(name, pattern) for pattern in SENSITIVE_FILE_PATTERNS)


def _any_case(pattern: str) -> str:
    """A gitignore pattern matching ``pattern`` in any letter case (`.env` -> `.[eE][nN][vV]`)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in pattern)


# The same names as ignore rules for the index (gitignore syntax, letter case ignored).
SENSITIVE_IGNORE_PATTERNS = tuple(_any_case(pattern) for pattern in SENSITIVE_FILE_PATTERNS)


def is_loopback_url(url: str) -> bool:
    """True when `url` points at this machine (localhost, 127.0.0.0/8, ::1); anything else is remote."""
    return is_loopback_host(urlsplit(url).hostname or "")


def proxy_for(url: str) -> str | None:
    """The proxy that HTTP_PROXY/HTTPS_PROXY/ALL_PROXY would send a request for ``url`` through (httpx
    honours them, loopback included), unless NO_PROXY names its host; None when it goes direct."""
    parts = urlsplit(url)
    env = {name.lower(): value for name, value in os.environ.items() if value}
    proxy = env.get(f"{parts.scheme.lower()}_proxy") or env.get("all_proxy")
    if not proxy:
        return None
    host = (parts.hostname or "").lower()
    for entry in (item.strip().lower().strip("[]") for item in env.get("no_proxy", "").split(",")):
        # a host or a domain suffix; anything fancier counts as not bypassed, so the prompt is redacted
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry.lstrip(".")))):
            return None
    return proxy


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (bracketed or not); anything else reaches other machines."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OutboundReport:
    """What was cut from one request before it left: kinds with counts, and paths kept out."""

    endpoint: str
    sent_at: float
    redacted: dict[str, int] = field(default_factory=dict)
    excluded_paths: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.redacted.values())

    def to_json(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "sent_at": self.sent_at,
            "redacted": dict(self.redacted),
            "excluded_paths": list(self.excluded_paths),
        }


class OutboundLog:
    """The report of the last request to each off-machine endpoint, for the exclusion command."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, OutboundReport] = {}

    def record(self, report: OutboundReport) -> None:
        with self._lock:
            self._last.pop(report.endpoint, None)
            self._last[report.endpoint] = report

    def reports(self) -> list[OutboundReport]:
        """One report per endpoint, the most recently used last."""
        with self._lock:
            return list(self._last.values())


OUTBOUND = OutboundLog()  # this process's record: every OutboundGuard writes here unless given its own


class OutboundGuard(Backend):
    """A Backend that redacts every prompt before the wrapped (remote) backend sees it."""

    def __init__(self, inner: Backend, endpoint: str, log: OutboundLog | None = None) -> None:
        self.inner = inner
        self.endpoint = endpoint
        self.log = log if log is not None else OUTBOUND
        self.last_report: OutboundReport | None = None
        self._excluded: tuple[str, ...] = ()

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    def note_excluded(self, paths: tuple[str, ...] | list[str]) -> None:
        """Paths the caller kept out of the next request (shown in its report)."""
        self._excluded = tuple(paths)

    def _record(self, redactions: list[Redaction]) -> None:
        counts = Counter(item.kind for item in redactions)
        self.last_report = OutboundReport(self.endpoint, time.time(), dict(counts), self._excluded)
        self.log.record(self.last_report)
        self._excluded = ()

    def fim(self, request: FimRequest) -> AsyncIterator[Delta]:
        prefix, suffix = redact(request.prefix), redact(request.suffix)
        self._record([*prefix.redactions, *suffix.redactions])
        return self.inner.fim(replace(request, prefix=prefix.text, suffix=suffix.text))

    def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        cut: list[Redaction] = []
        messages = []
        for message in request.messages:
            content = redact(message.content)
            cut.extend(content.redactions)
            messages.append(_with_content(message, content.text))
        self._record(cut)
        return self.inner.chat(replace(request, messages=tuple(messages)))

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _with_content(message: ChatMessage, content: str) -> ChatMessage:
    return message if content == message.content else replace(message, content=content)


def exclusion_report(ws: Workspace, engine: EngineSettings, limit: int = 1000) -> dict:
    """What the last requests left out and where they went: the files and folders kept out of every
    request (by .wholerepoignore, .gitignore, the exclude setting or a credential-like name), the
    redactions in the last request to each off-machine endpoint, and where prompts go now."""
    excluded, cut = ws.excluded(limit)
    destination = _destination(engine)
    requests = [report.to_json() for report in OUTBOUND.reports()]
    lines = [f"# What leaves: prompts go {destination['where']}", ""]
    lines += [f"Kept out of every request ({len(excluded)}{'+' if cut else ''}):", ""]
    lines += [f"- `{path}` — {why}" for path, why in excluded] or ["- nothing"]
    for request in requests:
        cut_kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(request["redacted"].items())) or "nothing"
        lines += ["", f"Last request to {request['endpoint']}: redacted {cut_kinds}"]
    return {
        "destination": destination,
        "excluded": [{"path": path, "reason": why} for path, why in excluded],
        "excluded_truncated": cut,
        "requests": requests,
        "markdown": "\n".join(lines),
    }


def stays_on_this_machine(url: str) -> bool:
    """Whether requests to ``url`` reach a server on this machine directly (loopback, no proxy)."""
    return is_loopback_url(url) and proxy_for(url) is None


def _destination(engine: EngineSettings) -> dict:
    if engine.backend != "openai" or not engine.url:
        where = "nowhere: the model runs in this process"
        return {"backend": engine.backend, "url": None, "where": where, "redacted": False}
    local = stays_on_this_machine(engine.url)
    if local and not engine.redact:
        where = f"to this machine ({engine.url}), as written"
    elif local:
        where = f"to {engine.url}, redacted as if remote (redact: true)"
    elif (proxy := proxy_for(engine.url)) is not None:
        where = f"to {engine.url} through the proxy {proxy}, redacted"
    else:
        where = f"to another machine ({engine.url}), redacted"
    return {"backend": "openai", "url": engine.url, "where": where, "redacted": not local or engine.redact}
