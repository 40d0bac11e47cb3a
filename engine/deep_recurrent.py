"""Deep and bidirectional recurrent networks: layers of RecurrentStage, forward and backward
sweeps, stepped in the order they are computed."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.arrays import frozen, is_whole
from engine.core import Stage, Step
from engine.errors import SpecError
from engine.limits import MAX_LAYERS, MAX_WORK, check_bytes
from engine.recurrent import (
    GATES,
    RecurrentStage,
    RecurrentStep,
    check_cell,
    check_labels,
    check_output_size,
    check_sizes,
    check_words,
    output_layer,
    recurrent_peak_bytes,
)

PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
"""Each (layer, direction)'s parameters, in PyTorch's ``named_parameters`` order."""


def check_layout(num_layers: Any, bidirectional: Any) -> tuple[int, int]:
    """(L, D): the number of layers and of directions, or SpecError naming the field."""
    if not is_whole(num_layers):
        raise SpecError("num_layers", f"expected a whole number, got {num_layers!r}")
    if not 1 <= int(num_layers) <= MAX_LAYERS:
        raise SpecError("num_layers", f"must be 1 to {MAX_LAYERS}, got {num_layers}")
    if not isinstance(bidirectional, (bool, np.bool_)):
        raise SpecError("bidirectional", f"expected true or false, got {bidirectional!r}")
    return int(num_layers), 2 if bidirectional else 1


def deep_parameter_shapes(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    output_size: int | None = None,
) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter by its PyTorch name (``weight_ih_l1_reverse`` …), in
    ``named_parameters`` order, then ``w_ya`` (O, D·H) and ``b_y`` (O,) for an output layer."""
    gh = len(GATES[check_cell(cell)]) * hidden_size
    dirs = 2 if bidirectional else 1
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(num_layers):
        n_in = input_size if layer == 0 else dirs * hidden_size
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            shapes[f"weight_ih{sfx}"] = (gh, n_in)
            shapes[f"weight_hh{sfx}"] = (gh, hidden_size)
            shapes[f"bias_ih{sfx}"] = (gh,)
            shapes[f"bias_hh{sfx}"] = (gh,)
    if output_size is not None:
        shapes["w_ya"] = (output_size, dirs * hidden_size)
        shapes["b_y"] = (output_size,)
    return shapes


