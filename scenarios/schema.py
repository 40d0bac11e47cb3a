"""The pydantic models of scenario files: one model per ``kind``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ScenarioBase(BaseModel):
    """Fields every scenario file has, whatever its kind."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    """Which computation the file describes; picks the schema."""
    title: str = Field(min_length=1)
    """Shown in the browser and the player's header."""
    topic: str = "Convolution"
    """Curriculum heading the browser lists the scenario under."""
    description: str = ""
    """A few sentences on what the scenario teaches."""
    order: int = 100
    """Position inside its topic in the browser (smaller first)."""


class ConvFields(BaseModel):
    """The settings of one convolution layer, in a conv scenario or a pipeline stage.

    The value fields are checked by the loader, which knows the shapes involved; here they
    are only required to be present where needed.
    """

    model_config = ConfigDict(extra="forbid")

    kernel: Any = None
    """One filter: a named kernel, an inline (f, f) or (C, f, f) array, or a random spec."""
    kernels: Any = None
    """Several filters: a list of what ``kernel`` takes, or one random (F, C, f, f) spec."""
    bias: Any = 0
    """One number for every filter, or a list with one number per filter."""
    stride: Any = 1
    """``s`` or ``[s_h, s_w]``, each ≥ 1."""
    padding: Any = "valid"
    """``"valid"``, ``"same"`` (odd kernels, stride 1), ``p`` or ``[p_h, p_w]``."""


class ConvScenario(ScenarioBase, ConvFields):
    """``kind = "conv"``: one convolution layer."""

    input: Any
    """(H, W) or (C, H, W) numbers inline, or ``{ random = [C, H, W], seed = 0 }``."""


class PoolScenario(ScenarioBase):
    """``kind = "pool"``: one pooling layer, applied to each channel on its own."""

    input: Any
    """(H, W) or (C, H, W) numbers inline, or a random spec."""
    mode: str = "max"
    """``"max"`` or ``"avg"``."""
    size: Any = 2
    """Window ``f`` or ``[f_h, f_w]``."""
    stride: Any = None
    """``s`` or ``[s_h, s_w]``; the window size when omitted."""


class ConvOp(ConvFields):
    """A convolution stage of a pipeline: ``op = "conv"`` and the fields of a conv scenario."""

    op: str
    name: str | None = None
    """Shown in the timeline; ``conv1``, ``relu2``, … when omitted."""


class PoolOp(BaseModel):
    """A pooling stage of a pipeline: ``op = "maxpool"`` or ``"avgpool"``."""

    model_config = ConfigDict(extra="forbid")

    op: str
    name: str | None = None
    size: Any = 2
    stride: Any = None


class ActivationOp(BaseModel):
    """An activation stage of a pipeline: ``op`` is the function's name."""

    model_config = ConfigDict(extra="forbid")

    op: str
    name: str | None = None
    negative_slope: float = 0.01
    """Slope for negative inputs (``leaky_relu`` only)."""


OPS: dict[str, type[BaseModel]] = {
    "conv": ConvOp,
    "maxpool": PoolOp,
    "avgpool": PoolOp,
    "relu": ActivationOp,
    "sigmoid": ActivationOp,
    "tanh": ActivationOp,
    "leaky_relu": ActivationOp,
}
"""Pipeline stage kinds (``op``) and their schemas."""


class PipelineScenario(ScenarioBase):
    """``kind = "pipeline"``: stages applied one after another, each to the last one's output."""

    input: Any
    """(H, W) or (C, H, W) numbers inline, or a random spec."""
    stages: list[dict[str, Any]] = Field(min_length=1)
    """``[[stages]]`` tables, each with an ``op`` and that op's fields."""


class LearnKernelScenario(ScenarioBase):
    """``kind = "learn_kernel"``: a kernel learned by gradient descent from filtered images."""

    images: Any
    """(N, H, W) or (H, W) numbers inline, one random or data spec, or a list of (H, W) specs."""
    hidden_kernel: Any
    """The kernel that makes the targets: a named kernel, inline (f_h, f_w) numbers or a random
    spec."""
    init: Any = None
    """The starting weights, shape of ``hidden_kernel``; seeded uniform floats in [−1, 1) when
    omitted."""
    learning_rate: float = Field(strict=True)
    """η in W ← W − η·∂L/∂W, > 0."""
    iterations: int = Field(strict=True)
    """How many gradient-descent updates to run (one step each)."""


