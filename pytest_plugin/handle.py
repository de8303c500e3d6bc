"""``MarketapMock``: what every fixture hands a test.

The same object for the live fake, the in-process routes and a fake started by hand;
only where it reads state from differs (see :mod:`pytest_plugin.sources`).

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

from typing import Any, Literal

from mockserver.errors import SettingsError, ToolkitError
from mockserver.secrets import mask_keys
from pytest_plugin import assertions
from pytest_plugin.captured import CapturedRequest, DeletionJob
from pytest_plugin.sources import Source

__all__ = ["MarketapMock", "Mode"]

# unittest (and Django's runner) leave the frames of a module with this name out of a failure's
# traceback, as pytest leaves out those with __tracebackhide__.
__unittest = True

#: Where the handle's fake is: ``live`` on 127.0.0.1, ``inprocess`` in the test's own process
#: (``marketap_inprocess``, ``marketap_respx``, ``mock_marketap``), ``external`` at a URL.
Mode = Literal["live", "inprocess", "external"]


class MarketapMock:
    """A fake Marketap Open API as a test sees it: its address, what it captured, assertions."""

    def __init__(self, *, url: str, api_key: str, project_id: str, source: Source, mode: Mode) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.project_id = project_id
        self.mode: Mode = mode
        self._source = source

    def __repr__(self) -> str:
        return f"<MarketapMock {self.mode} {self.url} project={self.project_id!r}>"

    # --- addressing ----------------------------------------------------------------------------

    @property
    def headers(self) -> dict[str, str]:
        """The headers a well-behaved client sends."""
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    def url_for(self, path: str) -> str:
        """``/v1/api/events`` -> ``<url>/v1/api/events?project_id=<project>``."""
        return f"{self.url}{path}?project_id={self.project_id}"

    # --- what was captured ---------------------------------------------------------------------

    @property
    def requests(self) -> list[CapturedRequest]:
        """Every request to the ingestion paths, accepted or rejected, oldest first."""
        return [CapturedRequest.from_dict(r) for r in self._source.requests()]

    @property
    def rejected_requests(self) -> list[CapturedRequest]:
        return [r for r in self.requests if not r.accepted]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The project's accepted events, in arrival order (a repeated ``id`` once)."""
        return self._source.events(self.project_id)

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        """User id -> merged properties."""
        return self._source.profiles(self.project_id)

    @property
    def devices(self) -> dict[str, dict[str, Any]]:
        """Device id -> device (with its ``user_id`` mapping)."""
        return self._source.devices(self.project_id)

    @property
    def deletion_jobs(self) -> list[DeletionJob]:
        return [DeletionJob.from_dict(j) for j in self._source.deletion_jobs(self.project_id)]

    # --- control -------------------------------------------------------------------------------

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Accepted bodies not yet processed (setting ``processing_delay``), earliest due first:
        ``{"kind": "events" or "profiles", "items", "accepted_at", "due_at"}``. ``advance()`` the
        clock past ``due_at`` and they move to ``events`` and ``profiles``."""
        return self._source.pending(self.project_id)

    def reset(self) -> None:
        """Forget all data and captured requests (settings stay). Call it in ``@given`` bodies."""
        self._source.reset()

    def complete_deletion_jobs(self) -> list[DeletionJob]:
        """Complete every pending deletion job now (for ``deletion_jobs="manual"``)."""
        return [DeletionJob.from_dict(j) for j in self._source.complete_deletion_jobs()]

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change the fake's settings for the rest of this test (restored afterwards)."""
        return self._source.update_settings(settings)

    def restore_settings(self) -> None:
        """Back to the settings the fake started with."""
        self._source.restore_settings()

    def restore(self) -> None:
        """Back to how the fake started: its settings, no fault rules, real time. The function
        fixtures call it after every test, whatever changed them (``configure``, the marker,
        ``add_fault``, ``advance``, or a call to the control plane)."""
        self._source.restore()

    def advance(self, seconds: float) -> None:
        """Freeze the fake's clock and move it forward (delayed deletion jobs fall due)."""
        self._source.advance(seconds)

    # --- faults ---------------------------------------------------------------------------------

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Any fault rule, as ``POST /_mock/faults`` takes it (path, project_id, status,
        retry_after, latency_ms, drop, times, probability, seed). Gone at the end of the test."""
        try:
            return self._source.add_fault(rule)
        except SettingsError as exc:
            raise ToolkitError(f"marketap: {exc}") from None

    def fail_next(
        self, status: int = 503, *, times: int = 1, path: str | None = None, retry_after: float | None = None
    ) -> dict[str, Any]:
        """The next ``times`` requests (to ``path``, or any) get ``status``, storing nothing."""
        return self.add_fault(status=status, times=times, path=path, retry_after=retry_after)

    def add_latency(self, ms: float, *, path: str | None = None, times: int | None = None) -> dict[str, Any]:
        """Requests (to ``path``, or any; the next ``times``, or all) wait ``ms`` milliseconds."""
        return self.add_fault(latency_ms=ms, path=path, times=times)

    def drop_next(self, *, times: int = 1, path: str | None = None) -> dict[str, Any]:
        """The next ``times`` requests lose their connection without an answer: a closed socket
        for the live fake on werkzeug; in process, the error each client raises for one
        (``requests.ConnectionError``, ``httpx.RemoteProtocolError``,
        ``aiohttp.ServerDisconnectedError``), retried where the client's own policy retries it."""
        return self.add_fault(drop=True, times=times, path=path)

    @property
    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules, with how often each ``fired``."""
        return self._source.faults()

    def clear_faults(self) -> None:
        self._source.clear_faults()

    # --- assertions ----------------------------------------------------------------------------

    def _as_stored(self, expected: Any) -> Any:
        """What a test expects, as the fake stores it: a known API key in a value or a name is
        masked there (a client that put it in an event must not have it shown), so an
        expectation holding one is masked the same way. It then matches what was stored, and
        no failure message quotes the key."""
        return mask_keys(expected, (self.api_key, *self._source.keys()))

    def assert_event_sent(
        self, name: str, *, user_id: str | None = None, count: int | None = None, **properties: Any
    ) -> None:
        """An accepted event ``name`` (with this user and these properties) was sent:
        at least once, or exactly ``count`` times."""
        __tracebackhide__ = True
        name, user_id, properties = self._as_stored([name, user_id, properties])
        message = assertions.event_failure(
            self.events, self.requests, self.project_id, name, user_id, count, properties
        )
        if message:
            raise AssertionError(message + assertions.pending_note(self.pending, "events"))

    def assert_profile(self, user_id: str, **properties: Any) -> None:
        """A profile for ``user_id`` is stored, holding these properties (others may exist)."""
        __tracebackhide__ = True
        user_id, properties = self._as_stored([user_id, properties])
        message = assertions.profile_failure(
            self.profiles, self.requests, self.deletion_jobs, self.project_id, user_id, properties
        )
        if message:
            raise AssertionError(message + assertions.pending_note(self.pending, "profiles"))

    def assert_deletion_requested(self, *user_ids: str) -> None:
        """Deletion was requested (single or bulk) for every one of ``user_ids``."""
        __tracebackhide__ = True
        user_ids = tuple(self._as_stored(list(user_ids)))
        message = assertions.deletion_failure(self.deletion_jobs, self.requests, self.project_id, user_ids)
        if message:
            raise AssertionError(message)

    def assert_no_rejected_requests(self) -> None:
        """Every captured request was accepted."""
        __tracebackhide__ = True
        message = assertions.rejected_failure(self.requests)
        if message:
            raise AssertionError(message)

    def assert_no_warnings(self) -> None:
        """No captured request drew a warning: no unknown field ignored, no unknown ``mkt_*``
        key (a misspelt reserved key, such as ``mkt_qty`` for ``mkt_quantity``)."""
        __tracebackhide__ = True
        message = assertions.warnings_failure(self.requests)
        if message:
            raise AssertionError(message)
