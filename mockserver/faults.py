"""Fault injection and rate limiting: the vendor misbehaving on purpose, the same way for the
live server and the in-process route.

A fault rule matches requests to the ingestion paths (optionally one path and one project)
and, while it has ``times`` left and its seeded coin says so, adds latency, answers a status
(with ``Retry-After``) or drops the connection. The rate limit is a token bucket per API key,
refilled on the fake's clock. Plain Python; the backend's lock guards every call.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver import spec
from mockserver.errors import SettingsError

__all__ = [
    "FaultRule",
    "Faults",
    "Outcome",
    "RateLimiter",
    "parse_rate_limit",
    "parse_rule",
    "retry_after_header",
]


@dataclass
class FaultRule:
    id: int
    path: str | None = None
    project_id: str | None = None
    status: int | None = None
    retry_after: float | None = None
    latency_ms: float = 0.0
    drop: bool = False
    #: how many more requests it may fire on (None: every matching request)
    times: int | None = None
    probability: float = 1.0
    seed: int | None = None
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "project_id": self.project_id,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "drop": self.drop,
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
            "fired": self.fired,
        }


@dataclass
class Outcome:
    """What the matching rules ask of one request."""

    latency_ms: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    rules: list[int] = field(default_factory=list)

    @property
    def faulted(self) -> bool:
        return self.status is not None or self.drop


_FIELDS = {
    "path",
    "project_id",
    "status",
    "retry_after",
    "latency_ms",
    "drop",
    "times",
    "probability",
    "seed",
}


def _number(data: Mapping[str, Any], name: str, *, low: float, high: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SettingsError(f"{name} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def parse_rule(data: Any, rule_id: int) -> FaultRule:
    """A rule from JSON, checked: unknown keys, wrong types and rules that do nothing are refused."""
    if not isinstance(data, Mapping):
        raise SettingsError("a fault rule must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise SettingsError(
            f"unknown fault field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}"
        )
    path = data.get("path")
    if path is not None and path not in spec.PATHS:
        raise SettingsError(f"path must be one of {', '.join(spec.PATHS)}, not {path!r}")
    project = data.get("project_id")
    if project is not None and (not isinstance(project, str) or not project):
        raise SettingsError("project_id must be a non-empty string")
    status = data.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise SettingsError(f"status must be a 4xx or 5xx code, not {status!r}")
    drop = data.get("drop", False)
    if not isinstance(drop, bool):
        raise SettingsError("drop must be true or false")
    times = data.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise SettingsError(f"times must be a whole number, 1 or more, not {times!r}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise SettingsError(f"seed must be a whole number, not {seed!r}")
    latency = _number(data, "latency_ms", low=0, high=600_000) or 0.0
    retry_after = _number(data, "retry_after", low=0, high=86_400)
    probability = _number(data, "probability", low=0, high=1)
    if status is None and not drop and not latency:
        raise SettingsError("a fault rule needs a status, drop: true or latency_ms")
    if status is not None and drop:
        raise SettingsError("a fault rule either answers a status or drops the connection, not both")
    return FaultRule(
        id=rule_id,
        path=path,
        project_id=project,
        status=status,
        retry_after=retry_after,
        latency_ms=latency,
        drop=drop,
        times=times,
        probability=1.0 if probability is None else probability,
        seed=seed,
        _rng=random.Random(seed),
    )


class Faults:
    """The active rules, in the order they were added."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, data: Any) -> FaultRule:
        rule = parse_rule(data, self._next_id)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def clear(self, project_id: str | None = None) -> None:
        """Remove every rule, or those of one project."""
        if project_id is None:
            self.rules.clear()
        else:
            self.rules = [rule for rule in self.rules if rule.project_id != project_id]

    def outcome(self, path: str, project_id: str | None) -> Outcome:
        """Fire every rule that matches; the first status or drop wins, latencies add up."""
        out = Outcome()
        for rule in self.rules:
            if rule.times is not None and rule.times <= 0:
                continue
            if rule.path is not None and rule.path != path:
                continue
            if rule.project_id is not None and rule.project_id != project_id:
                continue
            if rule.probability < 1.0 and rule._rng.random() >= rule.probability:
                continue
            if (rule.status is not None or rule.drop) and out.faulted:
                # One answer per request: a later failing rule keeps its turn for the next one.
                continue
            rule.fired += 1
            if rule.times is not None:
                rule.times -= 1
            out.rules.append(rule.id)
            out.latency_ms += rule.latency_ms
            if rule.status is not None:
                out.status, out.retry_after = rule.status, rule.retry_after
            out.drop = out.drop or rule.drop
        return out


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``"10/s"`` -> (10 requests, per 1.0 second); also ``/m`` and ``/h``."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    match = re.fullmatch(r"\s*([0-9]{1,9})\s*/\s*([smh])\s*", text)
    if match is None or int(match[1]) < 1:
        raise SettingsError(f"rate_limit must look like '10/s', '600/m' or '1000/h', not {text!r}")
    return int(match[1]), units[match[2]]


class RateLimiter:
    """A token bucket per API key: ``count`` requests per ``period`` seconds, bursts up to ``count``."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def clear(self) -> None:
        self._buckets.clear()

    def take(self, key: str, limit: str, now: float) -> float | None:
        """None when the request may pass; else the seconds until a token is back."""
        count, period = parse_rate_limit(limit)
        rate = count / period
        tokens, at = self._buckets.get(key, (float(count), now))
        tokens = min(float(count), tokens + max(0.0, now - at) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate


def retry_after_header(seconds: float) -> str:
    return str(max(0, math.ceil(seconds)))
