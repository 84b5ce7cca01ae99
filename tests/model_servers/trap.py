"""A proxy that lets nothing through and remembers who tried: no test reaches the internet.

Point a tool's ``HTTPS_PROXY`` and ``HTTP_PROXY`` at an ``OutboundTrap`` (and
``NO_PROXY`` at the loopback, where the scripted model server is): every
connection the tool tries to make elsewhere (telemetry, update checks,
feature flags) arrives here as a ``CONNECT host:443`` or a plain request,
is recorded in ``attempts``, and is closed unanswered. A test asserts
``attempts`` stays empty.
"""

from __future__ import annotations

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("utf-8", errors="replace").strip()
        with self.server.lock:
            self.server.attempts.append(line)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.attempts: list[str] = []
        self.lock = threading.Lock()


class OutboundTrap:
    """A loopback proxy recording the first line of every connection; a context manager."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the value for ``HTTPS_PROXY`` and ``HTTP_PROXY``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def attempts(self) -> list[str]:
        """The first line of every connection tried (``CONNECT api.example.com:443 HTTP/1.1``)."""
        with self._server.lock:
            return list(self._server.attempts)

    def environment(self) -> dict[str, str]:
        """The proxy variables that send everything but the loopback here."""
        return {"HTTPS_PROXY": self.url, "HTTP_PROXY": self.url, "NO_PROXY": "127.0.0.1,localhost"}

    def __enter__(self) -> OutboundTrap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
