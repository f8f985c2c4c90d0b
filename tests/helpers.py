"""Helpers shared by the tests: one of each, imported where needed (not copied per file).

    wait_until(predicate, timeout=30, what="the topic to exist")   # bounded polling, no fixed sleeps
"""

from __future__ import annotations

import time


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "a condition"):
    """Poll `predicate()` until it returns a true value, and return that value; fail after `timeout`
    seconds with an AssertionError saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(interval)
