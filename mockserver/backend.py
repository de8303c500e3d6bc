"""The backend: settings, clock, stored state and journal behind one lock.

One instance serves every way in (the live server, the in-process respx route, Flask's test
client); nothing here imports Flask. Fidelity notes, each tied to a setting or to API.md:

* profiles merge properties key by key, last write wins; ``null`` values do not erase;
* devices are keyed by ``device_id``; ``user_id`` maps, ``remove_user_id`` unmaps;
* events keep arrival order; a repeated event ``id`` is accepted and stored once;
* deletion requests become jobs (the vendor returns no job id); a job completes at once, after
  ``deletion_job_delay`` seconds of the fake's clock, or only on request (``deletion_jobs``);
  completing removes the users' profiles, device mappings and events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from mockserver import spec
from mockserver.clock import Clock, iso
from mockserver.faults import Faults, RateLimiter
from mockserver.journal import Journal, JournalEntry
from mockserver.parity import Parity
from mockserver.settings import Settings
from mockserver.state import DeletionJob, ProjectState, Store

if TYPE_CHECKING:
    from mockserver.validation import Validated

__all__ = ["Backend"]

_V = TypeVar("_V")


def _newest(items: dict[str, _V], limit: int | None) -> Iterable[tuple[str, _V]]:
    """The last ``limit`` items of a dict (its newest keys), still in the dict's order."""
    if limit is None or limit >= len(items):
        return items.items()
    return reversed(list(islice(reversed(items.items()), limit)))


