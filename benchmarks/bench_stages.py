"""Key press → painted frame for a change of stage, in every bundled pipeline (a scenario of more
than one stage: a captioner and its beam search, a convolution then ReLU then pooling, …).

Run from the repository root::

    python benchmarks/bench_stages.py                      # every pipeline, 5 rounds
    python benchmarks/bench_stages.py --only caption_shapes --rounds 10

Each scenario is opened headless at 120×40 without the PyTorch check, as ``bench_keys.py``
opens it. A round presses ``]`` from the first stage to the last, then ``[`` back to the first
(each press a change of stage), then ``→`` at every stage's last step and ``←`` at every
stage's first step (the cursor is put there first, and the screen left to settle). A press
is timed from just before Pilot sends the key to the first frame painted after it; the frames
painted until the app is idle, the widgets mounted and the screen updates the player made
while the change settled (layouts, and repaints held for the one frame) are counted. The first
round's presses are the first visit to each stage.

Relies on Textual internals to count: ``App._display`` (frames, see ``_harness.FrameClock``)
and ``Widget._on_mount`` (widgets mounted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from _harness import ROOT, SIZE, FrameClock, about, median, netsim_app, pct, press

TARGET_MS = 16.0


def pipelines(only: list[str]) -> list[str]:
    """The bundled scenarios of more than one stage (a whole network, which opens on its layer
    table, is left out), or those of them whose names contain one of ``only``."""
    import scenarios

    names = []
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        if only and not any(o in path.stem for o in only):
            continue
        if tomllib.loads(path.read_text()).get("kind") == "network":
            continue
        if len(scenarios.load(path).stages) > 1:
            names.append(path.stem)
    return names


class Mounts:
    """Widgets mounted from now on (``Widget._on_mount`` wrapped, internal)."""

    def __init__(self) -> None:
        from textual.widget import Widget

        self.count = 0
        mount = Widget._on_mount

        def counted(widget: Any, event: Any) -> Any:
            self.count += 1
            return mount(widget, event)

        Widget._on_mount = counted  # type: ignore[method-assign]


async def settle(pilot: Any) -> None:
    screen = pilot.app.screen
    await pilot.pause()
    for _ in range(200):
        if not screen.settling:
            break
        await pilot.pause(0.01)
    await pilot.pause(0.05)


async def _scenario(name: str, rounds: int, mounts: Mounts) -> list[dict[str, Any]]:
    app = netsim_app(name)
    clock = FrameClock(app)
    out: list[dict[str, Any]] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        sim = screen.simulation
        n = len(sim.stages)

        async def timed(key: str, how: str, r: int) -> None:
            before = sim.locate(screen.cursor)[0]
            mounts.count = 0
            updates = getattr(screen, "updates_held", 0)
            p = await press(pilot, clock, key)
            await settle(pilot)
            after = sim.locate(screen.cursor)[0]
            assert after != before, (name, key, before)
            out.append(
                {
                    "scenario": name,
                    "round": r,
                    "how": how,
                    "from": before,
                    "to": after,
                    "ms": p.ms,
                    "frames": p.frames,
                    "mounted": mounts.count,
                    "updates": getattr(screen, "updates_held", 0) - updates,
                }
            )

        for r in range(rounds):
            for _ in range(n - 1):
                await timed("right_square_bracket", "]", r)
            for _ in range(n - 1):
                await timed("left_square_bracket", "[", r)
            for s in range(n - 1):
                screen.cursor = sim.offsets[s + 1] - 1
                await settle(pilot)
                await timed("right", "→", r)
            for s in range(n - 1, 0, -1):
                screen.cursor = sim.offsets[s]
                await settle(pilot)
                await timed("left", "←", r)
    return out


def summary(rows: list[dict[str, Any]]) -> str:
    ms = [r["ms"] for r in rows if not math.isnan(r["ms"])]
    frames = sorted({r["frames"] for r in rows})
    mounted = sorted({r["mounted"] for r in rows})
    updates = sorted({r["updates"] for r in rows})
    miss = " ✗" if pct(ms, 95) > TARGET_MS else ""
    return (
        f"median {median(ms):6.1f} ms  p95 {pct(ms, 95):6.1f}{miss}  max {max(ms):6.1f}  "
        f"frames {frames}  mounted {mounted}  updates {updates}  (n = {len(ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="scenario names (substrings)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every press here")
    args = parser.parse_args()
    print(about())
    mounts = Mounts()
    rows: list[dict[str, Any]] = []
    for name in pipelines(args.only):
        got = asyncio.run(_scenario(name, args.rounds, mounts))
        rows += got
        print(f"{name:28} {summary(got)}")
        first = [r for r in got if r["round"] == 0]
        print(f"{'  first visits (round 1)':28} {summary(first)}")
    if rows:
        print(f"{'all':28} {summary(rows)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
