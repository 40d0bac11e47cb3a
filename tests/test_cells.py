"""The one source of recurrent arithmetic: engine.cells against PyTorch's cells and modules,
rows batched and alone, and the language model's incremental decoder (engine.language.LmDecoder)
against its own scoring and torch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import engine
from engine import cells
from engine.cells import GATES, CellOut, cell_forward, input_terms, run_cell
from engine.decoding import Decoder, DecoderState
from engine.errors import SpecError
from engine.language import LanguageModelStage, LmDecoder
from engine.recurrent import RecurrentStage, seeded_weights
from scenarios.language import language_model

CELLS = list(GATES)
TORCH_CELL = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}
TORCH_MODULE = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def weights(cell: str, n_in: int = 3, hidden: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch-like weights scaled up so that the gates leave their linear range."""
    return {k: 2.0 * v for k, v in seeded_weights(cell, n_in, hidden, seed).items()}


def rows(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape)


def step(cell: str, w: dict[str, np.ndarray], x: np.ndarray, h: np.ndarray, c: Any) -> CellOut:
    xi = input_terms(x, w["weight_ih"], w["bias_ih"])
    return cell_forward(cell, xi, h, c, w["weight_hh"], w["bias_hh"])


def torch_cell(cell: str, w: dict[str, np.ndarray]) -> Any:
    n_in, hidden = w["weight_ih"].shape[1], w["weight_hh"].shape[1]
    module = TORCH_CELL[cell](n_in, hidden, dtype=torch.float64)
    with torch.no_grad():
        for name in PARAMS:
            getattr(module, name).copy_(torch.from_numpy(w[name]))
    return module


