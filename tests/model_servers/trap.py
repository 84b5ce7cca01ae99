"""A proxy on 127.0.0.1 that refuses everything and remembers who tried: proof of no internet.

A tool run with ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` pointing at a
``NetworkTrap`` (and ``NO_PROXY`` naming loopback, so that the scripted model
server is reached directly) sends every attempt to reach anything else here
first: ``CONNECT raw.githubusercontent.com:443 HTTP/1.1`` for HTTPS, ``GET
http://...`` for plain HTTP. The trap records that first line and answers 403,
so the attempt fails at once instead of waiting on a network that is not
there. A test asserts ``trap.attempts == []``. (Tools that ignore the proxy
variables escape it; the ones here, Python's ``requests``, ``httpx`` and
``urllib``, honour them.)
"""

from __future__ import annotations

import socketserver
import threading

REFUSAL = b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").strip()
        with self.server.lock:
            self.server.attempts.append(line)
        self.wfile.write(REFUSAL)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.attempts: list[str] = []
        self.lock = threading.Lock()


class NetworkTrap:
    """The refusing proxy; use it as a context manager."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def attempts(self) -> list[str]:
        """The first line of every request that reached the trap, in order."""
        with self._server.lock:
            return list(self._server.attempts)

    def env(self) -> dict[str, str]:
        """Proxy variables sending everything but loopback here (both spellings)."""
        names = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
        proxies = {n: self.url for name in names for n in (name, name.lower())}
        return {**proxies, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def __enter__(self) -> NetworkTrap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
