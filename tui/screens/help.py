"""HelpScreen: the keys, what the colours mean, and what the open scenario teaches."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.styles import MUTED
from tui.text import paragraphs

if TYPE_CHECKING:
    from engine.core import Simulation, Stage


KEYS = [
    ("space", "play / pause"),
    ("→ / ←", "one step forward / back"),
    ("PgDn / PgUp", "one output row forward / back"),
    ("Home / End", "first / last step"),
    ("+ / −", "faster / slower playback"),
    ("] / [", "next stage / back a stage (also Tab / Shift+Tab)"),
    ("g", "go to a step by number"),
    ("h", "heat view: shade cells by value instead of numbers"),
    ("r", "receptive field: the inputs this output depends on"),
    ("f", "flip the kernels: true convolution, not correlation"),
    ("u", "border use: windows per pixel, with and without padding"),
    ("t", "shift the input by a pixel and compare the outputs"),
    ("m / M", "next / previous page of channels, filters and maps, when not all fit"),
    ("k", "RNN: compact form W_a·[a⟨t−1⟩, x⟨t⟩] beside the two terms"),
    ("n / N", "recurrent cell: equations of the next / previous hidden unit"),
    ("< / >", "language model: colder / hotter temperature τ, same seed"),
    ("e", "type a text for the model (a date, a scene, a name to score, a start to sample from)"),
    ("v", "change one number: an input cell or a weight"),
    ("s / S", "convolution, pooling: stride one smaller / larger"),
    ("p / P", "convolution, pooling: padding one smaller / larger"),
    ("B / b", "beam search: wider / narrower beam B (1, 2, 3, 5, 10 … 1,000)"),
    ("A / a", "beam search: length normalisation α ± 0.1, within [0, 1]"),
    ("c", "check this stage against PyTorch again"),
    ("d", "the description: show it, page through it, hide it"),
    ("i / I", "scroll the panel down to the inspector and through it / back up"),
    ("click", "click an output cell to jump to its step"),
    ("Esc", "back to the scenario list"),
    ("?", "this help"),
    ("q", "quit"),
]


def editable(stage: Stage) -> bool:
    """Whether ``stage`` read a text that a person may replace (``e``)."""
    from engine.core import Retextable  # the scenario browser opens help without the engine

    return isinstance(stage, Retextable) and getattr(stage, "input_text", None) is not None


KEY_ACTIONS = {
    "h": "toggle_heat",
    "PgDn / PgUp": "row",
    "] / [": "stage",
    "r": "receptive",
    "f": "flip",
    "u": "usage",
    "t": "translate",
    "k": "compact",
    "m / M": "maps",
    "n / N": "unit",
    "< / >": "temperature",
    "e": "edit_text",
    "v": "edit_value",
    "s / S": "stride",
    "p / P": "padding",
    "B / b": "beam",
    "A / a": "alpha",
    "d": "description",
    "i / I": "inspector",
}
"""The player's action behind each help line that only some stages offer."""


def offered_keys(offered: Callable[[str], bool | None]) -> list[tuple[str, str]]:
    """The player's keys that do something where the player is: ``offered(action)`` is the
    player's own ``check_action`` verdict for the stage on screen."""
    return [
        (key, what) for key, what in KEYS if key not in KEY_ACTIONS or offered(KEY_ACTIONS[key])
    ]


def player_keys(simulation: Simulation | None) -> list[tuple[str, str]]:
    """The player's keys, less those that do nothing in ``simulation``: ``e`` needs a stage that
    reads a text, ``B / b`` and ``A / a`` a beam search."""
    if simulation is None:
        return KEYS
    from engine.core import Restridable, Revaluable, Searchable

    stages = simulation.stages
    offered = {
        "e": any(editable(s) for s in stages),
        "v": any(isinstance(s, Revaluable) for s in stages),
        "s / S": any(isinstance(s, Restridable) for s in stages),
        "p / P": any(isinstance(s, Restridable) for s in stages),
        "B / b": any(isinstance(s, Searchable) for s in stages),
        "A / a": any(isinstance(s, Searchable) for s in stages),
    }
    return [(key, what) for key, what in KEYS if offered.get(key, True)]


_LAYER_GROUP = Binding.Group("Layer", compact=True)

