"""Recent attempts by key (wrong sign-ins, wrong pickup codes), in this process: what the
console slows down and locks with. Bounded: keys with nothing recent are forgotten."""

from __future__ import annotations

import time

MAX_KEYS = 10_000


class Attempts:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._at: dict[str, list[float]] = {}

    def recent(self, key: str) -> list[float]:
        now = time.monotonic()
        kept = [at for at in self._at.get(key, []) if now - at < self.window_s]
        if kept:
            self._at[key] = kept
        else:
            self._at.pop(key, None)
        return kept

    def add(self, key: str) -> int:
        """One more attempt under `key`: how many are recent now."""
        if len(self._at) >= MAX_KEYS:
            self._forget_old()
        recent = self.recent(key)
        recent.append(time.monotonic())
        self._at[key] = recent
        return len(recent)

    def take_back(self, key: str) -> None:
        """The last attempt under `key` turned out right: it does not count."""
        recent = self._at.get(key)
        if recent:
            recent.pop()

    def clear(self, key: str) -> None:
        self._at.pop(key, None)

    def _forget_old(self) -> None:
        for key in list(self._at):
            self.recent(key)
        while len(self._at) >= MAX_KEYS:  # all recent: the oldest keys go first
            self._at.pop(next(iter(self._at)))

    def backoff(self, key: str, *, free: int, longest_s: float) -> float:
        """Seconds until the next attempt under `key`: none for the first `free`, then doubling
        (1, 2, 4, ... `longest_s`) after the last one."""
        recent = self.recent(key)
        if len(recent) < free:
            return 0.0
        wait = min(longest_s, 2.0 ** (len(recent) - free))
        return max(0.0, recent[-1] + wait - time.monotonic())

    def locked(self, key: str, *, limit: int) -> float:
        """Seconds `key` stays locked: `limit` attempts in the window lock it until the first of
        them leaves the window."""
        recent = self.recent(key)
        if len(recent) < limit:
            return 0.0
        return max(0.0, recent[-limit] + self.window_s - time.monotonic())
