"""The backend: settings, clock, stored state and journal behind one lock.

One instance serves every way in (the live server, the in-process routes, Flask's test
client); nothing here imports Flask. Callers ask it to accept or refuse a request, to restore
or reset itself, to move its clock; each method takes the lock itself, so no caller ever holds
it or reaches the parts it guards. Fidelity notes, each tied to a setting or to API.md:

* profiles merge properties key by key, last write wins; ``null`` values do not erase;
* devices are keyed by ``device_id``; ``user_id`` maps, ``remove_user_id`` unmaps;
* events keep arrival order; a repeated event ``id`` is accepted and stored once;
* deletion requests become jobs (the vendor returns no job id); a job completes at once, after
  ``deletion_job_delay`` seconds of the fake's clock, or only on request (``deletion_jobs``);
  completing removes the users' profiles, device mappings and events;
* events and profiles are processed asynchronously on the vendor's side: with
  ``processing_delay`` an accepted body is held, visible only as pending, for that many seconds
  of the fake's clock before it is stored;
* a request that a reset overtook (it arrived before the reset and finished after) stores and
  journals nothing: it is answered as if it had finished before the reset, which cleared it, so
  a test's journal holds only what that test sent.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from mockserver import spec
from mockserver.clock import Clock, iso
from mockserver.faults import Faults, Outcome, RateLimiter
from mockserver.journal import Journal, JournalEntry, new_entry
from mockserver.parity import Parity
from mockserver.secrets import mask_keys
from mockserver.settings import Settings
from mockserver.snapshot import FORMAT, VERSION, Snapshot, SnapshotError
from mockserver.state import DeletionJob, ProjectState, Store

if TYPE_CHECKING:
    from mockserver.validation import Validated

__all__ = ["Backend"]

_V = TypeVar("_V")

#: What ``processing_delay`` holds back: the bodies the vendor processes asynchronously.
_DELAYED = (spec.EVENTS, spec.PROFILES)
#: Projects whose latest reset is remembered for requests still in flight; past it, the oldest
#: are forgotten (a request in flight across this many other projects' resets is kept).
_RESETS_REMEMBERED = 1024


@dataclass(order=True)
class _Pending:
    """An accepted body waiting for its processing time; ordered by when it falls due."""

    due_at: float
    seq: int
    accepted_at: float = field(compare=False)
    endpoint: spec.Endpoint = field(compare=False)
    project_id: str = field(compare=False)
    validated: Validated = field(compare=False)
    raw: bytes = field(compare=False)


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
        self._lock = threading.RLock()
        self._settings = settings
        self._initial_settings = settings
        self._clock = clock or Clock()
        self._journal = Journal(settings.journal_max_entries, settings.journal_max_bytes)
        self._store = Store(settings.max_stored_events, settings.max_stored_bytes)
        self._faults = Faults()
        self._limiter = RateLimiter()
        # proxy mode's running account of the fake's verdicts against the upstream's answers
        self._parity = Parity()
        # how many resets so far: a poller that sees it change reloads what it holds
        self._resets = 0
        # the value of ``_resets`` after the latest reset of everything, and after each
        # project's latest reset: a request that arrived before either stores nothing
        self._cleared_at = 0
        self._project_cleared_at: OrderedDict[str, int] = OrderedDict()
        self._listeners: list[Callable[[JournalEntry], None]] = []
        #: accepted bodies held back by ``processing_delay``, earliest due first
        self._pending: list[_Pending] = []
        self._pending_seq = 0
        self._pending_bytes = 0

    # --- settings -----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, changes: Mapping[str, Any]) -> Settings:
        """Change settings at runtime, checked the same way as on the command line."""
        with self._lock:
            new = Settings.from_mapping(changes, base=self._settings)
            self._apply_settings(new)
            return new

    def restore_settings(self) -> Settings:
        """Back to the settings the backend was created with."""
        with self._lock:
            self._apply_settings(self._initial_settings)
            return self._settings

    def _apply_settings(self, new: Settings) -> None:
        self._settings = new
        self._journal.max_entries = new.journal_max_entries
        self._journal.max_bytes = new.journal_max_bytes
        self._store.max_events = new.max_stored_events
        self._store.max_bytes = new.max_stored_bytes

    # --- requests -----------------------------------------------------------------------------

    def listen(self, listener: Callable[[JournalEntry], None]) -> None:
        """Call ``listener`` with every journal entry as it is recorded (the console log)."""
        with self._lock:
            self._listeners.append(listener)

    def arrival(self) -> int:
        """A mark of this moment, taken when a request arrives (before its body is read) and
        given back to :meth:`accept` or :meth:`refuse` as ``arrived``: a request that a reset
        overtook then stores and journals nothing."""
        with self._lock:
            return self._resets

    def accept(
        self,
        endpoint: spec.Endpoint,
        project_id: str,
        validated: Validated,
        raw: bytes,
        /,
        *,
        arrived: int | None = None,
        **fields: Any,
    ) -> JournalEntry | None:
        """Store an accepted body (``raw`` is its JSON text) and journal the request (``fields``
        of its entry), in one step: a reset sees both or neither. With ``arrived`` (see
        :meth:`arrival`): nothing at all, returning None, when a reset of everything or of
        ``project_id`` came after it."""
        return self._commit(fields, (endpoint, project_id, validated, raw), arrived)

    def refuse(self, *, arrived: int | None = None, **fields: Any) -> JournalEntry | None:
        """Journal a request that stores nothing: refused here, by a fault rule or upstream, or
        taken upstream with a body the fake cannot read. With ``arrived``, as :meth:`accept`."""
        return self._commit(fields, None, arrived)

    def _overtaken(self, arrived: int, project_id: Any) -> bool:
        """Whether a reset came after a request that arrived at ``arrived``."""
        if arrived < self._cleared_at:
            return True
        return isinstance(project_id, str) and arrived < self._project_cleared_at.get(project_id, 0)

    def _commit(
        self,
        fields: dict[str, Any],
        body: tuple[spec.Endpoint, str, Validated, bytes] | None,
        arrived: int | None,
    ) -> JournalEntry | None:
        with self._lock:
            if arrived is not None and self._overtaken(arrived, fields.get("project_id")):
                # The reset cleared what this request would have left, as if it had finished
                # just before: the next test's journal holds only what that test sent.
                return None
            # jobs that fell due go first, so that a body arriving after its users' deletion
            # is kept
            now = self._clock.now()
            self._process_due(now)
            # the entry is built before the store changes and nothing after the store can fail,
            # so a stored body always has its entry
            entry = new_entry(self._journal.next_id(), iso(now), fields)
            if body is not None:
                self._store_body(*body)
            self._journal.append(entry)
            self._parity.record(entry)
            for listen in self._listeners:
                listen(entry)
            return entry

    def _store_body(self, endpoint: spec.Endpoint, project_id: str, validated: Validated, raw: bytes) -> None:
        delay = self._settings.processing_delay
        if delay > 0 and endpoint in _DELAYED:
            now = self._clock.now()
            self._pending_seq += 1
            held = _Pending(now + delay, self._pending_seq, now, endpoint, project_id, validated, raw)
            heapq.heappush(self._pending, held)
            self._pending_bytes += len(raw)
            # Held bodies count against the stored-data budget too: past it, the oldest is
            # processed early rather than memory growing without bound.
            while self._pending and self._pending_bytes > self._settings.max_stored_bytes:
                self._process(heapq.heappop(self._pending))
            return
        self._store_now(endpoint, project_id, validated, raw)

    def _process(self, held: _Pending) -> None:
        self._pending_bytes -= len(held.raw)
        self._store_now(held.endpoint, held.project_id, held.validated, held.raw)

    def _process_due(self, now: float) -> None:
        """Store held bodies whose processing time has come, then complete due deletion jobs."""
        while self._pending and self._pending[0].due_at <= now:
            self._process(heapq.heappop(self._pending))
        self._store.complete_due_jobs(now)

    def _store_now(self, endpoint: spec.Endpoint, project_id: str, validated: Validated, raw: bytes) -> None:
        if endpoint is spec.EVENTS:
            assert validated.event_ids is not None
            self._store.add_events(project_id, raw, validated.event_ids, validated.event_users)
            return
        assert validated.body is not None
        items = validated.body[endpoint.key]
        # Each item counts for its share of the request's bytes.
        share = len(raw) // max(1, validated.items)
        if endpoint is spec.PROFILES:
            self._store.update_profiles(project_id, items, share)
        elif endpoint is spec.DEVICES:
            self._store.update_devices(project_id, items, share)
        else:
            self._request_deletion(project_id, [items] if isinstance(items, str) else items, len(raw))

    def _request_deletion(self, project_id: str, user_ids: list[str], cost: int) -> None:
        now = self._clock.now()
        settings = self._settings
        due = None if settings.deletion_jobs == "manual" else now + settings.deletion_job_delay
        job = self._store.add_job(project_id, user_ids, now, due, cost)
        if due is not None and due <= now:
            self._store.complete_job(job, now)

    @property
    def has_faults(self) -> bool:
        """Whether any fault rule is set (read without the lock: a rule added meanwhile applies
        from the next request on)."""
        return bool(self._faults.rules)

    def fire_faults(self, path: str, project_id: str | None) -> Outcome:
        """What the fault rules do to one request to ``path``; the rules that fire use a turn."""
        if not self.has_faults:
            return Outcome()  # most runs set none, and every request asks: no lock then
        with self._lock:
            return self._faults.outcome(path, project_id)

    def take_token(self, key: str, limit: str) -> float | None:
        """Take one request from the API key's ``limit`` (a rate-limit setting); None when it
        had one left, else the seconds until it has."""
        with self._lock:
            return self._limiter.take(key, limit, self._clock.now())

    def _tick(self) -> None:
        """Process held bodies and complete deletion jobs whose time has come on the fake's clock."""
        with self._lock:
            self._process_due(self._clock.now())

    # --- control ------------------------------------------------------------------------------

    def reset(self, project_id: str | None = None) -> None:
        """Clear all projects, the journal, fault rules, rate-limit buckets and the clock;
        settings stay. With ``project_id``: only that project's data, journal entries and fault
        rules (one fake shared by parallel workers, each on its own project)."""
        with self._lock:
            self._resets += 1
            self._parity.forget(project_id)
            if project_id is not None:
                self._project_cleared_at[project_id] = self._resets
                self._project_cleared_at.move_to_end(project_id)
                while len(self._project_cleared_at) > _RESETS_REMEMBERED:
                    self._project_cleared_at.popitem(last=False)
                self._drop_pending(project_id)
                self._store.clear_project(project_id)
                self._journal.remove_project(project_id)
                self._faults.clear(project_id)
                return
            self._cleared()
            self._drop_pending(None)
            self._store.clear()
            self._journal.clear()
            self._faults.clear()
            self._limiter.clear()
            self._clock.reset()

    def _cleared(self) -> None:
        """Everything was just cleared: a request that arrived before stores nothing."""
        self._cleared_at = self._resets
        self._project_cleared_at.clear()

    def restore(self) -> None:
        """Undo what a test may change and leave what it sent: the settings the backend was
        created with, no fault rules, the clock back to real time."""
        with self._lock:
            # what was accepted stays: held bodies are processed now, before the clock goes back
            while self._pending:
                self._process(heapq.heappop(self._pending))
            self._apply_settings(self._initial_settings)
            self._faults.clear()
            self._clock.reset()

    def add_fault(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Add a fault rule (see :mod:`mockserver.faults`); raises SettingsError if it is wrong."""
        with self._lock:
            return self._shown_rule(self._faults.add(rule).as_dict())

    def fault_rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._shown_rule(r.as_dict()) for r in self._faults.rules]

    def _shown_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        # A rule matches the project or path as sent, so it keeps a key given there; shown, the
        # key is masked as in the journal entry of a request the rule would match.
        shown: dict[str, Any] = mask_keys(rule, self._settings.api_keys)
        return shown

    def clear_faults(self, project_id: str | None = None) -> None:
        with self._lock:
            self._faults.clear(project_id)

    def advance_clock(self, seconds: float, *, freeze: bool = False) -> float:
        """Move the fake's clock on (freezing it first if asked); due deletion jobs complete.
        Raises ValueError, changing nothing, past the year 9999."""
        with self._lock:
            now = self._clock.advance(seconds)
            if freeze:
                now = self._clock.freeze()
            self._process_due(now)
            return now

    def reset_clock(self) -> None:
        """Back to real time."""
        with self._lock:
            self._clock.reset()

    def complete_deletion_jobs(self, project_id: str | None = None) -> list[dict[str, Any]]:
        """Complete every pending job (of one project, or all) now; returns them."""
        with self._lock:
            now = self._clock.now()
            done = []
            for pid, state in self._store.projects.items():
                if project_id is not None and pid != project_id:
                    continue
                for job in state.jobs:
                    if job.status == "pending":
                        self._store.complete_job(job, now)
                        done.append(_job_dict(job))
            return done

    # --- saved state ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What is stored and the clock, as a saved state (:mod:`mockserver.snapshot`): no
        settings, so no credentials. Taken whole under the lock, so it is one moment's state."""
        self._tick()
        with self._lock:
            projects: dict[str, Any] = {}
            for project_id, state in self._store.projects.items():
                projects[project_id] = {
                    "profiles": {user: dict(props) for user, props in state.profiles.items()},
                    "devices": {
                        key: {**record, "properties": dict(record["properties"])}
                        for key, record in state.devices.items()
                    },
                    "events": self._store.events(project_id),
                    "deletion_jobs": [_job_dict(job) for job in state.jobs],
                }
            now = self._clock.now()
            return {
                "format": FORMAT,
                "version": VERSION,
                "saved_at": iso(now),
                "clock": {"now": iso(now), "frozen": self._clock.frozen},
                "projects": projects,
            }

    def load(self, state: Snapshot) -> None:
        """Replace everything stored with a checked snapshot (:func:`mockserver.snapshot.parse`),
        as a reset followed by the snapshot's data and clock; settings stay. Raises
        :class:`~mockserver.snapshot.SnapshotError` (413), changing nothing, when the snapshot
        does not fit ``max_stored_events`` and ``max_stored_bytes``."""
        with self._lock:
            settings = self._settings
            store = Store(settings.max_stored_events, settings.max_stored_bytes)
            for project_id, project in state.projects.items():
                store.seed(project_id, project.profiles, project.devices, project.event_chunks, project.jobs)
            if any(store.dropped.values()):
                raise SnapshotError(
                    "state",
                    "does not fit the storage budget (max_stored_events "
                    f"{settings.max_stored_events}, max_stored_bytes {settings.max_stored_bytes}): "
                    "raise them, or load a smaller state",
                    413,
                )
            # The version never goes back: a poller that saw the old one must read again.
            store.version += self._store.version + 1
            self._store = store
            self._resets += 1
            self._cleared()
            self._parity.forget(None)
            self._journal.clear()
            self._faults.clear()
            self._limiter.clear()
            self._clock.reset()
            if state.frozen:
                self._clock.freeze_at(state.now)

    # --- reads (copies, so callers never see a half-applied request) --------------------------

    def requests(
        self, limit: int | None = None, *, after: int | None = None, project_id: str | None = None
    ) -> list[JournalEntry]:
        with self._lock:
            return self._journal.entries(limit, after, project_id)

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
        self._tick()
        with self._lock:
            state = self._store.projects.get(project_id)
            if not state:
                return 0, {}
            stored = kind(state)
            return len(stored), {key: copy(value) for key, value in _newest(stored, limit)}

    def events(self, project_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The project's events, oldest first (the newest ``limit`` of them)."""
        return list(self.event_page(project_id, limit)[1])

    def event_page(
        self, project_id: str, limit: int | None = None, after: int | None = None, before: int | None = None
    ) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
        """The project's events at positions between ``after`` and ``before``, the newest
        ``limit`` of them, oldest first, parsed one stored request at a time as the caller reads
        on (a large read never holds every event at once); and where they sit among the
        project's events: ``total`` stored now, the positions of the ``first`` and ``last`` event
        of the page (None when it is empty). A poller keeps ``last`` and asks ``after=`` it next
        time; when ``total`` is not what it saw plus what came, events went (deletion, caps,
        reset)."""
        self._tick()
        # Only which events are stored is copied under the lock: their text never changes, so
        # it is parsed outside.
        with self._lock:
            batches = self._store.snapshot(project_id, limit, after, before)
            state = self._store.projects.get(project_id)
            total = state.event_count if state else 0
        where = {
            "total": total,
            "first": batches[0][0].first + batches[0][1][0] if batches else None,
            "last": batches[-1][0].first + batches[-1][1][-1] if batches else None,
        }
        return where, (event for batch, kept in batches for event in batch.events(kept))

    def _drop_pending(self, project_id: str | None) -> None:
        kept = [held for held in self._pending if project_id is not None and held.project_id != project_id]
        heapq.heapify(kept)
        self._pending = kept
        self._pending_bytes = sum(len(held.raw) for held in kept)

    def pending(self, project_id: str) -> list[dict[str, Any]]:
        """The project's accepted bodies not yet processed (setting ``processing_delay``), in
        the order they fall due."""
        self._tick()
        with self._lock:
            held = sorted(h for h in self._pending if h.project_id == project_id)
            return [
                {
                    "kind": h.endpoint.key,
                    "items": h.validated.items,
                    "accepted_at": iso(h.accepted_at),
                    "due_at": iso(h.due_at),
                }
                for h in held
            ]

    def deletion_jobs(self, project_id: str) -> list[dict[str, Any]]:
        self._tick()
        with self._lock:
            state = self._store.projects.get(project_id)
            return [_job_dict(j) for j in state.jobs] if state else []

    def projects(self) -> list[str]:
        with self._lock:
            return sorted(self._store.projects)

    def parity(self) -> dict[str, Any]:
        """Proxy mode's account: requests compared, agreements, the latest disagreements."""
        with self._lock:
            return self._parity.as_dict()

    def health(self) -> dict[str, Any]:
        # A job that fell due changes what is stored, and the version must say so.
        self._tick()
        with self._lock:
            return {
                "status": "ok",
                "dropped": {"journal": self._journal.dropped, **self._store.dropped},
                "stored_bytes": self._store.bytes,
                "journal": {"entries": len(self._journal), "bytes": self._journal.bytes},
                "resets": self._resets,
                "version": self._store.version,
                "events": self._store.event_count(),
                "pending": len(self._pending),
                "projects": sorted(self._store.projects),
                "clock": {"now": iso(self._clock.now()), "frozen": self._clock.frozen},
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
