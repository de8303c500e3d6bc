"""Where a handle reads the fake's state from: the backend itself (same process) or the
control plane over HTTP (a fake started elsewhere). Both answer the same questions.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from mockserver.errors import ToolkitError

if TYPE_CHECKING:
    from mockserver.backend import Backend

__all__ = ["BackendSource", "ControlPlaneMissing", "HttpSource", "Source"]


class ControlPlaneMissing(ToolkitError):
    """The target has no ``/_mock/`` control plane (the real service, or not a fake)."""


class Source(Protocol):
    def keys(self) -> tuple[str, ...]: ...
    def requests(self) -> list[dict[str, Any]]: ...
    def events(self, project_id: str) -> list[dict[str, Any]]: ...
    def profiles(self, project_id: str) -> dict[str, dict[str, Any]]: ...
    def devices(self, project_id: str) -> dict[str, dict[str, Any]]: ...
    def deletion_jobs(self, project_id: str) -> list[dict[str, Any]]: ...
    def pending(self, project_id: str) -> list[dict[str, Any]]: ...
    def complete_deletion_jobs(self) -> list[dict[str, Any]]: ...
    def reset(self) -> None: ...
    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]: ...
    def restore_settings(self) -> None: ...
    def restore(self) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]: ...
    def faults(self) -> list[dict[str, Any]]: ...
    def clear_faults(self) -> None: ...


class BackendSource:
    """Reads the backend directly: no HTTP, no serialisation."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def keys(self) -> tuple[str, ...]:
        """The API keys the fake knows, which it masks wherever a request carries them."""
        return tuple(self.backend.settings.api_keys)

    def requests(self) -> list[dict[str, Any]]:
        return [entry.as_dict() for entry in self.backend.requests()]

    def events(self, project_id: str) -> list[dict[str, Any]]:
        return self.backend.events(project_id)

    def profiles(self, project_id: str) -> dict[str, dict[str, Any]]:
        return self.backend.profiles(project_id)

    def devices(self, project_id: str) -> dict[str, dict[str, Any]]:
        return self.backend.devices(project_id)

    def deletion_jobs(self, project_id: str) -> list[dict[str, Any]]:
        return self.backend.deletion_jobs(project_id)

    def pending(self, project_id: str) -> list[dict[str, Any]]:
        return self.backend.pending(project_id)

    def complete_deletion_jobs(self) -> list[dict[str, Any]]:
        return self.backend.complete_deletion_jobs()

    def reset(self) -> None:
        self.backend.reset()

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        return self.backend.update_settings(changes).as_dict()

    def restore_settings(self) -> None:
        self.backend.restore_settings()

    def restore(self) -> None:
        self.backend.restore()

    def advance(self, seconds: float) -> None:
        self.backend.advance_clock(seconds, freeze=True)

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        return self.backend.add_fault(rule)

    def faults(self) -> list[dict[str, Any]]:
        return self.backend.fault_rules()

    def clear_faults(self) -> None:
        self.backend.clear_faults()


class HttpSource:
    """Reads a fake in another process through its control plane (standard library HTTP)."""

    def __init__(
        self,
        url: str,
        control_token: str | None = None,
        timeout: float = 10.0,
        *,
        project_scope: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.control_token = control_token
        self.timeout = timeout
        #: one fake shared by parallel workers: this handle sees and resets its project only,
        #: and may not change what every worker shares (settings, the clock)
        self.project_scope = project_scope

    def keys(self) -> tuple[str, ...]:
        """None: a fake in another process never shows its keys, not even to its control plane;
        the handle knows the one it sends."""
        return ()

    def _scoped(self) -> dict[str, str]:
        return {"project_id": self.project_scope} if self.project_scope else {}

    def _shared(self, what: str) -> None:
        if self.project_scope:
            raise ToolkitError(
                f"marketap: {what} of the fake at {self.url} are shared by every pytest-xdist worker; "
                "start it with what the tests need, or drop --marketap-url so that each worker "
                "starts a fake of its own"
            )

    def _call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        # Imported here, not at the top: most pytest runs never read a fake in another process,
        # and importing urllib.request would slow every one of them.
        import urllib.error
        import urllib.parse
        import urllib.request

        url = f"{self.url}/_mock/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        if body is None and method != "GET":
            # The fake's CSRF guard takes a state-changing control call only with a JSON body.
            body = {}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.control_token:
            request.add_header("Authorization", f"Bearer {self.control_token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read()
            return json.loads(data)
        except json.JSONDecodeError:
            raise ControlPlaneMissing(
                f"marketap: {self.url} has no control plane (/_mock/{path} did not answer JSON), "
                "so captured requests and stored state cannot be read there; run against the fake"
            ) from None
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 405):
                raise ControlPlaneMissing(
                    f"marketap: {self.url} has no control plane (/_mock/{path} answered {exc.code}), "
                    "so captured requests and stored state cannot be read there; run against the fake"
                ) from None
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise ToolkitError(f"marketap: {method} {url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ControlPlaneMissing(f"marketap: cannot reach the control plane at {url}: {exc}") from None

    def requests(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = self._call("GET", "requests", **self._scoped())["requests"]
        return requests

    def events(self, project_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self._call("GET", "events", project_id=project_id)["events"]
        return events

    def profiles(self, project_id: str) -> dict[str, dict[str, Any]]:
        profiles: dict[str, dict[str, Any]] = self._call("GET", "profiles", project_id=project_id)["profiles"]
        return profiles

    def devices(self, project_id: str) -> dict[str, dict[str, Any]]:
        devices: dict[str, dict[str, Any]] = self._call("GET", "devices", project_id=project_id)["devices"]
        return devices

    def deletion_jobs(self, project_id: str) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self._call("GET", "deletion-jobs", project_id=project_id)[
            "deletion_jobs"
        ]
        return jobs

    def pending(self, project_id: str) -> list[dict[str, Any]]:
        held: list[dict[str, Any]] = self._call("GET", "pending", project_id=project_id)["pending"]
        return held

    def complete_deletion_jobs(self) -> list[dict[str, Any]]:
        completed: list[dict[str, Any]] = self._call("POST", "deletion-jobs/complete", {}, **self._scoped())[
            "completed"
        ]
        return completed

    def reset(self) -> None:
        self._call("POST", "reset", {}, **self._scoped())

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self._call("GET", "settings")["settings"]
        return settings

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        self._shared("settings")
        settings: dict[str, Any] = self._call("PATCH", "settings", changes)["settings"]
        return settings

    def restore_settings(self) -> None:
        self._shared("settings")
        self._call("DELETE", "settings")

    def restore(self) -> None:
        # A scoped handle could not change settings or the clock: only its own fault rules go.
        if self.project_scope:
            self.clear_faults()
            return
        self._call("POST", "restore")

    def advance(self, seconds: float) -> None:
        self._shared("the clock")
        self._call("POST", "clock/advance", {"seconds": seconds})

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        if self.project_scope:
            rule = {**rule, "project_id": self.project_scope}
        fault: dict[str, Any] = self._call("POST", "faults", rule)["fault"]
        return fault

    def faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> None:
        self._call("DELETE", "faults", **self._scoped())
