"""engine.limits: the Budget, and every stage kind's peak-memory estimate measured against the
real peak (tracemalloc for NumPy; the resident size of a fresh process for the PyTorch check).
The estimates are upper bounds with slack, so the tests check a bound and a generous factor,
never exact figures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from click.testing import CliRunner

import scenarios
from engine.activation import ActivationStage, activation_peak_bytes
from engine.bptt import BpttStage, bptt_peak_bytes
from engine.conv import ConvStage, conv_peak_bytes
from engine.deep_recurrent import DeepRecurrentStage, deep_peak_bytes, deep_seeded_weights
from engine.errors import SpecError
from engine.learn import KernelLearningStage, learn_peak_bytes
from engine.limits import ALLOCATOR_SLACK, MAX_BYTES, REFERENCE_BLOCK_BYTES, Budget, format_bytes
from engine.pool import PoolStage, pool_peak_bytes
from engine.recurrent import RecurrentStage, recurrent_peak_bytes, seeded_weights
from engine.tokens import Vocabulary, tokenize, tokens_peak_bytes
from tui import trace
from tui.cli import cli

# -- Budget ----------------------------------------------------------------------------------


def test_budget_charges_until_full_then_refuses_naming_the_field() -> None:
    budget = Budget(3 << 30)
    budget.charge(2 << 30, "stages[0].input", "stage 0 (conv)")
    assert budget.used == 2 << 30 and budget.remaining == 1 << 30
    with pytest.raises(SpecError) as err:
        budget.charge(int(2.3 * 2**30), "stages[1].input", "stage 1 (relu)")
    assert err.value.field == "stages[1].input"
    assert err.value.message.startswith("stage 1 (relu) would need 2.3 GiB; the whole scenario")
    assert "at most 3 GiB" in err.value.message and "2 GiB already taken" in err.value.message
    assert budget.used == 2 << 30  # nothing charged on failure
    budget.charge(1 << 30, "x", "the rest")
    assert budget.remaining == 0


def test_budget_defaults_to_one_gib() -> None:
    budget = Budget()
    assert budget.total == MAX_BYTES == 1 << 30
    with pytest.raises(SpecError, match=r"at most 1 GiB$"):
        budget.charge(MAX_BYTES + 1, "input", "the input")


def test_twenty_large_relu_stages_do_not_fit_one_budget() -> None:
    budget = Budget()
    each = activation_peak_bytes((4096, 4096))
    with pytest.raises(SpecError):
        for i in range(20):
            budget.charge(each, f"stages[{i}].input", f"stage {i}")
    assert budget.used <= MAX_BYTES


@pytest.mark.parametrize(
    ("n", "text"), [(512, "512 bytes"), (3 << 20, "3 MiB"), (int(2.34 * 2**30), "2.3 GiB")]
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


# -- NumPy peaks (tracemalloc) ---------------------------------------------------------------


def numpy_peak(build: Callable[[], object]) -> int:
    """Bytes allocated at the peak while ``build()`` runs, above what was allocated before."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        kept = build()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del kept
    return peak


def within(measured: int, estimate: int, blocked: bool = False) -> None:
    """The estimate bounds the measurement, and is not absurdly above it (a check computed in
    blocks adds a fixed allowance that small stages do not reach)."""
    assert measured <= estimate, (measured, estimate)
    slack = ALLOCATOR_SLACK + 4 * REFERENCE_BLOCK_BYTES if blocked else 0
    assert estimate <= 12 * measured + slack, (measured, estimate)


RNG = np.random.default_rng(0)


def test_conv_estimate_bounds_the_numpy_peak() -> None:
    x, w = RNG.normal(size=(3, 200, 200)), RNG.normal(size=(8, 3, 5, 5))
    peak = numpy_peak(lambda: ConvStage(x, w, padding=2, stride=1))
    within(peak, conv_peak_bytes(x.shape, w.shape, (1, 1), (2, 2)), blocked=True)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_estimate_bounds_the_numpy_peak(mode: str) -> None:
    x = RNG.normal(size=(4, 300, 300))
    peak = numpy_peak(lambda: PoolStage(x, mode, 3, 2))
    within(peak, pool_peak_bytes(x.shape, (3, 3), (2, 2)), blocked=True)


