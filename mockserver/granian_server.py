"""The granian server: ``marketap-mock serve`` on granian, both halves of the hand-off.

granian imports the app by name in a worker process of its own, so the fake is served by two
processes that meet in this module:

* the parent, :func:`serve`, in the command's process: it checks that the address can be bound,
  hands the settings, fault rules, control token and allowed hosts to the worker in one
  environment variable, starts granian, says the URL once the worker answers, and stops granian
  on Ctrl+C or SIGTERM;
* the child, :func:`app_from_environment`, in granian's worker: it builds the backend and the
  app from that variable, behind the asyncio front (:mod:`mockserver.asgi_front`).

No server is left holding the port: granian runs in its own process group, which the parent
stops as a whole, and on Linux each process below the command ends with its parent.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from mockserver.asgi_front import AsgiFront
from mockserver.backend import Backend
from mockserver.console import console_listener
from mockserver.flask_app import create_app
from mockserver.proxy import Upstream
from mockserver.settings import Settings

__all__ = ["app_from_environment", "event_loop", "serve"]

_ENVIRONMENT_VARIABLE = "MARKETAP_MOCK_SERVE"

#: In proxy mode, the requests that may wait on the upstream at once: each holds a thread of
#: the worker while it waits, where the event loop must not wait.
_PROXY_THREADS = 64

#: Connections granian accepts and serves at once. Its default, the listen backlog, leaves a
#: connection past it waiting a long time for a slot; an idle keep-alive connection costs only
#: an asyncio task, so the bound is the open-file limit, raised to its hard limit at start.
_BACKLOG = 2048
_BACKPRESSURE = 16_384


def serve(
    settings: Settings,
    rules: list[dict[str, Any]],
    *,
    host: str,
    port: int,
    ready: Callable[[str], None],
    control_token: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
    upstream: Upstream | None = None,
    log_format: str | None = None,
    quiet: bool = False,
    load: str | None = None,
    stopping: Callable[[str], None] | None = None,
    record: tuple[str, int] | None = None,
) -> None:
    """Serve the fake on granian until SIGINT or SIGTERM, or until granian ends.

    ``ready`` is called with the server's URL once a connection to it succeeds; ``stopping``
    with the same URL on SIGINT or SIGTERM, while the server still answers (to save its
    state). ``load``: a saved state's file, already checked, that the worker starts from.
    Raises ``OSError`` when ``host:port`` cannot be bound (port 0 picks a free one),
    ``SettingsError`` when ``upstream`` is this very address.
    """
    port = port or _free_port(host)
    if upstream is not None:
        upstream.check_not_self(host, port)
    # Bind once here, so an address in use fails now, in words, rather than in granian's worker.
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, port))
    # Each connection is an open file, and granian inherits this process's limit.
    _raise_open_files()
    os.environ[_ENVIRONMENT_VARIABLE] = _environment_value(
        settings,
        rules,
        control_token,
        log_format=log_format,
        quiet=quiet,
        allowed_hosts=(host, *allowed_hosts),
        upstream=upstream,
        load=load,
        record=record,
    )
    # granian runs in a child process that this one supervises: a Ctrl+C that lands while
    # granian is still starting is otherwise lost, and the server would never stop.
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            # ASGI: bodies are read without holding a thread, so a stalled client stalls only itself.
            "--interface",
            "asgi",
            "--factory",
            "--loop",
            event_loop(),
            "--host",
            host,
            "--port",
            str(port),
            # One process, so the state stays shared and exact.
            "--workers",
            "1",
            "--backlog",
            str(_BACKLOG),
            "--backpressure",
            str(_BACKPRESSURE),
            # Headers, like a body, must arrive whole within the read timeout: a client
            # trickling them is cut off (granian's bounds: 1 ms to 60 s).
            "--http1-header-read-timeout",
            str(min(max(round(settings.read_timeout * 1000), 1), 60_000)),
            "--no-log",
            "mockserver.granian_server:app_from_environment",
        ],
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        # Its own process group: stopping it reaches its worker too.
        start_new_session=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    # granian's worker opens its own listening socket after building the app: the URL is said
    # once a connection to it succeeds, not before it works.
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    listening = _wait_listening(host, port, child, stop)
    if listening:
        ready(url)
    while child.poll() is None and not stop.wait(0.2):
        pass
    try:
        if stopping is not None and listening and child.poll() is None:
            stopping(url)
    finally:
        _stop_child(child)


def app_from_environment() -> AsgiFront:
    """The app granian's worker serves, built from what :func:`serve` handed over."""
    if sys.platform == "linux":
        # This worker ends with granian's process, which ends with the command.
        _die_with_parent()
    config = json.loads(os.environ[_ENVIRONMENT_VARIABLE])
    backend = Backend(Settings.from_mapping(config["settings"]))
    for rule in config["faults"]:
        backend.add_fault(rule)
    if config.get("load"):
        from mockserver.snapshot import read

        backend.load(read(config["load"], backend.settings))
    if config.get("log_format"):
        backend.listen(
            console_listener(config["log_format"], quiet=config.get("quiet", False), background=True)
        )
    proxy = config.get("upstream")
    upstream = (
        Upstream(proxy["upstream"], timeout=proxy["timeout"], enforce=proxy["enforce"]) if proxy else None
    )
    if config.get("record") and upstream is not None:
        from mockserver.recording import Recorder, console_warning

        path, max_bytes = config["record"]
        backend.listen(
            Recorder(path, max_bytes=max_bytes, upstream=upstream.url, warn=console_warning(sys.stdout))
        )
    app = create_app(
        backend=backend,
        control_token=config["control_token"],
        allowed_hosts=config["allowed_hosts"],
        upstream=upstream,
    )
    front = AsgiFront(app.wsgi_app, backend, threads=_PROXY_THREADS if upstream is not None else 0)
    # What exists now (the libraries, the app, a loaded state) lives as long as the worker. Left
    # to the collector, its oldest generation would walk all of it again and again while the
    # requests come and go; frozen, it walks only what the requests made. Objects without
    # cycles are still freed as they go.
    gc.freeze()
    return front