def check_deep_key(key: str, shapes: dict[str, tuple[int, ...]]) -> None:
    """SpecError naming ``weights.KEY`` unless the network has such a parameter."""
    if key in shapes:
        return
    close = difflib.get_close_matches(key, list(shapes), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise SpecError(
        f"weights.{key}", f"no such parameter in this network; {hint}valid: {', '.join(shapes)}"
    )


def check_deep_shape(key: str, got: tuple[int, ...], shapes: dict[str, tuple[int, ...]]) -> None:
    """SpecError naming ``weights.KEY`` and both shapes unless ``got`` is the shape it must be."""
    check_deep_key(key, shapes)
    if tuple(got) != shapes[key]:
        raise SpecError(f"weights.{key}", f"expected {shapes[key]}, got {tuple(got)}")


def check_deep_sizes(
    cell: str,
    steps: int,
    input_size: int,
    hidden_size: Any,
    num_layers: int,
    bidirectional: bool,
    output_size: int | None = None,
) -> None:
    """SpecError unless every layer is valid and the whole network fits in memory and time."""
    check_sizes(cell, steps, input_size, hidden_size, None)
    h, dirs = int(hidden_size), 2 if bidirectional else 1
    check_output_size(output_size)
    o = output_size or 0
    g = len(GATES[cell])
    work = steps * o * dirs * h
    for layer in range(num_layers):
        n_in = input_size if layer == 0 else dirs * h
        work += dirs * steps * g * h * (n_in + h)
    need = deep_peak_bytes(cell, steps, input_size, h, num_layers, bidirectional, o)
    check_bytes(
        need,
        "hidden_size",
        f"{num_layers} layers × {dirs} directions of hidden_size {h:,} over {steps:,} steps",
    )
    if work > MAX_WORK:
        raise SpecError(
            "hidden_size",
            f"{num_layers} layers × {dirs} directions of hidden_size {h:,} over {steps:,} steps "
            f"take {work:.2g} multiply-adds; the limit is {MAX_WORK:.0e}",
        )


def deep_peak_bytes(
    cell: str,
    steps: int,
    input_size: int,
    hidden: int,
    num_layers: int,
    bidirectional: bool,
    output: int = 0,
) -> int:
    """Peak bytes of a deep recurrent stage from sizes alone: every (layer, direction) as a
    recurrent stage (its PyTorch check included, a bound on torch's whole-network one), the
    concatenated layer outputs, and the output layer's logits and probabilities."""
    dirs = 2 if bidirectional else 1
    need = 8 * steps * (3 * output + 2 * num_layers * dirs * hidden) + 8 * output * (
        dirs * hidden + 1
    )
    for layer in range(num_layers):
        n_in = input_size if layer == 0 else dirs * hidden
        need += dirs * recurrent_peak_bytes(cell, steps, n_in, hidden)
    return need


def deep_seeded_weights(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    seed: int,
    output_size: int | None = None,
) -> dict[str, np.ndarray]:
    """Every parameter drawn as PyTorch initialises it, U(−1/√H, 1/√H), in ``named_parameters``
    order from one seeded generator; the output layer like ``nn.Linear``, U(−1/√(D·H), …)."""
    shapes = deep_parameter_shapes(
        cell, input_size, hidden_size, num_layers, bidirectional, output_size
    )
    rng = np.random.default_rng(seed)
    k = 1.0 / math.sqrt(hidden_size)
    k_out = 1.0 / math.sqrt((2 if bidirectional else 1) * hidden_size)
    return {
        key: rng.uniform(-k_out, k_out, size=shape)
        if key in ("w_ya", "b_y")
        else rng.uniform(-k, k, size=shape)
        for key, shape in shapes.items()
    }


@dataclass(frozen=True, eq=False, kw_only=True)
class DeepStep(Step):
    """One cell a[l]⟨t⟩ of one sweep, or one output ŷ⟨t⟩, with where its inputs came from.

    ``value`` is the cell's first hidden unit a[l]⟨t⟩[0], or ŷ⟨t⟩[0] for an output step.
    """

    layer: int
    """0-based layer l; for an output step, the number of layers L."""
    direction: int
    """0 forward sweep (left to right), 1 backward sweep (right to left), −1 an output step."""
    t: int
    """The time step of the sequence, from 1 as the course counts (x⟨1⟩ is the first input),
    whatever the direction of the sweep: the backward sweep runs t = T … 1."""
    inner: RecurrentStep | None
    """The one-layer step that computed this cell (its ``t`` counts along its own sweep, so in
    the backward sweep it is T + 1 − t); None for an output step."""
    from_left: np.ndarray | None  # (H,) the previous state of this sweep (zero at its start)
    from_below: np.ndarray  # (I,) x⟨t⟩ or (D·H,) the layer below's output at t
    a: np.ndarray  # (H,) a[l]⟨t⟩ of this direction; (D·H,) top output at t for ŷ
    y_hat: np.ndarray | None  # (O,) ŷ⟨t⟩ for an output step, else None
    word: str | None = None
    """The word x⟨t⟩ is the one-hot vector of, when the input is a text."""
    label: str | None = None
    """For an output step with named outputs, the name of ŷ⟨t⟩'s likeliest class."""

    @property
    def is_output(self) -> bool:
        return self.direction < 0

    @property
    def left_t(self) -> int | None:
        """The time step ``from_left`` was computed at, or None at the start of a sweep."""
        if self.is_output:
            return None
        prev = self.t - 1 if self.direction == 0 else self.t + 1
        return prev if self.inner is not None and self.inner.t > 1 else None


class DeepRecurrentStage(Stage):
    """A stack of recurrent layers, each forward or both ways — PyTorch's ``nn.RNN`` /
    ``nn.GRU`` / ``nn.LSTM`` with ``num_layers`` and ``bidirectional`` — with an optional
    softmax output layer over the top layer's two directions::

        a→[l]⟨t⟩ = cell(a→[l]⟨t−1⟩, in[l]⟨t⟩)      forward sweep, t = 1 … T, a→[l]⟨0⟩ = 0
        a←[l]⟨t⟩ = cell(a←[l]⟨t+1⟩, in[l]⟨t⟩)      backward sweep, t = T … 1, a←[l]⟨T+1⟩ = 0
        in[0]⟨t⟩ = x⟨t⟩,   in[l+1]⟨t⟩ = [a→[l]⟨t⟩, a←[l]⟨t⟩]
        ŷ⟨t⟩ = softmax(W_ya·[a→[L−1]⟨t⟩, a←[L−1]⟨t⟩] + b_y)

    Time runs from t = 1, as in the course; row ``k`` of every (T, …) array is t = k + 1.
    Each (layer, direction) is a RecurrentStage; the backward one runs on the reversed sequence
    and its outputs are reversed back. Initial states are zero.

    Args:
        x: the sequence, (T, input_size).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        hidden_size: H ≥ 1.
        num_layers: L, 1 to 8.
        bidirectional: D = 2 directions if True, else 1.
        weights: PyTorch's parameter names (``weight_ih_l0``, ``bias_hh_l2_reverse`` …); the
            weights are required, biases default to zeros; ``w_ya`` (O, D·H) and ``b_y`` (O,)
            add the output layer.

    Shape:
        output (T, D·H): the top layer's concatenated states, as ``nn.LSTM`` returns them.

    Steps are in the order of computation: per layer the forward sweep, then the backward sweep,
    then (with an output layer) T output steps; L·D·T (+ T) in all.
    """

    kind = "deep_recurrent"

    def __init__(
        self,
        x: np.ndarray,
        cell: str,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        weights: dict[str, Any],
        name: str = "deep_rnn",
        words: list[str] | None = None,
        labels: list[str] | None = None,
    ) -> None:
        super().__init__(name)
        cell = check_cell(cell)
        layers, dirs = check_layout(num_layers, bidirectional)
        xs = np.asarray(x, dtype=np.float64)
        if xs.ndim != 2:
            raise SpecError("input", f"expected a 2-D (T, input_size) array, got shape {xs.shape}")
        if not is_whole(hidden_size):
            raise SpecError("hidden_size", f"expected a whole number, got {hidden_size!r}")
        h = int(hidden_size)
        steps, n_in = xs.shape
        w_ya = weights.get("w_ya")
        w_ya_arr = None if w_ya is None else np.asarray(w_ya, dtype=np.float64)
        o = int(w_ya_arr.shape[0]) if w_ya_arr is not None and w_ya_arr.ndim == 2 else None
        if w_ya_arr is not None and o is None:
            raise SpecError(
                "weights.w_ya", f"expected a 2-D (O, {dirs * h}) array, got {w_ya_arr.shape}"
            )
        if o is None and weights.get("b_y") is not None:
            raise SpecError("weights.b_y", "an output bias needs output weights w_ya")
        check_deep_sizes(cell, steps, n_in, h, layers, dirs == 2, o)
        shapes = deep_parameter_shapes(cell, n_in, h, layers, dirs == 2, o)
        params: dict[str, np.ndarray] = {}
        for key, value in weights.items():
            check_deep_key(key, shapes)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.float64)
            check_deep_shape(key, arr.shape, shapes)
            if not np.all(np.isfinite(arr)):
                raise SpecError(f"weights.{key}", "values must be finite (no inf or nan)")
            params[key] = frozen(arr)
        for key, shape in shapes.items():
            if key not in params:
                if key.startswith("weight"):
                    raise SpecError(f"weights.{key}", f"missing; expected shape {shape}")
                params[key] = frozen(np.zeros(shape))
        self.cell = cell
        self.hidden_size = h
        self.input_size = int(n_in)
        self.num_layers = layers
        self.directions = dirs
        self.params = params
        self.x = frozen(xs)  # (T, I)
        self.w_ya = params.get("w_ya")  # (O, D·H)
        self.b_y = params.get("b_y")  # (O,)
        self.sweeps: list[list[RecurrentStage]] = []  # [layer][direction]
        outs = [self.x]  # inputs of each layer; outs[l + 1] is layer l's output (T, D·H)
        for layer in range(layers):
            below = outs[-1]
            row = []
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                try:
                    stage = RecurrentStage(
                        below[::-1] if d else below,
                        cell,
                        h,
                        params["weight_ih" + sfx],
                        params["weight_hh" + sfx],
                        params["bias_ih" + sfx],
                        params["bias_hh" + sfx],
                        name=f"{name}.l{layer}{'_reverse' if d else ''}",
                    )
                except SpecError as e:
                    where = f"layer {layer + 1}" + (", backward" if d else "")
                    raise SpecError(f"{e.field} ({where})", e.message) from None
                row.append(stage)
            self.sweeps.append(row)
            outs.append(
                frozen(
                    np.concatenate(
                        [s.output[::-1] if d else s.output for d, s in enumerate(row)], axis=1
                    )
                )
            )
        self.layer_outputs = outs[1:]
        """Each layer's concatenated output [a→[l]⟨t⟩, a←[l]⟨t⟩], (T, D·H)."""
        self._y = None
        if self.w_ya is not None and self.b_y is not None:
            _, y = output_layer(self.layer_outputs[-1], self.w_ya, self.b_y)
            self._y = frozen(y)  # (T, O)
        self.words = check_words(words, steps)
        """The word each x⟨t⟩ is the one-hot vector of, or None."""
        self.labels = check_labels(labels, o)
        """The name of each of the O outputs, or None."""
        self.compare: DeepRecurrentStage | None = None
        """The same network run on a second sentence (``compare_run``), or None."""

    def compare_run(self, x: np.ndarray, words: list[str] | None = None) -> DeepRecurrentStage:
        """Run the same weights over a second sequence ``x`` (T′, I) and keep it as
        ``self.compare``, so that the two can be shown side by side; SpecError naming
        ``compare`` when it cannot run."""
        try:
            other = DeepRecurrentStage(
                x,
                self.cell,
                self.hidden_size,
                self.num_layers,
                self.directions == 2,
                dict(self.params),
                name=f"{self.name}.compare",
                words=words,
                labels=None if self.labels is None else list(self.labels),
            )
        except SpecError as e:
            raise SpecError(f"compare ({e.field})", e.message) from None
        self.compare = other
        return other

    # -- results -------------------------------------------------------------------------

    @property
    def steps_per_sweep(self) -> int:
        return int(self.x.shape[0])

    @property
    def output(self) -> np.ndarray:
        """The top layer's states [a→⟨t⟩, a←⟨t⟩] for every t, shape (T, D·H)."""
        return self.layer_outputs[-1]

    @property
    def outputs_y(self) -> np.ndarray | None:
        """ŷ⟨1⟩ … ŷ⟨T⟩, (T, O), or None without an output layer."""
        return self._y

    @property
    def output_size(self) -> int | None:
        return None if self.w_ya is None else int(self.w_ya.shape[0])

    @property
    def parameter_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def cell_index(self, layer: int, direction: int, t: int) -> int:
        """The step that computes a[layer]⟨t⟩ in ``direction`` (0 forward, 1 backward); ``t``
        from 1, as ``DeepStep.t``."""
        steps = self.steps_per_sweep
        k = t - 1 if direction == 0 else steps - t
        return (layer * self.directions + direction) * steps + k

    # -- stepping ------------------------------------------------------------------------

    def __len__(self) -> int:
        steps = self.steps_per_sweep
        return self.num_layers * self.directions * steps + (steps if self._y is not None else 0)

    def step(self, i: int) -> DeepStep:
        i = self._normalise_index(i)
        steps = self.steps_per_sweep
        sweep, k = divmod(i, steps)
        if sweep >= self.num_layers * self.directions:
            assert self._y is not None
            y = self._y[k]
            top = self.output[k]
            j = int(np.argmax(y))
            return DeepStep(
                stage=self.name,
                index=i,
                value=float(y[0]),
                explanation=f"ŷ⟨{k + 1}⟩ = softmax(W_ya·[a→⟨{k + 1}⟩, a←⟨{k + 1}⟩] + b_y); "
                f"largest p = {y[j]:.4g} at {j}"
                + ("" if self.labels is None else f" ({self.labels[j]})"),
                layer=self.num_layers,
                direction=-1,
                t=k + 1,
                inner=None,
                from_left=None,
                from_below=top,
                a=top,
                y_hat=y,
                word=None if self.words is None else self.words[k],
                label=None if self.labels is None else self.labels[j],
            )
        layer, d = divmod(sweep, self.directions)
        row = k if d == 0 else steps - 1 - k  # the row of x and of the outputs
        t = row + 1  # the course's time step: forward 1 … T, backward T … 1
        inner = self.sweeps[layer][d].step(k)
        arrow = "←" if d else "→"
        # Explanations number layers from 1, as in a[l]⟨t⟩ with a[0]⟨t⟩ = x⟨t⟩.
        if layer == 0:
            below = f"x⟨{t}⟩"
        elif self.directions == 2:
            below = f"[a→[{layer}]⟨{t}⟩, a←[{layer}]⟨{t}⟩]"
        else:
            below = f"a[{layer}]⟨{t}⟩"
        arrow = arrow if self.directions == 2 else ""
        prev = f"a{arrow}[{layer + 1}]⟨{t + 1 if d else t - 1}⟩"
        if not k:
            prev += " = 0"
        return DeepStep(
            stage=self.name,
            index=i,
            value=float(inner.a[0]),
            explanation=f"layer {layer + 1}, {'backward' if d else 'forward'} sweep, t = {t}: "
            f"a{arrow}[{layer + 1}]⟨{t}⟩ from {prev} and {below}; first unit {inner.a[0]:.6g}",
            layer=layer,
            direction=d,
            t=t,
            inner=inner,
            from_left=inner.a_prev,
            from_below=self.x[row] if layer == 0 else self.layer_outputs[layer - 1][row],
            a=inner.a,
            y_hat=None,
            word=None if self.words is None else self.words[row],
        )

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> dict[str, Any]:
            return {"shape": list(a.shape), "values": a.tolist()}

        params = {k: arr(v) for k, v in self.params.items() if k not in ("w_ya", "b_y")}
        if self.w_ya is not None and self.b_y is not None:
            params["output.weight"] = arr(self.w_ya)
            params["output.bias"] = arr(self.b_y)
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "input": arr(self.x),
            "parameters": params,
            "hyperparameters": {
                "cell": self.cell,
                "hidden_size": self.hidden_size,
                "input_size": self.input_size,
                "num_layers": self.num_layers,
                "bidirectional": self.directions == 2,
                "output_size": self.output_size,
                "gate_order": list(GATES[self.cell]),
            },
            "output": arr(self.output),
        }
        if self._y is not None:
            out["outputs_y"] = arr(self._y)
        if self.words is not None:
            out["words"] = list(self.words)
        if self.labels is not None:
            out["labels"] = list(self.labels)
        if self.compare is not None:
            other = self.compare
            out["compare"] = {"input": arr(other.x), "output": arr(other.output)}
            if other.words is not None:
                out["compare"]["words"] = list(other.words)
            if other._y is not None:
                out["compare"]["outputs_y"] = arr(other._y)
        out["steps"] = len(self)
        out["step_order"] = ["layer", "direction", "t"]
        return out

    def torch_module(self) -> Any:
        """``torch.nn.RNN`` / ``GRU`` / ``LSTM`` (float64) with these layers and weights."""
        import torch

        cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[self.cell]
        module = cls(
            self.input_size,
            self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.directions == 2,
            dtype=torch.float64,
        )
        with torch.no_grad():
            for key, p in module.named_parameters():
                p.copy_(torch.from_numpy(np.array(self.params[key])))
        return module

    def reference_run(self) -> tuple[np.ndarray, np.ndarray | None]:
        """PyTorch's top-layer output (T, D·H) and softmax outputs (T, O) or None."""
        import torch

        with torch.no_grad():
            out, _ = self.torch_module()(torch.from_numpy(np.array(self.x))[:, None])
            top = out[:, 0]  # (T, D·H)
            y = None
            if self.w_ya is not None and self.b_y is not None:
                logits = torch.nn.functional.linear(
                    top, torch.from_numpy(np.array(self.w_ya)), torch.from_numpy(np.array(self.b_y))
                )
                y = torch.softmax(logits, dim=-1).numpy()
        return top.numpy(), y

    def reference(self) -> np.ndarray:
        """The top layer's output from ``torch.nn``'s module with ``num_layers`` and
        ``bidirectional``, (T, D·H)."""
        return self.reference_run()[0]
