"""The app's long-lived heap, kept out of the way of Python's cyclic garbage collector.

A loaded simulation with its screen and panels is 100,000 objects or more (several times that
once torch is imported), and a full collection walks every one of them: 50 to 500 ms, landing
on whichever key press comes then. So once a screen has painted its first frame, everything
alive is frozen (``gc.freeze``: the collector no longer walks it; objects freed by their
reference counts are freed as before). Freezing takes no time, but what is frozen is never
collected. So when a simulation's screen is replaced (a reload, back to the list, another
layer) it is noted (``release``) and stays frozen, garbage and all, until the next collection
of everything (``collect``: unfreeze, collect, freeze again), made where a wait is visible
anyway (in the thread that loads the next file or layer), or else just after the new screen's
first frame (``settle_later``: a reload, the next layer). When the app closes, everything is
given back to the collector.

A replaced screen must also be unreachable for its cycles to be collected. Textual runs a
thread worker in the event loop's default executor and notes the worker in a context variable
of that pool thread, which outlives the work: the idle thread then holds the worker, the
worker its screen, the screen its simulation, until the thread runs another worker (after
the next screen has frozen it). ``use_fresh_contexts`` gives the loop an executor that runs
each job in a context of its own, dropped when the job ends.

This module imports nothing of the app's, so that the browser and the loading screen can use
it without bringing NumPy.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from textual.screen import Screen

RETRY_SECONDS = 0.05
"""How often a new screen looks again whether the screen it replaced has left the app (Textual
removes it after mounting the new one)."""
RETRIES = 40
"""Looks after which the new screen goes on anyway (2 s)."""
LATE_SECONDS = 1.5
"""When a released screen is still alive after the collection, how long until it is collected
again: a timer cancelled with the screen keeps the screen (through the context it was started
in) until the moment it would have fired, up to the player's 1 s file poll."""

_pending = False
"""Whether a screen has been released and not collected since."""

_released: list[weakref.ref[Any]] = []
"""The released screens not yet seen freed."""


def release(screen: Screen[Any] | None = None) -> None:
    """``screen`` is being replaced: collect it at the next ``collect``. Without a screen, the
    app has closed: give everything frozen back to the collector (another app may follow in
    the same process: tests, benchmarks)."""
    global _pending
    _pending = True
    if screen is None:
        gc.unfreeze()
    else:
        _released.append(weakref.ref(screen))


def _alive() -> list[Any]:
    """The released screens still alive (attached to the app, or held somewhere)."""
    alive = [screen for ref in _released if (screen := ref()) is not None]
    _released[:] = [weakref.ref(screen) for screen in alive]
    return alive


def _attached() -> bool:
    return any(getattr(screen, "is_attached", False) for screen in _alive())


def collect() -> None:
    """Collect everything, frozen or not (a loader's garbage, the released screens), and
    freeze what is left: 20 to 300 ms holding the interpreter's lock, so only where the user
    waits anyway (a file loading, in its thread)."""
    global _pending
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _pending = bool(_alive())


def settle(final: bool = False) -> bool:
    """Freeze what is alive after a screen's first frame, collecting everything first if a
    screen has been released. False when a released screen was still alive after the
    collection (held a moment longer: see ``LATE_SECONDS``); ``settle(final=True)`` later
    collects again and lets go of it whatever comes."""
    global _pending
    if _pending:
        collect()
    else:
        gc.collect(1)  # the young garbage of the first frame's layouts (a few ms)
        gc.freeze()
    if _pending and not final:
        return False
    _released.clear()
    _pending = False
    return True


def settle_later(screen: Screen[Any]) -> None:
    """``settle`` after ``screen``'s next frame (its first, when called as it mounts), once the
    screens it replaced have left the app; once more ``LATE_SECONDS`` later if one of them was
    still alive."""
    waits = RETRIES

    def attempt() -> None:
        nonlocal waits
        waits -= 1
        if waits > 0 and _attached():
            screen.set_timer(RETRY_SECONDS, attempt)
        elif not settle():
            screen.set_timer(LATE_SECONDS, lambda: settle(final=True))

    screen.call_after_refresh(attempt)


def freeze() -> None:
    """Freeze what is alive now (torch's objects once the PyTorch check has imported it)."""
    gc.freeze()


T = TypeVar("T")


class FreshContextExecutor(ThreadPoolExecutor):
    """A thread pool whose every job runs in a new, empty context, dropped when it ends: what
    a job sets in a context variable is not kept by the idle thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.Context().run, fn, *args, **kwargs)


def use_fresh_contexts() -> None:
    """Make the running event loop's default executor a ``FreshContextExecutor`` (Textual's
    thread workers run there)."""
    loop = asyncio.get_running_loop()
    current = getattr(loop, "_default_executor", None)  # asyncio's, not public
    if isinstance(current, FreshContextExecutor):
        return
    loop.set_default_executor(FreshContextExecutor(thread_name_prefix="netsim"))
    if current is not None:
        current.shutdown(wait=False)


def pending() -> bool:
    """Whether a released screen waits for a collection."""
    return _pending