def _environment_value(
    settings: Settings,
    rules: list[dict[str, Any]],
    control_token: str | None,
    *,
    log_format: str | None = None,
    quiet: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    upstream: Upstream | None = None,
    load: str | None = None,
    record: tuple[str, int] | None = None,
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
            "load": load,
            "record": [os.path.abspath(record[0]), record[1]] if record else None,
        }
    )


def event_loop() -> str:
    """uvloop where it is installed (a dependency on Linux and macOS), else asyncio's own loop.

    granian hands each request and each body message to the loop from its own threads, and
    uvloop's wake-up from another thread costs a fraction of asyncio's (``bench.live`` measures
    both). Named rather than granian's ``auto``, which would take any loop that happens to be
    installed, experimental ones included.
    """
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def _die_with_parent() -> None:
    """End with the parent process, even a parent killed outright (Linux), so no server is
    left holding the port. Runs in granian's process (before exec) and in its worker."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _raise_open_files() -> None:
    """Raise the soft limit on open files to the hard one."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_listening(host: str, port: int, child: subprocess.Popen[bytes], stop: threading.Event) -> bool:
    while child.poll() is None and not stop.is_set():
        try:
            socket.create_connection((host, port), timeout=1.0).close()
            return True
        except OSError:
            stop.wait(0.05)
    return False


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    """Ask with SIGINT (again, in case one was lost), then terminate, then kill."""
    steps: tuple[tuple[Callable[[], None], float], ...] = (
        (lambda: child.send_signal(signal.SIGINT), 1.0),
        (lambda: child.send_signal(signal.SIGINT), 3.0),
        (child.terminate, 5.0),
        (child.kill, 5.0),
    )
    for step, wait in steps:
        if child.poll() is not None:
            return
        step()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=wait)
