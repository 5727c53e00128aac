"""A TCP proxy that damages one byte on the way, to prove that damage is caught."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class CorruptingProxy:
    """Forwards loopback connections to ``port``; flips the byte at ``offset`` of the
    first connection's stream in one direction (``upstream``: client to server)."""

    def __init__(self, port: int, offset: int, upstream: bool) -> None:
        self.target = port
        self.offset = offset
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.damaged = False
        self.sent = bytearray()  # every byte clients sent upstream, as forwarded
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CorruptingProxy:
        self._accepting.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.listener.close()
        for s in self._sockets:
            s.close()
        for t in self._threads:
            t.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self._sockets += [client, server]
            damage = not self.damaged
            self.damaged = True
            for src, dst, up in ((client, server, True), (server, client, False)):
                t = threading.Thread(
                    target=self._pump, args=(src, dst, damage and up == self.upstream), daemon=True
                )
                t.start()
                self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, damage: bool) -> None:
        seen = 0
        try:
            while data := src.recv(1 << 16):
                if damage and seen <= self.offset < seen + len(data):
                    i = self.offset - seen
                    data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
                seen += len(data)
                if src.getsockname()[1] == self.port:
                    self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