@pytest.mark.parametrize("function", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_activation_estimate_bounds_the_numpy_peak(function: str) -> None:
    x = RNG.normal(size=(2, 300, 300))
    peak = numpy_peak(lambda: ActivationStage(x, function))
    within(peak, activation_peak_bytes(x.shape), blocked=True)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recurrent_estimate_bounds_the_numpy_peak(cell: str) -> None:
    t, n_in, h, o = 400, 20, 64, 50
    w = seeded_weights(cell, n_in, h, 0, o)
    x = RNG.normal(size=(t, n_in))
    peak = numpy_peak(
        lambda: RecurrentStage(
            x, cell, h, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"], w_ya=w["w_ya"]
        )
    )
    within(peak, recurrent_peak_bytes(cell, t, n_in, h, o))


def test_deep_recurrent_estimate_bounds_the_numpy_peak() -> None:
    t, n_in, h, o = 200, 10, 32, 20
    w = deep_seeded_weights("lstm", n_in, h, 3, True, 0, o)
    x = RNG.normal(size=(t, n_in))
    peak = numpy_peak(lambda: DeepRecurrentStage(x, "lstm", h, 3, True, w))
    within(peak, deep_peak_bytes("lstm", t, n_in, h, 3, True, o))


def test_bptt_estimate_bounds_the_numpy_peak() -> None:
    t, n_in, h = 300, 8, 48
    w = seeded_weights("rnn", n_in, h, 0)
    x, y = RNG.normal(size=(t, n_in)), RNG.normal(size=(t, h))
    peak = numpy_peak(
        lambda: BpttStage(x, h, w["weight_ih"], w["weight_hh"], None, None, y, loss="all")
    )
    within(peak, bptt_peak_bytes(t, n_in, h))


def test_learn_estimate_bounds_the_numpy_peak() -> None:
    images = RNG.normal(size=(4, 60, 60))
    peak = numpy_peak(
        lambda: KernelLearningStage(images, np.ones((3, 3)), np.zeros((3, 3)), 0.01, 200)
    )
    within(peak, learn_peak_bytes(images.shape, (3, 3), 200))


@pytest.mark.parametrize("level", ["char", "word"])
def test_tokens_estimate_bounds_building_a_vocabulary(level: str) -> None:
    corpus = "the cat sat on a mat, a dog ran. " * 30_000  # ~1 MiB
    nbytes = len(corpus.encode())
    peak = numpy_peak(lambda: Vocabulary.build(tokenize(corpus, level), 1000))
    assert peak <= tokens_peak_bytes(nbytes, 0, 1000)
    # One pointer per token, not a (start, end, token) tuple per token: well under 2 GB for
    # the 16 MiB corpus the format allows.
    assert peak * 16 < 1 << 30


# -- the PyTorch check, measured in a fresh process ------------------------------------------

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np, torch, torch.nn.functional as F
    from engine.conv import ConvStage
    from engine.pool import PoolStage

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # Warm torch up on tiny inputs, so its one-off allocations are not counted.
    ConvStage(np.ones((1, 4, 4)), np.ones((1, 1, 3, 3))).check_against_torch()
    PoolStage(np.ones((1, 4, 4)), "max", 2).check_against_torch()
    PoolStage(np.ones((1, 4, 4)), "avg", 2).check_against_torch()
    kind, args = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    if kind == "conv":
        x = rng.normal(size=args["x"])
        w = rng.normal(size=args["w"])
        before = rss()
        stage = ConvStage(x, w)
    else:
        x = rng.normal(size=args["x"])
        before = rss()
        stage = PoolStage(x, args["mode"], args["size"])
    delta = stage.check_against_torch()
    print(json.dumps({"grew": rss() - before, "delta": delta}))
    """
)


def torch_growth(kind: str, args: dict[str, object]) -> tuple[int, float]:
    """Peak resident growth of building the stage and running its PyTorch check, in a fresh
    process with one thread (the figure does not depend on other tests)."""
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps([kind, args])],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=300,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return int(got["grew"]), float(got["delta"])


def test_conv_check_with_a_large_kernel_stays_within_its_estimate() -> None:
    # One call to conv2d on this input would ask for a 225 × 586² float64 im2col buffer
    # (620 MB); in blocks the whole check stays within the estimate.
    x_shape, w_shape = (1, 600, 600), (1, 1, 15, 15)
    grew, delta = torch_growth("conv", {"x": x_shape, "w": w_shape})
    estimate = conv_peak_bytes(x_shape, w_shape, (1, 1), (0, 0))
    assert delta < 1e-9
    assert grew <= estimate, (grew, estimate)
    assert estimate < 200 << 20


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_check_stays_within_its_estimate(mode: str) -> None:
    x_shape = (6, 700, 700)
    grew, delta = torch_growth("pool", {"x": x_shape, "mode": mode, "size": 2})
    assert delta < 1e-12
    assert grew <= pool_peak_bytes(x_shape, (2, 2), (2, 2)), grew


# -- the JSON trace's line size --------------------------------------------------------------


def test_json_trace_header_estimate_bounds_the_real_header() -> None:
    sim = scenarios.load(scenarios.resolve("lm_words_sample"))
    real = len(json.dumps(trace.header_record(sim, range(len(sim)))))
    estimate = trace.header_bytes(sim)
    assert real <= estimate <= 12 * real


def test_json_trace_too_large_is_one_error_line_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trace, "MAX_LINE_BYTES", 1000)
    result = CliRunner().invoke(
        cli, ["trace", "conv_vertical_edge", "--format", "json"], prog_name="netsim"
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: the JSON trace's header line")
    assert "--format text" in result.stderr
    # The text format is not limited that way: one short line per step.
    text = CliRunner().invoke(cli, ["trace", "conv_vertical_edge", "--steps", ":3"])
    assert text.exit_code == 0 and text.stdout.count("\n") == 3


def test_json_trace_refuses_before_converting_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = scenarios.load(scenarios.resolve("conv_vertical_edge"))
    called = []
    monkeypatch.setattr(trace, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(trace, "header_record", lambda *a: called.append(a))
    with pytest.raises(trace.TraceTooLarge):
        trace.json_lines(sim, range(len(sim)))
    assert called == []


# -- PyTorch checks in blocks agree with one call --------------------------------------------


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((3, 2), (2, 0))])
def test_conv_reference_in_many_blocks_equals_one_call(
    monkeypatch: pytest.MonkeyPatch, stride: object, padding: object
) -> None:
    import torch
    import torch.nn.functional as F

    import engine.conv

    monkeypatch.setattr(engine.conv, "REFERENCE_BLOCK_BYTES", 600)  # blocks of a few outputs
    x, w = RNG.normal(size=(2, 13, 11)), RNG.normal(size=(3, 2, 3, 4))
    stage = ConvStage(x, w, RNG.normal(size=3), stride=stride, padding=padding)  # type: ignore[arg-type]
    whole = F.conv2d(
        torch.from_numpy(x)[None],
        torch.from_numpy(w),
        torch.from_numpy(stage.bias),
        stride=stage.stride,
        padding=stage.padding,
    )[0].numpy()
    np.testing.assert_allclose(stage.reference(), whole, rtol=0, atol=1e-13)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_reference_in_many_blocks_equals_one_call(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    import torch
    import torch.nn.functional as F

    import engine.pool

    monkeypatch.setattr(engine.pool, "REFERENCE_BLOCK_BYTES", 400)
    x = RNG.normal(size=(3, 17, 9))
    stage = PoolStage(x, mode, (3, 2), (2, 1))
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    whole = pool(torch.from_numpy(x)[None], (3, 2), (2, 1))[0].numpy()
    np.testing.assert_array_equal(stage.reference(), whole)


def test_activation_reference_in_many_blocks_equals_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    import engine.activation

    monkeypatch.setattr(engine.activation, "REFERENCE_BLOCK_BYTES", 80)
    x = RNG.normal(size=(3, 7, 5))
    stage = ActivationStage(x, "sigmoid")
    # The last bit may differ where a block's tail misses torch's vectorized path.
    whole = torch.sigmoid(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(stage.reference(), whole, rtol=1e-15, atol=0)
