"""Replay: each recorded request sent again to a fake, and today's verdict held to the one
recorded (the upstream's, or for a plain fake's export, the fake's own at the time).

Plain Python: :func:`in_process` answers through the pipeline with no HTTP at all and no Flask;
:func:`over_http` sends to a running server with httpx. ``marketap-mock replay`` and the contract
suite's ``--marketap-recording`` both build on :func:`request_for` and :func:`judge`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO
from urllib.parse import urlencode

from mockserver.console import one_line
from mockserver.proxy import HOP_BY_HOP
from mockserver.recording import Exchange
from mockserver.settings import Settings

__all__ = [
    "Outcome",
    "Replay",
    "Sender",
    "Sent",
    "in_process",
    "judge",
    "over_http",
    "progress_bar",
    "replay",
    "request_for",
]

Verdict = Literal["agree", "disagree", "not_compared"]


@dataclass(frozen=True)
class Sent:
    """A request as replayed: the recorded one with today's credentials in place of the
    masked ones."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes

    @property
    def query_string(self) -> str:
        return urlencode(self.query)


#: sends one request and returns the answer's status and body
Sender = Callable[[Sent], tuple[int, bytes]]


def request_for(exchange: Exchange, *, api_key: str, project_id: str) -> Sent:
    """The request to send for ``exchange``: the recorded ``Authorization`` (masked) carries
    ``api_key`` instead, in the scheme it was sent with; each non-empty ``project_id`` becomes
    ``project_id``; headers for one connection are left to the client; a body recorded inflated
    under ``Content-Encoding: gzip`` is compressed again."""
    headers = {k: v for k, v in exchange.headers.items() if k not in HOP_BY_HOP}
    if "authorization" in headers:
        scheme, space, _ = headers["authorization"].strip().partition(" ")
        headers["authorization"] = f"{scheme} {api_key}" if space else api_key
    query = tuple((k, project_id if k == "project_id" and v.strip() else v) for k, v in exchange.query)
    body = exchange.body
    if headers.get("content-encoding", "").strip().lower() == "gzip" and not body.startswith(b"\x1f\x8b"):
        body = gzip.compress(body, mtime=0)
    return Sent(exchange.method, exchange.path, query, headers, body)


@dataclass(frozen=True)
class Outcome:
    """Today's answer to one recorded exchange, held to the recorded verdict."""

    exchange: Exchange
    verdict: Verdict
    #: today's status (None when nothing was sent: there was nothing to compare)
    status: int | None = None
    #: what today's fake objects to, from its error envelope
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: why it was not compared
    reason: str | None = None

    def describe(self) -> str:
        """Two or three lines a person reads: what was expected, what came, and why."""
        ex = self.exchange
        who = "upstream" if ex.proxied else "recorded fake"
        where = f"#{ex.index} {ex.method} {ex.path} (line {ex.line})"
        lines = [f"{where}: {who} {ex.expected}, today's fake {self.status}"]
        if self.errors:
            fields = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in self.errors[:5])
            more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
            lines.append(f"    the fake objects to: {fields}{more}")
        elif self.status is not None and 200 <= self.status < 300:
            lines.append("    the fake accepted it")
        answer = ex.upstream_body if ex.proxied else None
        if answer:
            lines.append(f"    the upstream answered: {one_line(answer, 300)}")
        elif ex.proxied:
            lines.append(f"    the upstream answered {ex.upstream_status} with no body")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        ex = self.exchange
        return {
            "index": ex.index,
            "line": ex.line,
            "name": ex.name,
            "method": ex.method,
            "path": ex.path,
            "expected": ex.expected,
            "upstream_status": ex.upstream_status if ex.proxied else None,
            "status": self.status,
            "verdict": self.verdict,
            "reason": self.reason,
            "errors": self.errors,
            "upstream_body": ex.upstream_body,
        }


def judge(exchange: Exchange, status: int, body: bytes) -> Outcome:
    """Whether today's ``status`` agrees with the recorded one: both accepted (2xx) or both
    refused (4xx)."""
    expected = exchange.expected
    assert expected is not None
    errors: list[dict[str, Any]] = []
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        errors = [e for e in parsed["errors"] if isinstance(e, dict)]
    agree = (200 <= status < 300) == (200 <= expected < 300)
    return Outcome(exchange, "agree" if agree else "disagree", status, errors)


@dataclass(frozen=True)
class Replay:
    """Every exchange's outcome, in file order."""

    source: str
    target: str
    outcomes: list[Outcome]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for o in self.outcomes if o.verdict == verdict)

    @property
    def disagreements(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "disagree"]

    def summary(self) -> str:
        return (
            f"replayed {len(self.outcomes)} exchanges from {self.source} against {self.target}: "
            f"{self.count('agree')} agree, {self.count('disagree')} disagree, "
            f"{self.count('not_compared')} not compared"
        )

    def text(self) -> str:
        parts = [self.summary()]
        if self.disagreements:
            parts += ["", "Disagreements:", *(o.describe() for o in self.disagreements)]
        return "\n".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "marketap-mock-replay-report",
            "version": 1,
            "recording": self.source,
            "target": self.target,
            "summary": {
                "exchanges": len(self.outcomes),
                "agree": self.count("agree"),
                "disagree": self.count("disagree"),
                "not_compared": self.count("not_compared"),
            },
            "exchanges": [o.as_dict() for o in self.outcomes],
        }


def replay(
    exchanges: Sequence[Exchange],
    send: Sender,
    *,
    api_key: str,
    project_id: str,
    source: str = "recording",
    target: str = "the fake",
    progress: Callable[[int, int], None] | None = None,
) -> Replay:
    """Send every comparable exchange in order and judge each answer."""
    outcomes = []
    for done, exchange in enumerate(exchanges, 1):
        reason = exchange.not_compared
        if reason is not None:
            outcomes.append(Outcome(exchange, "not_compared", reason=reason))
        else:
            status, body = send(request_for(exchange, api_key=api_key, project_id=project_id))
            outcomes.append(judge(exchange, status, body))
        if progress is not None:
            progress(done, len(exchanges))
    return Replay(source, target, outcomes)


def in_process(settings: Settings | None = None) -> Sender:
    """A fresh fake answering through its pipeline, with no server and no HTTP."""
    from mockserver.backend import Backend
    from mockserver.pipeline import IncomingRequest, handle

    backend = Backend(settings)

    def send(sent: Sent) -> tuple[int, bytes]:
        reply = handle(
            backend,
            IncomingRequest(
                method=sent.method,
                path=sent.path,
                query=list(sent.query),
                headers=sent.headers,
                body=sent.body,
                query_string=sent.query_string,
            ),
        )
        return reply.status, reply.body

    return send


def over_http(url: str, *, timeout: float = 30.0) -> tuple[Sender, Callable[[], None]]:
    """A sender to the server at ``url``, and a function that closes its connections."""
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def send(sent: Sent) -> tuple[int, bytes]:
        try:
            response = client.request(
                sent.method,
                sent.path,
                params=list(sent.query),
                # as bytes: a recorded value outside ASCII is sent as it came, in UTF-8
                headers={name.encode(): value.encode() for name, value in sent.headers.items()},
                content=sent.body,
            )
        except httpx.HTTPError as exc:
            raise ConnectionError(str(exc) or type(exc).__name__) from None
        return response.status_code, response.content

    return send, client.close


def progress_bar(stream: TextIO, width: int = 30) -> Callable[[int, int], None]:
    """A one-line progress bar redrawn in place (for a terminal), ended with a newline."""

    def show(done: int, total: int) -> None:
        filled = width * done // max(total, 1)
        stream.write(f"\rreplaying [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show
