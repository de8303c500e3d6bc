"""The first request a newcomer sends: printed by ``serve``'s banner and shown by the empty
dashboard, so both say the same thing."""

from __future__ import annotations

import json
import shlex

from mockserver.secrets import mask_keys, mask_secret
from mockserver.settings import DEFAULT_API_KEY, Settings

__all__ = ["EXAMPLE_EVENT", "first_request", "shown_key"]

EXAMPLE_EVENT = {"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}


def first_request(url: str, settings: Settings, *, proxy: bool = False) -> list[str]:
    """A ``curl`` command, as lines, that posts one event to the fake at ``url`` with its first
    API key and project; for a proxy, which sends it on to the real service, with placeholders
    for the caller's own. A key of the caller's own is a credential and shows as a placeholder."""
    key, projects = next(iter(settings.api_keys.items()))
    project = mask_keys(projects[0], settings.api_keys)
    if key != DEFAULT_API_KEY:
        key = "YOUR_API_KEY"
    if proxy:
        key, project = "YOUR_API_KEY", "YOUR_PROJECT_ID"
    target = shlex.quote(f"{url}/v1/api/events?project_id={project}")
    return [
        f"curl -i -X POST {target} \\",
        f"  -H {shlex.quote(f'Authorization: Bearer {key}')} -H 'Content-Type: application/json' \\",
        "  -d " + shlex.quote(json.dumps({"events": [EXAMPLE_EVENT]})),
    ]


def shown_key(key: str) -> str:
    """A configured key as the banner and the dashboard show it: the documented default in full
    (it is in the README, a credential of no one), any other masked."""
    return key if key == DEFAULT_API_KEY else mask_secret(key)
