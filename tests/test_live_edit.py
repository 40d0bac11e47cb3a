"""Changing things live in the player: one number (v), stride and padding (s S p P), the text a
language model scores or starts a sample from (e). Every new output is compared with a stage
computed afresh from the changed numbers, and with PyTorch through the stage's own check."""

from __future__ import annotations

import numpy as np
import pytest
from apps import player, player_app
from textual.widgets import Input, Label, Static

from engine.activation import ActivationStage
from engine.conv import ConvStage
from engine.core import Restridable, Retextable, Revaluable
from engine.errors import SpecError
from engine.language import LanguageModelStage
from engine.limits import MAX_INPUT_TEXT
from engine.pool import PoolStage
from engine.recurrent import RecurrentStage
from tui.edits import MAX_TYPED, Cell, as_saved, number, parse, written
from tui.screens.help import HelpScreen, offered_keys
from tui.screens.textinput import TextInputScreen

# -- the value box's rules --------------------------------------------------------------------

ARRAYS = {"input": np.zeros((1, 5, 6)), "kernel": np.zeros((2, 1, 3, 3)), "bias": np.zeros(2)}
DEFAULT = Cell("input", (0, 2, 3))


def test_written_drops_axes_of_one_and_keeps_the_rest() -> None:
    assert written(DEFAULT, (1, 5, 6)) == "input[2, 3]"
    assert written(Cell("input", (1, 2, 3)), (3, 5, 6)) == "input[1, 2, 3]"
    assert written(Cell("kernel", (1, 0, 2, 2)), (2, 1, 3, 3)) == "kernel[1, 0, 2, 2]"
    assert written(Cell("kernel", (0, 0, 2, 1)), (1, 1, 3, 3)) == "kernel[2, 1]"


@pytest.mark.parametrize(
    ("text", "cell", "value"),
    [
        ("7", DEFAULT, 7.0),
        ("  −2.5 ", DEFAULT, -2.5),
        ("input = 1e3", DEFAULT, 1000.0),
        ("input[4, 5] = 3", Cell("input", (0, 4, 5)), 3.0),
        ("kernel[1, 0, 2, 2] = -1", Cell("kernel", (1, 0, 2, 2)), -1.0),
        ("kernel[2, 2] = 4", Cell("kernel", (0, 0, 2, 2)), 4.0),
        ("bias[1]=0.5", Cell("bias", (1,)), 0.5),
    ],
)
def test_parse_reads_a_number_or_a_cell_and_a_number(text: str, cell: Cell, value: float) -> None:
    assert parse(text, DEFAULT, ARRAYS) == (cell, value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("abc", "'abc' is not a number"),
        ("nan", "not a finite number"),
        ("-inf", "not a finite number"),
        ("1e10", "out of range"),
        ("input[5, 0] = 1", "index 5 on axis 1 is out of range: input is 1×5×6, so it lies in 0…4"),
        ("input[-1, 0] = 1", "out of range"),
        ("input[1, x] = 1", "indices are whole numbers"),
        ("input[0, 0, 0, 0] = 1", "at most 3 indices"),
        ("weights[0] = 1", "no array 'weights' here; valid: input, kernel, bias"),
        ("kernel = 1", "say which number of kernel"),
        ("input[1, 1] =", "type a number after '='"),
    ],
)
def test_parse_refuses_with_one_line(text: str, says: str) -> None:
    with pytest.raises(SpecError) as e:
        parse(text, DEFAULT, ARRAYS)
    assert says in str(e.value) and "\n" not in str(e.value)
    assert MAX_TYPED == 1e9


# -- engine capabilities ----------------------------------------------------------------------


