"""The HTTP server under every scripted model server: loopback, threaded, recording.

A ``ScriptedServer`` listens on 127.0.0.1 on a free port and hands each
request to an ``Api`` (one per wire format: Anthropic Messages, OpenAI
Responses, OpenAI chat completions). It records every request (method,
path, headers, JSON body) so a test can check what the real tool sent, and
it stops, with its thread, when its ``with`` block ends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import attrs


@attrs.frozen
class Request:
    """One request the server received.

    Attributes:
        method: ``GET``, ``POST``...
        path: The path, query included.
        headers: Its headers, names lower-cased.
        body: Its body decoded as JSON, or ``None`` when it had none or was not JSON.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Reply(Protocol):
    """What an ``Api`` writes back through."""

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Send a whole response."""

    def start_stream(self, status: int, headers: dict[str, str]) -> None:
        """Start a streamed response (chunked transfer encoding)."""

    def chunk(self, data: bytes) -> None:
        """Send one chunk of a streamed response."""

    def end_stream(self) -> None:
        """End a streamed response."""


class Api(Protocol):
    """One wire format: answers the requests of one tool."""

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer ``request`` through ``reply``."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = Request(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with self.server.lock:
            self.server.requests.append(request)
        self.server.api.handle(request, self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def start_stream(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: Api) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api
        self.requests: list[Request] = []
        self.lock = threading.Lock()


class ScriptedServer:
    """A loopback HTTP server answering with ``api``; use it as a context manager.

    Attributes:
        api: The wire format and the script.
    """

    def __init__(self, api: Api) -> None:
        self.api = api
        self._server = _Server(api)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in order."""
        with self._server.lock:
            return list(self._server.requests)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def sse(events: Iterator[tuple[str | None, Any]]) -> bytes:
    """Server-sent events: ``event: NAME`` (when named) and ``data: JSON`` per event."""
    out = []
    for name, data in events:
        if name is not None:
            out.append(f"event: {name}\n")
        out.append(f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n")
    return "".join(out).encode()
