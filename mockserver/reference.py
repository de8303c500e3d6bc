"""The site's reference pages, written from the code's own tables so that they cannot go stale:
the fields (:mod:`mockserver.spec`), the settings (:class:`mockserver.settings.Settings`), the
command line (:func:`mockserver.cli.build_parser`) and the control plane (the routes of
:mod:`mockserver.control`, each with a curl command the test suite runs).

``python -m mockserver.reference`` rewrites ``docs/reference/``; ``--check`` says which pages
differ and exits 1. A test fails when a committed page differs from what this module writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mockserver import spec
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Settings

__all__ = [
    "CONTROL_CALLS",
    "ControlCall",
    "cli_reference",
    "control_reference",
    "field_reference",
    "main",
    "pages",
    "settings_reference",
]

#: Where the pages live in a checkout.
_DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference"
_HEADER = "<!-- written by `python -m mockserver.reference`: edit the code, not this page -->"
_URL = "http://127.0.0.1:8080"

#: a field's type, and its limits with the settings that move them
_FIELD_TYPES = {
    "string": ("string", f"not empty; at most {spec.MAX_STRING_LENGTH:,} characters (`max_string_length`)"),
    "timestamp": (
        "string: a date-time",
        "RFC 3339 with a zone (`timestamp_format`, `allow_naive_timestamps`)",
    ),
    "properties": (
        "object: reserved keys typed (below), other keys any JSON value",
        f"at most {spec.MAX_PROPERTIES:,} keys (`max_properties`)",
    ),
    "platform": ("string: `android`, `ios` or `web`", ""),
    "boolean": ("boolean", ""),
}
_PROPERTY_TYPES = {
    "string": "string, not empty",
    "boolean": 'boolean (`"false"` is a 400)',
    "integer": "integer, written without a fraction or exponent (`1.0` is a 400)",
    "number": "finite number",
    "date": "string `YYYY-MM-DD`, a real date",
    "timestamp": "string: an RFC 3339 date-time with a zone",
    "gender": "`Male`, `Female`, `Other` or `Unknown`",
    "items": "array of item objects (keys below)",
    "coupons": "array of coupon objects (keys below)",
}
spec.check_table(_PROPERTY_TYPES, "reference._PROPERTY_TYPES")
_NOTES = {
    ("events", "user_id"): "required unless `require_event_user_id` is off",
    ("events", "id"): "a de-duplication key: a repeated id is stored once",
    ("devices", "token"): "the push token",
    ("devices", "user_id"): "maps the device to this user",
    ("devices", "remove_user_id"): "`true` unmaps the device from its user (not a user id)",
    ("devices", "device_id"): "the SDKs send `gaid:...`, `idfv:...`, `app_local_id:...`",
}


def _required(field: spec.Field) -> str:
    return {True: "yes", False: "no", "setting": "yes (setting)"}[field.required]


def _batch_row(endpoint: spec.Endpoint) -> str:
    least = "1 (CONFIRMED, never relaxed)" if endpoint.min_items_confirmed else "1 (`allow_empty_batches`: 0)"
    limits = f"{least} to {spec.MAX_BATCH_ITEMS:,} items (`max_batch_items`, `max_batch_{endpoint.key}`)"
    kind = "strings, each not empty" if endpoint is spec.BULK_DELETION else "objects (below)"
    return f"| `{endpoint.key}` | array of {kind} | yes | {limits} | {endpoint.body_evidence} |"


def field_reference() -> str:
    out = [
        _HEADER,
        "",
        "# Fields",
        "",
        "Every body is a JSON object; unknown fields are accepted with a warning. `null` for an",
        "optional field means absent. Limits name the [setting](settings.md) that moves them.",
        "Evidence: CONFIRMED by the vendor's page, INFERRED from its SDKs.",
        "",
    ]
    for endpoint in spec.ENDPOINTS:
        out += [
            f"## `POST {endpoint.path}`",
            "",
            "| field | type | required | limits | evidence |",
            "|---|---|---|---|---|",
        ]
        if endpoint.bulk:
            out.append(_batch_row(endpoint))
        else:
            kind, limits = _FIELD_TYPES["string"]
            out.append(f"| `{endpoint.key}` | {kind} | yes | {limits} | {endpoint.body_evidence} |")
        for field in spec.ITEM_FIELDS.get(endpoint.key, ()):
            note = _NOTES.get((endpoint.key, field.name), "")
            kind, limits = _FIELD_TYPES[field.kind]
            kind += f"; {note}" if note else ""
            out.append(
                f"| `{endpoint.key}[].{field.name}` | {kind} | {_required(field)} | {limits} | INFERRED |"
            )
        out.append("")
    tables = [
        ("Profile properties (`profiles[].properties`)", spec.PROFILE_PROPERTY_TYPES),
        ("Event properties (`events[].properties`)", spec.EVENT_PROPERTY_TYPES),
        ("Device properties (`devices[].properties`)", spec.DEVICE_PROPERTY_TYPES),
        ("Item keys (`mkt_items`, `mkt_cart`, `mkt_wish_list` entries)", spec.ITEM_KEYS),
        ("Coupon keys (`mkt_coupons` entries)", spec.COUPON_KEYS),
    ]
    out += [
        "## Reserved properties",
        "",
        "All optional, typed when `check_reserved_properties` is on (the default), each may be",
        "`null`. Their names and types come from the vendor's SDKs (INFERRED). Item and coupon",
        "objects hold at most `max_properties` keys. An unknown `mkt_*` key is a warning naming the",
        "key most likely meant (`reject_unknown_reserved`: a 400).",
        "",
    ]
    for title, types in tables:
        out += [f"### {title}", "", "| key | type |", "|---|---|"]
        out += [f"| `{key}` | {_PROPERTY_TYPES[kind]} |" for key, kind in types.items()]
        if types is spec.EVENT_PROPERTY_TYPES:
            out += [
                f"| `{key}` | any JSON value (known name, type unpublished) |"
                for key in sorted(spec.EVENT_PROPERTY_NAMES_UNTYPED)
            ]
        out.append("")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(f: dataclasses.Field[Any]) -> str:
    value = getattr(Settings(), f.name)
    if f.name == "api_keys":
        return f"`{json.dumps({k: list(v) for k, v in value.items()})}`"
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int) and value >= 1 << 20 and value % (1 << 20) == 0:
        return f"{value >> 20:,} MiB"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}"
    return f"`{value}`"


def _flag(f: dataclasses.Field[Any]) -> str:
    if f.metadata.get("cli") is False:
        return "`--api-key`, `--project-id`" if f.name == "api_keys" else ""
    flag = "--" + f.name.replace("_", "-")
    if f.type == "bool":
        return f"`{flag}`, `--no-{flag[2:]}`"
    if "choices" in f.metadata:
        return f"`{flag} {{{','.join(f.metadata['choices'])}}}`"
    return f"`{flag} {f.metadata.get('metavar', 'N')}`"


def settings_reference() -> str:
    out = [
        _HEADER,
        "",
        "# Settings",
        "",
        "What the real API does is only partly published. Where it is unknown the fake is strict,",
        "and a setting relaxes it. Set them with `marketap-mock serve` flags or their",
        "environment variables (`--max-batch-items` is `MARKETAP_MOCK_MAX_BATCH_ITEMS`), with",
        "`create_app({...})` or `Backend({...})`, at runtime with `PATCH /_mock/settings`, per test",
        "with `@pytest.mark.marketap(...)` or `marketap.configure(...)`, or with",
        "`mock_marketap(...)`. Out-of-range values are refused with a 400 naming the setting.",
        "",
        "| setting | default | flag | what it does |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(Settings):
        out.append(f"| `{f.name}` | {_default(f)} | {_flag(f)} | {_cell(f.metadata['doc'])} |")
    out.append("")
    return "\n".join(out)


def _usage(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest} ...`"
    flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
    if action.nargs == 0:
        return flags
    if action.choices is not None:
        return f"{flags} `{'{' + ','.join(map(str, action.choices)) + '}'}`"
    return f"{flags} `{action.metavar or action.dest.upper()}`"


def cli_reference() -> str:
    from mockserver.cli import build_parser

    parser = build_parser()
    out = [
        _HEADER,
        "",
        "# Command line",
        "",
        "`marketap-mock COMMAND [options]`, or `python -m mockserver COMMAND [options]`.",
        "`marketap-mock COMMAND --help` prints the same. Every flag of `serve` and `proxy` can",
        "also be given as the environment variable named in its `[env: ...]`; a flag on the command",
        "line wins.",
        "",
    ]
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    for name, sub in subparsers.choices.items():
        out += [f"## `marketap-mock {name}`", "", _cell(sub.description or helps.get(name) or ""), ""]
        rows = [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]
        if not rows:
            out += ["No options.", ""]
            continue
        out += ["| option | what it does |", "|---|---|"]
        for action in rows:
            text = (action.help or "") % {"default": action.default}
            out.append(f"| {_usage(action)} | {_cell(text)} |")
        out.append("")
    return "\n".join(out)


@dataclasses.dataclass(frozen=True)
class ControlCall:
    """One call of the control plane as the reference shows it: what it does, and an example."""

    doc: str
    query: str = ""
    body: dict[str, Any] | None = None

    def curl(self, method: str, path: str) -> str:
        url = f"{_URL}{path}{'?' + self.query if self.query else ''}"
        words = ["curl", "-s"]
        if method != "GET":
            words += ["-X", method]
        words.append(url)
        if method != "GET":
            words += ["-H", "Content-Type: application/json", "-d", json.dumps(self.body or {})]
        return " ".join(shlex.quote(word) for word in words)


#: Every control call, by method and path. A route added to the control plane without an entry
#: here fails the reference test: each call is documented, with a curl the suite runs.
CONTROL_CALLS: dict[tuple[str, str], ControlCall] = {
    ("GET", "/_mock/"): ControlCall("The dashboard: an HTML page, shipped in the package."),
    ("GET", "/_mock/health"): ControlCall(
        '`{"status": "ok", "dropped": {"journal": n, "events": n}, "resets": n, "version": n, '
        '"clock": {...}, "stored_bytes": n}`. `resets` counts resets, so a poller knows to reload '
        "what it holds; `version` moves on with every change to what is stored (never back)."
    ),
    ("GET", "/_mock/first-request"): ControlCall(
        '`{"curl": [...], "upstream": null}`: the banner\'s curl command for this server, as lines '
        "(a key other than the default `test-api-key` shows as `YOUR_API_KEY`; a proxy's has "
        "`YOUR_API_KEY` and `YOUR_PROJECT_ID` in place of the fake's, and names its upstream)."
    ),
    ("GET", "/_mock/requests"): ControlCall(
        '`{"requests": [entry, ...]}`, oldest first, streamed (the entry\'s shape is in '
        "[Captured state](../captured-state.md)). `after=ID`: those after an id; `limit=N`: the "
        "newest N; `summary=1`: without headers and bodies; `project_id=P`: one project's.",
        query="limit=10",
    ),
    ("GET", "/_mock/requests/<int:entry_id>"): ControlCall(
        '`{"request": entry}`: one journal entry by its id; 404 once dropped.'
    ),
    ("GET", "/_mock/profiles"): ControlCall(
        '`{"total": n, "profiles": {"<user_id>": {...}}}`, in the order first stored; `limit=N`: '
        "the N first stored most recently; `total`: how many the project stores.",
        query=f"project_id={DEFAULT_PROJECT_ID}",
    ),
    ("GET", "/_mock/events"): ControlCall(
        '`{"total", "first", "last", "events": [...]}`, streamed, oldest first: the events at '
        "positions above `after` and below `before`, the newest `limit` of them. Positions number "
        "every event stored since the last reset; `first`/`last` are the page's.",
        query=f"project_id={DEFAULT_PROJECT_ID}&limit=100",
    ),
    ("GET", "/_mock/devices"): ControlCall(
        '`{"total": n, "devices": {"<device_id>": {...}}}`, paged as profiles are.',
        query=f"project_id={DEFAULT_PROJECT_ID}",
    ),
    ("GET", "/_mock/deletion-jobs"): ControlCall(
        '`{"deletion_jobs": [{"id", "user_ids", "status", "requested_at", "completed_at", "removed"}]}`.',
        query=f"project_id={DEFAULT_PROJECT_ID}",
    ),
    ("GET", "/_mock/pending"): ControlCall(
        '`{"total": n, "pending": [{"kind": "events" or "profiles", "items", "accepted_at", "due_at"}]}`: '
        "accepted bodies not yet processed (setting `processing_delay`), earliest due first; "
        "`total` counts items.",
        query=f"project_id={DEFAULT_PROJECT_ID}",
    ),
    ("POST", "/_mock/deletion-jobs/complete"): ControlCall(
        '`{"completed": n}`: completes every pending job now (`project_id=P`: one project\'s).'
    ),
    ("POST", "/_mock/reset"): ControlCall(
        "Clears all data, the journal, fault rules and the clock; settings stay. `project_id=P`: "
        "one project's data, journal entries and fault rules. A request still arriving when the "
        "reset comes is answered as if it had finished just before: neither stored nor journaled."
    ),
    ("POST", "/_mock/restore"): ControlCall(
        "The settings the server started with, no fault rules, real time; data and journal stay "
        "(the plugin calls it after every test)."
    ),
    ("GET", "/_mock/settings"): ControlCall('`{"settings": {...}}`, API keys masked.'),
    ("PATCH", "/_mock/settings"): ControlCall(
        'Changes the settings named in the body; answers `{"settings": {...}}`. A bad name or '
        "value is a 400 naming it, and nothing changes.",
        body={"allow_naive_timestamps": True},
    ),
    ("DELETE", "/_mock/settings"): ControlCall("Back to the settings the server started with."),
    ("GET", "/_mock/clock"): ControlCall('The fake\'s clock: `{"now": ..., "frozen": bool, ...}`.'),
    ("POST", "/_mock/clock/advance"): ControlCall(
        "Freezes the clock and moves it on by `seconds` (never past 9999-12-31T23:59:59Z); "
        "delayed deletion jobs and rate-limit buckets follow it.",
        body={"seconds": 60},
    ),
    ("DELETE", "/_mock/clock"): ControlCall("Back to real time."),
    ("GET", "/_mock/faults"): ControlCall(
        '`{"faults": [...]}`: the fault rules, each with how often it `fired`.'
    ),
    ("POST", "/_mock/faults"): ControlCall(
        'Adds a fault rule (see [Faults](../faults.md)); answers 201 `{"fault": {...}}`. A proxy '
        "answers 409.",
        body={"path": "/v1/api/events", "status": 503, "times": 2, "retry_after": 5},
    ),
    ("DELETE", "/_mock/faults"): ControlCall("Clears the fault rules (`project_id=P`: one project's)."),
    ("GET", "/_mock/parity"): ControlCall(
        "Proxy mode's account of the fake's verdicts against the upstream's answers (see "
        '[Proxy mode](../proxy.md)); `{"requests": 0, ..., "proxy": null}` on a plain fake.'
    ),
    ("GET", "/_mock/recording"): ControlCall(
        "What the journal holds as a recording, streamed (`application/x-ndjson`, a download named "
        "`marketap-recording.jsonl`), from a proxy or a plain fake: the format `marketap-mock replay` "
        "and the contract suite read, every credential masked with no prefix (see "
        "[Recordings](../recordings.md)). `limit=N`: the newest N; `project_id=P`: one project's. "
        "Refused (403) to a page on another site.",
        query="limit=100",
    ),
    ("GET", "/_mock/state"): ControlCall(
        '`{"format": "marketap-mock-state", "version": 1, "saved_at", "clock", "projects": {...}}`: '
        "every project's profiles, devices, events and deletion jobs, and the clock (see "
        "[saved state](../manual.md#save-and-load-the-state))."
    ),
    ("PUT", "/_mock/state"): ControlCall(
        'Loads such a document, checked whole first: `{"status": "loaded", "projects", "events", '
        '"stored_bytes"}`; 400 naming the field, 413 past the storage budget. Bodies up to 1 MiB, '
        "as for every control call; a larger state loads with `serve --load`.",
        body={
            "format": "marketap-mock-state",
            "version": 1,
            "projects": {"test-project": {"profiles": {"u-1": {"tier": "gold"}}}},
        },
    ),
    ("GET", "/_mock/openapi.json"): ControlCall(
        "The OpenAPI 3.1 document of the five endpoints under the current settings."
    ),
}


def control_routes() -> list[tuple[str, str]]:
    """Every (method, path) the control plane answers, from the app's own URL map."""
    from mockserver.flask_app import create_app

    app = create_app()
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("mock_control.") or rule.endpoint == "mock_control.static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


