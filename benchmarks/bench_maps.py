"""Convolution and pooling screens: the cost of one step (→) with every map drawn side by side.

Run from the repository root::

    python benchmarks/bench_maps.py            # 120 presses per case, about a minute
    python benchmarks/bench_maps.py --quick    # 30 presses per case

Each case opens the player at 120×40 (and 200×50 for the largest) and presses → through
Textual's pilot. For every press it records the main thread's CPU time from the key to the
screen going idle, the frames painted (internal: a wrapper around ``App._display``) and the
grid lines rendered (a wrapper around ``MatrixGrid.render_line``, counting the lines that were
not in the strip cache). A bare Textual app (one Static, the key unbound) pressed the same way
is the baseline: figures are given as ratios to it, which hold across machines better than
milliseconds. The figures go into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import numpy as np
from _harness import FrameClock, bare_app, median, netsim_app, pct, press


def count_lines() -> list[int]:
    """A one-item list counting grid lines built (not taken from the cache); internal."""
    from tui.widgets.matrix import MatrixGrid

    built = [0]
    original = MatrixGrid._render_parts
    picture = MatrixGrid._render_picture

    def parts(self, row, first=0, last=None):  # type: ignore[no-untyped-def]
        built[0] += 1
        return original(self, row, first, last)

    def pic(self, row, first=0, last=None):  # type: ignore[no-untyped-def]
        built[0] += 1
        return picture(self, row, first, last)

    MatrixGrid._render_parts = parts  # type: ignore[method-assign]
    MatrixGrid._render_picture = pic  # type: ignore[method-assign]
    return built


async def presses(app: Any, size: tuple[int, int], n: int, key: str = "right") -> dict:
    clock = FrameClock(app)
    built = count_lines()
    cpu, wall, nframes, lines = [], [], [], []
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for _ in range(5):  # warm-up
            await pilot.press(key)
            await pilot.pause()
        for _ in range(n):
            cursor = getattr(app.screen, "cursor", None)
            if cursor is not None and cursor >= len(app.screen.simulation) - 1:
                await pilot.press("home")  # back to the start, untimed
                await pilot.pause()
            built[0] = 0
            p = await press(pilot, clock, key)
            cpu.append(p.cpu)
            wall.append(p.wall)
            nframes.append(p.frames)
            lines.append(built[0])
    return {"cpu": cpu, "wall": wall, "frames": nframes, "lines": lines}


def big_conv(c: int, hw: int, filters: int) -> Any:
    from engine.conv import ConvStage

    rng = np.random.default_rng(0)
    return ConvStage(
        rng.integers(0, 256, size=(c, hw, hw)).astype(float),
        rng.normal(size=(filters, c, 3, 3)).round(2),
        np.zeros(filters),
        padding=1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    n = 30 if parser.parse_args().quick else 120
    cases: list[tuple[str, Any, tuple[int, int]]] = [
        ("conv_vertical_edge", lambda: netsim_app("conv_vertical_edge"), (120, 40)),
        ("conv_edges_on_shapes", lambda: netsim_app("conv_edges_on_shapes"), (200, 50)),
        ("conv_parameter_sharing", lambda: netsim_app("conv_parameter_sharing"), (120, 40)),
        ("pool_per_channel", lambda: netsim_app("pool_per_channel"), (120, 40)),
        ("conv 3×224×224, 64 filters", lambda: netsim_app(big_conv(3, 224, 64)), (120, 40)),
        ("conv 64×224×224, 64 filters", lambda: netsim_app(big_conv(64, 224, 64)), (200, 50)),
    ]
    base = asyncio.run(presses(bare_app(), (120, 40), n))
    base_cpu = median(base["cpu"])
    print(f"bare Textual app: key → idle, main-thread CPU median {base_cpu:.2f} ms")
    head = ("case", "size", "CPU med ms", "p95 ms", "× bare (med)", "frames/step", "lines/step")
    rows = []
    for name, make, size in cases:
        r = asyncio.run(presses(make(), size, n))
        med = median(r["cpu"])
        rows.append(
            (
                name,
                f"{size[0]}×{size[1]}",
                f"{med:.2f}",
                f"{pct(r['cpu'], 95):.2f}",
                f"{med / base_cpu:.1f}",
                f"{median(r['frames']):.0f} (max {max(r['frames'])})",
                f"{median(r['lines']):.0f} (max {max(r['lines'])})",
            )
        )
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
