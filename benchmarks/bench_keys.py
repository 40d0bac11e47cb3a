"""Key press → painted frame in every bundled scenario and at the largest sizes the limits
allow, beside a bare Textual app's key → frame; playback speed; the player's first frame.

Run from the repository root::

    python benchmarks/bench_keys.py                  # every scenario, about 6 to 9 minutes
    python benchmarks/bench_keys.py --quick          # fewer presses, no large sizes
    python benchmarks/bench_keys.py --only lstm_gates conv_vertical_edge

For each scenario the app is opened headless at 120×40 without the PyTorch check, and the
arrow keys step through it (→ until the last step, then ←). A press is timed from just before
Pilot sends the key to the first frame painted after it; the frames painted until the app is
idle again are counted. After every scenario a bare Textual app (one Static that a key
rewrites) is timed the same way in the same process, so each scenario has a baseline measured
beside it and the ratio says how much slower netsim is than Textual itself on that machine at
that moment. A whole network opens on its layer table: ↓ moves the table's cursor there, and
its first layer is then opened in the player and stepped like any other stage.

The large sizes are temporary scenario files: a 3×224×224 input through 64 filters of 3×3,
the largest input a conv accepts (3×3426×3426 through one 3×3 filter: its output and the
PyTorch check just fit in 1 GiB), the most filters over the largest input that still fits
with 64 filters (3×626×626), and an LSTM with 128 hidden units over 200 time steps.

Playback sets the speed to 60 steps/s, presses space and counts the steps shown in two
seconds of wall time.

The first frame of ``netsim scenarios/conv_vertical_edge.toml`` (the command line's own path:
``tui.cli.main`` in a fresh interpreter, the app headless at 120×40, run as in a terminal: the
player's frame painted while the file loads) is compared with a bare app's, launched the same
way, alternating; the moment the loaded panel is painted is reported beside it. The first key
after opening: the same command line with the PyTorch check on, → pressed 30 ms after the
loaded panel is painted, timed to the frame that shows it (a fresh interpreter each time, so
torch is not imported yet).

Figures that rely on Textual internals: the moment a frame is painted and the frames per key
(a wrapper around ``App._display`` on the app instance). The figures go into
docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import (
    ROOT,
    SIZE,
    FrameClock,
    about,
    alternate,
    bare_presses,
    launch,
    median,
    netsim_app,
    pct,
    press,
)

TARGET_MS = 16.0
"""One frame at 60 Hz: the issue's target for a key press at p95."""
PLAYBACK_SPEED = 60.0

LARGE = {
    "large_conv_3x224x224_f64": """\
kind = "conv"
title = "3×224×224 through 64 filters"
input = { random = [3, 224, 224], seed = 0 }
kernels = { random = [64, 3, 3, 3], seed = 1 }
""",
    "large_conv_3x626x626_f64": """\
kind = "conv"
title = "3×626×626 through 64 filters (the most that fit)"
input = { random = [3, 626, 626], seed = 0 }
kernels = { random = [64, 3, 3, 3], seed = 1 }
""",
    "large_conv_3x3426x3426_f1": """\
kind = "conv"
title = "3×3426×3426 through one filter (the largest input that fits)"
input = { random = [3, 3426, 3426], seed = 0 }
kernels = { random = [1, 3, 3, 3], seed = 1 }
""",
    "large_lstm_128": """\
kind = "recurrent"
title = "LSTM, 128 hidden units"
cell = "lstm"
hidden_size = 128
seed = 5
input = { random = [200, 64], seed = 4, low = -1, high = 1, integer = false }
""",
}

PLAYBACK = ["conv_parameter_sharing", "large_conv_3x224x224_f64", "large_lstm_128"]
"""Scenarios whose playback speed is measured (each has hundreds of steps or more)."""


