"""Typed date to frame: Enter pressed in the input box → the first frame that shows the new
translation and its B = 3 beam search, beside a bare Textual app's key → frame.

Run from the repository root::

    python benchmarks/bench_translate_tui.py            # 30 dates
    python benchmarks/bench_translate_tui.py --quick    # 8 dates

The netsim side opens ``scenarios/translate_date.toml`` in the player (no PyTorch check), types
a date into the box ``e`` opens, and times Enter: building every text-reading stage again (the
translation and the beam search), handing them to their panels and painting. The bare side is a
Textual app with one Static that a key rewrites. Both are timed the same way, from just before
the key is sent to the first frame painted after it (internal: a wrapper around ``App._display``
on the app instance, as in bench_tui.py). The target is ≤ 200 ms (issue 10). The figures go
into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _harness import ROOT, SIZE, FrameClock, about, bare_presses, median, netsim_app, pct, press

TARGET_MS = 200.0
DATES = [
    "5 march 2003",
    "Tuesday 09/10/2021",
    "3 May 1979",
    "12.11.1999",
    "saturday 1 january 2000",
    "17 aug 1987",
    "01/02/2013",
    "July 4 1976",
]


async def _netsim(dates: list[str]) -> dict[str, list[float]]:
    from textual.widgets import Input

    from tui.screens.player import PlayerScreen

    app = netsim_app(ROOT / "scenarios" / "translate_date.toml")
    wanted: list[str] = [""]
    shown: list[object] = [None]  # the simulation the player last drew a step of

    def ready(screen: object) -> bool:
        """The player is painted and has drawn a step of the simulation on the typed date:
        the frame shows the new translation (and the new search's panel is mounted)."""
        sim = shown[0]
        return (
            isinstance(screen, PlayerScreen)
            and sim is screen.simulation
            and all(getattr(s, "input_text", None) == wanted[0] for s in screen.simulation.stages)
        )

    clock = FrameClock(app, ready)
    out: dict[str, list[float]] = {"enter_to_frame": [], "rebuild": [], "frames": []}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        draw = screen._show

        def drawing(i: int) -> None:
            draw(i)
            shown[0] = screen.simulation

        screen._show = drawing  # type: ignore[method-assign]
        for k, date in enumerate(dates):
            wanted[0] = date
            await pilot.press("e")
            await pilot.pause()
            app.screen.query_one("#text-input", Input).value = date
            await pilot.pause()
            p = await press(pilot, clock, "enter")
            stages = screen.simulation.stages
            assert getattr(stages[0], "input_text", None) == date, "the date was not taken"
            if not p.frames:
                raise RuntimeError(f"no frame painted after Enter on {date!r}")
            if k:  # the first is a warm-up (first panel mount, caches)
                out["enter_to_frame"].append(p.ms)
                out["frames"].append(float(p.frames))
            # The engine's share: every text-reading stage built again, no screen work.
            r0 = time.perf_counter()
            for stage in stages:
                remake = getattr(stage, "with_text", None)
                if remake is not None:
                    remake(date)
            if k:
                out["rebuild"].append((time.perf_counter() - r0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="dates typed (the first a warm-up)")
    parser.add_argument("--quick", action="store_true", help="8 dates")
    args = parser.parse_args()
    runs = 8 if args.quick else args.runs
    dates = [DATES[k % len(DATES)] for k in range(runs + 1)]

    print(f"{about()}, {runs} runs\n")
    net = asyncio.run(_netsim(dates))
    bare = [p.ms for p in asyncio.run(bare_presses(runs)) if p.frames]
    rows = [
        ("Enter on a typed date → first frame (netsim)", net["enter_to_frame"]),
        ("  of which: translation + B = 3 search rebuilt", net["rebuild"]),
        ("key → first frame (bare Textual app)", bare),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'median':>9}  {'p95':>9}")
    for label, xs in rows:
        print(f"{label:<{w}}  {median(xs):7.1f} ms  {pct(xs, 95):7.1f} ms")
    print(f"frames painted per Enter (internal): median {median(net['frames']):.0f}")
    ratio = median(net["enter_to_frame"]) / median(bare)
    print(f"netsim / bare: {ratio:.1f}×")
    missed = median(net["enter_to_frame"]) > TARGET_MS
    print(f"target ≤ {TARGET_MS:.0f} ms (median): {'MISSED' if missed else 'met'}")


if __name__ == "__main__":
    main()
