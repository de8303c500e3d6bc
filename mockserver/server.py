"""``LiveServer``: the fake on a real socket, in a background thread of this process."""

from __future__ import annotations

import errno
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mockserver.app import create_app
from mockserver.backend import Backend
from mockserver.errors import ToolkitError

__all__ = ["LiveServer"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the journal records every request; a line each on stderr is noise in tests


class LiveServer:
    """Serve the fake on ``host:port`` (port 0 picks a free one) until :meth:`stop`.

    Ready when :meth:`start` returns. Shares ``backend`` with any other way in.
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_token: str | None = None,
        app: Any = None,
    ) -> None:
        self.backend = backend or Backend()
        self.app = app or create_app(backend=self.backend, control_token=control_token)
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://host:port``, with the port actually bound."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LiveServer:
        if self._server is not None:
            raise ToolkitError("this LiveServer is already started")
        try:
            self._server = make_server(
                self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
            )
        except SystemExit:  # werkzeug exits on a port in use; a library must raise instead
            raise OSError(errno.EADDRINUSE, f"address {self.host}:{self.port} is already in use") from None
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._serve, name=f"marketap-mock:{self.port}", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.1)
        except BaseException as exc:  # re-raised in stop(), in the caller's thread
            self._error = exc

    def stop(self) -> None:
        """Stop serving and join the thread; re-raises an error the server thread hit."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if thread.is_alive():  # shutdown() waits for a loop that a failed thread never ran
            server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        self._server = self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LiveServer {self.url} {'running' if self.running else 'stopped'}>"