class FullCollections:
    """The full (generation 2) collections of Python's cyclic garbage collector from now on:
    ms each took (``gc.callbacks``). Clear it before what you time; ``close`` when done."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.ms.append((time.perf_counter() - self._start) * 1000)

    def close(self) -> None:
        gc.callbacks.remove(self._note)


async def step_presses(pilot: Any, clock: FrameClock, n: int) -> dict[str, list[float]]:
    """``n`` timed presses of → (← once the last step is reached) in the player on screen;
    ``gc_ms``: for each press with a full collection of the garbage collector, its ms."""
    screen = pilot.app.screen
    total = len(screen.simulation)
    out: dict[str, list[float]] = {"ms": [], "frames": [], "no_frame": [], "gc_ms": []}
    collections = FullCollections()
    direction = 1
    for k in range(n + 3):
        if screen.cursor >= total - 1:
            direction = -1
        elif screen.cursor <= 0:
            direction = 1
        collections.ms.clear()
        p = await press(pilot, clock, "right" if direction > 0 else "left")
        if k < 3:  # warm-up: first use of a widget's caches
            continue
        if collections.ms:
            out["gc_ms"].append(sum(collections.ms))
        if p.frames:
            out["ms"].append(p.ms)
            out["frames"].append(p.frames)
        else:
            out["no_frame"].append(1)
    collections.close()
    return out


async def _scenario(path: Path, presses: int) -> dict[str, Any]:
    import scenarios
    from tui.screens.player import PlayerScreen

    t0 = time.perf_counter()
    sim = scenarios.load(path)
    out: dict[str, Any] = {"load_s": time.perf_counter() - t0, "steps": len(sim)}
    app = netsim_app(sim)
    clock = FrameClock(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        stage0: Any = sim.stages[0]
        if not isinstance(app.screen, PlayerScreen):
            # The layer table: ↓ moves the cursor (the layer's maps are computed in a worker).
            table = app.screen
            ms, counts = [], []
            for k in range(min(presses, len(stage0.network.layers) - 1) + 2):
                p = await press(pilot, clock, "down")
                if k >= 2 and p.frames:
                    ms.append(p.ms)
                    counts.append(p.frames)
            out["table"] = {"ms": ms, "frames": counts}
            await app.workers.wait_for_complete()
            name = stage0.network.layers[0].name
            table.open_layer(name)  # type: ignore[attr-defined]
            t1 = time.perf_counter()
            while not isinstance(app.screen, PlayerScreen):
                await pilot.pause(0.05)
                if time.perf_counter() - t1 > 300:
                    raise RuntimeError(f"{name} did not open in the player")
            await pilot.pause()
            out["layer"] = name
            out["layer_steps"] = len(app.screen.simulation)
        out.update(await step_presses(pilot, clock, presses))
    return out


async def _bare(presses: int) -> dict[str, list[float]]:
    timed = [p for p in await bare_presses(presses) if p.frames]
    return {"ms": [p.ms for p in timed], "frames": [p.frames for p in timed]}


async def _playback(path: Path, seconds: float) -> dict[str, float]:
    import scenarios

    sim = scenarios.load(path)
    app = netsim_app(sim)
    clock = FrameClock(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.speed = PLAYBACK_SPEED  # type: ignore[attr-defined]
        # From the first step: a scenario that opens further on (an LSTM opens at its last
        # time step) would run out of steps and stop, and the time after would count as slow.
        screen.cursor = 0  # type: ignore[attr-defined]
        await pilot.pause()
        while screen.settling:  # type: ignore[attr-defined]  # a change of stage being painted
            await pilot.pause(0.01)
        start = screen.cursor  # type: ignore[attr-defined]
        clock.clear()
        t0 = time.perf_counter()
        await pilot.press("space")
        while time.perf_counter() - t0 < seconds and screen.playing:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        steps = screen.cursor - start  # type: ignore[attr-defined]
        wall = time.perf_counter() - t0
        n_frames = len(clock)
        if screen.playing:  # type: ignore[attr-defined]
            await pilot.press("space")
        await pilot.pause()
    return {"steps_per_s": steps / wall, "frames_per_s": n_frames / wall, "total": len(sim)}


# -- fresh interpreters: the first frame and the first key -----------------------------------


def bench_first_frame(runs: int, scenario: str) -> dict[str, dict[str, list[Any]]]:
    """netsim's first frame on ``scenario`` and a bare app's, launched the same way."""
    return alternate(
        runs, {"netsim": lambda: launch("netsim", [scenario]), "minimal": lambda: launch("bare")}
    )


def bench_first_key(runs: int, scenario: str, after_ms: float) -> dict[str, dict[str, list[Any]]]:
    """The first key with the PyTorch check on and off, alternating."""

    def first_key(check: bool) -> Callable[[], dict[str, Any]]:
        return lambda: launch("netsim", [scenario], check=check, press_after_ms=after_ms)

    return alternate(runs, {"check": first_key(True), "no_check": first_key(False)}, warm=False)


# -- report -----------------------------------------------------------------------------------


def scenario_files(only: list[str], large: bool, tmp: Path) -> list[tuple[str, Path]]:
    files = [(p.stem, p) for p in sorted((ROOT / "scenarios").glob("*.toml"))]
    if large:
        for name, text in LARGE.items():
            path = tmp / f"{name}.toml"
            path.write_text(text, encoding="utf-8")
            files.append((name, path))
    if only:
        files = [(n, p) for n, p in files if any(o in n for o in only)]
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20, help="timed key presses per scenario")
    parser.add_argument("--bare", type=int, default=8, help="bare-app presses after each")
    parser.add_argument("--runs", type=int, default=6, help="launches for the first frame")
    parser.add_argument("--quick", action="store_true", help="8 presses, no large sizes")
    parser.add_argument("--no-large", action="store_true", help="bundled scenarios only")
    parser.add_argument("--no-startup", action="store_true", help="skip the fresh launches")
    parser.add_argument("--only", nargs="*", default=[], help="scenario names (substrings)")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args()
    if args.quick:
        args.presses, args.bare, args.runs, args.no_large = 8, 5, 3, True

    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {about()}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    results: dict[str, Any] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        files = scenario_files(args.only, not args.no_large, Path(tmp))
        head = (
            f"{'scenario':<34} {'steps':>9} {'median':>7} {'p95':>7} {'bare':>5} "
            f"{'ratio':>6} {'frames/key':>10}  note"
        )
        print("Key → first painted frame, ms (netsim median and p95; bare app median beside it)")
        print(head)
        print("-" * len(head))
        for name, path in files:
            try:
                r = asyncio.run(_scenario(path, args.presses))
            except Exception as e:  # report and go on: one scenario must not stop the run
                print(f"{name:<34} failed: {type(e).__name__}: {e}")
                continue
            bare = asyncio.run(_bare(args.bare))
            r["bare"] = bare
            results[name] = r
            ms, fr = r["ms"], r["frames"]
            b, med = median(bare["ms"]), median(ms)
            frames_text = f"{min(fr):.0f}–{max(fr):.0f}" if fr else "-"
            note = []
            if "layer" in r:
                t = r["table"]["ms"]
                note.append(
                    f"table ↓ {median(t):.1f}/{pct(t, 95):.1f} ms, "
                    f"{max(r['table']['frames'])} frames; layer {r['layer']}"
                )
            if r["gc_ms"]:
                note.append(
                    f"{len(r['gc_ms'])} presses with a full collection "
                    f"(up to {max(r['gc_ms']):.0f} ms)"
                )
            if r["no_frame"]:
                note.append(f"{len(r['no_frame'])} presses painted nothing")
            if r["load_s"] > 1:
                note.append(f"load {r['load_s']:.1f} s")
            print(
                f"{name:<34} {r.get('layer_steps', r['steps']):>9,} {med:>7.1f} "
                f"{pct(ms, 95):>7.1f} {b:>5.1f} {med / b:>5.1f}× {frames_text:>10}  "
                + "; ".join(note),
                flush=True,
            )

        print(f"\nPlayback set to {PLAYBACK_SPEED:g} steps/s, 2 s each from the first step")
        for name, path in files:
            if name not in PLAYBACK:
                continue
            pb = asyncio.run(_playback(path, 2.0))
            results.setdefault(name, {})["playback"] = pb
            print(
                f"{name:<34} {pb['steps_per_s']:5.1f} steps/s, "
                f"{pb['frames_per_s']:5.1f} frames/s painted",
                flush=True,
            )

    if not args.no_startup:
        scenario = "scenarios/conv_vertical_edge.toml"
        ff = bench_first_frame(args.runs, scenario)
        net, bare_ff = ff["netsim"]["first_frame"], ff["minimal"]["first_frame"]
        ratios = [a / b for a, b in zip(net, bare_ff, strict=True)]
        results["first_frame"] = ff
        a, b = median(net), median(bare_ff)
        loaded = [
            f + after
            for f, after in zip(net, ff["netsim"].get("loaded_after_first_ms", net), strict=True)
        ]
        numpy_first = sum(ff["netsim"].get("numpy", []))
        print(
            f"\nFirst frame, `netsim {scenario}` vs a bare app, {args.runs} alternating launches: "
            f"{a:.0f} vs {b:.0f} ms (medians), ratio {a / b:.2f}× "
            f"(paired ratios {min(ratios):.2f}–{max(ratios):.2f}×; target ≤ 1.5×); first "
            f"screen {', '.join(sorted(set(ff['netsim'].get('first_screen', ['?']))))}, NumPy "
            f"imported by then in {numpy_first} of {len(net)}; the loaded panel painted at "
            f"{median(loaded):.0f} ms (median; {median(loaded) / b:.2f}× the bare first frame)"
        )
        keys = bench_first_key(args.runs, scenario, after_ms=30)
        results["first_key"] = keys
        on = [ms for ms in keys["check"]["key_ms"] if ms == ms]  # NaN: no key frame
        off = [ms for ms in keys["no_check"]["key_ms"] if ms == ms]
        torch = keys["check"]["torch_at_key"]
        print(
            f"First key after opening (→ 30 ms after the first frame), {args.runs} launches "
            f"each, alternating: PyTorch check on: median {median(on):.0f} ms, max "
            f"{max(on):.0f} ms; check off: median {median(off):.0f} ms, max "
            f"{max(off):.0f} ms; torch imported when the key's frame was painted: "
            f"{sum(torch)} of {len(torch)}"
        )
    print(f"\nwhole run {time.perf_counter() - t_all:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, default=float, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
