"""Dependencies point one way: engine and scenarios never load textual, rich or torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REPORT = """
import json, sys
forbidden = {forbidden!r}
loaded = sorted(
    m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden)
)
print(json.dumps({{"loaded": loaded, "checked": checked}}))
"""


def run_and_report(body: str, forbidden: tuple[str, ...]) -> dict:
    """Run ``body`` in a fresh interpreter and return which forbidden modules it loaded."""
    code = body + REPORT.format(forbidden=forbidden)
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_engine_and_scenarios_load_and_step_without_ui_or_torch() -> None:
    # Every bundled scenario, so each kind's engine and builder is covered.
    body = """
import engine, scenarios
steps = 0
for info in scenarios.bundled():
    sim = scenarios.load(info.path)
    steps += sum(1 for i in range(len(sim)) if sim.step(i) is not None)
    sim.step(-1)
checked = {"scenarios": len(list(scenarios.bundled())), "steps": steps}
"""
    report = run_and_report(body, ("textual", "rich", "torch"))
    assert report["checked"]["scenarios"] >= 39 and report["checked"]["steps"] > 0
    assert report["loaded"] == [], f"importing engine/scenarios loaded {report['loaded']}"


def test_torch_reference_still_works_when_asked_for() -> None:
    # The lazy import must not break the reference: the same process can load torch on demand.
    body = """
import engine, scenarios
sim = scenarios.load(next(iter(scenarios.bundled())).path)
checked = {"max_delta": max(stage.check_against_torch() for stage in sim.stages)}
"""
    report = run_and_report(body, ("torch",))
    assert report["loaded"] != []
    assert report["checked"]["max_delta"] < 1e-9


def test_cli_import_loads_neither_textual_nor_torch() -> None:
    body = """
import tui.cli
checked = {"main": callable(getattr(tui.cli, "main", None))}
"""
    report = run_and_report(body, ("textual", "torch"))
    assert report["checked"]["main"], "tui.cli has no main() for the netsim command"
    assert report["loaded"] == [], f"importing tui.cli loaded {report['loaded']}"


def test_the_app_and_its_browser_load_without_numpy_the_engine_or_the_loader() -> None:
    """The browser's first frame waits only for Textual: the player, with NumPy, the engine
    and every panel, is imported when a scenario is opened."""
    body = """
import tui.app
from tui.screens.browser import BrowserScreen
checked = {"browser": BrowserScreen.__name__}
"""
    report = run_and_report(body, ("numpy", "engine", "pydantic", "scenarios.loader", "torch"))
    assert report["checked"]["browser"] == "BrowserScreen"
    assert report["loaded"] == [], f"importing the app loaded {report['loaded']}"
