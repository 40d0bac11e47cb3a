"""Step, Stage and Simulation: the stepping model every computation in netsim follows."""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from engine.errors import SpecError

if TYPE_CHECKING:
    from engine.network import Network


FLOAT64_TOLERANCE = 1e-9
"""Agreement with PyTorch in float64: max |Δ| ≤ 1e-9 × the largest magnitude (at least 1)."""
FLOAT32_TOLERANCE = 1e-4
"""The same for a computation in float32 (whose own rounding is about 6e-8 per operation, and
grows with sums of thousands of products)."""


@dataclass(frozen=True)
class Step:
    """One inspectable step of a stage: data and meaning, never formatting.

    Stage kinds subclass this and add the operands that explain the value.
    """

    stage: str
    """Name of the stage this step belongs to."""
    index: int
    """Local index of the step inside its stage."""
    value: float
    """The number this step produces."""
    explanation: str = field(default="", compare=False)
    """A short plain-text account of where the value came from."""


class Stage(ABC):
    """One computation: inputs, parameters, hyper-parameters and its full result.

    The result is computed once, vectorized, when the stage is built. ``step(i)`` only slices
    what is already there, so random access is O(1) and no list of steps is ever held.
    """

    kind: ClassVar[str]
    """Name of the stage kind, as written in scenario files and traces."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def __len__(self) -> int:
        """Number of steps in this stage."""

    @abstractmethod
    def step(self, i: int) -> Step:
        """The step at local index ``i`` (negative indices count from the end)."""

    def row_steps(self) -> int:
        """Steps in one row of output (how far "next row" moves); 1 where rows mean nothing."""
        return 1

    @property
    @abstractmethod
    def output(self) -> np.ndarray:
        """The full result of the stage."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Inputs, parameters, hyper-parameters and output as plain data (for traces)."""

    @abstractmethod
    def reference(self) -> np.ndarray:
        """The same result computed by PyTorch's own op (imports torch on first use)."""

    def tolerance(self) -> float:
        """Largest max |Δ| from PyTorch, relative to the output's largest magnitude (at least
        1), that still counts as agreement: float64 rounding (FLOAT64_TOLERANCE). A stage that
        computes in float32 says so by returning FLOAT32_TOLERANCE."""
        return FLOAT64_TOLERANCE

    def check_against_torch(self) -> float:
        """Max |Δ| between this stage's output and PyTorch's."""
        ref = self.reference()
        if ref.shape != self.output.shape:
            raise AssertionError(f"shape {self.output.shape} != torch shape {ref.shape}")
        if ref.size == 0:
            return 0.0
        return float(np.max(np.abs(ref - self.output)))

    def _normalise_index(self, i: int) -> int:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"step {i} out of range for stage {self.name!r} with {n} steps")
        return i


Pair = tuple[int, int]
"""(height, width) of a window, a stride or a padding."""


# -- capabilities ----------------------------------------------------------------------------
# What a screen or a tool may ask of a stage beyond stepping through it. A stage declares a
# capability by implementing the protocol's methods; screens test ``isinstance(stage, P)`` and
# never look at the stage's kind name, so a new kind gets every view its methods allow.


@runtime_checkable
class Refeedable(Protocol):
    """The same computation can be run again on another input of the same shape (the shifted
    input view compares the two)."""

    def with_input(self, x: np.ndarray) -> Stage:
        """A new stage: this one's parameters applied to ``x``."""
        ...


@runtime_checkable
class SpatialMap(Protocol):
    """An image-to-image stage: output position (i, j) reads a window of input positions, or
    only position (i, j) itself. Receptive fields are traced through chains of these."""

    def input_hw(self) -> Pair:
        """Height and width of the input."""
        ...

    def window_geometry(self) -> tuple[Pair, Pair, Pair] | None:
        """(window, stride, padding), or None when each output reads only its own position."""
        ...


@runtime_checkable
class BorderUsage(Protocol):
    """A windowed stage whose padding decides how often border pixels are read."""

    def usage_geometry(self) -> tuple[Pair, Pair, Pair]:
        """(window, stride, padding) as used; the usage view compares it with no padding."""
        ...


@runtime_checkable
class Flippable(Protocol):
    """A stage whose kernels can be rotated by 180°: true convolution against the
    cross-correlation deep learning calls convolution."""

    def flipped(self) -> Stage:
        """The same stage with every kernel rotated by 180°."""
        ...


@runtime_checkable
class HiddenUnits(Protocol):
    """A stage whose explanation can be written out for one hidden unit at a time."""

    def unit_count(self) -> int:
        """How many hidden units there are to choose from."""
        ...


@runtime_checkable
class CompactForm(Protocol):
    """A recurrent cell that can be written in the compact form W_a·[a⟨t−1⟩, x⟨t⟩]."""

    def has_compact_form(self) -> bool:
        """Whether this stage's cell has that form (a plain RNN cell does)."""
        ...


@runtime_checkable
class Tempered(Protocol):
    """A stage that samples or scores through softmax(z/τ) and can be run at another τ."""

    temperature: float

    def with_temperature(self, temperature: float) -> Stage:
        """A new stage: the same run at temperature ``temperature``."""
        ...