class Backend:
    """All of the fake's state. Every public method is safe to call from any thread."""

    def __init__(
        self, settings: Settings | Mapping[str, Any] | None = None, *, clock: Clock | None = None
    ) -> None:
        if settings is None:
            settings = Settings()
        elif not isinstance(settings, Settings):
            settings = Settings.from_mapping(settings)
        self.lock = threading.RLock()
        self._settings = settings
        self._initial_settings = settings
        self.clock = clock or Clock()
        self.journal = Journal(settings.journal_max_entries, settings.journal_max_bytes)
        self.store = Store(settings.max_stored_events, settings.max_stored_bytes)
        self.faults = Faults()
        self.limiter = RateLimiter()
        #: proxy mode's running account of the fake's verdicts against the upstream's answers
        self.parity = Parity()
        #: how many resets so far: a poller that sees it change reloads what it holds
        self.resets = 0
        #: called with every journal entry as it is recorded (the console log uses it)
        self.listeners: list[Callable[[JournalEntry], None]] = []

    # --- settings -----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, changes: Mapping[str, Any]) -> Settings:
        """Change settings at runtime, checked the same way as on the command line."""
        with self.lock:
            new = Settings.from_mapping(changes, base=self._settings)
            self._apply_settings(new)
            return new

    def restore_settings(self) -> Settings:
        """Back to the settings the backend was created with."""
        with self.lock:
            self._apply_settings(self._initial_settings)
            return self._settings

    def _apply_settings(self, new: Settings) -> None:
        self._settings = new
        self.journal.max_entries = new.journal_max_entries
        self.journal.max_bytes = new.journal_max_bytes
        self.store.max_events = new.max_stored_events
        self.store.max_bytes = new.max_stored_bytes

    # --- writes (called by the pipeline with the lock held) -----------------------------------

    def apply(self, endpoint: spec.Endpoint, project_id: str, validated: Validated, raw: bytes) -> None:
        """Store an accepted body (``raw`` is its JSON text)."""
        if endpoint is spec.EVENTS:
            assert validated.event_ids is not None
            self.store.add_events(project_id, raw, validated.event_ids, validated.event_users)
            return
        assert validated.body is not None
        items = validated.body[endpoint.key]
        share = len(raw) // max(1, validated.items)  # what one item's part of the request counts
        if endpoint is spec.PROFILES:
            self.store.update_profiles(project_id, items, share)
        elif endpoint is spec.DEVICES:
            self.store.update_devices(project_id, items, share)
        else:
            self._request_deletion(project_id, [items] if isinstance(items, str) else items, len(raw))

    def _request_deletion(self, project_id: str, user_ids: list[str], cost: int) -> None:
        now = self.clock.now()
        settings = self._settings
        due = None if settings.deletion_jobs == "manual" else now + settings.deletion_job_delay
        job = self.store.add_job(project_id, user_ids, now, due, cost)
        if due is not None and due <= now:
            self.store.complete_job(job, now)

    def entry(self, **fields: Any) -> JournalEntry:
        """A journal entry stamped now, not yet appended (lock held by the caller)."""
        return JournalEntry(id=self.journal.next_id(), time=iso(self.clock.now()), **fields)

    def append(self, entry: JournalEntry) -> None:
        """Append ``entry`` to the journal and tell the listeners (lock held by the caller)."""
        self.journal.append(entry)
        self.parity.record(entry)
        for listen in self.listeners:
            listen(entry)

    def record(self, **fields: Any) -> JournalEntry:
        """Build and append a journal entry (lock held by the caller)."""
        entry = self.entry(**fields)
        self.append(entry)
        return entry

    def tick(self) -> None:
        """Complete deletion jobs whose time has come on the fake's clock."""
        with self.lock:
            self.store.complete_due_jobs(self.clock.now())

    # --- control ------------------------------------------------------------------------------

    def reset(self, project_id: str | None = None) -> None:
        """Clear all projects, the journal, fault rules, rate-limit buckets and the clock;
        settings stay. With ``project_id``: only that project's data, journal entries and fault
        rules (one fake shared by parallel workers, each on its own project)."""
        with self.lock:
            self.resets += 1
            self.parity.forget(project_id)
            if project_id is not None:
                self.store.clear_project(project_id)
                self.journal.remove_project(project_id)
                self.faults.clear(project_id)
                return
            self.store.clear()
            self.journal.clear()
            self.faults.clear()
            self.limiter.clear()
            self.clock.reset()

    def add_fault(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Add a fault rule (see :mod:`mockserver.faults`); raises SettingsError if it is wrong."""
        with self.lock:
            return self.faults.add(rule).as_dict()

    def fault_rules(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.as_dict() for r in self.faults.rules]

    def clear_faults(self, project_id: str | None = None) -> None:
        with self.lock:
            self.faults.clear(project_id)

    def advance_clock(self, seconds: float, *, freeze: bool = False) -> float:
        """Move the fake's clock on (freezing it first if asked); due deletion jobs complete.
        Raises ValueError, changing nothing, past the year 9999."""
        with self.lock:
            now = self.clock.advance(seconds)
            if freeze:
                now = self.clock.freeze()
            self.store.complete_due_jobs(now)
            return now

    def complete_deletion_jobs(self, project_id: str | None = None) -> list[dict[str, Any]]:
        """Complete every pending job (of one project, or all) now; returns them."""
        with self.lock:
            now = self.clock.now()
            done = []
            for pid, state in self.store.projects.items():
                if project_id is not None and pid != project_id:
                    continue
                for job in state.jobs:
                    if job.status == "pending":
                        self.store.complete_job(job, now)
                        done.append(_job_dict(job))
            return done

    # --- reads (copies, so callers never see a half-applied request) --------------------------

    def requests(
        self, limit: int | None = None, *, after: int | None = None, project_id: str | None = None
    ) -> list[JournalEntry]:
        with self.lock:
            return self.journal.entries(limit, after, project_id)

    def profiles(self, project_id: str) -> dict[str, dict[str, Any]]:
        return self.profile_page(project_id)[1]

    def profile_page(
        self, project_id: str, limit: int | None = None
    ) -> tuple[int, dict[str, dict[str, Any]]]:
        """How many profiles the project stores, and the ``limit`` first stored most recently
        (all by default), in the order they were first stored: a poller copies a page under
        the lock, not every profile."""
        return self._page(project_id, limit, lambda state: state.profiles, dict)

    def devices(self, project_id: str) -> dict[str, dict[str, Any]]:
        return self.device_page(project_id)[1]

    def device_page(self, project_id: str, limit: int | None = None) -> tuple[int, dict[str, dict[str, Any]]]:
        """What :meth:`profile_page` is for profiles, for devices."""
        return self._page(
            project_id,
            limit,
            lambda state: state.devices,
            lambda d: {**d, "properties": dict(d["properties"])},
        )

    def _page(
        self,
        project_id: str,
        limit: int | None,
        kind: Callable[[ProjectState], dict[str, dict[str, Any]]],
        copy: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> tuple[int, dict[str, dict[str, Any]]]:
        """The count and a copied page of one kind of keyed state (see :meth:`profile_page`)."""
        self.tick()
        with self.lock:
            state = self.store.projects.get(project_id)
            if not state:
                return 0, {}
            stored = kind(state)
            return len(stored), {key: copy(value) for key, value in _newest(stored, limit)}

    def events(self, project_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return list(self.iter_events(project_id, limit))

    def iter_events(
        self, project_id: str, limit: int | None = None, after: int | None = None, before: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The project's events, oldest first (those at positions between ``after`` and
        ``before``, the newest ``limit`` of them), parsed one stored request at a time as the
        caller reads on: a large read never holds every event at once."""
        return self.event_page(project_id, limit, after, before)[1]

    def event_page(
        self, project_id: str, limit: int | None = None, after: int | None = None, before: int | None = None
    ) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
        """What :meth:`iter_events` yields, and where it sits among the project's events:
        ``total`` stored now, the positions of the ``first`` and ``last`` event of the page
        (None when it is empty). A poller keeps ``last`` and asks ``after=`` it next time;
        when ``total`` is not what it saw plus what came, events went (deletion, caps, reset)."""
        self.tick()
        with self.lock:  # a snapshot of which events are stored; their text never changes
            batches = self.store.snapshot(project_id, limit, after, before)
            state = self.store.projects.get(project_id)
            total = state.event_count if state else 0
        where = {
            "total": total,
            "first": batches[0][0].first + batches[0][1][0] if batches else None,
            "last": batches[-1][0].first + batches[-1][1][-1] if batches else None,
        }
        return where, (event for batch, kept in batches for event in batch.events(kept))

    def deletion_jobs(self, project_id: str) -> list[dict[str, Any]]:
        self.tick()
        with self.lock:
            state = self.store.projects.get(project_id)
            return [_job_dict(j) for j in state.jobs] if state else []

    def projects(self) -> list[str]:
        with self.lock:
            return sorted(self.store.projects)

    def health(self) -> dict[str, Any]:
        self.tick()  # a job that fell due changes what is stored: the version says so
        with self.lock:
            return {
                "status": "ok",
                "dropped": {"journal": self.journal.dropped, **self.store.dropped},
                "stored_bytes": self.store.bytes,
                "journal": {"entries": len(self.journal), "bytes": self.journal.bytes},
                "resets": self.resets,
                "version": self.store.version,
                "events": self.store.event_count(),
                "projects": sorted(self.store.projects),
                "clock": {"now": iso(self.clock.now()), "frozen": self.clock.frozen},
            }


def _job_dict(job: DeletionJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "project_id": job.project_id,
        "user_ids": list(job.user_ids),
        "status": job.status,
        "requested_at": iso(job.requested_at),
        "due_at": iso(job.due_at) if job.due_at is not None else None,
        "completed_at": iso(job.completed_at) if job.completed_at is not None else None,
        "removed": dict(job.removed) if job.removed is not None else None,
    }
