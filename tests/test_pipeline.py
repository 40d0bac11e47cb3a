"""Pool and pipeline scenarios: loading, chaining, and one-line errors for impossible files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from engine.activation import ActivationStage
from engine.conv import ConvStage
from engine.pool import PoolStage

PIPE = 'kind = "pipeline"\ntitle = "t"\n'
POOL = 'kind = "pool"\ntitle = "t"\n'


def test_pipeline_stages_feed_each_other(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        PIPE + "input = { random = [2, 9, 9], seed = 1 }\n"
        '[[stages]]\nop = "conv"\nkernels = ["sobel_x", "sobel_y", "identity"]\n'
        '[[stages]]\nop = "leaky_relu"\nnegative_slope = 0.2\n'
        '[[stages]]\nop = "avgpool"\nsize = 3\nstride = 2\n',
    )
    conv, act, pool = sim.stages
    assert isinstance(conv, ConvStage) and isinstance(act, ActivationStage)
    assert isinstance(pool, PoolStage)
    assert [s.name for s in sim.stages] == ["conv1", "leaky_relu2", "avgpool3"]
    np.testing.assert_array_equal(act.x, conv.output)
    np.testing.assert_array_equal(pool.x, act.output)
    assert act.negative_slope == 0.2 and pool.mode == "avg"
    assert pool.output.shape == (3, 3, 3)
    assert len(sim) == conv.output.size + act.output.size + pool.output.size
    assert max(s.check_against_torch() for s in sim.stages) < 1e-12


def test_named_stages(load_text: Callable[..., Any]) -> None:
    sim = load_text(PIPE + 'input = [[1, -2], [3, -4]]\n[[stages]]\nop = "tanh"\nname = "squash"\n')
    assert sim.stages[0].name == "squash"


def test_pool_scenario(load_text: Callable[..., Any]) -> None:
    sim = load_text(POOL + 'input = [[1, 3, 2, 1], [2, 9, 1, 1]]\nmode = "max"\n')
    (stage,) = sim.stages
    assert isinstance(stage, PoolStage)
    np.testing.assert_array_equal(stage.output, [[[9, 2]]])


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        pytest.param(
            POOL + "input = [[1, 2], [3, 4]]\nsize = 3\n",
            "size",
            "pool window 3×3 is larger than the input 2×2",
            id="pool-window-too-large",
        ),
        pytest.param(
            POOL + "input = [[1, 2], [3, 4]]\nstride = 0\n", "stride", "≥ 1", id="pool-stride-0"
        ),
        pytest.param(
            POOL + 'input = [[1, 2], [3, 4]]\nmode = "median"\n',
            "mode",
            "valid: max, avg",
            id="pool-unknown-mode",
        ),
        pytest.param(
            PIPE + 'input = [[1, 2], [3, 4]]\n[[stages]]\nop = "relux"\n',
            "stages[0].op",
            "did you mean 'relu'",
            id="unknown-activation",
        ),
        pytest.param(
            PIPE + "input = [[1, 2], [3, 4]]\n[[stages]]\nsize = 2\n",
            "stages[0].op",
            "missing",
            id="missing-op",
        ),
        pytest.param(
            PIPE + 'input = [[1, 2], [3, 4]]\n[[stages]]\nop = "maxpool"\nsise = 2\n',
            "stages[0].sise",
            "did you mean 'size'",
            id="stage-key-typo",
        ),
        pytest.param(
            PIPE + "input = { random = [8, 8] }\n"
            '[[stages]]\nop = "conv"\nkernels = ["identity", "identity"]\n'
            '[[stages]]\nop = "conv"\nkernel = { random = [3, 3, 3] }\n',
            "stages[1].kernel",
            "stage 0 (conv1)'s output has 2 (shape [2, 6, 6], kernels [1, 3, 3, 3])",
            id="shapes-do-not-connect",
        ),
        pytest.param(
            PIPE + "input = { random = [6, 6] }\n"
            '[[stages]]\nop = "maxpool"\nsize = 3\n'
            '[[stages]]\nop = "relu"\n'
            '[[stages]]\nop = "maxpool"\nsize = 3\n',
            "stages[2].size",
            "larger than the input 2×2 (stage 1 (relu2)'s output has shape [1, 2, 2])",
            id="pool-after-shrinking",
        ),
        pytest.param(
            PIPE + 'input = [[1, 2]]\n[[stages]]\nop = "leaky_relu"\nnegative_slope = -1\n',
            "stages[0].negative_slope",
            "≥ 0",
            id="negative-slope",
        ),
        pytest.param(PIPE + "input = [[1, 2]]\nstages = []\n", "stages", "at least 1", id="empty"),
    ],
)
def test_bad_pipeline_and_pool_files(
    scenario_problems: Callable[..., Any], text: str, field: str, words: str
) -> None:
    found = scenario_problems(text)
    assert found, "expected a problem"
    got_field, message = found[0]
    assert got_field == field, found
    assert words in message, found


def test_a_conv_after_an_element_wise_stage_on_a_2d_input_reads_one_channel(
    load_text: Callable[..., Any],
) -> None:
    sim = load_text(
        PIPE + 'input = [[1, -2, 3], [4, 5, -6], [7, 8, 9]]\n[[stages]]\nop = "relu"\n'
        '[[stages]]\nop = "conv"\nkernel = [[1, 0], [0, 1]]\n'
    )
    relu, conv = sim.stages
    assert relu.output.shape == (3, 3)
    np.testing.assert_array_equal(conv.output, [[[6, 0], [12, 14]]])


def test_a_pooled_random_input_too_large_is_refused_before_it_is_generated(
    scenario_problems: Callable[..., Any],
) -> None:
    import tracemalloc

    tracemalloc.start()
    found = scenario_problems(
        PIPE + 'input = { random = [11000, 11000] }\n[[stages]]\nop = "maxpool"\n'
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found == [("stages[0].input", "needs 1.4 GiB of memory; the limit is 1 GiB")]
    assert peak < 100 << 20


def test_the_memory_budget_is_for_the_whole_pipeline(
    scenario_problems: Callable[..., Any],
) -> None:
    """Each ReLU stage fits on its own, but their sum does not: the first stage past the
    budget is refused, naming what the earlier ones take, before its input is made."""
    from engine.activation import activation_peak_bytes
    from engine.limits import MAX_BYTES, format_bytes

    each = activation_peak_bytes((2048, 2048))
    fit = MAX_BYTES // each
    assert 2 <= fit < 20
    found = scenario_problems(
        PIPE + "input = { random = [2048, 2048] }\n" + '[[stages]]\nop = "relu"\n' * 20
    )
    assert found == [
        (
            f"stages[{fit}].input",
            f"stage {fit} (relu{fit + 1}) would need {format_bytes(each)}; the whole scenario "
            f"may use at most 1 GiB ({format_bytes(fit * each)} already taken by what comes "
            "before it)",
        )
    ]
