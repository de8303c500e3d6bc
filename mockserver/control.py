"""The control plane under ``/_mock/``: JSON in and out, never journaled.

Protected by ``Authorization: Bearer <control token>`` when the server was given one.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from mockserver import curl, snapshot
from mockserver.backend import Backend
from mockserver.browser_guard import PAGE_HEADERS, check_control_write, check_download
from mockserver.errors import ApiError, SettingsError
from mockserver.journal import JournalEntry
from mockserver.openapi import openapi_document
from mockserver.proxy import Upstream
from mockserver.secrets import Redactor

__all__ = ["control"]

control = Blueprint(
    "mock_control", __name__, url_prefix="/_mock", static_folder="static", static_url_path="/static"
)

#: The page and its files hold no data, so a control token does not guard them; the page asks
#: for the token when the data calls it makes are refused.
_OPEN = {"mock_control.page", "mock_control.static"}


def _backend() -> Backend:
    backend: Backend = current_app.extensions["mockserver"]
    return backend


def _upstream() -> Upstream | None:
    """Where a proxy sends requests on; None for a plain fake."""
    upstream: Upstream | None = current_app.extensions.get("mockserver.upstream")
    return upstream


@control.after_request
def _page_headers(response: Response) -> Response:
    response.headers.update(PAGE_HEADERS)
    return response


@control.before_request
def _check_token() -> None:
    check_control_write(
        request.method, request.headers.get("Content-Type"), request.headers.get("Origin"), request.host
    )
    token = current_app.config.get("MOCKSERVER_CONTROL_TOKEN")
    if not token or request.endpoint in _OPEN:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode()):
        raise ApiError.one(
            401, "Authorization", "the control plane needs 'Authorization: Bearer <control token>'"
        )


def _project() -> str:
    """``?project_id=``, or the first configured project when there is only one obvious choice."""
    project = request.args.get("project_id")
    if project:
        return project
    configured = [p for projects in _backend().settings.api_keys.values() for p in projects]
    return configured[0]


def _whole(name: str) -> int | None:
    """A query parameter that must be a whole number (ASCII digits: ``²`` is a digit to Python)."""
    text = request.args.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ApiError.one(400, name, f"must be a whole number, not {text[:40]!r}")
    return int(text)


def _limit() -> int | None:
    return _whole("limit")


def _json_array(key: str, items: Iterable[Any], **extra: Any) -> Response:
    """``{key: [...], **extra}`` written one item at a time: a large read holds one item's
    JSON at a time, not the whole answer (and never a parsed copy of every stored body)."""
    head = json.dumps(extra)[1:-1]

    def chunks() -> Iterator[bytes]:
        yield ("{" + (head + ", " if head else "") + json.dumps(key) + ": [").encode()
        for index, item in enumerate(items):
            # Text occurs only inside JSON strings, where a lone surrogate written back as its
            # escape is valid JSON: a stray one must not end the answer mid-stream.
            text = ("," if index else "") + json.dumps(item, ensure_ascii=False)
            yield text.encode("utf-8", "backslashreplace")
        yield b"]}"

    return Response(chunks(), mimetype="application/json")


def _json_object() -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        # Nesting deep enough to exhaust the parser is not a control call's JSON object either.
        data = None
    if not isinstance(data, dict):
        raise ApiError.one(400, "body", "must be a JSON object")
    return data


@control.get("/health")
def health() -> Response:
    return jsonify(_backend().health())


@control.get("/first-request")
def first_request() -> Response:
    """The banner's curl command for this server, as lines (the empty dashboard shows it); a
    proxy's, with placeholders for the caller's own key and project."""
    upstream = _upstream()
    lines = curl.first_request(request.host_url.rstrip("/"), _backend().settings, proxy=upstream is not None)
    return jsonify({"curl": lines, "upstream": upstream.url if upstream is not None else None})


@control.get("/")
def page() -> Response:
    """The dashboard: what arrived, what was rejected and why, live."""
    return control.send_static_file("index.html")


@control.get("/requests")
def requests() -> Response:
    """The journal, oldest first: the newest ``?limit=`` entries, those with an id above
    ``?after=``. ``?summary=1`` leaves bodies and headers out (for polling). Streamed."""
    entries = _backend().requests(_limit(), after=_whole("after"), project_id=request.args.get("project_id"))
    view = JournalEntry.summary if request.args.get("summary") else JournalEntry.as_dict
    return _json_array("requests", map(view, entries))


@control.get("/requests/<int:entry_id>")
def one_request(entry_id: int) -> Response:
    for entry in _backend().requests():
        if entry.id == entry_id:
            return jsonify({"request": entry.as_dict()})
    raise ApiError.one(404, "id", f"no request {entry_id} in the journal (it may have been dropped)")


@control.get("/profiles")
def profiles() -> Response:
    """The project's profiles keyed by user id, in the order first stored: the ``?limit=`` first
    stored most recently, with ``total``, how many the project stores."""
    total, page = _backend().profile_page(_project(), _limit())
    return jsonify({"total": total, "profiles": page})


@control.get("/events")
def events() -> Response:
    """The project's events, oldest first: those after position ``?after=`` and before
    ``?before=``, the newest ``?limit=`` of them; with ``total``, ``first`` and ``last`` (the
    page's positions) for a poller. Streamed, one request's events parsed at a time."""
    where, events = _backend().event_page(_project(), _limit(), _whole("after"), _whole("before"))
    return _json_array("events", events, **where)


@control.get("/devices")
def devices() -> Response:
    """What ``/profiles`` is for profiles, for devices by device id."""
    total, page = _backend().device_page(_project(), _limit())
    return jsonify({"total": total, "devices": page})


@control.get("/pending")
def pending() -> Response:
    """Accepted bodies not yet processed (setting ``processing_delay``), earliest due first."""
    held = _backend().pending(_project())
    return jsonify({"total": sum(h["items"] for h in held), "pending": held})


@control.get("/deletion-jobs")
def deletion_jobs() -> Response:
    return jsonify({"deletion_jobs": _backend().deletion_jobs(_project())})


@control.post("/deletion-jobs/complete")
def complete_deletion_jobs() -> Response:
    completed = _backend().complete_deletion_jobs(request.args.get("project_id"))
    return jsonify({"completed": completed})


@control.post("/reset")
def reset() -> Response:
    """Everything, or with ``?project_id=`` one project's data, journal entries and fault rules."""
    _backend().reset(request.args.get("project_id") or None)
    return jsonify({"status": "reset"})


@control.get("/settings")
def get_settings() -> Response:
    return jsonify({"settings": _backend().settings.as_dict()})


@control.patch("/settings")
def patch_settings() -> Response:
    try:
        settings = _backend().update_settings(_json_object())
    except SettingsError as exc:
        raise ApiError.one(400, "settings", str(exc)) from None
    return jsonify({"settings": settings.as_dict()})


@control.get("/clock")
def clock() -> Response:
    return jsonify(_clock_state())


@control.post("/clock/advance")
def advance_clock() -> Response:
    seconds = _json_object().get("seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds < 1e9:
        raise ApiError.one(400, "seconds", "must be a number of seconds, 0 or more")
    try:
        _backend().advance_clock(float(seconds), freeze=True)
    except ValueError as exc:
        raise ApiError.one(400, "seconds", str(exc)) from None
    return jsonify(_clock_state())


@control.delete("/clock")
def reset_clock() -> Response:
    """Back to real time."""
    _backend().reset_clock()
    return jsonify(_clock_state())


@control.delete("/settings")
def restore_settings() -> Response:
    """Back to the settings the server started with."""
    return jsonify({"settings": _backend().restore_settings().as_dict()})


@control.post("/restore")
def restore() -> Response:
    """Settings, fault rules and the clock back to how the server started; what was sent
    stays (the plugin calls it after every test)."""
    _backend().restore()
    return jsonify({"status": "restored"})


@control.get("/state")
def get_state() -> Response:
    """Everything stored and the clock, as a saved state to PUT back later or load with
    ``serve --load`` (:mod:`mockserver.snapshot`)."""
    return jsonify(_backend().snapshot())


@control.put("/state")
def put_state() -> Response:
    """Replace everything stored with a saved state: checked whole first, so a bad one changes
    nothing. Like a reset, it clears the journal and fault rules; settings stay."""
    backend = _backend()
    try:
        backend.load(snapshot.parse(_json_object(), backend.settings))
    except snapshot.SnapshotError as exc:
        raise exc.as_api_error() from None
    return jsonify({"status": "loaded", **_loaded(backend)})


def _loaded(backend: Backend) -> dict[str, Any]:
    health = backend.health()
    return {
        "projects": health["projects"],
        "events": health["events"],
        "stored_bytes": health["stored_bytes"],
    }


def _clock_state() -> dict[str, Any]:
    health = _backend().health()
    clock_state: dict[str, Any] = health["clock"]
    return clock_state


@control.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": _backend().fault_rules()})


@control.post("/faults")
def add_fault() -> tuple[Response, int]:
    if _upstream() is not None:
        raise ApiError.one(
            409, "fault", "a proxy injects no faults: the answers its clients get are the upstream's"
        )
    try:
        rule = _backend().add_fault(_json_object())
    except SettingsError as exc:
        raise ApiError.one(400, "fault", str(exc)) from None
    return jsonify({"fault": rule}), 201


@control.delete("/faults")
def clear_faults() -> Response:
    _backend().clear_faults(request.args.get("project_id") or None)
    return jsonify({"faults": []})


@control.get("/parity")
def parity() -> Response:
    """Proxy mode's running account: requests compared, agreements, the latest disagreements."""
    upstream = _upstream()
    return jsonify({**_backend().parity(), "proxy": upstream.describe() if upstream is not None else None})


@control.get("/recording")
def recording() -> Response:
    """What the journal holds, as a recording (JSON Lines, credentials hidden): the newest
    ``?limit=`` entries, of ``?project_id=`` only. Streamed, as a file to download."""
    from mockserver.recording import export_lines

    check_download(request.headers.get("Sec-Fetch-Site"), request.headers.get("Origin"), request.host)
    upstream = _upstream()
    entries = _backend().requests(_limit(), project_id=request.args.get("project_id"))
    return Response(
        export_lines(entries, upstream=upstream.url if upstream is not None else None),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="marketap-recording.jsonl"'},
    )


@control.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(_backend().settings))


@control.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    # A refusal quotes what was sent (a limit, a fault's field, a setting's value), which may be a
    # key: masked as the ingestion paths mask theirs, the keys the fake knows included.
    redactor = Redactor(
        {name.lower(): value for name, value in request.headers.items()},
        list(request.args.items(multi=True)),
        keys=_backend().settings.api_keys,
    )
    return jsonify(redactor.error(error).body()), error.status