@runtime_checkable
class SizeFormulas(Protocol):
    """A stage whose output size follows a formula worth showing, ⌊(n + 2p − f)/s⌋ + 1."""

    def size_formulas(self) -> tuple[str, str]:
        """The height and width formulas with their numbers filled in."""
        ...


@runtime_checkable
class Restridable(Protocol):
    """A windowed stage whose stride and padding a person may change (``s`` / ``S``, ``p`` /
    ``P``): the same input and parameters, windows placed again."""

    stride: Pair
    padding: Pair

    def with_window(self, stride: Pair, padding: Pair) -> Stage:
        """A new stage: this one with ``stride`` and ``padding``; SpecError (under ``stride``,
        ``padding``, ``kernels`` or ``size``) when the window no longer fits the padded input."""
        ...


def replaced(
    arrays: dict[str, np.ndarray], name: str, array: np.ndarray, unknown: str | None = None
) -> dict[str, np.ndarray]:
    """``arrays`` (a stage's ``value_arrays``) with ``name`` replaced by ``array`` in float64:
    what every ``Revaluable.with_values`` checks first. SpecError under ``name`` for a name that
    is not there (``unknown`` says why, or the valid names are listed) or another shape."""
    if name not in arrays:
        raise SpecError(name, unknown or f"no array {name!r} here; valid: {', '.join(arrays)}")
    if np.shape(array) != arrays[name].shape:
        raise SpecError(name, f"expected shape {arrays[name].shape}, got {np.shape(array)}")
    return arrays | {name: np.asarray(array, dtype=np.float64)}


@runtime_checkable
class Revaluable(Protocol):
    """A stage whose numbers a person may change one at a time (``v``): its input and its
    parameters, each an array with a name (``input``, ``kernel``, ``bias``)."""

    def value_arrays(self) -> dict[str, np.ndarray]:
        """The arrays that may be changed, by name, in the stage's own layout (a conv's input
        (C, H, W), kernel (F, C, f_h, f_w) and bias (F,))."""
        ...

    def with_values(self, name: str, array: np.ndarray) -> Stage:
        """A new stage: this one with array ``name`` replaced by ``array`` (same shape);
        SpecError when the new numbers cannot be computed (not finite, an output that
        overflows)."""
        ...


@runtime_checkable
class Layered(Protocol):
    """A stage that is a whole network of named layers: the app opens the network screen for
    it, and each layer can be opened as a stage of its own (``network.stage(name)``)."""

    network: Network


@runtime_checkable
class Retextable(Protocol):
    """A stage that reads a text a person may type instead (a date to translate, a name to
    score): the player offers an input box for it."""

    text_field: str
    """The scenario field the text comes from, to name in errors (``text``, ``word`` …)."""

    @property
    def input_text(self) -> str | None:
        """The text this stage read, or None when it read none (a sample)."""
        ...

    def with_text(self, text: str) -> Stage:
        """A new stage: the same model and settings on ``text``; SpecError under
        ``text_field`` if the text cannot be read (empty, too long …)."""
        ...


@runtime_checkable
class Searchable(Protocol):
    """A beam search that can be run again with another width B or length-normalisation α."""

    beam_width: int
    alpha: float

    def with_search(self, beam_width: int | None = None, alpha: float | None = None) -> Stage:
        """A new stage: the same search with B and/or α changed; SpecError under
        ``beam_width`` or ``alpha`` outside the valid range."""
        ...


class Simulation:
    """The ordered stages of one scenario, addressed by one global step index."""

    def __init__(
        self,
        stages: list[Stage],
        *,
        title: str = "",
        description: str = "",
        topic: str = "",
        source: str = "",
    ) -> None:
        if not stages:
            raise ValueError("a simulation needs at least one stage")
        self.stages = list(stages)
        self.title = title
        self.description = description
        self.topic = topic
        self.source = source
        self.offsets: list[int] = []
        total = 0
        for stage in self.stages:
            self.offsets.append(total)
            total += len(stage)
        self._total = total

    def __len__(self) -> int:
        return self._total

    def locate(self, i: int) -> tuple[int, int]:
        """Map a global step index to (stage number, local index)."""
        if i < 0:
            i += self._total
        if not 0 <= i < self._total:
            raise IndexError(f"step {i} out of range: the simulation has {self._total} steps")
        s = bisect.bisect_right(self.offsets, i) - 1
        # Empty stages share an offset with the next one; skip to the stage that owns i.
        while len(self.stages[s]) == 0:
            s += 1
        return s, i - self.offsets[s]

    def global_index(self, stage: int, local: int) -> int:
        """Map (stage number, local index) back to the global step index."""
        if not 0 <= local < len(self.stages[stage]):
            raise IndexError(f"local step {local} out of range for stage {stage}")
        return self.offsets[stage] + local

    def step(self, i: int) -> Step:
        """The step at global index ``i``."""
        s, local = self.locate(i)
        return self.stages[s].step(local)

    def stage_of(self, i: int) -> Stage:
        """The stage that owns global step ``i``."""
        return self.stages[self.locate(i)[0]]
