"""Terminal app benchmarks: start-up to the first frame, and the cost of moving the cursor.

Run from the repository root::

    python benchmarks/bench_tui.py            # full run, about 25 s
    python benchmarks/bench_tui.py --quick    # fewer runs and steps

Start-up compares ``netsim``'s scenario browser (``NetsimApp()``) with a minimal Textual app
(one Static), both launched the same way in fresh interpreters, alternating
(``_harness.launch``). The cursor figures step the
player through a 28×28 single-channel convolution. The figures go into docs/performance.md by
hand.

Three figures rely on Textual internals and are labelled "internal" in the output: the moment
a frame is painted (a wrapper around ``App._display`` on the app instance, the method every
frame passes through), the number of frames per step (same wrapper), and the full-screen
compositor render (``screen._compositor.render_update(full=True)``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import (
    SIZE,
    FrameClock,
    about,
    against_unbound,
    alternate,
    launch,
    median,
    netsim_app,
    pct,
)

STARTUP_RATIO_TARGET = 1.5
CURSOR_MEDIAN_TARGET_MS = 2.0

SCENARIO = """\
kind = "conv"
title = "28x28"
input = { random = [28, 28], seed = 0 }
kernel = "sobel_x"
padding = "same"
"""


# -- start-up ----------------------------------------------------------------------------------


def bench_startup(runs: int) -> dict[str, dict[str, list]]:
    """netsim's browser (``NetsimApp()``) and the bare app, launched the same way: the first
    frame of the screen each opens on."""
    return alternate(
        runs,
        {
            "netsim": lambda: launch("netsim", None, screen="BrowserScreen"),
            "minimal": lambda: launch("bare", screen="Screen"),
        },
    )


# -- cursor re-render --------------------------------------------------------------------------


async def _cursor(scenario: Path, steps: int, app_steps: int, full_renders: int) -> dict:
    from textual.geometry import Region
    from textual.widgets import Static

    import scenarios
    from tui.widgets.matrix import MatrixGrid
    from tui.widgets.timeline import Timeline

    sim = scenarios.load(scenario)
    warmup = 50
    if len(sim) < warmup + steps + app_steps * 2 + 1:
        raise ValueError(f"the scenario has {len(sim)} steps, too few for this run")
    app = netsim_app(sim)
    frames = FrameClock(app)  # the frames painted (internal)

    out: dict = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        grids = list(screen.query(MatrixGrid))
        inspector = screen.query_one("#inspector", Static)
        timeline = screen.query_one(Timeline)
        # What the compositor does for a widget that changed: render_lines over its whole region
        # (border, padding, the widget's own render_line for every line, line filters).
        changed = [*grids, inspector]
        names = [w.id or type(w).__name__ for w in changed]
        crops = {w: Region(0, 0, *w.outer_size) for w in (*changed, timeline)}
        out["widgets"] = {
            n: f"{w.outer_size.width}×{w.outer_size.height}"
            for n, w in zip(names, changed, strict=True)
        }

        clock = time.perf_counter_ns
        push, render, per_widget, tl = [], [], {n: [] for n in names}, []
        for k in range(warmup + steps):
            t0 = clock()
            screen.cursor += 1  # watch_cursor → panel.show(step), synchronously
            t1 = clock()
            parts = []
            for w in changed:
                a = clock()
                w.render_lines(crops[w])
                parts.append(clock() - a)
            t2 = clock()
            timeline.render_lines(crops[timeline])
            t3 = clock()
            if k >= warmup:
                push.append(t1 - t0)
                render.append(t2 - t1)
                tl.append(t3 - t2)
                for n, p in zip(names, parts, strict=True):
                    per_widget[n].append(p)
        to_ms = 1e-6
        push_a, render_a = np.array(push) * to_ms, np.array(render) * to_ms
        total = push_a + render_a
        out["push"] = push_a
        out["render"] = render_a
        out["total"] = total
        out["timeline"] = np.array(tl) * to_ms
        out["with_timeline"] = total + out["timeline"]
        out["per_widget"] = {n: np.array(v) * to_ms for n, v in per_widget.items()}
        await pilot.pause()

        # Whole app: a key press through Textual's event loop, bindings and compositor. Pilot
        # waits for idle (≥ 20 ms of sleep per wait), so wall time is mostly waiting; CPU time
        # of the main thread is the work. An unbound key gives the Pilot/event-loop baseline.
        out.update(await against_unbound(pilot, frames, app_steps))

        # Full-screen compositor render of the current screen (internal API).
        compositor = screen._compositor
        compositor.render_update(full=True)
        full = []
        for _ in range(full_renders):
            t0 = clock()
            compositor.render_update(full=True)
            full.append((clock() - t0) * to_ms)
        out["full_render"] = full
        out["steps"] = len(sim)
    return out


def bench_cursor(steps: int, app_steps: int, full_renders: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conv_28x28.toml"
        path.write_text(SCENARIO, encoding="utf-8")
        return asyncio.run(_cursor(path, steps, app_steps, full_renders))


# -- report ------------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, str, str, str]], head: tuple[str, str, str, str]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    fmt = f"{{:<{widths[0]}}}  {{:>{widths[1]}}}  {{:>{widths[2]}}}  {{}}"
    print(fmt.format(*head))
    print(fmt.format(*("-" * w for w in widths)))
    for r in rows:
        print(fmt.format(*r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="start-up runs per app")
    parser.add_argument("--steps", type=int, default=500, help="cursor steps to time")
    parser.add_argument("--app-steps", type=int, default=50, help="key presses through Pilot")
    parser.add_argument("--quick", action="store_true", help="3 runs, 100 steps, 10 key presses")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.steps, args.app_steps = 3, 100, 10

    print(about() + "\n")

    # Start-up ---------------------------------------------------------------------------------
    st = bench_startup(args.runs)
    net, mini = st["netsim"], st["minimal"]
    print(f"App start-up: netsim browser vs minimal Textual app, {args.runs} runs each, medians")
    rows = []
    for key, label in (
        ("first_frame", "spawn → first frame (internal hook)"),
        ("interpreter", "  of which: interpreter start-up"),
        ("constructed", "spawn → imports done, app built"),
        ("settled", "spawn → idle after first frame (Pilot)"),
        ("exit", "spawn → process exit (parent wall)"),
    ):
        a, b = median(net[key]), median(mini[key])
        target = f"≤ {STARTUP_RATIO_TARGET}×" if key == "first_frame" else ""
        rows.append((label, f"{a:.0f} ms", f"{b:.0f} ms", f"{a / b:.2f}×  {target}".rstrip()))
    print_table(rows, ("measure", "netsim", "minimal", "ratio"))
    spread = (min(net["first_frame"]), max(net["first_frame"]))
    spread_m = (min(mini["first_frame"]), max(mini["first_frame"]))
    print(
        f"first frame range: netsim {spread[0]:.0f}–{spread[1]:.0f} ms, "
        f"minimal {spread_m[0]:.0f}–{spread_m[1]:.0f} ms"
    )
    torch_first = any(net["torch"])
    torch_settled = any(net["torch_settled"])
    print(
        f"torch in sys.modules at netsim's first frame: {'YES' if torch_first else 'no'} "
        f"(after settling: {'yes' if torch_settled else 'no'}); "
        f"child assertions {'passed' if all(net['child_ok']) else 'FAILED'}\n"
    )
    for message in sorted({m for m in net["stderr"] if m}):
        print(f"netsim child: {message}")

    # Cursor -----------------------------------------------------------------------------------
    cur = bench_cursor(args.steps, args.app_steps, full_renders=50)
    print(
        f"Cursor re-render: 28×28 input, sobel_x, padding same ({cur['steps']} steps), "
        f"{args.steps} steps timed, ms"
    )
    print("widgets (outer size): " + ", ".join(f"{k} {v}" for k, v in cur["widgets"].items()))

    rows = [
        ("cursor += 1 (watch_cursor → panel.show)", cur["push"]),
        ("render_lines: grids + inspector", cur["render"]),
        ("one step: push + render (target)", cur["total"]),
        *((f"  render_lines {n}", a) for n, a in cur["per_widget"].items()),
        ("  render_lines timeline (not in total)", cur["timeline"]),
        ("one step incl. timeline", cur["with_timeline"]),
    ]
    table = []
    for label, a in rows:
        target = f"≤ {CURSOR_MEDIAN_TARGET_MS:g} ms" if "(target)" in label else ""
        table.append((label, f"{np.median(a):.2f}", f"{pct(a, 95):.2f}", target))
    print_table(table, ("measure", "median", "p95", "target"))

    print(f"\nWhole app: Pilot key press + pause, {args.app_steps} presses, medians")
    a_wall, a_cpu = median(cur["app_wall"]), median(cur["app_cpu"])
    n_wall, n_cpu = median(cur["noop_wall"]), median(cur["noop_cpu"])
    rows = [
        ("press('right') + pause(): wall", f"{a_wall:.1f} ms", f"{n_wall:.1f} ms", ""),
        ("press('right') + pause(): main-thread CPU", f"{a_cpu:.1f} ms", f"{n_cpu:.1f} ms", ""),
        ("CPU of the step beyond an unbound key", f"{a_cpu - n_cpu:.1f} ms", "", ""),
        (
            "frames painted per step (internal)",
            f"{median(cur['frames']):.0f}",
            "",
            f"of which full-screen: {median(cur['full_frames']):.0f}",
        ),
        (
            "full-screen compositor render (internal)",
            f"{median(cur['full_render']):.2f} ms",
            "",
            "render_update(full=True)",
        ),
    ]
    print_table(rows, ("measure", "'right'", "'x' (unbound)", "note"))

    misses = []
    if median(net["first_frame"]) / median(mini["first_frame"]) > STARTUP_RATIO_TARGET:
        misses.append("start-up ratio")
    if torch_first or not all(net["child_ok"]):
        misses.append("torch before first frame")
    if float(np.median(cur["total"])) > CURSOR_MEDIAN_TARGET_MS:
        misses.append("cursor re-render median")
    print("\ntargets missed: " + (", ".join(misses) if misses else "none"))


if __name__ == "__main__":
    main()
