"""What the fake remembers per project: profiles, devices, events and deletion jobs.

Plain data and plain Python; the backend's lock guards every call.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeletionJob", "EventBatch", "ProjectState", "Store"]


@dataclass
class DeletionJob:
    id: str
    project_id: str
    user_ids: list[str]
    requested_at: float
    due_at: float | None  # None: completes only when asked (setting `deletion_jobs="manual"`)
    status: str = "pending"
    completed_at: float | None = None
    removed: dict[str, int] | None = None


@dataclass
class ProjectState:
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)
    jobs: list[DeletionJob] = field(default_factory=list)


@dataclass
class EventBatch:
    """The events of one accepted request, kept as the request's JSON text.

    Holding text rather than thousands of dicts keeps a large store small, and keeps it out of
    the garbage collector's full collections, which otherwise cost more than parsing a body.
    Only the event ids (atomic strings) are pulled out, for de-duplication.
    """

    project_id: str
    raw: bytes
    ids: list[str | None]
    #: indexes into the request's ``events`` still stored, in order
    kept: list[int]

    def parsed(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.raw)["events"]
        return events

    def events(self) -> list[dict[str, Any]]:
        parsed = self.parsed()
        return [parsed[i] for i in self.kept]


def _merge_properties(target: dict[str, Any], properties: dict[str, Any] | None) -> None:
    # `null` for an optional value means absent: it does not erase what is stored.
    for key, value in (properties or {}).items():
        if value is not None:
            target[key] = value


class Store:
    """All projects' data. Event batches live in one arrival-ordered deque so the cap is global."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self.projects: dict[str, ProjectState] = {}
        self._batches: deque[EventBatch] = deque()
        self._event_count = 0
        self.dropped_events = 0
        self._job_seq = 0
        # pending jobs by due time: each request asks what is due, and must not walk every job
        self._due: list[tuple[float, int, DeletionJob]] = []

    def project(self, project_id: str) -> ProjectState:
        state = self.projects.get(project_id)
        if state is None:
            state = self.projects[project_id] = ProjectState()
        return state

    # --- writes -------------------------------------------------------------------------------

    def update_profiles(self, project_id: str, profiles: list[dict[str, Any]]) -> None:
        stored = self.project(project_id).profiles
        for profile in profiles:
            _merge_properties(stored.setdefault(profile["user_id"], {}), profile.get("properties"))

    def add_events(self, project_id: str, raw: bytes, ids: list[str | None]) -> int:
        """Store one request's events in order; a repeated ``id`` is accepted but kept once.

        ``raw`` is the request's JSON text and ``ids`` its events' ids (None where absent).
        Returns how many events were new.
        """
        kept = list(range(len(ids)))
        if ids.count(None) != len(ids):
            seen = self.project(project_id).event_ids
            kept = []
            for index, event_id in enumerate(ids):
                if event_id is not None:
                    if event_id in seen:
                        continue
                    seen.add(event_id)
                kept.append(index)
        else:
            self.project(project_id)
        if kept:
            self._batches.append(EventBatch(project_id, raw, ids, kept))
            self._event_count += len(kept)
            self._enforce_cap()
        return len(kept)

    def _enforce_cap(self) -> None:
        excess = self._event_count - self.max_events
        while excess > 0 and self._batches:
            batch = self._batches[0]
            gone = batch.kept[:excess]
            del batch.kept[:excess]
            state = self.projects.get(batch.project_id)
            for index in gone:
                if batch.ids[index] is not None and state is not None:
                    state.event_ids.discard(batch.ids[index])  # a resend is new again
            if not batch.kept:
                self._batches.popleft()
            self._event_count -= len(gone)
            self.dropped_events += len(gone)
            excess -= len(gone)

    def update_devices(self, project_id: str, devices: list[dict[str, Any]]) -> None:
        stored = self.project(project_id).devices
        for device in devices:
            record = stored.setdefault(
                device["device_id"], {"device_id": device["device_id"], "properties": {}}
            )
            for key in ("platform", "token", "user_id"):
                if device.get(key) is not None:
                    record[key] = device[key]
            if device.get("remove_user_id"):
                record["user_id"] = None
            _merge_properties(record["properties"], device.get("properties"))

    def add_job(self, project_id: str, user_ids: list[str], now: float, due_at: float | None) -> DeletionJob:
        self._job_seq += 1
        job = DeletionJob(f"job-{self._job_seq:06d}", project_id, list(dict.fromkeys(user_ids)), now, due_at)
        self.project(project_id).jobs.append(job)
        if due_at is not None:
            heapq.heappush(self._due, (due_at, self._job_seq, job))
        return job

    def complete_job(self, job: DeletionJob, now: float) -> None:
        """Remove the users' profiles, device mappings and events; record what went."""
        state = self.project(job.project_id)
        users = set(job.user_ids)
        profiles = sum(1 for u in users if state.profiles.pop(u, None) is not None)
        mappings = 0
        for device in state.devices.values():
            if device.get("user_id") in users:
                device["user_id"] = None
                mappings += 1
        events = 0
        for batch in self._batches:
            if batch.project_id != job.project_id:
                continue
            parsed = batch.parsed()  # user ids are read back only here, when a job completes
            remaining = []
            for index in batch.kept:
                if parsed[index].get("user_id") in users:
                    events += 1
                    if batch.ids[index] is not None:
                        state.event_ids.discard(batch.ids[index])
                else:
                    remaining.append(index)
            batch.kept = remaining
        self._batches = deque(b for b in self._batches if b.kept)
        self._event_count -= events
        job.status = "completed"
        job.completed_at = now
        job.removed = {"profiles": profiles, "device_mappings": mappings, "events": events}

    def complete_due_jobs(self, now: float) -> None:
        """Complete pending jobs due by ``now``, earliest first."""
        while self._due and self._due[0][0] <= now:
            job = heapq.heappop(self._due)[2]
            if job.status == "pending":  # not completed by hand meanwhile
                self.complete_job(job, now)

    # --- reads --------------------------------------------------------------------------------

    def events(self, project_id: str) -> list[dict[str, Any]]:
        return [e for b in self._batches if b.project_id == project_id for e in b.events()]

    def event_count(self) -> int:
        return self._event_count

    def clear(self) -> None:
        self.projects.clear()
        self._batches.clear()
        self._event_count = 0
        self.dropped_events = 0
        self._job_seq = 0
        self._due.clear()
