"""Failure messages for the handle's assertion helpers.

Each function returns None when the expectation holds, or the whole message when it does
not. Messages are built here, explicitly, so they read the same with or without pytest's
assertion rewriting; they say what was expected, then the closest things that were sent and
how they differ, then any rejected request that may explain the miss.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pytest_plugin.captured import CapturedRequest, DeletionJob

__all__ = ["deletion_failure", "event_failure", "pending_note", "profile_failure", "rejected_failure", "same"]

# unittest (and Django's runner) leave the frames of a module with this name out of a failure's
# traceback, as pytest leaves out those with __tracebackhide__.
__unittest = True

_CLOSEST = 5


def same(actual: Any, expected: Any) -> bool:
    """Equality that does not let ``True`` pass for ``1`` or ``"false"`` for anything."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return actual == expected
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in expected)
    if isinstance(expected, (list, tuple)) and isinstance(actual, list):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected, strict=True))
    return type(actual) is type(expected) and actual == expected


def _describe_expected(name: str, user_id: str | None, properties: Mapping[str, Any]) -> str:
    parts = [f"user_id={user_id!r}"] if user_id is not None else []
    parts += [f"properties.{k}={v!r}" for k, v in properties.items()]
    return f"event {name!r}" + (f" ({', '.join(parts)})" if parts else "")


def _property_diffs(actual: Any, expected: Mapping[str, Any], prefix: str) -> list[str]:
    props = actual if isinstance(actual, Mapping) else {}
    diffs = []
    for key, value in expected.items():
        if key not in props:
            diffs.append(f"{prefix}{key} is missing, expected {value!r}")
        elif not same(props[key], value):
            diffs.append(f"{prefix}{key} is {props[key]!r}, expected {value!r}")
    return diffs


def _event_diffs(
    event: Mapping[str, Any], name: str, user_id: str | None, properties: Mapping[str, Any]
) -> list[str]:
    diffs = []
    if event.get("name") != name:
        diffs.append(f"name is {event.get('name')!r}, expected {name!r}")
    if user_id is not None and event.get("user_id") != user_id:
        diffs.append(f"user_id is {event.get('user_id')!r}, expected {user_id!r}")
    return diffs + _property_diffs(event.get("properties"), properties, "properties.")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _rejected_carrying(requests: Iterable[CapturedRequest], key: str, matches: Any) -> list[str]:
    """Rejected requests whose body carried a matching item, with the errors about that item."""
    lines = []
    for request in requests:
        if request.accepted or not isinstance(request.json, dict):
            continue
        items = request.json.get(key)
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            continue
        hit = [i for i, item in enumerate(items) if matches(item)]
        if not hit:
            continue
        own = [
            e
            for e in request.errors
            if any(e["field"].startswith(f"{key}[{i}]") for i in hit) or not e["field"].startswith(f"{key}[")
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in own[:3]) or "see its errors"
        lines.append(f"  #{request.id} {request.method} {request.path} -> {request.status}: {detail}")
    return lines


def _carried(body: Any, key: str, matches: Callable[[Any], bool]) -> bool:
    """Whether a request body carried a matching item: in its ``key`` list, or as the body."""
    if not isinstance(body, Mapping):
        return False
    items = body.get(key)
    return matches(body) or (isinstance(items, list) and any(matches(item) for item in items))


def _elsewhere(
    requests: Iterable[CapturedRequest], project_id: str, key: str, matches: Callable[[Any], bool]
) -> list[str]:
    """A line naming the other projects that accepted a matching item, if any did: the usual
    reason for an empty view is a handle reading another project than the code sends to."""
    projects = sorted(
        {
            r.project_id
            for r in requests
            if r.accepted and r.project_id and r.project_id != project_id and _carried(r.json, key, matches)
        }
    )
    if not projects:
        return []
    names = ", ".join(repr(p) for p in projects)
    return [
        f"Project {names} holds it: the code under test sent it there, and this handle reads "
        f"project {project_id!r}. Give the fake the key and project the code uses "
        "(api_key= and project_id=, or MARKETAP_API_KEY and MARKETAP_PROJECT_ID)."
    ]


def _rejected_section(heading: str, lines: list[str]) -> list[str]:
    return [heading, *lines] if lines else []


def pending_note(pending: Sequence[Mapping[str, Any]], kind: str) -> str:
    """A failure's last lines when some of ``kind`` was accepted but is not processed yet."""
    held = [p for p in pending if p.get("kind") == kind]
    if not held:
        return ""
    items = sum(int(p.get("items", 0)) for p in held)
    return (
        f"\nAccepted but not yet processed (setting processing_delay): {_plural(items, kind[:-1])} "
        f"in {_plural(len(held), 'request')}, the first due at {held[0].get('due_at')}; the vendor "
        "processes them asynchronously. Advance the fake's clock (marketap.advance(seconds)) to "
        "see them processed."
    )


