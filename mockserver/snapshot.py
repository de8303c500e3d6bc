"""Saved state: what the fake stores, as one versioned JSON document, and back.

A snapshot holds each project's profiles, devices, events and deletion jobs, and the clock. It
holds no settings and so no API key or control token: those come from the server's own flags or
environment, and a snapshot can be shared and committed as a seed without leaking a credential.
The journal is not part of it either (it records requests, with their headers).

Loading is all or nothing. :func:`parse` checks the whole document first (its shape, and every
profile, device and event against the same validators as ingestion) and raises
:class:`SnapshotError` naming the first field that is wrong; only a document that passes is
handed to :meth:`mockserver.backend.Backend.load`, which swaps it in under its lock. Plain
Python, no Flask.

The format (version 1)::

    {"format": "marketap-mock-state", "version": 1,
     "clock": {"now": "2025-01-17T05:39:22.000Z", "frozen": true},
     "projects": {"<project id>": {
         "profiles": {"<user id>": {<properties>}},
         "devices": {"<device id>": {"device_id", "platform", "token"?, "user_id"?, "properties"}},
         "events": [<event>, ...],
         "deletion_jobs": [{"id", "user_ids", "status", "requested_at", "due_at", "completed_at",
                            "removed"}]}}}
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mockserver import spec
from mockserver.clock import LATEST
from mockserver.errors import ApiError
from mockserver.secrets import mask_keys
from mockserver.settings import Settings

if TYPE_CHECKING:
    from mockserver.validation import Validated

__all__ = [
    "FORMAT",
    "VERSION",
    "ProjectSnapshot",
    "Snapshot",
    "SnapshotError",
    "parse",
    "parse_text",
    "read",
    "write",
]

FORMAT = "marketap-mock-state"
VERSION = 1

_JOB_ID = re.compile(r"job-[0-9]{1,18}")
_JOB_STATUSES = ("pending", "completed")
_REMOVED_KEYS = ("profiles", "device_mappings", "events")
_PROJECT_KEYS = frozenset({"profiles", "devices", "events", "deletion_jobs"})
_TOP_KEYS = frozenset({"format", "version", "saved_at", "clock", "projects"})
#: ``[3]`` at the start of a field path that validation reported for one chunk of a list
_INDEX = re.compile(r"^(\w+)\[(\d+)\]")


class SnapshotError(ValueError):
    """A snapshot that cannot be loaded: ``field`` is where (``projects.p1.events[3].name``),
    ``reason`` why. ``status`` is the HTTP answer: 400, or 413 past the storage budget."""

    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status

    def as_api_error(self) -> ApiError:
        return ApiError.one(self.status, self.field, self.reason)


@dataclass
class ProjectSnapshot:
    """One project's checked data, ready to store."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the events in chunks of at most ``max_batch_items``, each as the JSON text of an events
    #: body with its events' ids and user ids: what the store keeps for an accepted request
    event_chunks: list[tuple[bytes, list[str | None], list[str | None]]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Snapshot:
    """A whole checked snapshot. ``now`` is the saved clock in epoch seconds."""

    now: float
    frozen: bool
    projects: dict[str, ProjectSnapshot]


def read(path: str, settings: Settings) -> Snapshot:
    """:func:`parse` for a file (``serve --load``)."""
    try:
        with open(path, "rb") as file:
            text = file.read()
    except OSError as exc:
        raise SnapshotError("file", f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_text(text, settings)


def write(path: str, document: Mapping[str, Any]) -> None:
    """Write a saved state to ``path`` whole or not at all: into a new file beside it, flushed
    to disk, then renamed over it, so a crash leaves the old file or the new one, never half."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".marketap-state-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def parse_text(text: str | bytes, settings: Settings) -> Snapshot:
    """:func:`parse` for JSON text (a file, a request body)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SnapshotError("state", f"not JSON: {str(exc)[:200]}") from None
    return parse(document, settings)


def parse(document: Any, settings: Settings) -> Snapshot:
    """Check a snapshot whole against ``settings`` (the validators ingestion uses); raise
    :class:`SnapshotError` at the first field that is wrong."""
    top = _object(document, "state")
    _no_unknown(top, _TOP_KEYS, "")
    if top.get("format") != FORMAT:
        raise SnapshotError("format", f"must be {FORMAT!r}: this is not a saved marketap-mock state")
    version = top.get("version")
    if version != VERSION:
        raise SnapshotError(
            "version", f"this marketap-mock reads version {VERSION}, not {_show(version)}; save it again"
        )
    clock = _object(top.get("clock", {"now": None, "frozen": False}), "clock")
    _no_unknown(clock, frozenset({"now", "frozen"}), "clock.")
    frozen = clock.get("frozen", False)
    if not isinstance(frozen, bool):
        raise SnapshotError("clock.frozen", "must be true or false")
    now = _time(clock.get("now"), "clock.now", optional=not frozen)
    projects = _object(top.get("projects", {}), "projects")
    checked = _projects(projects, settings)
    # A key the fake knows is stored masked when a request carries it: a saved state (written by
    # hand, or by a fake with other keys) is stored the same way, so no view shows it. Searched
    # only once checked: the checks bound its nesting, which the search walks by recursion.
    masked = mask_keys(projects, settings.api_keys)
    if masked != projects:
        checked = _projects(masked, settings)
    return Snapshot(now=now if now is not None else 0.0, frozen=frozen, projects=checked)


def _projects(projects: dict[str, Any], settings: Settings) -> dict[str, ProjectSnapshot]:
    # Job ids are one sequence across projects, as when the jobs were requested.
    jobs: set[str] = set()
    checked: dict[str, ProjectSnapshot] = {}
    for project_id, project in projects.items():
        where = f"projects.{project_id}"
        if not project_id or len(project_id) > spec.MAX_STRING_LENGTH:
            raise SnapshotError("projects", "each project id must be a non-empty string")
        checked[project_id] = _project(_object(project, where), where, settings, project_id, jobs)
    return checked


def _project(
    project: dict[str, Any], where: str, settings: Settings, project_id: str, job_ids: set[str]
) -> ProjectSnapshot:
    _no_unknown(project, _PROJECT_KEYS, where + ".")
    out = ProjectSnapshot()
    profiles = _object(project.get("profiles", {}), f"{where}.profiles")
    items: list[dict[str, Any]] = []
    for user_id, props in profiles.items():
        items.append({"user_id": user_id, "properties": _object(props, f"{where}.profiles.{user_id}")})
    _validate(spec.PROFILES, items, where, settings, lambda i: f"profiles.{items[i]['user_id']}")
    out.profiles = {item["user_id"]: dict(item["properties"]) for item in items}

    devices = _object(project.get("devices", {}), f"{where}.devices")
    records = []
    for device_id, record in devices.items():
        record = _object(record, f"{where}.devices.{device_id}")
        if record.get("device_id") != device_id:
            raise SnapshotError(f"{where}.devices.{device_id}.device_id", "must be the device's own key")
        records.append(record)
    # A device whose user was unmapped keeps "user_id": null, which a request cannot carry.
    sendable = [{k: v for k, v in r.items() if v is not None} for r in records]
    _validate(spec.DEVICES, sendable, where, settings, lambda i: f"devices.{records[i]['device_id']}")
    out.devices = {r["device_id"]: {**r, "properties": dict(r.get("properties") or {})} for r in records}

    events = project.get("events", [])
    if not isinstance(events, list):
        raise SnapshotError(f"{where}.events", "must be a list of events")
    for raw, validated, size in _validate(spec.EVENTS, events, where, settings, lambda i: f"events[{i}]"):
        ids = validated.event_ids if validated.event_ids is not None else [None] * size
        users = validated.event_users if validated.event_users is not None else [None] * size
        out.event_chunks.append((raw, list(ids), list(users)))

    jobs = project.get("deletion_jobs", [])
    if not isinstance(jobs, list):
        raise SnapshotError(f"{where}.deletion_jobs", "must be a list of deletion jobs")
    for index, job in enumerate(jobs):
        out.jobs.append(_job(job, f"{where}.deletion_jobs[{index}]", job_ids, project_id))
    return out


def _job(job: Any, where: str, seen: set[str], project_id: str) -> dict[str, Any]:
    job = _object(job, where)
    _no_unknown(
        job,
        frozenset(
            {"id", "project_id", "user_ids", "status", "requested_at", "due_at", "completed_at", "removed"}
        ),
        where + ".",
    )
    job_id = job.get("id")
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise SnapshotError(f"{where}.id", "must be a job id such as 'job-000001'")
    if job_id in seen:
        raise SnapshotError(f"{where}.id", f"{job_id!r} appears twice")
    seen.add(job_id)
    if job.get("project_id", project_id) != project_id:
        raise SnapshotError(f"{where}.project_id", "must be the project the job is listed under")
    users = job.get("user_ids")
    if not isinstance(users, list) or not users or not all(isinstance(u, str) and u for u in users):
        raise SnapshotError(f"{where}.user_ids", "must be a non-empty list of user ids")
    status = job.get("status")
    if status not in _JOB_STATUSES:
        raise SnapshotError(
            f"{where}.status", f"must be one of {', '.join(_JOB_STATUSES)}, not {_show(status)}"
        )
    completed = status == "completed"
    removed = job.get("removed")
    if completed:
        removed = _object(removed, f"{where}.removed")
        for key in _REMOVED_KEYS:
            count = removed.get(key)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise SnapshotError(f"{where}.removed.{key}", "must be a count, 0 or more")
        removed = {key: removed[key] for key in _REMOVED_KEYS}
    elif removed is not None:
        raise SnapshotError(f"{where}.removed", "must be null while the job is pending")
    return {
        "id": job_id,
        "user_ids": list(users),
        "status": status,
        "requested_at": _time(job.get("requested_at"), f"{where}.requested_at"),
        "due_at": _time(job.get("due_at"), f"{where}.due_at", optional=True),
        "completed_at": _time(job.get("completed_at"), f"{where}.completed_at", optional=not completed),
        "removed": removed,
    }


def _validate(
    endpoint: spec.Endpoint, items: list[Any], where: str, settings: Settings, name: Callable[[int], str]
) -> list[tuple[bytes, Validated, int]]:
    """Check ``items`` as bodies of ``endpoint`` of at most ``max_batch_items`` each, with
    ingestion's own validator (what could not have been accepted cannot be loaded); a refusal
    names the item by ``name(index)``. Returns each body's text, verdict and size."""
    from mockserver.validation import validate_body_fully

    checks = dataclasses.replace(settings, allow_empty_batches=True)
    size = settings.max_batch_items
    out = []
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        raw = json.dumps({endpoint.key: chunk}, ensure_ascii=False).encode()
        try:
            out.append((raw, validate_body_fully(endpoint, raw, checks), len(chunk)))
        except ApiError as error:
            first = error.errors[0] if error.errors else None
            if first is None:
                raise SnapshotError(f"{where}.{endpoint.key}", error.message) from None
            match = _INDEX.match(first.field)
            field_ = first.field
            if match is not None:
                field_ = name(start + int(match.group(2))) + first.field[match.end() :]
            raise SnapshotError(f"{where}.{field_}", first.reason) from None
    return out


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SnapshotError(where, f"must be a JSON object, not {_show(value)}")
    return value


def _no_unknown(value: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
    for key in value:
        if key not in known:
            raise SnapshotError(prefix + key, f"unknown field; known: {', '.join(sorted(known))}")


def _time(value: Any, where: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise SnapshotError(where, "must be a UTC timestamp such as 2025-01-17T05:39:22.000Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SnapshotError(where, f"not a timestamp: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise SnapshotError(where, "needs a time zone (Z)")
    seconds = parsed.astimezone(timezone.utc).timestamp()
    if not 0 <= seconds <= LATEST:
        raise SnapshotError(where, "must lie between 1970 and 9999")
    return seconds


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text[:60]