def test_conv_and_pool_declare_the_changes_they_allow() -> None:
    conv = ConvStage(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
    pool = PoolStage(np.arange(16.0).reshape(4, 4))
    for stage in (conv, pool):
        assert isinstance(stage, Restridable) and isinstance(stage, Revaluable)
    wider = conv.with_window((2, 2), (1, 1))
    fresh = ConvStage(conv.x, conv.weight, conv.bias, 2, 1)
    np.testing.assert_array_equal(wider.output, fresh.output)
    assert wider.check_against_torch() < 1e-12
    with pytest.raises(SpecError, match="larger than the padded input"):
        ConvStage(np.ones((2, 2)), np.ones((3, 3))).with_window((1, 1), (0, 0))
    with pytest.raises(SpecError, match="half the window"):
        pool.with_window((2, 2), (2, 2))
    with pytest.raises(SpecError, match="only the input"):
        pool.with_values("kernel", np.ones(1))


# -- the player: v ----------------------------------------------------------------------------


async def type_in_box(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    box = pilot.app.screen.query_one(Input)
    box.value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_v_changes_an_input_cell_and_every_output_follows() -> None:
    app = player_app("conv_vertical_edge")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        await pilot.press("right", "right", "right")
        before = screen.simulation.stages[0]
        assert isinstance(before, ConvStage)
        step = before.step(3)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, TextInputScreen)
        prefill = app.screen.query_one(Input).value
        # the window's first input cell, with its number
        r, c = step.top, step.left
        assert prefill.startswith(f"input[{r}, {c}] = ")
        await type_in_box(pilot, "42")
        assert app.screen is screen and screen.cursor == 3
        after = screen.simulation.stages[0]
        x = before.x.copy()
        x[0, r, c] = 42
        fresh = ConvStage(x, before.weight, before.bias, before.stride, before.padding)
        np.testing.assert_array_equal(after.output, fresh.output)
        assert not np.array_equal(after.output, before.output)
        assert after.check_against_torch() <= after.tolerance() * np.abs(after.output).max()
        assert "input[" in screen.sub_title and "= 42" in screen.sub_title
        # the inspector follows: it writes the new product 42·k
        inspector = str(screen.query_one("#inspector").render())
        assert "42" in inspector


async def test_v_changes_a_kernel_weight_and_the_later_stages_run_again() -> None:
    app = player_app("cnn_conv_relu_pool")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        conv, _, pool = screen.simulation.stages
        await pilot.press("v")
        await pilot.pause()
        await type_in_box(pilot, "kernel[1, 1] = 5")
        new_conv, new_relu, new_pool = screen.simulation.stages
        weight = conv.weight.copy()
        weight[0, 0, 1, 1] = 5
        fresh = ConvStage(conv.x, weight, conv.bias, conv.stride, conv.padding)
        np.testing.assert_array_equal(new_conv.output, fresh.output)
        np.testing.assert_array_equal(new_relu.output, np.maximum(fresh.output, 0))
        fresh_pool = pool.with_input(np.maximum(fresh.output, 0))
        np.testing.assert_array_equal(new_pool.output, fresh_pool.output)
        for stage in screen.simulation.stages:
            assert stage.check_against_torch() <= 1e-9 * max(1.0, np.abs(stage.output).max())


async def test_v_refuses_in_the_box_and_changes_nothing() -> None:
    app = player_app("conv_stride_2")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        stages = screen.simulation.stages
        await pilot.press("v")
        await pilot.pause()
        for bad in ("ten", "nan", "inf", "input[9, 0] = 1", "1e300"):
            await type_in_box(pilot, bad)
            assert isinstance(app.screen, TextInputScreen)
            line = str(app.screen.query_one("#text-error", Label).render())
            assert line and "\n" not in line.strip()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.simulation.stages is stages


async def test_v_is_offered_where_a_number_can_change() -> None:
    app = player_app("cnn_conv_relu_pool")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        offered = lambda: dict(offered_keys(lambda a: screen.check_action(a, ())))  # noqa: E731
        assert "v" in offered() and "s / S" in offered() and "p / P" in offered()
        await pilot.press("right_square_bracket")  # relu: its input is conv's output
        assert "v" not in offered() and "s / S" not in offered()
        await pilot.press("right_square_bracket")  # max pool: stride and padding, no numbers
        assert "v" not in offered() and "s / S" in offered()


async def test_v_changes_an_activation_input_and_torch_agrees() -> None:
    import torch

    app = player_app("activation_leaky_relu")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        await pilot.press("right", "right")
        before = screen.simulation.stages[0]
        assert isinstance(before, ActivationStage) and isinstance(before, Revaluable)
        position = before.step(2).position
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, TextInputScreen)  # the element the step reads
        cell = Cell("input", position)
        prefill = app.screen.query_one(Input).value
        assert prefill == f"{written(cell, before.x.shape)} = {number(float(before.x[position]))}"
        await type_in_box(pilot, "-3.5")
        after = screen.simulation.stages[0]
        assert app.screen is screen and screen.cursor == 2
        x = np.array(before.x)
        x[position] = -3.5
        slope = before.negative_slope
        expected = torch.nn.functional.leaky_relu(torch.tensor(x), slope).numpy()
        np.testing.assert_allclose(after.output, expected, rtol=0, atol=1e-15)
        assert after.output[position] == -3.5 * slope != before.output[position]
        assert after.check_against_torch() < 1e-12
        assert "= −3.5" in screen.sub_title