def event_failure(
    events: Sequence[Mapping[str, Any]],
    requests: Sequence[CapturedRequest],
    project_id: str,
    name: str,
    user_id: str | None,
    count: int | None,
    properties: Mapping[str, Any],
) -> str | None:
    diffs = [_event_diffs(e, name, user_id, properties) for e in events]
    matching = [i for i, d in enumerate(diffs) if not d]
    if (count is None and matching) or (count is not None and len(matching) == count):
        return None
    wanted = _describe_expected(name, user_id, properties)
    if count is None:
        lines = [f"marketap: expected {wanted} to be sent at least once; it was not."]
    else:
        sent = _plural(len(matching), "time")
        lines = [f"marketap: expected {wanted} to be sent {_plural(count, 'time')}; it was sent {sent}."]
    lines.append(f"Accepted events in project {project_id!r}: {len(events)}.")
    if count is not None and matching:
        lines.append("Matching events:")
        lines += [
            f"  events[{i}] {events[i].get('name')!r} user_id={events[i].get('user_id')!r}"
            for i in matching[:_CLOSEST]
        ]
    else:
        ranked = sorted((len(d), i) for i, d in enumerate(diffs) if d)[:_CLOSEST]
        if ranked:
            lines.append("Closest:")
            for _, i in ranked:
                e = events[i]
                lines.append(
                    f"  events[{i}] {e.get('name')!r} user_id={e.get('user_id')!r}: {'; '.join(diffs[i])}"
                )
    if not matching:
        lines += _elsewhere(
            requests, project_id, "events", lambda item: _event_diffs(item, name, user_id, properties) == []
        )
    lines += _rejected_section(
        f"Rejected requests that carried an event {name!r}:",
        _rejected_carrying(
            requests, "events", lambda item: isinstance(item, Mapping) and item.get("name") == name
        ),
    )
    return "\n".join(lines)


def profile_failure(
    profiles: Mapping[str, Mapping[str, Any]],
    requests: Sequence[CapturedRequest],
    jobs: Sequence[DeletionJob],
    project_id: str,
    user_id: str,
    properties: Mapping[str, Any],
) -> str | None:
    profile = profiles.get(user_id)
    if profile is not None:
        diffs = _property_diffs(profile, properties, "")
        if not diffs:
            return None
        lines = [f"marketap: profile {user_id!r} in project {project_id!r} differs: {'; '.join(diffs)}."]
        lines.append(f"Stored properties: {dict(profile)!r}")
    else:
        known = ", ".join(repr(u) for u in list(profiles)[:10]) or "none"
        lines = [f"marketap: no profile for user {user_id!r} in project {project_id!r}. Profiles: {known}."]
        for job in jobs:
            if user_id in job.user_ids and job.status == "completed":
                lines.append(f"User {user_id!r} was deleted by deletion job {job.id}.")
        lines += _elsewhere(
            requests,
            project_id,
            "profiles",
            lambda item: isinstance(item, Mapping) and item.get("user_id") == user_id,
        )
    lines += _rejected_section(
        f"Rejected requests that carried a profile for {user_id!r}:",
        _rejected_carrying(
            requests, "profiles", lambda item: isinstance(item, Mapping) and item.get("user_id") == user_id
        ),
    )
    return "\n".join(lines)


def deletion_failure(
    jobs: Sequence[DeletionJob], requests: Sequence[CapturedRequest], project_id: str, user_ids: Sequence[str]
) -> str | None:
    requested = {u for job in jobs for u in job.user_ids}
    missing = [u for u in user_ids if u not in requested]
    if not missing:
        return None
    lines = [
        f"marketap: expected deletion to be requested for {', '.join(repr(u) for u in missing)} "
        f"in project {project_id!r}; it was not."
    ]
    if jobs:
        lines.append("Deletion jobs:")
        lines += [f"  {job.id} {job.status}: {job.user_ids!r}" for job in jobs[:10]]
    else:
        lines.append("No deletion jobs were recorded.")
    wanted = set(missing)

    def asks(item: Any) -> bool:
        # A rejected body may hold a list there.
        return isinstance(item, str) and item in wanted

    carrying = [line for key in ("user_id", "user_ids") for line in _rejected_carrying(requests, key, asks)]
    lines += _rejected_section("Rejected requests that asked to delete them:", carrying)
    return "\n".join(lines)


def _listing(
    header: str, requests: list[CapturedRequest], items: Callable[[CapturedRequest], list[str]], most: int
) -> str:
    """``header``, then each request and its first ``most`` lines from ``items(request)``."""
    lines = [header]
    for request in requests:
        lines.append(f"  #{request.id} {request.method} {request.path} -> {request.status}")
        found = items(request)
        lines += [f"      {line}" for line in found[:most]]
        if len(found) > most:
            lines.append(f"      (+{len(found) - most} more)")
    return "\n".join(lines)


def rejected_failure(requests: Sequence[CapturedRequest]) -> str | None:
    rejected = [r for r in requests if not r.accepted]
    if not rejected:
        return None
    header = f"marketap: {_plural(len(rejected), 'request')} rejected:"
    return _listing(header, rejected, lambda r: [f"{e['field']}: {e['reason']}" for e in r.errors], 5)


def warnings_failure(requests: Sequence[CapturedRequest]) -> str | None:
    """Every warning the fake recorded (unknown fields ignored, unknown reserved keys with the
    key most likely meant), request by request; None when there is none."""
    warned = [r for r in requests if r.warnings]
    if not warned:
        return None
    count = sum(len(r.warnings) for r in warned)
    header = f"marketap: {_plural(count, 'warning')} on accepted or rejected requests:"
    return _listing(header, warned, lambda r: r.warnings, 10)
