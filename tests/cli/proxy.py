"""TCP relays for the command line tests: one damages a byte, one paces, counts and cuts."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
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


class Relay:
    """Forwards loopback connections to ``port``, counting what clients send upstream.

    ``upstream`` counts the bytes of connections opened since the last
    :meth:`reset_count`, so what an earlier attempt still drains is not counted.
    ``rate`` paces the upstream bytes of all connections together (bytes per
    second, None: as fast as they come); :meth:`cut` resets every open
    connection on both sides, as a lost network does."""

    def __init__(self, port: int, rate: float | None = None) -> None:
        self.target = port
        self.rate = rate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream = 0  # bytes forwarded from clients to the server
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._paced = 0
        self._generation = 0
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Relay:
        self._accepting.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.listener.close()
        self.cut()
        for t in self._threads:
            t.join(timeout=5)

    def reset_count(self, rate: float | None = None) -> None:
        with self._lock:
            self.upstream = 0
            self._generation += 1
            self.rate = rate
            self._started, self._paced = time.monotonic(), 0

    def cut(self) -> None:
        """Reset (RST) every open connection."""
        with self._lock:
            sockets, self._open = self._open, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RD)  # wakes the pumps; the close below sends the RST
        for s in sockets:
            s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._open += [client, server]
                generation = self._generation
            for src, dst, up in ((client, server, True), (server, client, False)):
                args = (src, dst, generation if up else None)
                t = threading.Thread(target=self._pump, args=args, daemon=True)
                t.start()
                self._threads.append(t)

    def _pace(self, n: int, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self.upstream += n
            if self.rate is None:
                return
            self._paced += n
            due = self._started + self._paced / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _pump(self, src: socket.socket, dst: socket.socket, generation: int | None) -> None:
        """Copy one direction; an end passes on as FIN, a failure breaks both sides."""
        try:
            while data := src.recv(1 << 16):
                if generation is not None:
                    self._pace(len(data), generation)
                dst.sendall(data)
        except OSError:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
        else:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
