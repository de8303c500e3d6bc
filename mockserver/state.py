"""What the fake remembers per project: profiles, devices, events and deletion jobs.

Plain data and plain Python; the backend's lock guards every call.
"""

from __future__ import annotations

import heapq
import json
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec

__all__ = ["KINDS", "PARSED_FACTOR", "DeletionJob", "EventBatch", "ProjectState", "Store"]


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
    event_count: int = 0
    jobs: list[DeletionJob] = field(default_factory=list)
    #: user id -> the batches holding that user's events, so deletion finds them without
    #: parsing. Built at the project's first deletion (None until then), then kept up to date:
    #: ingestion without deletions pays nothing for it.
    user_batches: dict[str, dict[int, EventBatch]] | None = None

    def holds_nothing(self) -> bool:
        return not (self.profiles or self.devices or self.event_count or self.jobs)


class EventBatch(msgspec.Struct, eq=False, gc=False):
    """The events of one accepted request, kept as the request's JSON text.

    Holding text rather than thousands of dicts keeps a large store small, and keeps it out of
    the garbage collector's way. Only each event's id and user id are pulled out: for
    de-duplication, and for deletion by user. The user ids are one JSON text (:meth:`user_ids`
    reads it): kept as a thousand strings per batch, they were scattered through the
    allocator's memory among each request's short-lived objects, and every later request paid
    for allocating around them (a store of a hundred 1,000-event batches served 1,000-event
    requests a quarter slower).

    The collector never tracks a batch (``gc=False``): it holds only bytes, strings, numbers and
    sequences of them, so it can never be part of a reference cycle. A store of a hundred
    thousand one-event batches, tracked, made each of the collector's full passes walk them
    all, and a busy server paid for that on every request (``bench.live`` prints the serve's
    CPU per request; ``tests/mockserver/test_state.py`` holds a batch untracked).
    """

    seq: int
    project_id: str
    raw: bytes
    ids: tuple[str | None, ...]
    #: the events' user ids as a JSON array (null where absent), in order
    users: bytes
    #: indexes into the request's ``events`` still stored, in order
    kept: Sequence[int]
    #: the position of the request's first event; its event ``i`` is at ``first + i``. Positions
    #: count every event stored since the last reset, so a reader can ask for what came after
    #: the last one it saw (``/_mock/events?after=``) without any event carrying a number.
    first: int = 0
    #: one past the position of its last event (kept when the text is freed)
    end: int = 0

    @property
    def cost(self) -> int:
        return len(self.raw) + _BATCH_OVERHEAD + _EVENT_OVERHEAD * len(self.ids)

    def user_ids(self) -> list[str | None]:
        """Each event's user id (None where absent), in order."""
        if not self.users:
            return [None] * len(self.ids)
        try:
            users: list[str | None] = msgspec.json.decode(self.users)
        except msgspec.DecodeError:  # a lone surrogate, escaped by the slower encoder
            users = json.loads(self.users)
        return users

    def events(self, kept: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """The stored events (or those at ``kept``), parsed from the text."""
        parsed: list[dict[str, Any]] = json.loads(self.raw)["events"]
        return [parsed[i] for i in (self.kept if kept is None else kept)]


#: What the byte budget counts beyond a batch's text: the batch, its id and user lists.
_BATCH_OVERHEAD = 256
_EVENT_OVERHEAD = 16
#: Profiles, devices and deletion jobs are kept parsed, and Python objects take several times
#: their JSON text (measured: 3 to 6 times for typical profiles); the budget counts them so.
PARSED_FACTOR = 6
_ITEM_OVERHEAD = 256
#: the kinds of stored data, in the order ``dropped`` reports them
KINDS = ("events", "profiles", "devices", "deletion_jobs")


def _index(user_batches: dict[str, dict[int, EventBatch]], batch: EventBatch) -> None:
    users = batch.user_ids()
    for user in {users[i] for i in batch.kept}:
        if user is not None:
            user_batches.setdefault(user, {})[batch.seq] = batch


def _all_none(values: Sequence[str | None]) -> bool:
    # The first answers most lists at once; a count would ask each string whether it equals
    # None, a slow comparison each.
    return not values or (values[0] is None and values.count(None) == len(values))


def _json_text(values: list[str | None]) -> bytes:
    try:
        return msgspec.json.encode(values)
    except UnicodeEncodeError:  # a lone surrogate, which only the slower encoder escapes
        return json.dumps(values).encode()


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def _merge_properties(target: dict[str, Any], properties: dict[str, Any] | None) -> None:
    # `null` for an optional value means absent: it does not erase what is stored.
    for key, value in (properties or {}).items():
        if value is not None:
            target[key] = value


class Store:
    """All projects' data, under two caps: a count of events and a byte budget for everything
    (``max_stored_events``, ``max_stored_bytes``). Past either, the oldest data goes first and is
    counted in ``dropped``. Event batches live in one arrival-ordered deque; profiles, devices and
    jobs in one write-ordered ledger with what each costs the budget."""

    def __init__(self, max_events: int, max_bytes: int = 1 << 62) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.projects: dict[str, ProjectState] = {}
        self._batches: deque[EventBatch] = deque()
        #: (kind, project, key) -> (sequence of its last write, bytes it costs), oldest write first
        self._ledger: OrderedDict[tuple[str, str, str], tuple[int, int]] = OrderedDict()
        self._event_count = 0
        self.bytes = 0
        self._seq = 0
        #: moves on with every change to what is stored (never back, not even on a reset): a
        #: reader that saw this version has nothing new to read
        self.version = 0
        self._position = 1  # of the next event stored
        self.dropped = dict.fromkeys(KINDS, 0)
        self._job_seq = 0
        # pending jobs by due time: each request asks what is due, and must not walk every job
        self._due: list[tuple[float, int, DeletionJob]] = []

    def project(self, project_id: str) -> ProjectState:
        state = self.projects.get(project_id)
        if state is None:
            state = self.projects[project_id] = ProjectState()
        return state

    def _forget_if_empty(self, project_id: str) -> None:
        """A project that holds nothing is forgotten: under ``any_project`` every project id a
        client ever sent would otherwise stay listed (in health, which the dashboard polls)."""
        state = self.projects.get(project_id)
        if state is not None and state.holds_nothing():
            del self.projects[project_id]

    def _next_seq(self) -> int:
        self._seq += 1
        self.version += 1
        return self._seq

    # --- writes -------------------------------------------------------------------------------

    def update_profiles(self, project_id: str, profiles: list[dict[str, Any]], cost: int = 0) -> None:
        """Merge ``profiles``; ``cost`` is what each one's part of the request counts."""
        stored = self.project(project_id).profiles
        for profile in profiles:
            _merge_properties(stored.setdefault(profile["user_id"], {}), profile.get("properties"))
            self._charge("profiles", project_id, profile["user_id"], cost)
        self._enforce_caps()
        self._forget_if_empty(project_id)

    def add_events(
        self, project_id: str, raw: bytes, ids: list[str | None], users: list[str | None] | None = None
    ) -> int:
        """Store one request's events in order; a repeated ``id`` is accepted but kept once.

        ``raw`` is the request's JSON text, ``ids`` and ``users`` its events' ids and user ids
        (None where absent). Returns how many events were new.
        """
        state = self.project(project_id)
        kept: Sequence[int] = range(len(ids))
        if not _all_none(ids):
            seen = state.event_ids
            given = set(ids)
            # how many ids were given: a count asks each string whether it equals None
            given_ids = len(ids) - ids.count(None) if None in given else len(ids)
            given.discard(None)  # what is left is strings
            if len(given) == given_ids and seen.isdisjoint(given):
                # No id repeated, here or among those stored: two set operations in C. A step
                # of Python per event against a store of 100,000 ids cost a third of a
                # 1,000-event request.
                seen |= cast("set[str]", given)
            elif given <= seen:
                # Every id stored before: a client's retry of a request already taken. Only
                # the events without an id are new, and most retries give every event one.
                kept = () if given_ids == len(ids) else tuple(i for i, v in enumerate(ids) if v is None)
            else:
                kept = self._new_events(seen, ids)
        if kept:
            batch = EventBatch(
                self._next_seq(),
                project_id,
                raw,
                tuple(ids),
                b"" if users is None or _all_none(users) else _json_text(users),
                kept,
                self._position,
                self._position + len(ids),
            )
            self._position = batch.end
            state.event_count += len(kept)
            if state.user_batches is not None:
                _index(state.user_batches, batch)
            self._batches.append(batch)
            self._event_count += len(kept)
            self.bytes += batch.cost
            # a project that stores events is not empty; where the caps drop them all, the
            # removal forgets it
            self._enforce_caps()
        else:
            self._forget_if_empty(project_id)
        return len(kept)

    @staticmethod
    def _new_events(seen: set[str], ids: list[str | None]) -> Sequence[int]:
        """The indexes of the events whose id is not in ``seen`` nor earlier in ``ids`` (or that
        have none), in order; their ids are added to ``seen``."""
        new = []
        for index, event_id in enumerate(ids):
            if event_id is not None:
                if event_id in seen:
                    continue
                seen.add(event_id)
            new.append(index)
        return range(len(ids)) if len(new) == len(ids) else tuple(new)

    def update_devices(self, project_id: str, devices: list[dict[str, Any]], cost: int = 0) -> None:
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
            self._charge("devices", project_id, device["device_id"], cost)
        self._enforce_caps()
        self._forget_if_empty(project_id)

    def add_job(
        self, project_id: str, user_ids: list[str], now: float, due_at: float | None, cost: int = 0
    ) -> DeletionJob:
        self._job_seq += 1
        job = DeletionJob(f"job-{self._job_seq:06d}", project_id, list(dict.fromkeys(user_ids)), now, due_at)
        self.project(project_id).jobs.append(job)
        if due_at is not None:
            heapq.heappush(self._due, (due_at, self._job_seq, job))
        self._charge("deletion_jobs", project_id, job.id, cost)
        self._enforce_caps()
        return job

    def _charge(self, kind: str, project_id: str, key: str, cost: int) -> None:
        """Count ``cost`` more bytes for an item, now its latest write. A rewrite adds rather than
        replaces: merged properties can only grow, so the count never falls below the truth."""
        entry = (kind, project_id, key)
        _, before = self._ledger.pop(entry, (0, 0))
        charged = before + cost * PARSED_FACTOR + (_ITEM_OVERHEAD if not before else 0)
        self._ledger[entry] = (self._next_seq(), charged)
        self.bytes += charged - before

    def _uncharge(self, kind: str, project_id: str, key: str) -> None:
        _, cost = self._ledger.pop((kind, project_id, key), (0, 0))
        self.bytes -= cost

    def seed(
        self,
        project_id: str,
        profiles: dict[str, dict[str, Any]],
        devices: dict[str, dict[str, Any]],
        event_chunks: list[tuple[bytes, list[str | None], list[str | None]]],
        jobs: list[dict[str, Any]],
    ) -> None:
        """Store a loaded project (:mod:`mockserver.snapshot`, already checked), each item
        charged to the budget as if it had arrived in a request of its own."""
        state = self.project(project_id)
        for user_id, properties in profiles.items():
            state.profiles[user_id] = properties
            self._charge("profiles", project_id, user_id, _size(properties))
        for device_id, record in devices.items():
            state.devices[device_id] = record
            self._charge("devices", project_id, device_id, _size(record))
        for raw, ids, users in event_chunks:
            self.add_events(project_id, raw, ids, users)
        for saved in jobs:
            number = int(saved["id"].removeprefix("job-"))
            self._job_seq = max(self._job_seq, number)
            job = DeletionJob(
                saved["id"],
                project_id,
                list(saved["user_ids"]),
                saved["requested_at"],
                saved["due_at"],
                saved["status"],
                saved["completed_at"],
                saved["removed"],
            )
            state.jobs.append(job)
            if job.status == "pending" and job.due_at is not None:
                heapq.heappush(self._due, (job.due_at, number, job))
            self._charge("deletion_jobs", project_id, job.id, _size(job.user_ids))
        self._enforce_caps()

    # --- the caps -----------------------------------------------------------------------------

    def _enforce_caps(self) -> None:
        excess = self._event_count - self.max_events
        while excess > 0 and self._batches:
            batch = self._batches[0]
            gone = batch.kept[:excess]
            self._remove_events(batch, gone)
            self.dropped["events"] += len(gone)
            excess -= len(gone)
        while self.bytes > self.max_bytes and (self._batches or self._ledger):
            oldest_item = next(iter(self._ledger.items()), None)
            if self._batches and (oldest_item is None or self._batches[0].seq < oldest_item[1][0]):
                batch = self._batches[0]
                self.dropped["events"] += len(batch.kept)
                self._remove_events(batch, list(batch.kept))
            else:
                assert oldest_item is not None
                (kind, project_id, key), _ = oldest_item
                self._drop_item(kind, project_id, key)
                self.dropped[kind] += 1

    def _drop_item(self, kind: str, project_id: str, key: str) -> None:
        self.version += 1
        self._uncharge(kind, project_id, key)
        state = self.project(project_id)
        if kind == "profiles":
            state.profiles.pop(key, None)
        elif kind == "devices":
            state.devices.pop(key, None)
        else:
            for job in state.jobs:
                if job.id == key:
                    # A dropped job stays in the due-time heap until it comes up, and is skipped then.
                    job.status = "dropped"
            state.jobs = [job for job in state.jobs if job.id != key]
        self._forget_if_empty(project_id)

    def _remove_events(
        self, batch: EventBatch, indexes: Sequence[int], users: list[str | None] | None = None
    ) -> None:
        """Remove the events at ``indexes`` of ``batch``; an emptied batch frees its text at once
        and leaves the deque when it reaches the front. ``users``: the batch's user ids, when the
        caller has read them already."""
        if not indexes:
            return
        self.version += 1
        state = self.projects.get(batch.project_id)
        if len(indexes) == len(batch.kept):  # the whole batch: the common case under the caps
            batch.kept = []
        elif batch.kept[: len(indexes)] == indexes:
            # The oldest: what the caps remove, one small request's worth from a large batch at
            # a time. A slice (of a range, without copying) instead of a pass over the batch.
            batch.kept = batch.kept[len(indexes) :]
        else:
            gone = set(indexes)
            batch.kept = tuple(i for i in batch.kept if i not in gone)
        if state is not None:
            ids = batch.ids
            if not _all_none(ids):
                # Once its event is gone, a resent id is new again. Only the ids at ``indexes``
                # were stored by this batch (one repeated was kept by an earlier one); a None
                # among them is no stored id, and is discarded harmlessly.
                state.event_ids.difference_update(
                    ids if len(indexes) == len(ids) else [ids[i] for i in indexes]
                )
            if state.user_batches is not None:
                if users is None:
                    users = batch.user_ids()
                remaining = {users[i] for i in batch.kept}
                for user in {users[i] for i in indexes} - remaining:
                    batches = state.user_batches.get(user) if user is not None else None
                    if user is not None and batches is not None:
                        batches.pop(batch.seq, None)
                        if not batches:
                            del state.user_batches[user]
        self._event_count -= len(indexes)
        if state is not None:
            state.event_count -= len(indexes)
            self._forget_if_empty(batch.project_id)
        if not batch.kept:
            self.bytes -= batch.cost
            batch.raw, batch.ids, batch.users = b"", (), b""
        while self._batches and not self._batches[0].kept:
            self._batches.popleft()

    # --- deletion -----------------------------------------------------------------------------

    def complete_job(self, job: DeletionJob, now: float) -> None:
        """Remove the users' profiles, device mappings and events; record what went. Events are
        found through the user index, never by parsing stored text: after the project's first
        deletion (which builds the index from the stored user ids), a deletion costs what it
        removes."""
        self.version += 1
        state = self.project(job.project_id)
        users = set(job.user_ids)
        profiles = 0
        for user in users:
            if state.profiles.pop(user, None) is not None:
                profiles += 1
                self._uncharge("profiles", job.project_id, user)
        mappings = 0
        for device in state.devices.values():
            if device.get("user_id") in users:
                device["user_id"] = None
                mappings += 1
        events = 0
        if state.user_batches is None:
            state.user_batches = {}
            for batch in self._batches:
                if batch.project_id == job.project_id and batch.kept:
                    _index(state.user_batches, batch)
        # each batch holding any of the users once: its user ids are read from their text
        touched: dict[int, EventBatch] = {}
        for user in users:
            touched.update(state.user_batches.get(user, {}))
        for _, batch in sorted(touched.items()):
            users_of = batch.user_ids()
            indexes = [i for i in batch.kept if users_of[i] in users]
            events += len(indexes)
            self._remove_events(batch, indexes, users_of)
        job.status = "completed"
        job.completed_at = now
        job.removed = {"profiles": profiles, "device_mappings": mappings, "events": events}

    def complete_due_jobs(self, now: float) -> None:
        """Complete pending jobs due by ``now``, earliest first."""
        while self._due and self._due[0][0] <= now:
            job = heapq.heappop(self._due)[2]
            # A job completed by hand or dropped meanwhile is skipped.
            if job.status == "pending":
                self.complete_job(job, now)

    # --- reads --------------------------------------------------------------------------------

    def snapshot(
        self, project_id: str, limit: int | None = None, after: int | None = None, before: int | None = None
    ) -> list[tuple[EventBatch, list[int]]]:
        """The project's batches with the indexes stored now, to parse outside the lock, oldest
        first: the events at positions above ``after`` and below ``before``, the newest ``limit``
        of them. Walks back from the newest batch and stops once it has them, so a poll for
        what is new costs what is new, not what is stored."""
        found: list[tuple[EventBatch, list[int]]] = []
        wanted = -1 if limit is None else limit
        for batch in reversed(self._batches):
            if wanted == 0 or (after is not None and batch.end - 1 <= after):
                break
            if batch.project_id != project_id or not batch.kept:
                continue
            if before is not None and batch.first >= before:
                continue
            kept = [
                i
                for i in batch.kept
                if (after is None or batch.first + i > after) and (before is None or batch.first + i < before)
            ]
            if wanted > 0:
                kept = kept[-wanted:]
                wanted -= len(kept)
            if kept:
                found.append((batch, kept))
        found.reverse()
        return found

    def events(self, project_id: str) -> list[dict[str, Any]]:
        return [e for batch, kept in self.snapshot(project_id) for e in batch.events(kept)]

    def event_count(self) -> int:
        return self._event_count

    def clear_project(self, project_id: str) -> None:
        """Forget one project's data (its events, profiles, devices and jobs)."""
        self.version += 1
        for batch in list(self._batches):
            if batch.project_id == project_id and batch.kept:
                self._remove_events(batch, list(batch.kept))
        for kind, project, key in [entry for entry in self._ledger if entry[1] == project_id]:
            self._uncharge(kind, project, key)
        for job in self.projects.get(project_id, ProjectState()).jobs:
            # A dropped job stays in the due-time heap until it comes up, and is skipped then.
            job.status = "dropped"
        self.projects.pop(project_id, None)

    def clear(self) -> None:
        self.version += 1
        self.projects.clear()
        self._batches.clear()
        self._ledger.clear()
        self._event_count = 0
        self.bytes = 0
        self.dropped = dict.fromkeys(KINDS, 0)
        self._job_seq = 0
        self._position = 1
        self._due.clear()