# -- one step ----------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_cell_forward_is_torchs_cell(cell: str) -> None:
    w = weights(cell)
    x, h = rows((6, 3), 1), rows((6, 4), 2)
    c = rows((6, 4), 3) if cell == "lstm" else None
    out = step(cell, w, x, h, c)
    g = len(GATES[cell])
    assert out.hh.shape == out.pre.shape == out.act.shape == (6, g * 4)
    assert out.h.shape == (6, 4) and (out.c is None) == (cell != "lstm")
    module = torch_cell(cell, w)
    with torch.no_grad():
        tx, th = torch.from_numpy(x), torch.from_numpy(h)
        if cell == "lstm":
            assert c is not None and out.c is not None
            want_h, want_c = module(tx, (th, torch.from_numpy(c)))
            np.testing.assert_allclose(out.c, want_c.numpy(), rtol=0, atol=1e-12)
        else:
            want_h = module(tx, th)
    np.testing.assert_allclose(out.h, want_h.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_gates_rebuild_the_new_state(cell: str) -> None:
    """``pre`` and ``act`` are the gates in PyTorch's order: the new state follows from them."""
    w = weights(cell, seed=5)
    x, h = rows((4, 3), 6), rows((4, 4), 7)
    c = rows((4, 4), 8) if cell == "lstm" else None
    out = step(cell, w, x, h, c)
    xi = input_terms(x, w["weight_ih"], w["bias_ih"])
    np.testing.assert_allclose(out.hh, h @ w["weight_hh"].T + w["bias_hh"], atol=1e-12)
    blocks = {name: out.act[:, k * 4 : (k + 1) * 4] for k, name in enumerate(GATES[cell])}
    if cell == "rnn":
        np.testing.assert_array_equal(out.act, out.h)
        np.testing.assert_allclose(out.pre, xi + out.hh, atol=1e-12)
    elif cell == "gru":
        r, z, n = blocks["r"], blocks["z"], blocks["n"]
        np.testing.assert_allclose(out.pre[:, 8:], xi[:, 8:] + r * out.hh[:, 8:], atol=1e-12)
        np.testing.assert_allclose(n, np.tanh(out.pre[:, 8:]), atol=1e-12)
        np.testing.assert_allclose(out.h, (1 - z) * n + z * h, atol=1e-12)
    else:
        assert c is not None and out.c is not None
        i, f, g, o = blocks["i"], blocks["f"], blocks["g"], blocks["o"]
        np.testing.assert_allclose(out.c, f * c + i * g, atol=1e-12)
        np.testing.assert_allclose(out.h, o * np.tanh(f * c + i * g), atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("lead", [(5,), (2, 3)])
def test_rows_at_once_equal_rows_alone(cell: str, lead: tuple[int, ...]) -> None:
    """Bit for bit: a row's numbers do not depend on the rows beside it (the input terms are
    given, as a decoder gives them)."""
    w = weights(cell, seed=2)
    g = len(GATES[cell])
    xi, h = rows((*lead, g * 4), 11), rows((*lead, 4), 12)
    c = rows((*lead, 4), 13) if cell == "lstm" else None
    hh = (w["weight_hh"], w["bias_hh"])
    together = cell_forward(cell, xi, h, c, *hh)
    for idx in np.ndindex(*lead):
        alone = cell_forward(cell, xi[idx], h[idx], None if c is None else c[idx], *hh)
        for got, want in zip(together, alone, strict=True):
            if want is None:
                assert got is None
            else:
                assert got is not None and np.array_equal(got[idx], want)


def test_unknown_cell_and_missing_cell_state() -> None:
    w = weights("lstm")
    with pytest.raises(ValueError, match="unknown cell 'lstn'"):
        cell_forward("lstn", np.zeros(16), np.zeros(4), None, w["weight_hh"], w["bias_hh"])
    with pytest.raises(ValueError, match="c_prev"):
        cell_forward("lstm", np.zeros(16), np.zeros(4), None, w["weight_hh"], w["bias_hh"])


@pytest.mark.parametrize("cell", CELLS)
def test_overflow_warns_nothing(cell: str) -> None:
    """Results may be inf or nan (callers check them), but no RuntimeWarning is raised."""
    w = {k: v * 1e307 for k, v in weights(cell).items()}
    x = np.full((2, 3), 1e307)
    h = np.full((2, 4), -1e307)
    c = np.full((2, 4), 1e308) if cell == "lstm" else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(cell, w, x, h, c)
        run_cell(cell, x, h[0], None if c is None else c[0], *(w[k] for k in PARAMS))


# -- a whole sequence ----------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_run_cell_is_torchs_module(cell: str) -> None:
    w = weights(cell, seed=3)
    x, h0 = rows((7, 3), 21), rows((4,), 22)
    c0 = rows((4,), 23) if cell == "lstm" else None
    xi, out = run_cell(cell, x, h0, c0, *(w[k] for k in PARAMS))
    g = len(GATES[cell])
    assert xi.shape == out.hh.shape == out.pre.shape == out.act.shape == (7, g * 4)
    assert out.h.shape == (8, 4) and np.array_equal(out.h[0], h0)
    module = TORCH_MODULE[cell](3, 4, dtype=torch.float64)
    with torch.no_grad():
        for name in PARAMS:
            getattr(module, f"{name}_l0").copy_(torch.from_numpy(w[name]))
        th0 = torch.from_numpy(h0)[None, None]
        if cell == "lstm":
            assert c0 is not None and out.c is not None
            state = (th0, torch.from_numpy(c0)[None, None])
            hs, cs = [], []
            for t in range(7):
                _, state = module(torch.from_numpy(x[t : t + 1])[:, None], state)
                hs.append(state[0][0, 0].numpy())
                cs.append(state[1][0, 0].numpy())
            want = np.array(hs)
            np.testing.assert_allclose(out.c[1:], np.array(cs), rtol=0, atol=1e-12)
            assert np.array_equal(out.c[0], c0)
        else:
            want = module(torch.from_numpy(x)[:, None], th0)[0][:, 0].numpy()
    np.testing.assert_allclose(out.h[1:], want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_stage_steps_through_the_cell(cell: str, monkeypatch: Any) -> None:
    """RecurrentStage computes no step of its own: one cell_forward per time step."""
    calls = []
    real = cells.cell_forward

    def counting(*args: Any) -> CellOut:
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(cells, "cell_forward", counting)
    w = weights(cell, seed=4)
    stage = RecurrentStage(
        rows((6, 3), 31), cell, 4, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]
    )
    assert calls == [cell] * 6
    monkeypatch.undo()
    _, out = run_cell(cell, stage.x, stage.a0, stage.c0, *(w[k] for k in PARAMS))
    assert np.array_equal(stage.output, out.h[1:])


def test_public_names() -> None:
    assert engine.cell_forward is cell_forward and engine.run_cell is run_cell
    assert engine.CellOut is CellOut and engine.LmDecoder is LmDecoder
    assert engine.Decoder is Decoder and engine.DecoderState is DecoderState


# -- the language model as a decoder ---------------------------------------------------------

TEXTS = [("char_lm", "maranen"), ("word_lm", "the cat sat on the mat")]


def lm(model: str, **kw: Any) -> LanguageModelStage:
    w, vocabulary, level = language_model(model)
    return LanguageModelStage(w, vocabulary, level=level, name=model, **kw)


@pytest.mark.parametrize(("model", "text"), TEXTS)
def test_decoder_gives_the_scored_distributions(model: str, text: str) -> None:
    """start, then advance by each token: the same log-probabilities as scoring the text in one
    run, and as torch's nn.RNN teacher-forced."""
    scored = lm(model, mode="score", text=text)
    decoder = scored.decoder
    assert isinstance(decoder, Decoder) and decoder.vocabulary == scored.vocabulary
    assert decoder.eos == scored.eos
    state = decoder.start()
    got = []
    for t, k in enumerate(scored.ids):
        assert len(state) == 1 and state.arrays[0].shape == (1, scored.hidden_size)
        np.testing.assert_allclose(np.exp(state.log_p[0]), scored.output[t], rtol=0, atol=1e-12)
        got.append(state.log_p[0, k])
        np.testing.assert_allclose(got[-1], scored.step(t).log_p, rtol=0, atol=1e-12)
        state = decoder.advance(state, np.array([k]))
    reference = decoder.reference_log_probs(list(scored.ids))
    np.testing.assert_allclose(got, reference, rtol=0, atol=1e-9)
    np.testing.assert_allclose(reference.sum(), scored.log_prob, rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", ["char_lm", "word_lm"])
def test_rows_advanced_together_equal_rows_alone(model: str) -> None:
    w, vocabulary, level = language_model(model)
    decoder = LmDecoder(w, vocabulary, level, model)
    rng = np.random.default_rng(7)
    feeds = rng.integers(0, len(vocabulary), size=(4, 5))  # 4 steps of 5 rows
    together = decoder.start().take([0] * 5)
    alone = [decoder.start() for _ in range(5)]
    for tokens in feeds:
        together = decoder.advance(together, tokens)
        alone = [decoder.advance(s, tokens[b : b + 1]) for b, s in enumerate(alone)]
        for b, s in enumerate(alone):
            assert np.array_equal(together.log_p[b], s.log_p[0])
            assert np.array_equal(together.arrays[0][b], s.arrays[0][0])
    assert len({tuple(r) for r in together.log_p}) == 5  # the rows did go different ways


def test_take_reorders_rows() -> None:
    w, vocabulary, level = language_model("char_lm")
    decoder: Decoder = LmDecoder(w, vocabulary, level, "char_lm")  # mypy checks the protocol
    state = decoder.advance(decoder.start().take([0, 0, 0]), np.array([1, 2, 3]))
    picked = state.take([2, 0, 0])
    assert len(picked) == 3
    for new, old in enumerate([2, 0, 0]):
        assert np.array_equal(picked.log_p[new], state.log_p[old])
        assert np.array_equal(picked.arrays[0][new], state.arrays[0][old])
    assert not np.array_equal(picked.log_p[0], picked.log_p[1])


def test_decoder_refuses_bad_tokens_and_weights() -> None:
    w, vocabulary, level = language_model("char_lm")
    decoder = LmDecoder(w, vocabulary, level, "char_lm")
    state = decoder.start()
    with pytest.raises(ValueError, match="one per row"):
        decoder.advance(state, np.array([1, 2]))
    with pytest.raises(ValueError, match="0 to 26"):
        decoder.advance(state, np.array([27]))
    with pytest.raises(SpecError) as e:
        LmDecoder(dict(w, w_ya=np.zeros((3, 3))), vocabulary, level, "char_lm")
    assert e.value.field == "model" and "weights.w_ya" in e.value.message
    with pytest.raises(SpecError, match="missing weights b_y"):
        LmDecoder({k: v for k, v in w.items() if k != "b_y"}, vocabulary, level, "char_lm")


@pytest.mark.parametrize("model", ["char_lm", "word_lm"])
def test_sampling_runs_one_cell_step_per_token(model: str, monkeypatch: Any) -> None:
    """Sampling feeds each drawn token once: T tokens cost T cell steps, not T(T+1)/2."""
    calls: list[int] = []
    real = cells.cell_forward

    def counting(*args: Any) -> CellOut:
        calls.append(args[1].shape[0] if args[1].ndim > 1 else 1)
        return real(*args)

    monkeypatch.setattr(cells, "cell_forward", counting)
    for seed in range(3):
        calls.clear()
        sample = lm(model, mode="sample", seed=seed, max_length=50)
        assert len(sample) >= 3
        assert calls == [1] * len(sample)


@pytest.mark.parametrize("model", ["char_lm", "word_lm"])
def test_a_sample_is_drawn_from_the_decoders_distributions(model: str) -> None:
    sample = lm(model, mode="sample", seed=2, max_length=50)
    decoder = sample.decoder
    state = decoder.start()
    for t, k in enumerate(sample.ids):
        assert np.array_equal(np.exp(state.log_p[0]), sample.output[t])
        state = decoder.advance(state, np.array([k]))
