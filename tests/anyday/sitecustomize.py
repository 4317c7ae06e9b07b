"""Loaded by `make test-any-day` only (it puts this folder on PYTHONPATH, so every Python
process of the run, servers included, imports it at start-up).

Debian's libfaketime 0.9.10 cannot fake the monotonic clock for Python 3.11: a timed wait
(Event.wait, Thread.join, Lock.acquire with a timeout) computes its deadline on the faked
clock and waits for it on the real one, weeks away. With FAKETIME_DONT_FAKE_MONOTONIC=1 the
waits are right, but time.sleep (clock_nanosleep with an absolute monotonic deadline) fails
with EINVAL. So sleep here waits on an event, which is right in that mode."""

import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


time.sleep = _sleep
