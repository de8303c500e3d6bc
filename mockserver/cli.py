"""``marketap-mock``: serve the fake from the command line.

argparse (standard library) rather than click: ``--api-key`` and ``--project-id`` pair up by
their order on the command line, which argparse's actions can see and click's options cannot.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from mockserver.curl import first_request, shown_key
from mockserver.errors import SettingsError
from mockserver.proxy import DEFAULT_UPSTREAM, Upstream, check_upstream_url
from mockserver.recording import DEFAULT_MAX_BYTES as DEFAULT_RECORD_BYTES
from mockserver.secrets import mask_keys
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Settings

__all__ = [
    "ENV_PREFIX",
    "apply_environment",
    "build_parser",
    "credentials_from",
    "environment_variable",
    "main",
    "settings_from",
    "unknown_variables",
]


class _Ordered(argparse.Action):
    """Keep ``--api-key`` and ``--project-id`` in one list, in command-line order."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, option: str | None = None
    ) -> None:
        pairs = list(getattr(ns, "credentials", None) or [])
        pairs.append((self.dest, value))
        ns.credentials = pairs


def credentials_from(pairs: Sequence[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Each ``--project-id`` belongs to the ``--api-key`` before it (or to the first key)."""
    keys: dict[str, list[str]] = {}
    pending: list[str] = []
    current: str | None = None
    for kind, value in pairs:
        if kind == "api_key":
            current = value
            keys.setdefault(value, [])
            if pending:
                keys[value] += pending
                pending = []
        elif current is None:
            pending.append(value)
        else:
            keys[current].append(value)
    if not keys:
        keys[DEFAULT_API_KEY] = pending
    return {k: tuple(dict.fromkeys(p or [DEFAULT_PROJECT_ID])) for k, p in keys.items()}


#: settings a proxy has no use for: the upstream judges keys, projects and rates
_NOT_FOR_PROXY = frozenset({"any_project", "rate_limit"})


def _add_settings(parser: argparse.ArgumentParser, *, proxy: bool = False) -> None:
    group = parser.add_argument_group("settings (what the fake accepts; see docs/reference/settings.md)")
    for f in dataclasses.fields(Settings):
        if f.metadata.get("cli") is False or (proxy and f.name in _NOT_FOR_PROXY):
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        help_text = f"{f.metadata['doc']} (default: {default})"
        if f.type == "bool":
            group.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif "choices" in f.metadata:
            group.add_argument(flag, dest=f.name, choices=f.metadata["choices"], default=None, help=help_text)
        else:
            metavar = f.metadata.get("metavar", "N")
            group.add_argument(flag, dest=f.name, metavar=metavar, default=None, help=help_text)


def _upstream_url(text: str) -> str:
    try:
        return check_upstream_url(text)
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port to bind; 0 picks a free one (default: 8080)"
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="one line per request (coloured on a terminal), or one JSON object per request",
    )
    parser.add_argument("--quiet", action="store_true", help="print only startup and rejected requests")
    parser.add_argument(
        "--server",
        choices=("granian", "werkzeug"),
        default="granian",
        help="HTTP server: granian (default; the fastest measured, one process, asyncio) or werkzeug "
        "(pure Python, a thread per connection; the only one where a drop fault closes the socket)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable; '*' for any). By default only "
        "localhost, IP addresses and the bound address are answered: a web page under another name "
        "must not reach the fake (DNS rebinding)",
    )
    parser.add_argument(
        "--control-token",
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on the control plane under /_mock/",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marketap-mock",
        description="An offline fake of the Marketap Open API (five POST /v1/api/... endpoints).",
    )
    from mockserver import __version__

    parser.add_argument("--version", action="version", version=f"marketap-mock {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="serve the fake until Ctrl+C", description="Serve the fake until Ctrl+C."
    )
    _add_server_flags(serve)
    serve.add_argument(
        "--api-key",
        dest="api_key",
        action=_Ordered,
        metavar="KEY",
        help=f"an API key to accept (repeatable; default: {DEFAULT_API_KEY})",
    )
    serve.add_argument(
        "--project-id",
        dest="project_id",
        action=_Ordered,
        metavar="ID",
        help=f"a project the preceding --api-key is valid for (repeatable; default: {DEFAULT_PROJECT_ID})",
    )
    state = serve.add_argument_group("saved state (see GET and PUT /_mock/state)")
    state.add_argument(
        "--load", metavar="FILE", help="seed the fake with a state saved by --save or GET /_mock/state"
    )
    state.add_argument(
        "--save",
        metavar="FILE",
        help="write the fake's state to FILE when it stops on Ctrl+C or SIGTERM (replaced whole, never "
        "half-written); --load the same FILE to carry on where it stopped",
    )
    _add_settings(serve)
    chaos = serve.add_argument_group("chaos (fault rules from the start; change them at /_mock/faults)")
    chaos.add_argument(
        "--fail-rate",
        type=float,
        metavar="P",
        help="answer this share of requests (0 to 1) with --fail-status",
    )
    chaos.add_argument(
        "--fail-status",
        type=int,
        default=503,
        metavar="CODE",
        help="status of failed requests (default: 503)",
    )
    chaos.add_argument(
        "--latency", type=float, metavar="MS", help="add this many milliseconds to every request"
    )
    chaos.add_argument("--seed", type=int, help="seed for --fail-rate, so runs repeat")
    proxy = commands.add_parser(
        "proxy",
        help="judge each request by the fake's rules, send it on to the real service, record both",
        description="Serve a proxy until Ctrl+C: each request to the five paths is judged by the "
        "fake's rules, then sent on to --upstream, whose answer goes back to the client unchanged. "
        "Both verdicts are journaled; GET /_mock/parity counts where they agree. Production data "
        "passes through it: keep it on 127.0.0.1, or set --control-token.",
    )
    proxy.add_argument(
        "--upstream",
        default=DEFAULT_UPSTREAM,
        type=_upstream_url,
        metavar="URL",
        help=f"where requests are sent on (default: {DEFAULT_UPSTREAM})",
    )
    proxy.add_argument(
        "--upstream-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="answer 504 when the upstream has not answered in this time (default: 10); never retried",
    )
    proxy.add_argument(
        "--enforce",
        action="store_true",
        help="answer a request the fake refuses with the fake's 4xx and do not send it on (for staging)",
    )
    proxy.add_argument(
        "--record",
        metavar="FILE",
        help="append each exchange to FILE as a recording (JSON Lines, credentials hidden), "
        "for `marketap-mock replay` and the contract suite",
    )
    proxy.add_argument(
        "--record-max-bytes",
        type=_size,
        default=DEFAULT_RECORD_BYTES,
        metavar="N",
        help=f"stop recording, with a warning, before FILE passes N bytes (default: {DEFAULT_RECORD_BYTES})",
    )
    _add_server_flags(proxy)
    _add_settings(proxy, proxy=True)
    replay = commands.add_parser(
        "replay",
        help="send each request of a recording to a fake and report where it disagrees with the recording",
        description="Send each recorded request to a fake (in process unless --url) and hold its "
        "answer to the recorded upstream's: both accept or both refuse. Exit 1 on any disagreement.",
    )
    replay.add_argument(
        "recording", metavar="FILE", help="a recording (from proxy --record or GET /_mock/recording)"
    )
    replay.add_argument("--url", help="a running fake to send to (default: a fresh fake in this process)")
    replay.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        metavar="KEY",
        help=f"the key sent where the recording holds a masked one (default: {DEFAULT_API_KEY})",
    )
    replay.add_argument(
        "--project-id",
        default=DEFAULT_PROJECT_ID,
        metavar="ID",
        help=f"the project_id sent in place of the recorded ones (default: {DEFAULT_PROJECT_ID})",
    )
    replay.add_argument(
        "--report", metavar="PATH", help="also write every exchange's outcome as JSON to PATH"
    )
    replay.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress bar (default: on a terminal)",
    )
    _add_settings(replay)
    for command in (serve, proxy):
        _name_variables(command)
    commands.add_parser("openapi", help="print the OpenAPI document of the five endpoints")
    contract = commands.add_parser(
        "contract",
        help="run the contract suite against the fake or any server and print a parity table",
        description="Run the contract suite (HTTP only) and print case, expected, observed and verdict. "
        "Without --url it starts the fake itself.",
    )
    contract.add_argument("--url", help="server to check, e.g. https://event.marketap.io (default: a fake)")
    contract.add_argument("--api-key", help=f"API key to send (default: {DEFAULT_API_KEY})")
    contract.add_argument("--project-id", help=f"project_id to send (default: {DEFAULT_PROJECT_ID})")
    contract.add_argument("--report", metavar="PATH", help="also write the table as JSON to PATH")
    contract.add_argument(
        "--recording",
        metavar="FILE",
        help="also run each exchange of this recording as a test: the fake must agree with the upstream",
    )
    contract.add_argument(
        "--allow-deletion",
        action="store_true",
        help="let the suite request deletion of its own contract-test- users on a real service",
    )
    contract.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the generated checks (default: $MARKETAP_CONTRACT_SEED, else a fixed one)",
    )
    contract.add_argument(
        "pytest_args", nargs="*", metavar="PYTEST_ARG", help="passed on to pytest (after --)"
    )
    return parser


# --- settings from the environment --------------------------------------------------------------

#: Every flag of ``serve`` and ``proxy`` can be given as ``MARKETAP_MOCK_<FLAG>`` instead: a CI
#: ``services:`` block or a container sets variables more easily than it passes flags.
ENV_PREFIX = "MARKETAP_MOCK_"
#: variables of the prefix that are not flags: the hand-off to granian's worker
_INTERNAL = frozenset({"MARKETAP_MOCK_SERVE"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LISTS = frozenset({"allow_host", "api_key", "project_id"})
#: values never repeated in a message: they are credentials
_SECRETS = frozenset({"api_key", "control_token"})


def environment_variable(action: argparse.Action) -> str:
    """The variable that stands for a flag: ``--allow-host`` is ``MARKETAP_MOCK_ALLOW_HOST``."""
    flag = next(o for o in action.option_strings if o.startswith("--"))
    return ENV_PREFIX + flag[2:].upper().replace("-", "_")


def _flags(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if any(o.startswith("--") for o in action.option_strings) and action.dest != "help":
            yield action


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _name_variables(parser: argparse.ArgumentParser) -> None:
    for action in _flags(parser):
        action.help = f"{action.help or ''} [env: {environment_variable(action)}]".strip()
    parser.epilog = (
        f"Every flag can also be set by the environment variable named after it ({ENV_PREFIX}...); "
        "a flag on the command line wins over its variable. A repeatable flag's variable takes a "
        "comma-separated list; the projects in MARKETAP_MOCK_PROJECT_ID are valid for every key in "
        "MARKETAP_MOCK_API_KEY. A yes-or-no flag's variable takes 1/0, true/false, yes/no or "
        "on/off. An empty variable counts as unset."
    )


def apply_environment(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Make each ``MARKETAP_MOCK_*`` variable the default of its flag in ``parser`` (``serve``
    or ``proxy``), so a flag given on the command line still wins. Raises SettingsError naming
    the variable when a value is wrong."""
    keys: list[str] = []
    projects: list[str] = []
    for action in _flags(parser):
        name = environment_variable(action)
        text = environ.get(name, "").strip()
        if not text:
            continue
        value = _from_environment(action, name, text)
        if action.dest == "api_key":
            keys = value
        elif action.dest == "project_id":
            projects = value
        elif action.dest == "allow_host":
            parser.set_defaults(env_allow_host=value)
        else:
            parser.set_defaults(**{action.dest: value})
    if keys or projects:
        pairs = [("project_id", p) for p in projects]
        if keys:
            pairs = [pair for key in keys for pair in [("api_key", key), *pairs]]
        parser.set_defaults(env_credentials=pairs)


def _from_environment(action: argparse.Action, name: str, text: str) -> Any:
    if action.dest in _LISTS:
        return [item.strip() for item in text.split(",") if item.strip()]
    shown = "" if action.dest in _SECRETS else f", not {text[:60]!r}"
    if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingsError(f"{name} must be 1/0, true/false, yes/no or on/off{shown}")
    if action.choices is not None and text not in action.choices:
        raise SettingsError(f"{name} must be one of {', '.join(map(str, action.choices))}{shown}")
    if action.dest in Settings.names():
        try:
            Settings.from_mapping({action.dest: text})
        except SettingsError as exc:
            raise SettingsError(f"{name}: {exc}") from None
        return text
    if callable(action.type):
        try:
            return action.type(text)
        except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
            if isinstance(exc, argparse.ArgumentTypeError):
                raise SettingsError(f"{name}: {exc}") from None
            raise SettingsError(f"{name} must be a number{shown}") from None
    return text


def unknown_variables(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``MARKETAP_MOCK_*`` variable that names no flag (a misspelling would
    otherwise be ignored without a word)."""
    from mockserver.names import did_you_mean

    known = {
        environment_variable(action)
        for command in ("serve", "proxy")
        for action in _flags(_subparsers(parser)[command])
    }
    return [
        f"ignoring {name}: no flag of serve or proxy has that name{did_you_mean(name, known)}"
        for name in sorted(environ)
        if name.startswith(ENV_PREFIX) and name not in known and name not in _INTERNAL
    ]


def _allowed_hosts(ns: argparse.Namespace) -> tuple[str, ...]:
    return tuple(ns.allow_host or getattr(ns, "env_allow_host", None) or ())


def _size(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1024:
        raise argparse.ArgumentTypeError(f"must be a whole number of bytes, at least 1024, not {text!r}")
    return int(text)


def settings_from(ns: argparse.Namespace) -> Settings:
    values: dict[str, Any] = {
        f.name: getattr(ns, f.name)
        for f in dataclasses.fields(Settings)
        if getattr(ns, f.name, None) is not None
    }
    pairs = getattr(ns, "credentials", None) or getattr(ns, "env_credentials", None) or []
    values["api_keys"] = credentials_from(pairs)
    return Settings.from_mapping(values)


def banner(
    url: str, settings: Settings, control_token: str | None, host: str, upstream: Upstream | None = None
) -> str:
    if upstream is not None:
        lines = _proxy_lines(url, upstream)
        exposed = "other machines can reach this proxy; the requests it journals hold production data"
        fix = "protect its control plane with --control-token."
    else:
        lines = _fake_lines(url, settings)
        exposed = (
            "other machines can reach this fake, which accepts test credentials and exposes its control plane"
        )
        fix = "protect it with --control-token."
    if not _is_loopback(host):
        lines.append(f"WARNING: bound to {host}: {exposed}" + ("." if control_token else f"; {fix}"))
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def _fake_lines(url: str, settings: Settings) -> list[str]:
    lines = [f"Marketap fake serving on {url}", ""]
    for api_key, project_ids in settings.api_keys.items():
        shown = mask_keys(list(project_ids), settings.api_keys)
        lines.append(f"  API key {shown_key(api_key)!r} for project(s): {', '.join(shown)}")
    return [
        *lines,
        f"  dashboard: {url}/_mock/",
        f"  control plane: {url}/_mock/health, {url}/_mock/requests, {url}/_mock/openapi.json",
        "",
        "Try it:",
        *("  " + line for line in first_request(url, settings)),
        "",
    ]


def _proxy_lines(url: str, upstream: Upstream) -> list[str]:
    mode = (
        "refused requests answered here, not sent on (--enforce)"
        if upstream.enforce
        else "every request sent on"
    )
    return [
        f"Marketap proxy on {url} -> {upstream.url}",
        "",
        f"  each request to the five paths is judged by the fake's rules; {mode}",
        f"  the client's own Authorization is sent on; upstream timeout {upstream.timeout:g} s, no retries",
        f"  dashboard: {url}/_mock/",
        f"  parity: {url}/_mock/parity (where the fake and the upstream disagree)",
        "",
        "Point your client's base URL at it.",
        "",
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """The command. ``environ`` (default: the process's) supplies ``MARKETAP_MOCK_*`` settings."""
    out = out or sys.stdout
    from mockserver.conflict import conflict

    problem = conflict()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    parser = build_parser()
    if environ is None:
        environ = os.environ
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in arguments if not a.startswith("-")), None)
    subparser = _subparsers(parser).get(command or "")
    if subparser is not None and command in ("serve", "proxy"):
        try:
            apply_environment(subparser, environ)
        except SettingsError as exc:
            subparser.error(str(exc))
        for warning in unknown_variables(parser, environ):
            print(f"marketap-mock: {warning}", file=sys.stderr)
    ns = parser.parse_args(arguments)
    if ns.command == "contract":
        from mockserver.contract import run_contract

        return run_contract(ns, out)
    if ns.command == "replay":
        from mockserver.replay_cli import run_replay

        return run_replay(ns, out, parser)
    if ns.command == "openapi":
        from mockserver.openapi import openapi_document

        out.write(json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n")
        return 0
    upstream = None
    try:
        settings = settings_from(ns)
        if ns.command == "proxy":
            upstream = Upstream(ns.upstream, timeout=ns.upstream_timeout, enforce=ns.enforce)
            if ns.record:
                _check_recording(ns.record, ns.record_max_bytes, upstream.url)
    except SettingsError as exc:
        parser.error(str(exc))
    return _serve(ns, settings, out, upstream)


def _check_recording(path: str, max_bytes: int, upstream: str) -> None:
    """Open (and so create, or check) the recording before the server starts: a wrong path or
    a file that is not a recording is said now, not at the first request."""
    from mockserver.recording import Recorder, RecordingError

    try:
        Recorder(path, max_bytes=max_bytes, upstream=upstream).close()
    except RecordingError as exc:
        raise SettingsError(f"--record: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"--record: cannot write {path}: {exc.strerror or exc}") from None


def chaos_rules(ns: argparse.Namespace) -> list[dict[str, Any]]:
    """The fault rules that --fail-rate, --fail-status, --latency and --seed ask for."""
    rules: list[dict[str, Any]] = []
    if ns.command != "serve":
        return rules
    if ns.fail_rate:
        rules.append({"status": ns.fail_status, "probability": ns.fail_rate, "seed": ns.seed})
    if ns.latency:
        rules.append({"latency_ms": ns.latency})
    return rules


def _serve(ns: argparse.Namespace, settings: Settings, out: TextIO, upstream: Upstream | None = None) -> int:
    from mockserver.faults import parse_rule

    rules = chaos_rules(ns)
    try:
        for number, rule in enumerate(rules, 1):
            parse_rule(rule, number)
    except SettingsError as exc:
        print(f"marketap-mock: {exc}", file=sys.stderr)
        return 2
    if getattr(ns, "load", None):
        problem = _check_load(ns.load, settings)
        if problem:
            print(f"marketap-mock: {problem}", file=sys.stderr)
            return 2
    if ns.server == "werkzeug":
        return _serve_werkzeug(ns, settings, rules, out, upstream)
    return _serve_granian(ns, settings, rules, out, upstream)


def _check_load(path: str, settings: Settings) -> str | None:
    """Why ``--load FILE`` cannot be loaded (refused before the server starts), or None."""
    from mockserver.backend import Backend
    from mockserver.snapshot import SnapshotError, read

    try:
        Backend(settings).load(read(path, settings))
    except SnapshotError as exc:
        return f"--load {path}: {exc}"
    return None


def _save(ns: argparse.Namespace, document: dict[str, Any], out: TextIO) -> bool:
    """Write ``--save``'s file; False, with the reason on stderr, when it cannot be written."""
    from mockserver.snapshot import write

    try:
        write(ns.save, document)
    except OSError as exc:
        print(f"marketap-mock: cannot save the state to {ns.save}: {exc.strerror or exc}", file=sys.stderr)
        return False
    out.write(f"Saved the state to {ns.save}.\n")
    return True


def _state_over_http(url: str, token: str | None) -> dict[str, Any]:
    """GET /_mock/state from the server at ``url`` (granian's worker holds the state)."""
    import urllib.request

    host = url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")
    request = urllib.request.Request(host + "/_mock/state")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        document: dict[str, Any] = json.loads(response.read())
    return document


def _serve_granian(
    ns: argparse.Namespace,
    settings: Settings,
    rules: list[dict[str, Any]],
    out: TextIO,
    upstream: Upstream | None,
) -> int:
    from mockserver.granian_server import serve

    def ready(url: str) -> None:
        out.write(banner(url, settings, ns.control_token, ns.host, upstream) + "\n")
        out.flush()

    saved = [True]

    def stopping(url: str) -> None:
        try:
            document = _state_over_http(url, ns.control_token)
        except OSError as exc:
            print(f"marketap-mock: cannot read the state to save it: {exc}", file=sys.stderr)
            saved[0] = False
            return
        saved[0] = _save(ns, document, out)

    try:
        serve(
            settings,
            rules,
            host=ns.host,
            port=ns.port,
            ready=ready,
            control_token=ns.control_token,
            allowed_hosts=_allowed_hosts(ns),
            upstream=upstream,
            log_format=ns.log_format,
            quiet=ns.quiet,
            load=getattr(ns, "load", None),
            stopping=stopping if getattr(ns, "save", None) else None,
            record=(ns.record, ns.record_max_bytes) if getattr(ns, "record", None) else None,
        )
    except OSError as exc:
        print(f"marketap-mock: cannot bind {ns.host}:{ns.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"marketap-mock: {exc}", file=sys.stderr)
        return 2
    out.write("Stopped.\n")
    return 0 if saved[0] else 1


def _serve_werkzeug(
    ns: argparse.Namespace,
    settings: Settings,
    rules: list[dict[str, Any]],
    out: TextIO,
    upstream: Upstream | None,
) -> int:
    from mockserver.backend import Backend
    from mockserver.console import console_listener
    from mockserver.snapshot import read
    from mockserver.werkzeug_server import LiveServer

    backend = Backend(settings)
    for rule in rules:
        backend.add_fault(rule)
    if getattr(ns, "load", None):
        backend.load(read(ns.load, settings))
    backend.listen(console_listener(ns.log_format, quiet=ns.quiet, stream=out, background=True))
    writer = None
    if getattr(ns, "record", None) and upstream is not None:
        from mockserver.recording import Recorder, console_warning

        warn = console_warning(out)
        writer = Recorder(ns.record, max_bytes=ns.record_max_bytes, upstream=upstream.url, warn=warn)
        backend.listen(writer)
    try:
        server = LiveServer(
            backend,
            host=ns.host,
            port=ns.port,
            control_token=ns.control_token,
            allowed_hosts=_allowed_hosts(ns),
            upstream=upstream,
        ).start()
    except OSError as exc:
        print(f"marketap-mock: cannot bind {ns.host}:{ns.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"marketap-mock: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a flag, not KeyboardInterrupt: no window to miss
        signal.signal(sig, lambda signum, frame: stop.set())
    out.write(banner(server.url, settings, ns.control_token, ns.host, upstream) + "\n")
    out.flush()
    try:
        while server.running and not stop.wait(0.5):
            pass
    finally:
        saved = not getattr(ns, "save", None) or _save(ns, backend.snapshot(), out)
        server.stop()
        if writer is not None:
            writer.close()
        out.write("Stopped.\n")
    return 0 if saved else 1
