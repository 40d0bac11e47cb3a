"""Render the player at any step to SVG without a terminal (``netsim snapshot`` and the tests)."""

from __future__ import annotations

import asyncio

from engine.core import Simulation


def render_svg(
    simulation: Simulation, step: int, size: tuple[int, int], *, reproducible: bool = False
) -> str:
    """The screen of the player at global step ``step`` in a ``size`` = (columns, rows) terminal.

    The PyTorch comparison runs to completion first, so the badge shows its result: the measured
    max |Δ|, or with ``reproducible`` the tolerance it met, so that the SVG is the same on every
    machine (see ``NetsimApp.reproducible``).
    """
    from tui.app import NetsimApp

    async def run() -> str:
        app = NetsimApp(simulation, start=step, reproducible=reproducible)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            return app.export_screenshot(title=simulation.title or "netsim")

    return asyncio.run(run())
