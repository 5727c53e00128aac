"""A token bucket for ``--limit-rate``: at most ``rate`` bytes a second on average (like curl)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator


class TokenBucket:
    """Each :meth:`take` of ``n`` bytes waits until the bucket has paid for them.

    The bucket holds at most ``burst`` bytes (a quarter of a second's worth by
    default), so an idle pause does not buy a long burst afterwards.
    """

    def __init__(
        self,
        rate: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be a positive number of bytes per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate // 4, 1)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()

    @property
    def piece(self) -> int:
        """A transfer piece small enough to keep the rate smooth: ~1/10 s, 16 KiB to 1 MiB."""
        return max(16 << 10, min(1 << 20, self.rate // 10))

    def take(self, n: int) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= n
        if self._tokens < 0:
            self._sleep(-self._tokens / self.rate)


def limited(pieces: Iterable[bytes], bucket: TokenBucket | None) -> Iterator[bytes]:
    """``pieces``, each paid for from ``bucket`` before it is passed on."""
    for data in pieces:
        if bucket is not None:
            bucket.take(len(data))
        yield data