LAYER_BINDINGS = [
    Binding(
        "left_square_bracket",
        "layer(-1)",
        "Previous layer",
        key_display="[",
        group=_LAYER_GROUP,
        id="prev-layer",
    ),
    Binding(
        "right_square_bracket",
        "layer(1)",
        "Next layer",
        key_display="]",
        group=_LAYER_GROUP,
        id="next-layer",
    ),
]
"""``]`` and ``[`` between the layers of a network: on the network screen, and in the player
opened on one of its layers. A screen that lists them gives ``action_layer(direction)``."""


NETWORK_KEYS = [
    ("↑ / ↓", "choose a layer; its numbers are computed on first visit"),
    ("] / [", "next / previous layer"),
    ("PgUp / PgDn", "a page of layers up / down"),
    ("Home / End", "the first / the last layer (the class scores)"),
    ("← / →", "scroll the table sideways when it is wider than the screen"),
    (
        "Enter",
        "step through the layer in the player, fed the real output of the layer before; "
        "there ] / [ go on to the next / previous layer and Esc comes back here",
    ),
    ("n / N", "light the next / previous feature map"),
    ("click", "click a feature map to light it"),
    ("s", "colour scale: one for all maps, or each map its own"),
    (
        "g",
        "gradient flow: backpropagate the loss and show each layer's gradient norm on a log "
        "scale, with an alarm where it vanishes or explodes",
    ),
    ("r", "on a layer inside a residual block: its main path, skip path and addition"),
    ("c", "with two or more linear layers: the chain without activations as one affine layer"),
    ("e", "on a plain stack: plain and residual stacks of growing depth trained on the digits"),
    ("Esc", "back to the scenario list"),
    ("?", "this help"),
    ("q", "quit"),
]

BROWSER_KEYS = [
    ("↑ / ↓", "choose a scenario"),
    ("Enter", "open it in the player"),
    ("o", "type the path of a scenario file, then Enter"),
    ("Tab", "move between the list and the path box"),
    ("Esc", "from the path box back to the list"),
    ("?", "this help"),
    ("q", "quit (when the list has the focus)"),
]

NETWORK_LEGEND = [
    (" conv2d ", "bold cyan", "a convolution: its filters hold parameters"),
    (" linear ", "bold yellow", "fully connected: where most parameters usually are"),
    (" maxpool2d ", "magenta", "pooling: a window rule, no parameters"),
    (" ███▉ ", "yellow", "the layer's share of all parameters"),
    (" ▀▀ ", "rgb(200,30,30) on rgb(30,60,220)", "feature maps: red above 0, blue below, black 0"),
    (" ▀▀ ", "rgb(245,245,245) on rgb(20,20,20)", "maps that are never negative: dark 0 … white"),
    (" 3 ", "bold black on yellow", "the feature map that is lit (n / N or a click)"),
]
"""The network screen's colours."""


class HelpScreen(ModalScreen[None]):
    """Keys, the colours of the screen that opened it, and the scenario's description."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss_help", "Close", id="close"),
    ]

    def __init__(
        self,
        simulation: Simulation | None = None,
        keys: list[tuple[str, str]] | None = None,
        legend: list[tuple[str, str, str]] | None = None,
    ) -> None:
        """``keys`` are the keys of the screen that opened the help (the player's by default),
        ``legend`` the colours of what it shows (the player's: those of the stage on screen)."""
        super().__init__()
        self.simulation = simulation
        self.keys = player_keys(simulation) if keys is None else keys
        self.legend = legend or []

    def compose(self) -> ComposeResult:
        width = max(len(key) for key, _ in self.keys) + 2
        keys = Text()
        for key, what in self.keys:
            keys.append(key.ljust(width), style="bold")
            keys.append(f"{what}\n")
        sample_w = max((len(sample) for sample, _, _ in self.legend), default=0)
        legend = Text()
        for sample, style, what in self.legend:
            legend.append(sample.ljust(5), style=style)
            legend.append(" " * max(sample_w - max(len(sample), 5), 0) + f"  {what}\n")
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("Keys", style="bold underline"))
            yield Static(keys)
            if self.legend:
                yield Static(Text("Colours", style="bold underline"))
                yield Static(legend)
            if self.simulation is not None:
                yield Static(Text(self.simulation.title, style="bold underline"))
                # Each paragraph on its own line, as under the player's panel: after a live
                # change, the line saying what the words were written for opens the text.
                description = paragraphs(self.simulation.description)
                yield Static(Text(description), id="help-description")
            yield Static(Text("\nEsc, ? or q closes this help.", style=MUTED))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
