"""The app's long-lived heap, kept out of the way of Python's cyclic garbage collector.

A loaded simulation with its screen and panels is 100,000 objects or more (several times that
once torch is imported), and a full collection walks every one of them: 50 to 500 ms, landing
on whichever key press comes then. So once a screen has painted its first frame, everything
alive is frozen (``gc.freeze``: the collector no longer walks it; objects freed by their
reference counts are freed as before). Freezing takes no time, but what is frozen is never
collected. So when a simulation's screen is replaced (a reload, back to the list, another
layer) it is noted (``release``) and stays frozen, garbage and all, until the next collection
of everything (``collect``: unfreeze, collect, freeze again), made where a wait is visible
anyway (in the thread that loads the next file or layer), or else (a reload, ``]`` / ``[`` to
the next layer) once the user stops pressing keys a moment after the new screen's first frame
(``settle_later``). When the app closes, everything is given back to the collector.

What is not frozen still grows as keys are pressed: strips cached for lines drawn, each with
its own small caches, 50,000 objects or more after a few hundred keys. Python makes a full
collection after ten collections of the middle generation, one every forty presses or so,
and it walks all of them: 20 to 65 ms on that press. ``quiet_full_collections`` makes Python
wait ten times longer, and the app makes the collection Python would have made in a moment
when no key is being pressed (``collect_when_idle``), whichever screen is on top.

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

LATE_SECONDS = 1.5
"""How long after a new screen's first frame the screen it replaced is collected, when no file
load has collected it: a timer cancelled with the old screen keeps it (through the context the
timer was started in) until the moment it would have fired, up to the player's 1 s file poll;
collected before, it would stay frozen."""
IDLE_POLL_SECONDS = 0.1
"""How often a late collection looks again whether the user has stopped pressing keys."""

FULL_EVERY = 100
"""Collections of the middle generation before Python makes a full collection by itself
(its own threshold is ten): during a long run of keys or playback, memory held by garbage in
cycles is freed ten times less often."""
IDLE_FULL_AFTER = 10
"""Collections of the middle generation since the last full one after which an idle moment
makes a full one: when Python itself would have made it."""

_threshold: tuple[int, int, int] | None = None
"""Python's thresholds before ``quiet_full_collections``."""

_pending = False
"""Whether a screen has been released and not collected since."""

_released: list[weakref.ref[Any]] = []
"""The released screens not yet seen freed."""


def release(screen: Screen[Any] | None = None) -> None:
    """``screen`` is being replaced: collect it at the next ``collect``. Without a screen, the
    app has closed: give everything frozen back to the collector (another app may follow in
    the same process: tests, benchmarks)."""
    global _pending, _threshold
    _pending = True
    if screen is None:
        gc.unfreeze()
        if _threshold is not None:
            gc.set_threshold(*_threshold)
            _threshold = None
    else:
        _released.append(weakref.ref(screen))


def _alive() -> list[Any]:
    """The released screens still alive (attached to the app, or held somewhere)."""
    alive = [screen for ref in _released if (screen := ref()) is not None]
    _released[:] = [weakref.ref(screen) for screen in alive]
    return alive


def collect() -> None:
    """Collect everything, frozen or not (a loader's garbage, the released screens), and
    freeze what is left: 20 to 300 ms holding the interpreter's lock, so only where the user
    waits anyway (a file loading, in its thread) or does nothing."""
    global _pending
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _pending = bool(_alive())


def settle_later(screen: Screen[Any], idle: Callable[[], bool] | None = None) -> None:
    """After ``screen``'s next frame (its first, when called as it mounts), freeze what is alive
    (a collection of the youngest objects first: a few ms). If a released screen has not been
    collected by then, ``collect`` ``LATE_SECONDS`` later, as soon as ``idle()`` says no key
    is being pressed, and once more as late again if the screen was still alive."""

    def late(final: bool) -> None:
        global _pending
        if not _pending:
            return  # a file load collected it meanwhile
        if idle is not None and not idle():
            screen.set_timer(IDLE_POLL_SECONDS, lambda: late(final))
            return
        collect()
        if _pending and not final:
            screen.set_timer(LATE_SECONDS, lambda: late(True))
        elif _pending:  # held somewhere for good: let go of it
            _released.clear()
            _pending = False

    def first() -> None:
        gc.collect(1)  # the young garbage of the first frame's layouts
        gc.freeze()
        if _pending:
            screen.set_timer(LATE_SECONDS, lambda: late(False))

    screen.call_after_refresh(first)


def quiet_full_collections() -> None:
    """Let Python make a full collection by itself only every ``FULL_EVERY`` collections of
    the middle generation (until ``release()``)."""
    global _threshold
    if _threshold is None:
        _threshold = gc.get_threshold()
        gc.set_threshold(_threshold[0], _threshold[1], FULL_EVERY)


def collect_when_idle() -> bool:
    """Make the full collection of what is not frozen that Python would have made by now
    with its own threshold, if any (call it when no key is being pressed). Whether it did."""
    if gc.get_count()[2] < IDLE_FULL_AFTER:
        return False
    gc.collect(2)
    return True


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
