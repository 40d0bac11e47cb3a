"""One launch in a fresh interpreter, for ``_harness.launch``: netsim through its command line
(``tui.cli.main``, the console script's own entry point) or as ``NetsimApp()`` alone, or a bare
Textual app (one ``Static``), each run the same way, headless; the moments it reached are
printed as JSON on the last line.

    python benchmarks/_launch.py '{"root": "...", "kind": "netsim", "argv": ["net_vgg16"], ...}'

Every moment is read on ``CLOCK_MONOTONIC``, which is system-wide on Linux, so the parent's
reading just before the spawn and these are on one clock and "spawn → first frame" includes the
interpreter's own start-up. ``App.run`` is replaced by a headless run of the given size with an
auto-pilot; the first frame is the first call of ``App._display`` with something to draw for
the screen named in ``screen`` (any screen without it): internal, a wrapper on the app instance,
since Textual has no public first-frame event. ``netsim FILE`` runs as in a terminal
(``tui.cli.paints_early``): its first frame is the player's frame drawn while the file loads,
and ``loaded_after_first_ms`` how long after it the first frame of another screen came (the
file loaded and shown). Only ``time``, ``json`` and ``sys`` are imported before the app's own
imports.
"""

import time

T_START = time.clock_gettime(time.CLOCK_MONOTONIC)

import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def main(opts: dict[str, Any]) -> dict[str, Any]:
    """Options: ``root`` (the checkout); ``kind``, "netsim" or "bare"; ``argv``, netsim's
    arguments (None: ``NetsimApp()`` run directly, without the command line); ``size``;
    ``screen``, the type name of the screen whose first frame counts; ``check`` (False: netsim
    without its PyTorch check); ``press_after_ms``, to press → that long after the loaded
    file's first frame and record the frame that shows the next step; ``probe``, the source of
    ``probe(screen) -> dict``, whose result is added at the first frame."""
    sys.path.insert(0, opts["root"])
    out: dict[str, Any] = {"start": T_START}
    first_screen = opts.get("screen")
    press_ms = opts.get("press_after_ms")
    probe = None
    if opts.get("probe"):
        space: dict[str, Any] = {}
        exec(opts["probe"], space)
        probe = space["probe"]

    from textual.app import App

    def hook(app: Any) -> None:
        display = app._display

        def timed(screen: Any, renderable: Any) -> Any:
            result = display(screen, renderable)
            if renderable is not None:
                t = now()
                if "first_frame" not in out and first_screen in (None, type(screen).__name__):
                    out["first_frame"] = t
                    out["torch"] = "torch" in sys.modules
                    out["numpy"] = "numpy" in sys.modules
                    out["first_screen"] = type(screen).__name__
                    if probe is not None:
                        out.update(probe(screen))
                if "loaded_frame" not in out and type(screen).__name__ != "LoadingScreen":
                    out["loaded_frame"] = t
                if (
                    "pressed" in out
                    and "key_frame" not in out
                    and getattr(app.screen, "cursor", 0) == 1
                ):
                    out["key_frame"] = t
                    out["torch_at_key"] = "torch" in sys.modules
            return result

        app._display = timed

    async def auto_pilot(pilot: Any) -> None:
        import asyncio

        app = pilot.app
        if press_ms is not None:
            while "loaded_frame" not in out:  # the file loaded, its panel on screen
                await asyncio.sleep(0.001)
            await asyncio.sleep(press_ms / 1000)
            out["pressed"] = now()
            await pilot.press("right")
            t0 = now()
            while "key_frame" not in out and now() - t0 < 10:
                await pilot.pause(0.01)
            await app.workers.wait_for_complete()
        else:
            await pilot.pause()
            out["settled"] = now()
            out["torch_settled"] = "torch" in sys.modules
        app.exit()

    real_run = App.run

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        out.setdefault("constructed", now())
        hook(self)
        kwargs.update(headless=True, size=tuple(opts["size"]), auto_pilot=auto_pilot)
        return real_run(self, *args, **kwargs)

    App.run = run  # type: ignore[method-assign]

    if opts["kind"] == "netsim":
        import tui.cli

        # As in a terminal: the player's frame first, the file loaded meanwhile.
        tui.cli.paints_early = lambda: True  # type: ignore[attr-defined]
        if not opts.get("check", True):
            import tui.app

            init = tui.app.NetsimApp.__init__

            def no_check(self: Any, *args: Any, **kwargs: Any) -> None:
                kwargs["check"] = False
                init(self, *args, **kwargs)

            tui.app.NetsimApp.__init__ = no_check  # type: ignore[method-assign]
        import contextlib

        if opts["argv"] is None:  # the app alone, on its browser, without the command line
            from tui.app import NetsimApp

            NetsimApp().run()
        else:
            from tui.cli import main as netsim

            with contextlib.suppress(SystemExit):  # the command's own exit
                netsim(opts["argv"])
    else:
        from textual.app import ComposeResult
        from textual.widgets import Static

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("Hello")

        Bare().run()
    if "loaded_frame" in out and "first_frame" in out:
        out["loaded_after_first_ms"] = (out.pop("loaded_frame") - out["first_frame"]) * 1000
    return out


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print(json.dumps(result))
    assert "first_frame" in result, "no frame was painted"
    assert not result["torch"], "torch was imported before the first frame"
