"""Rung when a transaction that stored due background tasks commits.

An idle worker in the same process then claims them at once instead of at its next poll
(webhook → event applied → Salesforce write, without waiting twice for a poll). Workers in
other processes still poll; the bell only shortens the wait, it never carries work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Listener = Callable[[frozenset[str]], None]


class Doorbell:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with the task kinds of each ring; returns how to stop listening."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def ring(self, kinds: Iterable[str]) -> None:
        rung = frozenset(kinds)
        if rung:
            for listener in list(self._listeners):
                listener(rung)
