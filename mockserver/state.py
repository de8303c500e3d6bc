"""What the fake remembers per project: profiles, devices, events and deletion jobs.

Plain data and plain Python; the backend's lock guards every call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeletionJob", "ProjectState", "Store"]


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


def _merge_properties(target: dict[str, Any], properties: dict[str, Any] | None) -> None:
    # `null` for an optional value means absent: it does not erase what is stored.
    for key, value in (properties or {}).items():
        if value is not None:
            target[key] = value


class Store:
    """All projects' data. Events live in one arrival-ordered deque so the cap is global."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self.projects: dict[str, ProjectState] = {}
        self._events: deque[tuple[str, dict[str, Any]]] = deque()
        self.dropped_events = 0
        self._job_seq = 0

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

    def add_events(self, project_id: str, events: list[dict[str, Any]]) -> int:
        """Store events in order; a repeated ``id`` is accepted but kept once. Returns how many were new."""
        seen = self.project(project_id).event_ids
        added = 0
        for event in events:
            event_id = event.get("id")
            if event_id is not None:
                if event_id in seen:
                    continue
                seen.add(event_id)
            self._events.append((project_id, event))
            added += 1
        while len(self._events) > self.max_events:
            old_project, old = self._events.popleft()
            self.dropped_events += 1
            if old.get("id") is not None and old_project in self.projects:
                self.projects[old_project].event_ids.discard(old["id"])
        return added

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
        before = len(self._events)
        kept = [
            (p, e) for p, e in self._events if not (p == job.project_id and e.get("user_id") in users)
        ]
        for p, e in self._events:
            if p == job.project_id and e.get("user_id") in users and e.get("id") is not None:
                state.event_ids.discard(e["id"])
        self._events = deque(kept)
        job.status = "completed"
        job.completed_at = now
        job.removed = {"profiles": profiles, "device_mappings": mappings, "events": before - len(kept)}

    def complete_due_jobs(self, now: float) -> None:
        for state in self.projects.values():
            for job in state.jobs:
                if job.status == "pending" and job.due_at is not None and job.due_at <= now:
                    self.complete_job(job, now)

    # --- reads --------------------------------------------------------------------------------

    def events(self, project_id: str) -> list[dict[str, Any]]:
        return [e for p, e in self._events if p == project_id]

    def event_count(self) -> int:
        return len(self._events)

    def clear(self) -> None:
        self.projects.clear()
        self._events.clear()
        self.dropped_events = 0
        self._job_seq = 0
