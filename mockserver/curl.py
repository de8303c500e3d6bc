"""The first request a newcomer sends: printed by ``serve``'s banner and shown by the empty
dashboard, so both say the same thing."""

from __future__ import annotations

import json
import shlex

from mockserver.settings import Settings

__all__ = ["EXAMPLE_EVENT", "first_request"]

EXAMPLE_EVENT = {"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}


def first_request(url: str, settings: Settings) -> list[str]:
    """A ``curl`` command, as lines, that posts one event to the fake at ``url`` with its first
    API key and project."""
    key, projects = next(iter(settings.api_keys.items()))
    target = shlex.quote(f"{url}/v1/api/events?project_id={projects[0]}")
    return [
        f"curl -i -X POST {target} \\",
        f"  -H {shlex.quote(f'Authorization: Bearer {key}')} -H 'Content-Type: application/json' \\",
        "  -d " + shlex.quote(json.dumps({"events": [EXAMPLE_EVENT]})),
    ]