class OneLayerWeights(BaseModel):
    """Weights of a one-layer recurrent module: ``weight_ih_l0`` and the other names PyTorch's
    ``named_parameters`` gives a one-layer ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` are read as
    ``weight_ih`` and so on, so a state dict's keys can be pasted as they are."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_layer_suffix(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in data:
            base = key.removesuffix("_l0") if isinstance(key, str) else key
            if base != key and base in cls.model_fields:
                if base in data:
                    raise ValueError(f"{key} and {base} are the same weights: give one of them")
                out[base] = out.pop(key)
        return out


class RecurrentWeights(OneLayerWeights):
    """``[weights]`` of a recurrent scenario: PyTorch's names and layout; each one omitted is
    drawn from the scenario's seed. Shapes are checked by the engine, which knows the sizes."""

    model_config = ConfigDict(extra="forbid")

    weight_ih: Any = None
    """(G·H, input_size): the input weights of every gate, stacked in PyTorch's order."""
    weight_hh: Any = None
    """(G·H, H): the recurrent weights of every gate."""
    bias_ih: Any = None
    """(G·H,)."""
    bias_hh: Any = None
    """(G·H,)."""
    w_ya: Any = None
    """(O, H): the softmax output layer's weights; needs an output layer."""
    b_y: Any = None
    """(O,): the output layer's bias."""


class RecurrentScenario(ScenarioBase):
    """``kind = "recurrent"``: one RNN, GRU or LSTM layer run over a sequence, one step per time
    step."""

    input: Any
    """The sequence, (T, input_size): numbers inline, a random spec or a data spec."""
    cell: str = Field("rnn", strict=True)
    """``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``."""
    hidden_size: int = Field(strict=True)
    """H, the number of hidden units, ≥ 1."""
    weights: RecurrentWeights | None = None
    """Given weights; every one not given is seeded random."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of the weights not given, drawn like PyTorch's default U(−1/√H, 1/√H)."""
    output_size: int | None = Field(None, strict=True)
    """O: adds a softmax output layer ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y) with O outputs."""
    a0: Any = None
    """The initial hidden state a⟨−1⟩, (H,); zeros when omitted."""
    c0: Any = None
    """The initial cell state c⟨−1⟩, (H,), LSTM only; zeros when omitted."""
    architecture: str = Field("many_to_many", strict=True)
    """Which steps read an input and which give an output: ``"many_to_many"``, ``"one_to_one"``,
    ``"one_to_many"``, ``"many_to_one"`` or ``"encoder_decoder"``."""
    decoder_steps: int | None = Field(None, strict=True)
    """Ty, the steps with an output, for ``one_to_many`` and ``encoder_decoder`` only."""
    contrast: RecurrentContrast | None = None
    """Run the sequence a second time with one input number changed and show both runs."""


class RecurrentContrast(BaseModel):
    """``contrast = { step = 0, channel = 0, value = -1 }``: x⟨step⟩[channel] = value in a
    second run, to show how long the network remembers the change."""

    model_config = ConfigDict(extra="forbid")

    step: int = Field(strict=True)
    """The time step whose input changes, 0 ≤ step < T, a step with an input."""
    channel: int = Field(0, strict=True)
    """Which entry of x⟨step⟩ changes, 0 ≤ channel < input_size."""
    value: float
    """The entry's value in the second run."""


class DeepRecurrentScenario(ScenarioBase):
    """``kind = "deep_recurrent"``: stacked and/or bidirectional RNN, GRU or LSTM layers, one
    step per cell a[l]⟨t⟩ in the order they are computed."""

    input: Any
    """The sequence, (T, input_size): numbers inline, a random spec or a data spec."""
    cell: str = Field("rnn", strict=True)
    """``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``."""
    hidden_size: int = Field(strict=True)
    """H, the number of hidden units of every layer and direction, ≥ 1."""
    num_layers: int = Field(1, strict=True)
    """L, stacked layers, 1 to 8."""
    bidirectional: bool = Field(False, strict=True)
    """Add a backward sweep (right to left) to every layer."""
    weights: dict[str, Any] | None = None
    """Given weights by PyTorch's names (``weight_ih_l0``, ``bias_hh_l1_reverse`` …) and
    ``w_ya`` / ``b_y``; every one not given is seeded random."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of the weights not given, drawn like PyTorch's default U(−1/√H, 1/√H)."""
    output_size: int | None = Field(None, strict=True)
    """O: adds ŷ⟨t⟩ = softmax(W_ya·[a→⟨t⟩, a←⟨t⟩] + b_y) over the top layer."""


class BpttWeights(OneLayerWeights):
    """``[weights]`` of a bptt scenario: the tanh RNN's four parameters, PyTorch's names."""

    model_config = ConfigDict(extra="forbid")

    weight_ih: Any = None
    """(H, input_size): W_ax."""
    weight_hh: Any = None
    """(H, H): W_aa, before ``recurrent_scale``."""
    bias_ih: Any = None
    """(H,)."""
    bias_hh: Any = None
    """(H,)."""


