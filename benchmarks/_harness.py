"""What the benchmarks share: key → frame timing in a running app, the bare Textual app the app
benchmarks are measured beside, first-frame launches in fresh interpreters, and the engine
benchmarks' timing loops.

- ``FrameClock`` records every frame an app paints: when (``perf_counter``) and what kind
  (``LayoutUpdate`` for a full-screen frame). Internal: it wraps ``App._display`` on the app
  instance, the method every frame passes through, since Textual has no public frame event.
- ``press`` times one key through Pilot: from just before the key is sent to the first frame
  painted after it, the frames painted until the app is idle again, and the wall and
  main-thread CPU time until then.
- ``bare_app`` is the baseline: one ``Static`` that the key ``x`` rewrites (any other key is
  unbound). ``bare_presses`` times it the same way.
- ``launch`` starts netsim through its command line (or ``NetsimApp()`` alone), or a bare app
  the same way, in a fresh interpreter (``_launch.py``) and returns the moments it reached, in
  ms after the spawn; ``alternate`` runs launches in alternating rounds.
- For the engine benchmarks: ``step_times`` times ``stage.step(i)`` at random indices;
  ``interleaved`` times several functions round by round, ``in_blocks`` in blocks of calls.

Importing this module puts the checkout first on ``sys.path``, so the benchmarks run from a
checkout without installing it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE = (120, 40)
"""The terminal every app benchmark runs in, headless, unless it says otherwise."""


# -- figures -----------------------------------------------------------------------------------


def median(xs: Iterable[float]) -> float:
    """The median; NaN for no samples."""
    s = list(xs)
    return float(statistics.median(s)) if s else math.nan


def pct(xs: Iterable[float], q: float) -> float:
    """The ``q``-th percentile, linearly interpolated between samples (NumPy's default); NaN
    for no samples."""
    s = sorted(float(x) for x in xs)
    if not s:
        return math.nan
    k = (len(s) - 1) * q / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def about() -> str:
    """Python, Textual, CPUs and the terminal: the line each app benchmark starts with."""
    import textual

    return (
        f"python {platform.python_version()}, textual {textual.__version__}, "
        f"{os.cpu_count()} CPU(s), terminal {SIZE[0]}×{SIZE[1]} (headless)"
    )


# -- in a running app --------------------------------------------------------------------------


class FrameClock:
    """The frames ``app`` paints from now on: ``times`` (``perf_counter`` when each was painted)
    and ``kinds`` (the type of each update). With ``ready``, only the frames painted while
    ``ready(screen)`` is true for the screen painted. Clear it before what you time."""

    def __init__(self, app: Any, ready: Callable[[Any], bool] | None = None) -> None:
        self.times: list[float] = []
        self.kinds: list[str] = []
        display = app._display

        def timed(screen: Any, renderable: Any) -> Any:
            result = display(screen, renderable)
            if renderable is not None and (ready is None or ready(screen)):
                self.times.append(time.perf_counter())
                self.kinds.append(type(renderable).__name__)
            return result

        app._display = timed

    def clear(self) -> None:
        self.times.clear()
        self.kinds.clear()

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class Press:
    """One key pressed through Pilot and the app left to go idle."""

    ms: float
    """From just before the key was sent to the first frame painted after it; NaN if none."""
    frames: int
    """Frames painted until the app was idle."""
    wall: float
    """ms from the key to idle: mostly Pilot's waiting (at least 20 ms of sleep per wait)."""
    cpu: float
    """Main-thread CPU ms from the key to idle: the work."""
    kinds: list[str] = field(default_factory=list)
    """The kind of each frame (``LayoutUpdate``: the whole screen)."""


async def press(pilot: Any, clock: FrameClock, key: str) -> Press:
    """Press ``key`` and wait for the app to be idle; time it with ``clock``."""
    clock.clear()
    t0, c0 = time.perf_counter(), time.thread_time()
    await pilot.press(key)
    await pilot.pause()
    cpu = (time.thread_time() - c0) * 1000
    wall = (time.perf_counter() - t0) * 1000
    first = (clock.times[0] - t0) * 1000 if clock.times else math.nan
    return Press(first, len(clock), wall, cpu, list(clock.kinds))


async def presses(pilot: Any, clock: FrameClock, key: str, n: int) -> list[Press]:
    """``n`` presses of ``key``, one after the other."""
    return [await press(pilot, clock, key) for _ in range(n)]


async def against_unbound(pilot: Any, clock: FrameClock, n: int) -> dict[str, list[float]]:
    """``n`` presses of → after 3 untimed ones, then ``n`` of ``x``, which the app does not
    bind (Pilot and the event loop alone): wall and CPU ms of each (``app_…``, ``noop_…``), the
    frames each press of → painted, and how many of them were full-screen."""
    await presses(pilot, clock, "right", 3)
    moves = await presses(pilot, clock, "right", n)
    noops = await presses(pilot, clock, "x", n)
    return {
        "app_wall": [p.wall for p in moves],
        "app_cpu": [p.cpu for p in moves],
        "noop_wall": [p.wall for p in noops],
        "noop_cpu": [p.cpu for p in noops],
        "frames": [p.frames for p in moves],
        "full_frames": [p.kinds.count("LayoutUpdate") for p in moves],
    }


def bare_app() -> Any:
    """The baseline: a Textual app with one ``Static`` that ``x`` rewrites."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import Static

    class Bare(App[None]):
        BINDINGS = [Binding("x", "bump", "Bump")]

        def compose(self) -> ComposeResult:
            yield Static("0", id="n")

        def action_bump(self) -> None:
            n = self.query_one("#n", Static)
            n.update(str(int(str(n.render())) + 1))

    return Bare()


async def bare_presses(n: int) -> list[Press]:
    """``n`` presses of ``x`` in the bare app at ``SIZE``, after 2 untimed ones."""
    app = bare_app()
    clock = FrameClock(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await presses(pilot, clock, "x", 2)
        return await presses(pilot, clock, "x", n)


def netsim_app(what: Any = None) -> Any:
    """netsim's app without its PyTorch check: on the browser (None), a bundled name or a file,
    a loaded simulation, or one stage."""
    import scenarios
    from engine.core import Simulation
    from tui.app import NetsimApp

    if isinstance(what, str | Path):
        what = scenarios.load(scenarios.resolve(str(what)))
    elif what is not None and not isinstance(what, Simulation):
        what = Simulation([what], title="bench")
    return NetsimApp(what, check=False)


# -- fresh interpreters ------------------------------------------------------------------------


def launch(
    kind: str,
    argv: list[str] | None = None,
    *,
    screen: str | None = None,
    check: bool = True,
    press_after_ms: float | None = None,
    probe: str | None = None,
) -> dict[str, Any]:
    """One launch in a fresh interpreter (``_launch.py``): ``kind`` "netsim" runs
    ``tui.cli.main(argv)`` (with ``argv`` None, ``NetsimApp()`` alone: the browser without the
    command line), "bare" a Textual app with one ``Static``, all through a headless ``App.run``
    at ``SIZE``. Returns ms after the spawn: ``first_frame`` (of ``screen``, a
    type name, or of any screen), ``interpreter`` (its start-up), ``constructed`` (the app
    built, about to run), ``settled`` (idle after the first frame), ``exit`` (read by the
    parent); ``torch`` (imported by the first frame), ``child_ok`` and the last line of
    ``stderr`` if not; with ``press_after_ms``, → is pressed that long after the first frame
    and ``key_ms`` is the time to the frame that shows the next step (NaN if none came in
    10 s), ``torch_at_key`` whether torch was imported by then; and what ``probe`` (the source
    of ``probe(screen) -> dict``) returned at the first frame."""
    opts = {
        "root": str(ROOT),
        "kind": kind,
        "argv": argv,
        "size": SIZE,
        "screen": screen,
        "check": check,
        "press_after_ms": press_after_ms,
        "probe": probe,
    }
    t_spawn = time.clock_gettime(time.CLOCK_MONOTONIC)
    res = subprocess.run(
        [sys.executable, str(HERE / "_launch.py"), json.dumps(opts)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    t_exit = time.clock_gettime(time.CLOCK_MONOTONIC)
    lines = res.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{kind} launch printed nothing:\n{res.stderr[-2000:]}")
    data = json.loads(lines[-1])
    if "first_frame" not in data:
        raise RuntimeError(f"{kind} launch painted no frame:\n{res.stderr[-2000:]}")

    def ms(t: float) -> float:
        return (t - t_spawn) * 1000

    out: dict[str, Any] = {
        "first_frame": ms(data.pop("first_frame")),
        "interpreter": ms(data.pop("start")),
        "constructed": ms(data.pop("constructed")),
        "exit": ms(t_exit),
    }
    if "settled" in data:
        out["settled"] = ms(data.pop("settled"))
    if press_after_ms is not None:
        pressed, key_frame = data.pop("pressed", None), data.pop("key_frame", None)
        ok = pressed is not None and key_frame is not None
        out["key_ms"] = (key_frame - pressed) * 1000 if ok else math.nan
        out["torch_at_key"] = bool(data.pop("torch_at_key", False))
    out.update(data)
    out["child_ok"] = res.returncode == 0
    out["stderr"] = (res.stderr.strip().splitlines() or [""])[-1] if res.returncode else ""
    return out


def alternate(
    runs: int, launches: dict[str, Callable[[], dict[str, Any]]], warm: bool = True
) -> dict[str, dict[str, list[Any]]]:
    """Every launch ``runs`` times, in rounds that swap which goes first; with ``warm``, one
    discarded launch of each before (the page cache and the ``.pyc`` files). Every figure of a
    launch as a list of its runs."""
    names = list(launches)
    if warm:
        for name in names:
            launches[name]()
    samples: dict[str, dict[str, list[Any]]] = {name: {} for name in names}
    for r in range(runs):
        for name in names if r % 2 == 0 else names[::-1]:
            for key, value in launches[name]().items():
                samples[name].setdefault(key, []).append(value)
    return samples


# -- the engine alone --------------------------------------------------------------------------


def step_times(stage: Any, n: int, seed: int) -> dict[str, float]:
    """Time ``stage.step(i)`` one call at a time at ``n`` uniformly random indices, after 500
    untimed calls (caches and the allocator): median, 99th percentile and maximum, in µs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    indices = [int(i) for i in rng.integers(0, len(stage), n)]
    for i in indices[:500]:
        stage.step(i)
    clock = time.perf_counter_ns
    times = np.empty(n)
    for k, i in enumerate(indices):
        t0 = clock()
        stage.step(i)
        times[k] = clock() - t0
    times /= 1000.0  # ns -> µs
    return {
        "median": float(np.median(times)),
        "p99": float(np.percentile(times, 99)),
        "max": float(times.max()),
    }


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Each function once per round, in turn, ``repeats`` rounds; seconds per call."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def in_blocks(jobs: dict[str, Callable[[], object]], rounds: int, repeats: int) -> dict[str, float]:
    """Median ms of each job over ``rounds`` rounds in which each job runs ``repeats`` times in
    a row after one discarded call. Blocks of consecutive runs per contender, not strict
    alternation: after a call, OpenBLAS and OpenMP worker threads keep spinning for a moment and
    would slow the other library's next call on a 2-core machine."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            job()
            for _ in range(repeats):
                t0 = time.perf_counter()
                job()
                samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) * 1000.0 for name, ts in samples.items()}
