"""The footer of every stage kind offers only keys that do something there: each key it shows is
enabled on the stage on screen, and the keys that only some stages offer appear exactly where
they mean something (no receptive field or shift on an element-by-element activation, no heat
view where nothing is drawn as numbers, no beam keys without a beam search)."""

from __future__ import annotations

import pytest
from apps import player, player_app
from textual.screen import Screen
from textual.widgets._footer import FooterKey

import scenarios
from tui.screens.help import offered_keys
from tui.widgets.keyfooter import KeyFooter

OPTIONAL = {
    "row": "PgUp PgDn",
    "toggle_heat": "h",
    "receptive": "r",
    "flip": "f",
    "usage": "u",
    "translate": "t",
    "compact": "k",
    "temperature": "< >",
    "edit_text": "e",
    "beam": "B b",
    "alpha": "A a",
    "edit_value": "v",
    "stride": "s S",
    "padding": "p P",
}
"""The footer's keys that only some stages offer, by action."""

CASES = [
    # (scenario, stage number, kind, the optional actions that mean something there)
    ("activation_sigmoid", 0, "activation", {"row", "toggle_heat", "edit_value"}),
    # One row: PgDn would be End.
    ("activation_leaky_relu", 0, "activation", {"toggle_heat", "edit_value"}),
    (
        "conv_vertical_edge",
        0,
        "conv",
        {"row", "toggle_heat", "receptive", "flip", "usage", "translate"}
        | {"edit_value", "stride", "padding"},
    ),
    (
        "pool_max_4x4",
        0,
        "pool",
        {"row", "toggle_heat", "receptive", "translate", "edit_value", "stride", "padding"},
    ),
    # A ReLU after a convolution: its receptive field is the convolution's window.
    ("cnn_conv_relu_pool", 1, "activation", {"row", "toggle_heat", "receptive", "translate"}),
    ("learn_vertical_edge", 0, "learn_kernel", {"row", "toggle_heat"}),
    ("tokens_words", 0, "tokens", {"toggle_heat"}),
    ("rnn_step", 0, "recurrent", {"toggle_heat", "compact", "edit_value"}),
    ("lstm_gates", 0, "recurrent", {"toggle_heat", "edit_value"}),
    ("rnn_deep", 0, "deep_recurrent", set()),
    ("bptt_vanishing", 0, "bptt", {"toggle_heat"}),
    ("lm_sample", 0, "language_model", {"temperature", "edit_text"}),
    ("beam_names", 0, "beam_search", {"beam", "alpha"}),
    ("translate_date", 0, "translation", {"edit_text"}),
    ("translate_date", 1, "beam_search", {"edit_text", "beam", "alpha"}),
    ("caption_shapes", 0, "caption", {"edit_text"}),
]


def test_every_stage_kind_is_covered() -> None:
    """Each stage kind a bundled scenario opens in the player has a case here."""
    kinds = set()
    for b in scenarios.bundled():
        sim = scenarios.load(scenarios.resolve(b.name))
        kinds |= {s.kind for s in sim.stages if s.kind != "network"}
    assert kinds == {kind for _, _, kind, _ in CASES}


def shown_keys(screen: Screen[object]) -> list[FooterKey]:
    """The keys the footer shows (it holds other stages' keys hidden)."""
    return screen.query_one(KeyFooter).shown_keys()


def action_name(action: str) -> tuple[str, tuple[object, ...]]:
    """``"step(-1)"`` → ``("step", (-1,))``."""
    name, _, args = action.partition("(")
    params = tuple(int(a) for a in args.rstrip(")").split(",") if a.strip())
    return name, params


@pytest.mark.parametrize(("name", "stage_no", "kind", "meaningful"), CASES)
async def test_footer_offers_only_what_the_stage_does(
    name: str, stage_no: int, kind: str, meaningful: set[str]
) -> None:
    app = player_app(name)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = player(app)
        screen.cursor = screen.simulation.offsets[stage_no]
        # The footer is composed again after the bindings change: wait until it has been.
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        for _ in range(20):
            await pilot.pause()
            active = screen.active_bindings.values()
            offered = {b.action for _, b, enabled, _ in active if b.show and enabled}
            if {k.action for k in shown_keys(screen)} == offered:
                break
        assert screen.simulation.stages[stage_no].kind == kind
        shown = shown_keys(screen)
        assert shown
        for key in shown:
            action, params = action_name(key.action)
            assert not key.disabled, key.action
            assert screen.check_action(action, params) is True, key.action
        actions = {action_name(key.action)[0] for key in shown}
        assert actions & OPTIONAL.keys() == meaningful
        # ? lists the same: a key the footer leaves out is not in the help either.
        helped = {keys for keys, _ in offered_keys(lambda a: screen.check_action(a, ()))}
        for action, display in OPTIONAL.items():
            in_help = any(display.split()[0] in keys.split(" / ") for keys in helped)
            assert in_help == (action in meaningful), (action, sorted(helped))


def test_legend_samples_carry_their_colours() -> None:
    """Each sample of a legend is drawn with the background the panel uses for it (the
    grids' styles are Rich's: a colour Textual does not know would silently draw nothing)."""
    from rich.style import Style as RichStyle

    from tui.widgets import legend

    swatches = [*legend.grid(pad=True, heat_on=True), legend.winner()]
    content = legend.line(swatches)
    for sample, style, _ in swatches:
        start = content.plain.index(sample)
        span = next(s for s in content.spans if s.start == start)
        assert not isinstance(span.style, str), sample
        background = span.style.background
        wanted = RichStyle.parse(style).bgcolor
        if wanted is None:
            assert background is None or background.a == 0, sample
        else:
            assert background is not None and background.a > 0, sample


@pytest.mark.parametrize(
    ("name", "present", "absent"),
    [
        ("lm_sample", ["<EOS>"], ["<UNK>"]),  # 26 letters and <EOS>: nothing is unknown
        ("lm_words_score", ["<EOS>", "<UNK>"], []),
        ("activation_sigmoid", ["x read", "this x on the curve"], ["window read"]),
        ("conv_vertical_edge", ["window read"], ["x read"]),
        ("caption_shapes", ["this step's word", "<EOS>"], ["this output", "<UNK>"]),
    ],
)
async def test_legend_names_only_what_the_stage_can_show(
    name: str, present: list[str], absent: list[str]
) -> None:
    """The legend under the panel names the colours this stage can draw, and no others."""
    from tui.widgets.legend import Legend

    app = player_app(name)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        text = str(player(app).query_one(Legend).render())
        for words in present:
            assert words in text
        for words in absent:
            assert words not in text
