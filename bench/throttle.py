"""A TCP relay that makes loopback behave a little more like a network.

Loopback moves gigabytes a second with microsecond round trips, so a
registry on 127.0.0.1 hides what parallel downloads are for. The relay sits
between a client and the registry and, per connection:

- limits each direction to ``rate`` bytes per second (a single TCP stream
  across a real network is limited by its window and round-trip time, far
  below what the link carries in total), and
- delays the first bytes of every burst, that is of every request and of
  every response, by half of ``rtt``.

It streams (nothing is buffered beyond one piece), so it works for blobs of
any size, and needs no privileges (unlike ``tc netem``). Being Python it
costs some CPU itself; on a 2-core machine that is part of the noise.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

LOOPBACK = "127.0.0.1"
PIECE = 64 * 1024
IDLE_SECONDS = 0.002
"""A pause longer than this starts a new burst (a new request or response)."""


class ThrottledRelay:
    """Relays ``127.0.0.1:<port>`` to ``upstream`` (``host:port``); use as a
    context manager. ``host`` is the relay's ``127.0.0.1:PORT``."""

    def __init__(self, upstream: str, *, rate: float, rtt: float) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.rate = rate
        self.rtt = rtt
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(128)
        self.host = f"{LOOPBACK}:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ThrottledRelay:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and cut every relayed connection."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets.update((client, server))
            pumps = [
                threading.Thread(target=self._pump, args=pair, daemon=True)
                for pair in ((client, server), (server, client))
            ]
            for pump in pumps:
                pump.start()
            threading.Thread(target=self._reap, args=(pumps, client, server), daemon=True).start()

    def _reap(self, pumps: list[threading.Thread], *sockets: socket.socket) -> None:
        """Close a connection's sockets once both directions ended."""
        for pump in pumps:
            pump.join()
        with self._lock:
            for sock in sockets:
                self._sockets.discard(sock)
                sock.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy ``source`` to ``sink`` at ``rate``, each burst ``rtt / 2`` late."""
        last = started = 0.0
        sent = 0
        try:
            for piece in _pieces(source):
                now = time.monotonic()
                if now - last > IDLE_SECONDS:  # a new burst: latency, fresh budget
                    time.sleep(self.rtt / 2)
                    started, sent = time.monotonic(), 0
                sink.sendall(piece)
                sent += len(piece)
                # Pace: the bytes sent so far may not have taken less than sent / rate.
                ahead = started + sent / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                last = time.monotonic()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


def _pieces(source: socket.socket) -> Iterator[bytes]:
    while piece := source.recv(PIECE):
        yield piece


@contextlib.contextmanager
def relay(upstream: str, *, rate_mib: float, rtt_ms: float) -> Iterator[str]:
    """A started relay to ``upstream``; yields its ``host:port``."""
    with ThrottledRelay(upstream, rate=rate_mib * 1024 * 1024, rtt=rtt_ms / 1000) as running:
        yield running.host
