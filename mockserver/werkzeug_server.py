"""The werkzeug server: ``LiveServer``, the fake on a real socket in a background thread of this
process (the ``marketap`` fixture, and ``marketap-mock serve --server werkzeug``).

werkzeug's development server, hardened where a fake on a developer's machine meets hostile or
broken clients: its own chunked-body reader (werkzeug's trusts the client's chunk sizes, and a
size past the body limit followed by a close would crash the process), ``100 Continue`` sent only
when the body is read (so an oversized declared body gets its 413 first), a read timeout on
every connection (setting ``read_timeout``), two different ``Content-Length`` headers refused,
and a request whose headers were cut short dropped without an answer.

Like granian, it keeps one deadline per request rather than per read: the request line and
headers must arrive whole within ``read_timeout`` of their first byte, and the body within
``read_timeout`` of the headers, so a client trickling a byte a second is answered 408 (and
closed) rather than held for as long as it trickles. Headers are parsed strictly (RFC 9112 §5):
a bare CR, a NUL or another control byte, a folded line or a malformed request line is a 400,
as is a ``Transfer-Encoding`` other than a lone ``chunked``; every error the server itself
answers is in the vendor's JSON envelope.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import re
import socket
import threading
import time
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mockserver.backend import Backend
from mockserver.errors import ApiError, ToolkitError
from mockserver.flask_app import create_app
from mockserver.ingest_front import incomplete_body
from mockserver.proxy import Upstream
from mockserver.secrets import Redactor, mask_in_text

__all__ = ["LiveServer"]

_HEX = re.compile(rb"[0-9A-Fa-f]{1,64}")
#: RFC 9112 §3: method SP request-target SP HTTP-version CRLF (a lone LF is tolerated, §2.2).
#: The target may hold raw bytes past ASCII (a client's unencoded UTF-8 query): they are sent
#: on as received in proxy mode, never spaces or control bytes.
_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^\x00-\x20\x7f]+ HTTP/[0-9]\.[0-9]\r?\n")
#: RFC 9110 §5.1, §5.5: a token, a colon, then a value of visible bytes, spaces and tabs.
_HEADER_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r?\n")
_MAX_LINE = 4096  # a chunk-size or trailer line
_MAX_TRAILERS = 100
_READ = 1 << 20


def _quoted(size: bytes) -> str:
    """A chunk-size line as an error quotes it: whole up to 20 bytes, where a key it holds is
    masked as anywhere else; past that, its first four bytes and its length, since a key cut
    short would no longer be found to be masked."""
    return repr(size) if len(size) <= 20 else f"{size[:4]!r}... ({len(size)} bytes)"


def _malformed(what: str) -> ApiError:
    return ApiError.one(
        400,
        "body",
        f"malformed chunked encoding: {what}; nothing was stored",
        headers={"Connection": "close"},
    )


class _ChunkedBody:
    """A chunked request body (RFC 9112 §7.1), read strictly: every chunk whole, sizes in hex,
    extensions and trailers skipped. Reads never allocate more than asked, whatever size a chunk
    declares. A body cut short raises the incomplete-body 400; a malformed one, a 400 saying how."""

    def __init__(self, rfile: io.BufferedIOBase) -> None:
        self._rfile = rfile
        self._left = 0  # bytes left in the current chunk
        self._started = False
        self._done = False
        self._got = 0

    def _line(self) -> bytes:
        line = self._rfile.readline(_MAX_LINE + 1)
        if not line:
            raise incomplete_body(self._got, None)
        if not line.endswith(b"\n"):
            if len(line) > _MAX_LINE:
                raise _malformed(f"a line longer than {_MAX_LINE} bytes")
            raise incomplete_body(self._got, None)
        return line.rstrip(b"\r\n")

    def _next_chunk(self) -> None:
        if self._started and self._line():
            raise _malformed("chunk data longer than its declared size")
        self._started = True
        size = self._line().split(b";", 1)[0].strip(b" \t")
        if not _HEX.fullmatch(size):
            raise _malformed(f"chunk size {_quoted(size)} is not hexadecimal")
        self._left = int(size, 16)
        if self._left >> 64:
            # What granian's parser refuses too: no body that size could arrive, and waiting
            # for it would only end in the read timeout's 408.
            raise _malformed(f"chunk size {_quoted(size)} does not fit in 64 bits")
        if self._left == 0:
            for _ in range(_MAX_TRAILERS):
                if not self._line():
                    self._done = True
                    return
            raise _malformed(f"more than {_MAX_TRAILERS} trailer lines")

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        want = size if size >= 0 else 1 << 62
        while want > 0 and not self._done:
            if self._left == 0:
                self._next_chunk()
                continue
            take = min(self._left, want, _READ)
            data = self._rfile.read(take)
            self._got += len(data)
            if len(data) < take:
                raise incomplete_body(self._got, None)
            parts.append(data)
            self._left -= take
            want -= take
        return b"".join(parts)


class _Deadline:
    """The connection's reader, with one deadline for a stretch of reads (:meth:`arm`). Each
    read waits at most what is left of it, and reads only what has arrived (a trickling client
    cannot hold a read open byte by byte); past the deadline a read raises ``TimeoutError``.
    Between stretches each read waits at most ``idle`` seconds, the socket's own timeout."""

    def __init__(self, rfile: io.BufferedReader, sock: socket.socket, idle: float) -> None:
        self.rfile, self._sock, self._idle = rfile, sock, idle
        self._until: float | None = None
        #: whether a read ran out of time while the deadline was armed
        self.expired = False

    def arm(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds
        self.expired = False

    def disarm(self) -> None:
        self._until = None

    def _fill(self) -> bytes:
        """What the buffer holds, after at most one wait on the socket (b"" at the end of input)."""
        if self._until is None:
            return self.rfile.peek(1)
        left = self._until - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("the request did not arrive within the read timeout")
        self._sock.settimeout(min(left, self._idle))
        try:
            return self.rfile.peek(1)
        except TimeoutError:
            self.expired = time.monotonic() >= self._until
            raise
        finally:
            # Writes keep the socket's own timeout: an answer is not cut short by the deadline.
            with contextlib.suppress(OSError):
                self._sock.settimeout(self._idle)

    def read(self, size: int | None = -1) -> bytes:
        want = (1 << 62) if size is None or size < 0 else size
        parts: list[bytes] = []
        got = 0
        while got < want and self._fill():
            part = self.rfile.read1(want - got)
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        want = (1 << 62) if size is None or size < 0 else size
        parts: list[bytes] = []
        got = 0
        while got < want:
            ready = self._fill()[: want - got]
            if not ready:
                break
            end = ready.find(b"\n")
            part = self.rfile.read(end + 1 if end >= 0 else len(ready))
            parts.append(part)
            got += len(part)
            if end >= 0:
                break
        return b"".join(parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rfile, name)


class _ContinueOnRead:
    """Sends ``100 Continue`` when the app first reads the body, not before it has looked at
    the headers (werkzeug sends it at once, inviting a body the fake will refuse)."""

    def __init__(self, rfile: io.BufferedIOBase, wfile: io.BufferedIOBase) -> None:
        self._rfile, self._wfile, self._sent = rfile, wfile, False

    def _go(self) -> None:
        if not self._sent:
            self._sent = True
            self._wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._wfile.flush()

    def read(self, size: int = -1) -> bytes:
        self._go()
        return self._rfile.read(size)

    def readline(self, size: int = -1) -> bytes:
        self._go()
        return self._rfile.readline(size)


class _EofTracker:
    """Wraps the connection while headers are read, to tell a blank line from the end of input,
    and keeps the header lines as received, for the strict check."""

    def __init__(self, rfile: io.BufferedIOBase) -> None:
        self.rfile = rfile
        self.eof = False
        self.lines: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        line = self.rfile.readline(size)
        self.eof = line == b""
        self.lines.append(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rfile, name)


def _header_problem(raw_requestline: bytes, lines: list[bytes]) -> str | None:
    """Why a request's head is malformed (RFC 9112 §2-§5), or None."""
    if not _REQUEST_LINE.fullmatch(raw_requestline):
        return "the request line is not 'METHOD target HTTP/1.1' in visible characters"
    for line in lines:
        if line in (b"\r\n", b"\n", b""):
            break
        if line[:1] in (b" ", b"\t"):
            return "a header line is folded (starts with a space or tab); send each header on one line"
        if not _HEADER_LINE.fullmatch(line):
            # Only the name's leading token: a line without a colon may hold a key.
            name = re.match(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{0,40}", line)[0].decode("latin-1")  # type: ignore[index]
            return (
                f"the header line starting {name!r} holds a bare CR, a NUL or another control "
                "character, or is not 'Name: value'"
            )
    return None


class _Handler(WSGIRequestHandler):
    backend: Backend  # set per server, for the read timeout
    _continue = False
    _head_read = False
    _deadline: _Deadline

    def setup(self) -> None:
        # socketserver applies `timeout` to every read and write on the connection: here, the
        # longest a keep-alive connection may sit idle, and the longest one write may take
        self.timeout = self.backend.settings.read_timeout  # type: ignore[misc]
        super().setup()
        self._deadline = _Deadline(self.rfile, self.connection, self.timeout)  # type: ignore[arg-type]
        self.rfile = self._deadline  # type: ignore[assignment]

    def handle_one_request(self) -> None:
        deadline = self._deadline
        deadline.disarm()
        self._head_read = False
        try:
            # An idle keep-alive connection waits for its next request's first byte, up to the
            # socket's timeout...
            if not deadline.rfile.peek(1):
                self.close_connection = True
                return
        except (OSError, ValueError):  # idle too long, or the connection broke: close it
            self.close_connection = True
            return
        # ...then the request line and headers must arrive whole within the read timeout.
        deadline.arm(self.backend.settings.read_timeout)
        super().handle_one_request()
        if deadline.expired and not self._head_read:
            reason = (
                "the request line and headers did not arrive within the read timeout (setting read_timeout)"
            )
            self._refuse_head(ApiError.one(408, "request", reason))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the journal records every request; a line each on stderr is noise in tests

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):  # an idle keep-alive connection, closed
            # http.server quotes a request line it refuses, which may carry ?api_key=...
            super().log_error("%s", mask_in_text(format % args))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a garbage request line, headers too long) in the vendor's
        envelope and with a status line, rather than an HTML page (or none, for a request line
        it cannot read)."""
        # Its own message is not used: it quotes the request line, query parameters included.
        phrase = self.responses.get(code, ("Error",))[0]
        self._refuse_head(
            ApiError.one(code, "request", f"{phrase}: the request line or headers are malformed")
        )

    def _refuse_head(self, error: ApiError) -> None:
        self.request_version = "HTTP/1.1"
        with contextlib.suppress(OSError):
            self._refuse(error)

    def parse_request(self) -> bool:
        tracker = _EofTracker(self.rfile)
        self.rfile = tracker  # type: ignore[assignment]
        try:
            ok = super().parse_request()
        finally:
            self.rfile = tracker.rfile
        if ok and tracker.eof:  # the client closed before the blank line: not a request
            self.close_connection = True
            return False
        if not ok:
            return False
        problem = _header_problem(self.raw_requestline, tracker.lines)
        if problem is not None:
            self._refuse_head(ApiError.one(400, "request", problem))
            return False
        self._head_read = True
        # The body has a read timeout of its own, from the end of the headers.
        self._deadline.arm(self.backend.settings.read_timeout)
        return True

    def handle_expect_100(self) -> bool:
        return True  # http.server would send 100 Continue now; _ContinueOnRead sends it on reading

    def run_wsgi(self) -> None:
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if len(lengths) > 1:
            reason = f"given {len(lengths)} times with different values; send it once (RFC 9112 §6.3)"
            return self._refuse(ApiError.one(400, "Content-Length", reason))
        codings = self.headers.get_all("Transfer-Encoding") or []
        if codings and [c.strip().lower() for c in ",".join(codings).split(",")] != ["chunked"]:
            reason = (
                f"{', '.join(codings)[:100]!r} is not accepted: only a lone 'chunked' (RFC 9112 §6.1 "
                "asks for chunked last, and the fake takes no other transfer coding)"
            )
            return self._refuse(ApiError.one(400, "Transfer-Encoding", reason))
        self._continue = self.headers.get("Expect", "").lower().strip(" \t") == "100-continue"
        if self._continue:
            del self.headers["Expect"]  # sent when the body is read, by _ContinueOnRead
        return super().run_wsgi()

    def make_environ(self) -> Any:
        environ = super().make_environ()
        # The query as received (PEP 3333: its bytes as latin-1), where werkzeug re-encodes it.
        environ["QUERY_STRING"] = self.path.partition("?")[2].partition("#")[0]
        rfile: Any = self.rfile
        if self._continue:
            rfile = _ContinueOnRead(self.rfile, self.wfile)
            environ["HTTP_EXPECT"] = "100-continue"
        if environ.get("wsgi.input_terminated"):
            rfile = _ChunkedBody(rfile)
            environ.pop("CONTENT_LENGTH", None)  # chunked wins over a length (RFC 9112 §6.3)
        environ["wsgi.input"] = rfile
        return environ

    def _refuse(self, error: ApiError) -> None:
        # Refused before the WSGI app, which masks its own: a reason may quote a header line or a
        # transfer coding holding a key.
        headers = getattr(self, "headers", None)
        redactor = Redactor(
            {name.lower(): value for name, value in headers.items()} if headers is not None else {},
            keys=self.backend.settings.api_keys,
        )
        body = json.dumps(redactor.error(error).body()).encode()
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class LiveServer:
    """Serve the fake on ``host:port`` (port 0 picks a free one) until :meth:`stop`.

    Ready when :meth:`start` returns. Shares ``backend`` with any other way in. With
    ``upstream``, a proxy: each ingestion request is judged, then sent there.
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_token: str | None = None,
        allowed_hosts: tuple[str, ...] = (),
        app: Any = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.backend = backend or Backend()
        hosts = (host, *allowed_hosts)  # the bound address is a name the server is reachable by
        self.app = app or create_app(
            backend=self.backend, control_token=control_token, allowed_hosts=hosts, upstream=upstream
        )
        self.host = host
        self.port = port
        self.upstream = upstream
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
            handler = type("_Handler", (_Handler,), {"backend": self.backend})
            self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
        except SystemExit:  # werkzeug exits on a port in use; a library must raise instead
            raise OSError(errno.EADDRINUSE, f"address {self.host}:{self.port} is already in use") from None
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self._server.server_port
        if self.upstream is not None:
            try:
                self.upstream.check_not_self(self.host, self.port)
            except ToolkitError:
                self._server.server_close()
                self._server = None
                raise
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
        if thread.is_alive():
            # shutdown() waits for a serve loop to end, and a thread failing at its start never
            # runs one: ask from a helper thread and wait for the server's thread itself
            threading.Thread(target=server.shutdown, name="marketap-mock:stop", daemon=True).start()
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