class BpttClip(BaseModel):
    """``clip = { mode = "norm", threshold = 1.0 }``: gradient clipping after the backward pass."""

    model_config = ConfigDict(extra="forbid")

    mode: str = Field(strict=True)
    """``"value"`` (each entry into [−c, c]) or ``"norm"`` (scale all so that ‖g‖ ≤ c)."""
    threshold: float
    """c, > 0."""


class BpttScenario(ScenarioBase):
    """``kind = "bptt"``: backpropagation through time in a tanh RNN, one step per time step,
    from the last to the first."""

    input: Any
    """The sequence, (T, input_size): numbers inline, a random spec or a data spec."""
    hidden_size: int = Field(strict=True)
    """H, the number of hidden units, ≥ 1."""
    weights: BpttWeights | None = None
    """Given weights; every one not given is seeded random."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of the weights not given, drawn like PyTorch's default U(−1/√H, 1/√H)."""
    recurrent_scale: float = 1.0
    """W_aa is ``recurrent_scale`` × weight_hh (given or seeded): > 1 for exploding gradients."""
    a0: Any = None
    """The initial hidden state a⟨−1⟩, (H,); zeros when omitted."""
    target: Any
    """y: (H,) for ``loss = "last"``, (T, H) for ``"all"``."""
    loss: str = Field("last", strict=True)
    """``"last"``: L = ½‖a⟨T−1⟩ − y‖²; ``"all"``: L = ½ Σ_t ‖a⟨t⟩ − y⟨t⟩‖²."""
    clip: BpttClip | None = None
    """Gradient clipping applied to the summed parameter gradients, shown before and after."""


class TokensScenario(ScenarioBase):
    """``kind = "tokens"``: a vocabulary built from a corpus, and one sentence mapped to indices
    and one-hot vectors, one step per token."""

    text: str = Field(strict=True)
    """The sentence to tokenize; ``<EOS>`` is added at its end."""
    level: str = Field("word", strict=True)
    """``"word"`` (lower-cased words, punctuation dropped) or ``"char"`` (every character)."""
    vocabulary_size: int = Field(10_000, strict=True)
    """Most tokens the vocabulary keeps, ``<UNK>`` and ``<EOS>`` included, ≥ 3."""
    corpus: str | None = Field(None, strict=True)
    """The text the vocabulary is built from, inline; or give ``corpus_file``."""
    corpus_file: str | None = Field(None, strict=True)
    """A UTF-8 text file to build the vocabulary from, relative to the scenario file."""
    max_tokens: int = Field(1000, strict=True)
    """Longest sentence accepted, in tokens with ``<EOS>``."""


class LanguageModelScenario(ScenarioBase):
    """``kind = "language_model"``: a trained RNN language model over characters or words scores
    a text or samples a new one, one step per token with ``<EOS>``."""

    model: str = Field("char_lm", strict=True)
    """The shipped model: ``"char_lm"`` (characters) or ``"word_lm"`` (words)."""
    mode: str = Field("score", strict=True)
    """``"score"`` (the probability of ``word`` or ``sentence``) or ``"sample"`` (draw one)."""
    word: str | None = Field(None, strict=True)
    """The word a character model scores: lower-case letters a–z; ``<EOS>`` is added."""
    sentence: str | None = Field(None, strict=True)
    """The sentence a word model scores: words it lacks become ``<UNK>``; ``<EOS>`` is added."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of ``numpy.random.default_rng`` for sampling."""
    temperature: float = 1.0
    """τ in softmax(z / τ), 0.05 to 10: < 1 sharpens, > 1 flattens."""
    max_length: int = Field(20, strict=True)
    """Most steps, ``<EOS>`` included, 1 to 50."""


MODELS: dict[str, type[ScenarioBase]] = {
    "conv": ConvScenario,
    "pool": PoolScenario,
    "pipeline": PipelineScenario,
    "learn_kernel": LearnKernelScenario,
    "recurrent": RecurrentScenario,
    "tokens": TokensScenario,
    "bptt": BpttScenario,
    "deep_recurrent": DeepRecurrentScenario,
    "language_model": LanguageModelScenario,
}
"""Scenario kinds and their schemas."""


def all_field_names() -> set[str]:
    """Every key any scenario model accepts (for "did you mean" suggestions)."""
    from scenarios.values import DataSpec, RandomSpec

    names: set[str] = set(RandomSpec.model_fields) | set(DataSpec.model_fields)
    models: list[type[BaseModel]] = [
        *MODELS.values(),
        *OPS.values(),
        RecurrentWeights,
        BpttWeights,
        BpttClip,
    ]
    for model in models:
        names |= set(model.model_fields)
    return names
