"""Failed sign-ins: a delay on each, and a lock-out after too many for one name or address.

Per process (each gunicorn worker counts its own), which bounds guessing to
workers × MAX_FAILURES per window; the argon2 hash makes each guess slow as well.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
FAILURE_DELAY_SECONDS = 0.5


class SignInLimiter:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 delay: float = FAILURE_DELAY_SECONDS, clock=time.monotonic, sleep=time.sleep):
        self.max_failures, self.window, self.delay = max_failures, window, delay
        self._clock, self._sleep = clock, sleep
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque:
        failures, cutoff = self._failures[key], self._clock() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def retry_after(self, *keys: str) -> int:
        """Seconds until a locked-out name or address may try again (0: not locked out)."""
        with self._lock:
            waits = [self._recent(k)[0] + self.window - self._clock() for k in keys
                     if len(self._recent(k)) >= self.max_failures]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._recent(key).append(self._clock())
        self._sleep(self.delay)

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)
