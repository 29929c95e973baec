"""Sliding-window rate limits, used to slow down password guessing at sign-in.

The counts live in this process's memory. That is right for one process; a deployment that
runs several worker processes or machines gives each its own counts, so an attacker gets the
limit once per process. Such a deployment needs the counts in a shared store (Redis, or a
database table) behind the same ``SlidingWindowLimiter`` methods -- a later piece of work.

Behind a reverse proxy the client address is the proxy's unless the server is told to trust
``X-Forwarded-For`` from it (uvicorn ``--proxy-headers --forwarded-allow-ips``); without that,
every person shares one address and one limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]

SIGN_IN_WINDOW_SECONDS = 15 * 60
SIGN_IN_ATTEMPTS_PER_ADDRESS = 10
# Above the account lockout (5 wrong in a row), so a person mistyping their own password sees
# "your account is locked" and whom to ask, rather than a wait; the lockout stops guessing at
# a real account, and this limit slows guessing at an address once an administrator unlocks it.
SIGN_IN_ATTEMPTS_PER_EMAIL = 10
# Forget keys whose attempts have all expired once the table grows this big, so that guesses
# spread over many addresses or emails cannot grow memory without bound.
_SWEEP_AT = 10_000


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds; thread-safe.

    Each key keeps the times of its last ``limit`` hits; a hit is refused while the oldest of
    them is younger than the window. Refused hits are not counted, so someone who waits is let
    back in when the window has moved on, however often they tried meanwhile.
    """

    def __init__(self, *, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs a limit of at least 1 and a positive window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        with self._lock:
            return self._retry_after(key, self._clock())

    def _retry_after(self, key: str, now: float) -> float | None:
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return None
        return hits[0] + self.window - now

    def record(self, key: str) -> None:
        """Count a hit for ``key`` now."""
        with self._lock:
            now = self._clock()
            if len(self._hits) >= _SWEEP_AT:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque(maxlen=self.limit))
            hits.append(now)

    def forget_one(self, key: str) -> None:
        """Take back the latest hit for ``key`` (the attempt turned out to be legitimate)."""
        with self._lock:
            hits = self._hits.get(key)
            if hits:
                hits.pop()

    def _sweep(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not self._recent(k, now)]:
            del self._hits[key]


class SignInLimiter:
    """Sign-in attempts limited per client address and per email address.

    ``attempt`` counts an attempt against both, or refuses it without counting; a successful
    sign-in is then taken back with ``succeeded``, so that an office behind one address is not
    shut out by its own staff signing in, and only failures use up the limit.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        window: float = SIGN_IN_WINDOW_SECONDS,
        per_address: int = SIGN_IN_ATTEMPTS_PER_ADDRESS,
        per_email: int = SIGN_IN_ATTEMPTS_PER_EMAIL,
    ) -> None:
        self.window = window
        self._lock = threading.Lock()
        self.by_address = SlidingWindowLimiter(limit=per_address, window=window, clock=clock)
        self.by_email = SlidingWindowLimiter(limit=per_email, window=window, clock=clock)

    def attempt(self, address: str, email: str) -> int | None:
        """None if the attempt may go ahead (and it is counted), else whole seconds to wait."""
        email = email.strip().lower()
        # One lock over both limiters, so concurrent attempts cannot each pass the check before
        # any of them is counted.
        with self._lock:
            waits = [
                wait
                for wait in (self.by_address.retry_after(address), self.by_email.retry_after(email))
                if wait is not None
            ]
            if waits:
                return max(1, math.ceil(max(waits)))
            self.by_address.record(address)
            self.by_email.record(email)
            return None

    def succeeded(self, address: str, email: str) -> None:
        """Take back the attempt just counted for a sign-in that worked."""
        with self._lock:
            self.by_address.forget_one(address)
            self.by_email.forget_one(email.strip().lower())