def torch_cell(stage: RecurrentStage, x: np.ndarray, **changed: np.ndarray) -> np.ndarray:
    """a⟨1⟩ … a⟨T⟩ (T, H) of PyTorch's own module with the stage's weights, ``changed`` ones
    replaced, on the sequence ``x``."""
    import torch

    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[stage.cell]
    module = cls(stage.input_size, stage.hidden_size, dtype=torch.float64)
    with torch.no_grad():
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            value = changed.get(key, np.array(getattr(stage, key)))
            getattr(module, f"{key}_l0").copy_(torch.tensor(value))
        out, _ = module(torch.tensor(x)[:, None])
    return out[:, 0].numpy()


async def test_v_changes_a_recurrent_input_and_a_weight_and_torch_agrees() -> None:
    app = player_app("lstm_gates")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        await pilot.press("right", "right", "right")  # t = 4: row 3 of the input
        before = screen.simulation.stages[0]
        assert isinstance(before, RecurrentStage) and isinstance(before, Revaluable)
        k = int(np.argmax(np.abs(before.x[3])))
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, TextInputScreen)
        assert app.screen.query_one(Input).value.startswith(f"input[3, {k}] = ")
        hint = str(app.screen.query_one("#text-error", Label).render())
        assert "weight_hh[0, 0] = 1" in hint and "input[t − 1, i] is x⟨t⟩[i]" in hint
        await type_in_box(pilot, "2.5")
        after = screen.simulation.stages[0]
        x = np.array(before.x)
        x[3, k] = 2.5
        np.testing.assert_allclose(after.output, torch_cell(before, x), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(after.output[:3], before.output[:3])  # t < 4 is as it was
        assert not np.allclose(after.output[3:], before.output[3:])  # t ≥ 4 follows
        assert screen.cursor == 3
        await pilot.press("v")
        await pilot.pause()
        await type_in_box(pilot, "weight_hh[1, 2] = 0.7")
        latest = screen.simulation.stages[0]
        w = np.array(before.weight_hh)
        w[1, 2] = 0.7
        expected = torch_cell(before, x, weight_hh=w)
        np.testing.assert_allclose(latest.output, expected, rtol=0, atol=1e-12)
        assert latest.check_against_torch() < 1e-12
        assert "weight_hh[1, 2] = 0.7" in screen.sub_title and "input[3" in screen.sub_title


def test_a_recurrent_edit_runs_the_second_run_again() -> None:
    import scenarios

    (stage,) = scenarios.load(scenarios.resolve("long_memory_rnn")).stages
    assert isinstance(stage, RecurrentStage) and stage.contrast is not None
    w = np.array(stage.weight_ih)
    w[0, 0] += 1
    new = stage.with_values("weight_ih", w)
    assert new.contrast is not None and new.contrast.label == stage.contrast.label
    x = np.array(stage.x)
    x[0, 0] = stage.contrast.value
    np.testing.assert_allclose(new.contrast.a, torch_cell(stage, x, weight_ih=w), atol=1e-12)
    with pytest.raises(SpecError, match="expected shape"):
        stage.with_values("weight_ih", w[:1])
    words = scenarios.load(scenarios.resolve("rnn_many_to_many")).stages[0]
    assert isinstance(words, RecurrentStage) and words.words is not None
    x = np.array(words.x)
    x[0, 0] = 0.5  # no longer the one-hot vector of its word
    assert words.with_values("input", x).words is None
    assert words.with_values("bias_ih", np.array(words.bias_ih)).words == words.words


async def test_v_is_offered_on_activations_and_recurrent_cells() -> None:
    for name in ("activation_leaky_relu", "activation_sigmoid", "rnn_step", "gru_gates"):
        app = player_app(name)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = player(app)
            await pilot.pause()
            offered = dict(offered_keys(lambda a: screen.check_action(a, ())))  # noqa: B023
            assert "v" in offered, name


# -- the player: stride and padding -----------------------------------------------------------


async def test_s_and_p_change_stride_and_padding_and_every_label() -> None:
    app = player_app("conv_stride_2")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        old = screen.simulation.stages[0]
        assert old.stride == (2, 2)
        await pilot.press("s")
        await pilot.pause()
        new = screen.simulation.stages[0]
        fresh = ConvStage(old.x, old.weight, old.bias, 1, 0)
        assert new.stride == (1, 1)
        np.testing.assert_array_equal(new.output, fresh.output)
        assert new.check_against_torch() < 1e-9 * np.abs(new.output).max()
        kernels = screen.query_one("#kernel-box")  # stride and padding are drawn by the filters
        assert "stride 1" in str(kernels.border_subtitle)
        assert str(screen.query_one("#output-box").border_title) == "Output 1×5×5"
        assert "changed here: stride 1" in screen.sub_title
        assert len(screen.simulation) == 25
        await pilot.press("P")
        await pilot.pause()
        padded = screen.simulation.stages[0]
        assert padded.padding == (1, 1) and padded.output.shape == (1, 7, 7)
        assert "padding 1" in str(screen.query_one("#kernel-box").border_subtitle)
        # back to the file's stride: the header no longer calls it changed
        await pilot.press("S")
        await pilot.pause()
        assert screen.sub_title.endswith("changed here: padding 1")


async def test_impossible_windows_are_refused_and_nothing_changes() -> None:
    app = player_app("pool_max_4x4")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        stages = screen.simulation.stages
        await pilot.press("P", "P")  # 2×2 window: padding at most 1 (PyTorch's rule)
        await pilot.pause()
        assert screen.simulation.stages[0].padding == (1, 1)
        stages = screen.simulation.stages
        await pilot.press("P")
        await pilot.pause()
        assert screen.simulation.stages is stages
        await pilot.press("p", "s", "s")  # stride 1 is the least
        await pilot.pause()
        assert screen.simulation.stages[0].stride == (1, 1)
        assert screen.simulation.stages[0].output.shape == (1, 3, 3)
    app = player_app("cnn_conv_relu_pool")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        conv = screen.simulation.stages[0]
        while True:
            stages = screen.simulation.stages
            await pilot.press("S")
            await pilot.pause()
            if screen.simulation.stages is stages:
                break  # refused: the pool window no longer fits conv's output
            conv, relu, pool = screen.simulation.stages
            np.testing.assert_array_equal(relu.x, np.asarray(conv.output))
            np.testing.assert_array_equal(pool.output, pool.with_input(relu.output).output)
        last = list(app._notifications)[-1].message
        assert f"refused: {stages[2].name}: pool window" in last and "\n" not in last
        # refused exactly when one more stride would leave conv a 1×1 output for a 2×2 pool
        (_, h, _), (fh, _), s = conv.x.shape, conv.kernel_hw, conv.stride[0]
        assert (h - fh) // s + 1 >= 2 and (h - fh) // (s + 1) + 1 < 2


# -- the player: the scenario's own words follow -------------------------------------------


def shown_description(screen) -> list[str]:  # type: ignore[no-untyped-def]
    """The description's lines as drawn under the panel."""
    return str(screen.query_one("#description-text").render()).splitlines()


async def test_a_stride_change_marks_the_title_and_the_description() -> None:
    app = player_app("conv_stride_2")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        title, description = screen.simulation.title, screen.simulation.description
        assert "Stride 2" in title and "stride 2" in description  # the file speaks of stride 2
        await pilot.press("S")
        await pilot.pause()
        assert screen.simulation.stages[0].stride == (3, 3)
        assert screen.title == f"{title} (as saved)" == screen.simulation.title
        first = "Written for the file as saved: stride 2. Changed here: stride 3."
        assert screen.simulation.description.startswith(first)
        lines = shown_description(screen)
        assert lines[0] == first and " ".join(description.split()) in lines[1]
        await pilot.press("s")  # back to the file's stride: the file's words again
        await pilot.pause()
        assert screen.title == title and screen.simulation.description == description
        assert shown_description(screen)[0].startswith(description.split()[0])


async def test_help_gives_the_as_saved_line_its_own_line() -> None:
    app = player_app("conv_stride_2")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        description = screen.simulation.description
        await pilot.press("S")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = str(app.screen.query_one("#help-description", Static).render()).splitlines()
        assert lines[0] == "Written for the file as saved: stride 2. Changed here: stride 3."
        assert lines[1].startswith(" ".join(description.split()[:4]))


async def test_a_padding_change_marks_the_title_and_the_description() -> None:
    app = player_app("conv_same_padding")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        title = screen.simulation.title
        before = screen.simulation.stages[0].padding[0]
        await pilot.press("p")
        await pilot.pause()
        now = screen.simulation.stages[0].padding[0]
        assert now == before - 1
        assert screen.title == f"{title} (as saved)"
        assert shown_description(screen)[0] == (
            f"Written for the file as saved: padding {before}. Changed here: padding {now}."
        )


async def test_a_value_edit_marks_the_description_and_keeps_the_title() -> None:
    app = player_app("conv_vertical_edge")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        title = screen.simulation.title
        stage = screen.simulation.stages[0]
        await pilot.press("v")
        await pilot.pause()
        await type_in_box(pilot, "input[0, 0] = 42")
        old = number(float(stage.x[0, 0, 0]))
        assert shown_description(screen)[0] == (
            f"Written for the file as saved: input[0, 0] = {old}. Changed here: input[0, 0] = 42."
        )
        assert screen.title == title  # it states no value that changed
        await pilot.press("v")  # the file's number again: no mark is left
        await pilot.pause()
        await type_in_box(pilot, f"input[0, 0] = {old}")
        assert not shown_description(screen)[0].startswith("Written for")
        assert "changed here" not in screen.sub_title


def test_as_saved_marks_only_what_changed() -> None:
    assert as_saved("T", "D", {}) == ("T", "D")
    changes = {"conv1 stride": ("conv1 stride 3", "conv1 stride 2")}
    title, description = as_saved("Stride 2", "Two.", changes)
    assert title == "Stride 2 (as saved)"
    assert description.split("\n\n") == [
        "Written for the file as saved: conv1 stride 2. Changed here: conv1 stride 3.",
        "Two.",
    ]
    values = {"input[1, 2]": ("input[1, 2] = 5", "input[1, 2] = 0")}
    assert as_saved("Stride 2", "", values)[0] == "Stride 2"


# -- the player: a language model's text ------------------------------------------------------


async def test_e_scores_a_typed_name() -> None:
    app = player_app("lm_score_name")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        old = screen.simulation.stages[0]
        assert isinstance(old, Retextable) and old.input_text == "maranen"
        await pilot.press("e")
        await pilot.pause()
        await type_in_box(pilot, "anna")
        new = screen.simulation.stages[0]
        assert isinstance(new, LanguageModelStage)
        fresh = old.with_text("anna")
        assert new.text == "anna" and len(new) == 5
        assert screen.sub_title.endswith("changed here: word 'anna'")
        np.testing.assert_array_equal(new.output, fresh.output)
        assert new.check_against_torch() < 1e-9
        # a character the model has never seen is refused, as the scenario file would be
        await pilot.press("e")
        await pilot.pause()
        await type_in_box(pilot, "Anna")
        assert "not in the model's alphabet" in str(app.screen.query_one("#text-error").render())
        await type_in_box(pilot, "a" * (MAX_INPUT_TEXT + 1))
        assert "at most 200" in str(app.screen.query_one("#text-error").render())


async def test_e_starts_a_sample_from_a_typed_text() -> None:
    app = player_app("lm_sample")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        old = screen.simulation.stages[0]
        assert old.input_text == ""
        await pilot.press("e")
        await pilot.pause()
        await type_in_box(pilot, "ma")
        new = screen.simulation.stages[0]
        assert new.text.startswith("ma") and new.prompt_length == 2
        assert [new.step(i).mode for i in range(3)] == ["score", "score", "sample"]
        np.testing.assert_array_equal(new.output, old.with_text("ma").output)
        assert new.check_against_torch() < 1e-9


def test_word_model_reads_unknown_words_as_unk_in_a_prompt() -> None:
    import scenarios

    stage = scenarios.load(scenarios.resolve("lm_words_sample")).stages[0]
    typed = stage.with_text("the zyzzyva")
    assert typed.read[:2] == ("the", "zyzzyva") and typed.prompt_length == 2
    assert typed.step(1).token == "<UNK>"
    with pytest.raises(SpecError, match="must draw at least one more"):
        stage.with_text(" ".join(["the"] * stage.max_length))


def test_a_short_index_takes_the_filter_on_screen() -> None:
    near = {"kernel": Cell("kernel", (1, 0, 0, 0)), "bias": Cell("bias", (1,))}
    assert parse("kernel[2, 2] = 4", DEFAULT, ARRAYS, near) == (Cell("kernel", (1, 0, 2, 2)), 4)
    assert parse("bias[] = 3", DEFAULT, ARRAYS, near) == (Cell("bias", (1,)), 3)