def control_reference() -> str:
    routes = control_routes()
    missing = [f"{m} {p}" for m, p in routes if (m, p) not in CONTROL_CALLS]
    if missing:
        raise LookupError(f"control calls without an entry in CONTROL_CALLS: {', '.join(missing)}")
    out = [
        _HEADER,
        "",
        "# Control plane",
        "",
        "Under `/_mock/`: JSON in and out, never journaled, no API key (unless the server was",
        "started with `--control-token TOKEN`; then send `Authorization: Bearer TOKEN`). Calls",
        "that change state (`POST`, `PUT`, `PATCH`, `DELETE`) need `Content-Type: application/json`",
        "(415 otherwise: the curls below send it) and refuse a foreign `Origin` (403). Without",
        f"`?project_id=` the state views show the first configured project (`{DEFAULT_PROJECT_ID}`).",
        "",
        f"Each curl is for `marketap-mock serve` on its default port, with API key `{DEFAULT_API_KEY}`;",
        "the test suite runs every one of them against a live fake.",
        "",
    ]
    for method, path in sorted(routes, key=lambda r: (r[1], r[0] != "GET", r[0])):
        call = CONTROL_CALLS[(method, path)]
        out += [f"## `{method} {path}`", "", call.doc, ""]
        example = call.curl(method, path.replace("<int:entry_id>", "1"))
        out += ["<!-- curl -->", "```bash", example, "```", ""]
    return "\n".join(out)


#: Each page of docs/reference/ and the function that writes it.
_PAGES: dict[str, Callable[[], str]] = {
    "fields.md": field_reference,
    "settings.md": settings_reference,
    "cli.md": cli_reference,
    "control.md": control_reference,
}


def pages() -> dict[str, str]:
    """Each reference page's name and text."""
    return {name: write() for name, write in _PAGES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mockserver.reference", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page differs, writing none")
    parser.add_argument("--out", type=Path, default=_DOCS, help=f"the folder (default: {_DOCS})")
    args = parser.parse_args(argv)
    stale = []
    for name, text in pages().items():
        path = args.out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)} (python -m mockserver.reference)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
