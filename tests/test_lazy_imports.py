"""Loading a scenario imports only what its kind needs; the full registry is still there when asked.

Each check runs in a fresh interpreter, since what one test imports stays imported for the next.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KINDS_DIR = ROOT / "scenarios" / "kinds"

WATCHED = (
    "engine.recurrent",
    "engine.language",
    "engine.bptt",
    "engine.learn",
    "engine.tokens",
    "engine.network",
    "scenarios.kinds.network",
    "scenarios.kinds.recurrent",
    "scenarios.kinds.conv",
)


def run(body: str) -> object:
    """Run ``body`` in a fresh interpreter; the JSON of what it leaves in ``out``."""
    code = f"import json, sys\n{body}\nprint(json.dumps(out))"
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def imported_after(body: str) -> set[str]:
    """Which of WATCHED a fresh interpreter has imported after running ``body``."""
    got = run(f"{body}\nout = [m for m in {WATCHED!r} if m in sys.modules]")
    assert isinstance(got, list)
    return set(got)


def loading(name: str) -> str:
    return f"import scenarios\nsim = scenarios.load(scenarios.resolve({name!r}))\nassert len(sim)"


def kind_modules() -> set[str]:
    """The modules of ``scenarios/kinds/`` by their file names."""
    return {p.stem for p in KINDS_DIR.glob("*.py") if not p.stem.startswith("_")}


def test_loading_a_conv_scenario_imports_neither_other_kinds_nor_other_engines() -> None:
    got = imported_after(loading("conv_vertical_edge"))
    assert "scenarios.kinds.conv" in got  # the probe sees what was imported
    assert not got & {"engine.recurrent", "engine.language", "scenarios.kinds.network"}, got


def test_loading_a_network_scenario_does_not_import_the_recurrent_engine() -> None:
    got = imported_after(loading("net_mlp_digits"))
    assert {"engine.network", "scenarios.kinds.network"} <= got
    assert not got & {"engine.recurrent", "engine.language", "scenarios.kinds.recurrent"}, got


def test_importing_one_engine_module_does_not_import_the_others() -> None:
    got = imported_after("import engine.network\nimport engine")
    assert got == {"engine.network"}, got


def test_the_engine_package_still_offers_every_public_name() -> None:
    import engine

    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    assert set(engine.__all__) <= set(dir(engine))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = engine.no_such_name  # type: ignore[attr-defined]


def test_kinds_still_lists_every_kind_after_a_single_kind_was_loaded() -> None:
    got = run(
        loading("conv_vertical_edge")
        + "\nfrom scenarios.registry import kinds, ops"
        + "\nout = [sorted(kinds()), sorted(ops())]"
    )
    assert isinstance(got, list)
    kind_names, op_names = got
    # Every module is named after the kind it registers, but activation, which has only ops.
    assert set(kind_names) == kind_modules() - {"activation"}
    assert {"conv", "maxpool", "avgpool", "relu", "sigmoid", "tanh", "leaky_relu"} <= set(op_names)


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("recurent", "did you mean 'recurrent'? "),
        (
            "activation",
            "'activation' runs as a stage of kind = \"pipeline\" (its ops: avgpool, conv, "
            "leaky_relu, maxpool, relu, sigmoid, tanh); ",
        ),
        ("teleport", ""),
    ],
)
def test_an_unknown_kind_still_lists_every_kind(tmp_path: Path, given: str, hint: str) -> None:
    # After a conv file was loaded, only conv's module is imported: the message must still name
    # every kind, including those whose modules were never imported.
    path = tmp_path / "s.toml"
    path.write_text(f'kind = "{given}"\ntitle = "t"\n', encoding="utf-8")
    got = run(
        loading("conv_vertical_edge")
        + "\nfrom scenarios.errors import ScenarioError"
        + "\ntry:\n    scenarios.load("
        + repr(str(path))
        + ")\nexcept ScenarioError as e:\n    out = e.problems"
    )
    every = ", ".join(sorted(kind_modules() - {"activation"}))
    assert got == [["kind", f"unknown kind '{given}'; {hint}valid kinds: {every}"]]
