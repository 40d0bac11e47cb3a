"""The depth experiment at a tiny size: its backward pass against autograd, seeding, progress,
the residual start, divergence, bad settings and the script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import depth as D
from engine.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent


def toy_data(n: int = 60, seed: int = 0, test: int = 0) -> D.DigitData:
    """Ten well separated classes of 64-pixel rows: learnable in a few hundred steps."""
    rng = np.random.default_rng(seed)
    centres = rng.random((10, 64))
    y = np.arange(n + test) % 10
    x = np.clip(centres[y] + 0.1 * rng.standard_normal((n + test, 64)), 0, 1)
    if not test:
        return D.DigitData(x_train=x, y_train=y)
    return D.DigitData(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])


def torch_grads(net: D._Net, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    ws = [torch.tensor(w, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[net.act]
    h = act(F.linear(torch.from_numpy(x), ws[0], bs[0]))
    for k in range((len(ws) - 2) // 2):
        a1 = act(F.linear(h, ws[1 + 2 * k], bs[1 + 2 * k]))
        z2 = F.linear(a1, ws[2 + 2 * k], bs[2 + 2 * k])
        h = act(z2 + h if net.kind == "residual" else z2)
    loss = F.cross_entropy(F.linear(h, ws[-1], bs[-1]), torch.from_numpy(y))
    loss.backward()
    return loss.item(), [t.grad.numpy() for t in ws + bs]  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", D.KINDS)
@pytest.mark.parametrize("activation", D.ACTIVATIONS)
def test_backward_matches_autograd(kind: D.Kind, activation: str) -> None:
    net = D.make_network(kind, 3, 8, activation, seed=4)
    rng = np.random.default_rng(5)
    for w in net.weights:  # the residual branches start at zero: give them numbers to check
        w += 0.3 * rng.standard_normal(w.shape)
    data = toy_data(12)
    logits, tape = D.forward(net, data.x_train)
    loss, dlogits = D.cross_entropy(logits, data.y_train)
    dws, dbs = D.backward(net, tape, dlogits)
    ref_loss, ref = torch_grads(net, data.x_train, data.y_train)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for ours, theirs in zip(dws + dbs, ref, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_plain_and_residual_networks_of_a_depth_have_the_same_layers() -> None:
    plain = D.make_network("plain", 5, 16, "relu", seed=0)
    res = D.make_network("residual", 5, 16, "relu", seed=0)
    assert [w.shape for w in plain.weights] == [w.shape for w in res.weights]
    assert len(plain.weights) == 2 * 5 + 2
    # the same draws, except the last layer of each residual branch, which starts at zero
    for k, (a, b) in enumerate(zip(plain.weights, res.weights, strict=True)):
        is_branch_end = 2 <= k <= 10 and k % 2 == 0
        assert np.all(b == 0) if is_branch_end else np.array_equal(a, b)


def test_a_residual_network_starts_as_its_stem_and_head() -> None:
    """Zeroed branches make every block the identity (ReLU of a ReLU output changes nothing),
    so however deep, the first output is the head applied to the stem."""
    x = toy_data(10).x_train
    net = D.make_network("residual", 20, 16, "relu", seed=2)
    logits, _ = D.forward(net, x)
    stem = np.maximum(x @ net.weights[0].T + net.biases[0], 0)
    np.testing.assert_allclose(logits, stem @ net.weights[-1].T + net.biases[-1], rtol=1e-13)
    plain, _ = D.forward(D.make_network("plain", 20, 16, "relu", seed=2), x)
    assert not np.allclose(plain, logits)


def config(**overrides: object) -> D.DepthConfig:
    base: dict[str, object] = {
        "depths": (1, 3),
        "width": 12,
        "iterations": 40,
        "batch_size": 8,
        "learning_rate": 0.01,
        "eval_every": 10,
    }
    base.update(overrides)
    return D.DepthConfig(**base)  # type: ignore[arg-type]


def test_the_experiment_reports_progress_and_one_run_per_network() -> None:
    calls: list[tuple[int, int]] = []
    finished: list[D.DepthRun] = []
    runs = D.run_depth_experiment(
        toy_data(), config(), lambda d, t: calls.append((d, t)), finished.append
    )
    assert finished == runs
    assert [(r.kind, r.depth) for r in runs] == [
        ("plain", 1),
        ("residual", 1),
        ("plain", 3),
        ("residual", 3),
    ]
    assert [d for d, _ in calls] == list(range(10, 161, 10))  # at every measurement
    assert {t for _, t in calls} == {160}
    for r in runs:
        assert list(r.iterations) == [0, 10, 20, 30, 40]
        assert r.train_error.shape == r.train_loss.shape == r.first_grad.shape == (5,)
        assert np.all((r.train_error >= 0) & (r.train_error <= 1))
        assert r.layers == 2 * r.depth + 2
        assert r.params == 64 * 12 + 12 + 2 * r.depth * (12 * 12 + 12) + 12 * 10 + 10
        assert r.test_error is None


def test_the_same_seed_trains_the_same_networks() -> None:
    a = D.run_depth_experiment(toy_data(), config(depths=(2,)))
    b = D.run_depth_experiment(toy_data(), config(depths=(2,)))
    c = D.run_depth_experiment(toy_data(), config(depths=(2,), seed=1))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.train_loss, y.train_loss)
    assert not np.array_equal(a[0].train_loss, c[0].train_loss)


def test_training_lowers_the_error_and_a_test_set_is_scored() -> None:
    data = toy_data(80, test=40)
    runs = D.run_depth_experiment(data, config(depths=(1,), iterations=200, eval_every=50))
    for r in runs:
        assert r.train_loss[-1] < r.train_loss[0] / 2
        assert r.final_error < r.train_error[0]
        assert r.test_error is not None and 0 <= r.test_error < 0.5


def test_a_diverging_network_stops_early_and_the_bar_still_completes() -> None:
    calls: list[int] = []
    (run,) = [
        r
        for r in D.run_depth_experiment(
            toy_data(),
            config(depths=(4,), learning_rate=50.0, momentum=0.9),
            lambda d, t: calls.append(d),
        )
        if r.kind == "plain"
    ]
    assert run.train_loss[-1] == np.inf
    assert run.iterations[-1] < 40
    assert calls[-1] == 80


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"depths": ()}, "depths"),
        ({"depths": (0, 4)}, "depths"),
        ({"activation": "gelu"}, "activation"),
        ({"width": 0}, "width"),
        ({"iterations": 0}, "iterations"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"momentum": 1.0}, "learning_rate"),
    ],
)
def test_impossible_settings_are_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError) as e:
        config(**overrides)
    assert e.value.field == field


def test_data_that_does_not_fit_is_refused() -> None:
    data = D.DigitData(x_train=np.zeros((5, 8, 8)), y_train=np.zeros(5, dtype=int))
    with pytest.raises(SpecError, match=r"\(5, 8, 8\)"):
        D.run_depth_experiment(data, config())


# ---------------------------------------------------------------- the script


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "depth_experiment", ROOT / "scripts/depth_experiment.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["depth_experiment"] = module
    spec.loader.exec_module(module)
    return module


def test_the_script_reads_a_split_when_the_file_has_one(tmp_path: Path) -> None:
    s = script()
    images = np.random.default_rng(0).integers(0, 17, (20, 8, 8)).astype(np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    whole = tmp_path / "whole.npz"
    np.savez(whole, images=images, labels=labels)
    data = s.load_digits(whole)
    assert data.x_train.shape == (20, 64) and data.x_test is None
    assert data.x_train.max() <= 1.0
    split = tmp_path / "split.npz"
    np.savez(
        split,
        train_images=images[:15],
        train_labels=labels[:15],
        test_images=images[15:],
        test_labels=labels[15:],
    )
    data = s.load_digits(split)
    assert data.x_train.shape == (15, 64) and data.x_test is not None
    assert data.x_test.shape == (5, 64)
    assert max(data.x_train.max(), data.x_test.max()) == 1.0  # both divided by the file's 16
    indexed = tmp_path / "indexed.npz"  # the shipped file's form
    np.savez(
        indexed, images=images, labels=labels, train_index=np.arange(5, 20), test_index=np.arange(5)
    )
    data = s.load_digits(indexed)
    assert data.x_test is not None and data.y_test is not None
    np.testing.assert_array_equal(data.x_test * 16, images[:5].reshape(5, 64))
    np.testing.assert_array_equal(data.y_train, labels[5:])
    unit = tmp_path / "unit.npz"
    np.savez(unit, images=images / 32.0, labels=labels)  # already in [0, 1]: left alone
    np.testing.assert_array_equal(s.load_digits(unit).x_train, images.reshape(20, 64) / 32.0)


def test_the_script_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    s = script()
    code = s.main(["--depths", "1", "2", "--iterations", "10", "--width", "8", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    training, _, start = out.partition("Before training")
    for table, rows in ((training, 4), (start, 2)):
        lines = table.splitlines()
        assert sum(line.startswith(("| plain", "| residual")) for line in lines) == rows


def test_the_script_refuses_a_bad_setting_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = script().main(["--depths", "0", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("netsim: depths:")


@pytest.mark.parametrize("content", [None, b"not a zip", b"PK\x03\x04truncated"])
def test_the_script_refuses_an_unreadable_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    path = tmp_path / "digits.npz"
    if content is not None:
        path.write_bytes(content)
    code = script().main(["--data", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"netsim: cannot read {path}:")
