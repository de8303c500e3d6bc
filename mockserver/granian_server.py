"""The entry point for ``marketap-mock serve`` under granian (its ASGI interface).

granian imports the app in its worker process, so the command line hands the settings, fault
rules, control token and allowed hosts over in one environment variable.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from mockserver.asgi_front import AsgiFront
from mockserver.backend import Backend
from mockserver.console import console_listener
from mockserver.flask_app import create_app
from mockserver.proxy import Upstream
from mockserver.settings import Settings

__all__ = ["ENVIRONMENT_VARIABLE", "app_from_environment", "die_with_parent", "environment_value"]

ENVIRONMENT_VARIABLE = "MARKETAP_MOCK_SERVE"
#: proxy mode: requests waiting on the upstream at once (each holds a thread while it waits)
_PROXY_THREADS = 64


def environment_value(
    settings: Settings,
    rules: list[dict[str, Any]],
    control_token: str | None,
    *,
    log_format: str | None = None,
    quiet: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    upstream: Upstream | None = None,
) -> str:
    values = {name: getattr(settings, name) for name in Settings.names()}
    values["api_keys"] = {k: list(v) for k, v in settings.api_keys.items()}
    return json.dumps(
        {
            "settings": values,
            "faults": rules,
            "control_token": control_token,
            "log_format": log_format,
            "quiet": quiet,
            "allowed_hosts": list(allowed_hosts),
            "upstream": upstream.describe() if upstream is not None else None,
        }
    )


def die_with_parent() -> None:
    """End with the parent process, even a parent killed outright (Linux), so no server is
    left holding the port. Runs in granian's process (before exec) and in its worker."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def app_from_environment() -> AsgiFront:
    if sys.platform == "linux":
        die_with_parent()  # this worker ends with granian's process, which ends with the command
    config = json.loads(os.environ[ENVIRONMENT_VARIABLE])
    backend = Backend(Settings.from_mapping(config["settings"]))
    for rule in config["faults"]:
        backend.add_fault(rule)
    if config.get("log_format"):
        backend.listen(console_listener(config["log_format"], quiet=config.get("quiet", False)))
    proxy = config.get("upstream")
    upstream = (
        Upstream(proxy["upstream"], timeout=proxy["timeout"], enforce=proxy["enforce"]) if proxy else None
    )
    app = create_app(
        backend=backend,
        control_token=config["control_token"],
        allowed_hosts=config["allowed_hosts"],
        upstream=upstream,
    )
    return AsgiFront(app.wsgi_app, backend, threads=_PROXY_THREADS if upstream is not None else 0)
