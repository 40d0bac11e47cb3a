"""Image captioning: a CNN encoder turns a picture into a feature vector, and a GRU decoder — a
language model whose first state comes from that vector — writes the caption a word at a time.

The encoder is the course's convolutional classifier with its softmax removed: the layers run
through ``engine.network.Network`` (the same convolution, pooling and linear code as every
network netsim shows), and the last fully connected layer's output is the feature vector. The
decoder is a conditional language model, P(y⟨t⟩ | picture, y⟨1⟩ … y⟨t−1⟩)::

    features = encoder(image)                                        (F,)
    s⟨0⟩ = tanh(init.weight·features + init.bias)                     (H,)
    s⟨t⟩ = GRU(y⟨t−1⟩, s⟨t−1⟩)   y⟨0⟩ = 0, then one_hot(previous word)  (engine.cells)
    ŷ⟨t⟩ = softmax(out.weight·s⟨t⟩ + out.bias)                        (V,)

Weights are a PyTorch ``state_dict`` (``encoder.conv1.weight`` …, ``init.*``, ``decoder.*`` of a
``GRUCell``, ``out.*``), as ``scripts/train_captioner.py`` writes them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from engine import cells
from engine.arrays import frozen, is_whole
from engine.core import Stage, Step
from engine.decoding import DecoderState
from engine.errors import SpecError
from engine.language import log_softmax, teacher_inputs
from engine.limits import MAX_LENGTH
from engine.network import Layer, Network, NetworkError, shape_text

EOS = "<EOS>"
TOP_K = 5
"""How many of the likeliest words each decoder step lists."""
ENCODER = "encoder"
"""Prefix of the encoder's layer names (the PyTorch module holding them)."""
DECODER_KEYS = ("init.weight", "init.bias", "decoder.weight_ih", "decoder.weight_hh",
                "decoder.bias_ih", "decoder.bias_hh", "out.weight", "out.bias")  # fmt: skip
"""The weights after the encoder, by their PyTorch names."""


class Painter(Protocol):
    """Draws the picture a typed scene describes (``scenarios.shapes.picture``): the engine
    captions pictures and leaves what they show to whoever made them."""

    def __call__(self, text: str, size: int, seed: int) -> tuple[np.ndarray, str]:
        """(image (3, size, size) in [0, 1], the scene's own caption) for ``text`` drawn with
        ``seed``; SpecError("scene", …) if the text describes no scene."""
        ...


def encoder_layers(conv1: int = 8, conv2: int = 16, features: int = 32) -> list[Layer]:
    """The encoder: conv 3→``conv1`` 3×3 pad 1, ReLU, max pool 2, conv ``conv1``→``conv2``
    3×3 pad 1, ReLU, max pool 2, flatten, linear → ``features``: a small classifier without
    its softmax. Layer names are the PyTorch module names (``encoder.conv1`` …)."""
    e = ENCODER
    return [
        Layer(f"{e}.conv1", "conv2d", {"out_channels": conv1, "kernel_size": 3, "padding": 1}),
        Layer(f"{e}.relu1", "relu"),
        Layer(f"{e}.pool1", "maxpool2d", {"kernel_size": 2}),
        Layer(f"{e}.conv2", "conv2d", {"out_channels": conv2, "kernel_size": 3, "padding": 1}),
        Layer(f"{e}.relu2", "relu"),
        Layer(f"{e}.pool2", "maxpool2d", {"kernel_size": 2}),
        Layer(f"{e}.flatten", "flatten"),
        Layer(f"{e}.fc", "linear", {"out_features": features}),
    ]


def check_caption_length(value: Any) -> int:
    """``value`` as an int if it is a whole number 1 to 50, else SpecError("max_length")."""
    if is_whole(value) and 1 <= value <= MAX_LENGTH:
        return int(value)
    raise SpecError(
        "max_length",
        f"expected a whole number 1 to {MAX_LENGTH} (the most words of a caption, <EOS> "
        f"included), got {value!r}",
    )


def check_seed(value: Any) -> int:
    """``value`` as an int if it is a whole number ≥ 0, else SpecError("seed")."""
    if is_whole(value) and value >= 0:
        return int(value)
    raise SpecError("seed", f"expected a whole number ≥ 0 (the picture's seed), got {value!r}")


class Captioner:
    """The shipped captioner in float64: encoder layers, decoder weights and vocabulary.

    Build it with ``from_arrays``. ``vocabulary`` has ``<EOS>`` at 0, then the words.
    """

    def __init__(
        self,
        layers: list[Layer],
        image_shape: tuple[int, int, int],
        encoder_weights: dict[str, np.ndarray],
        weights: dict[str, np.ndarray],
        vocabulary: tuple[str, ...],
        accuracy: str | None,
        painter: Painter | None,
    ) -> None:
        self.layers = layers
        """The encoder's layers (``engine.network.Layer``), PyTorch's module names."""
        self.image_shape = image_shape
        """(3, S, S): the pictures the encoder reads."""
        self.encoder_weights = encoder_weights
        """The encoder's state_dict, float64, read-only."""
        self.weights = weights
        """``DECODER_KEYS`` → float64 arrays, read-only."""
        self.vocabulary = vocabulary
        self.eos = 0
        self.features_size = int(weights["init.weight"].shape[1])
        """F: length of the feature vector."""
        self.hidden_size = int(weights["init.weight"].shape[0])
        """H: length of the decoder's state s."""
        self.accuracy = accuracy
        """What the model scored on held-out pictures, e.g. "held-out exact match 995/1,000",
        or None when not known."""
        self.painter = painter
        """How a typed scene becomes a picture (``CaptionStage`` needs it), or None."""
        self._w_x = frozen(np.ascontiguousarray(weights["decoder.weight_ih"].T))  # (V, 3H)

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        vocabulary: Sequence[str],
        *,
        source: str,
        accuracy: str | None = None,
        painter: Painter | None = None,
    ) -> Captioner:
        """The captioner of a state_dict ``arrays`` with ``vocabulary`` (``<EOS>`` first).

        The sizes F and H come from ``init.weight`` (H, F), the picture size from ``encoder.fc``
        (its inputs are conv2's channels × (S/4)²). SpecError("model", "SOURCE: …") for a
        missing array, a shape that does not fit the vocabulary or the other arrays (naming both
        shapes), or values that are not finite.
        """
        vocab = tuple(vocabulary)
        if not vocab or vocab[0] != EOS or len(set(vocab)) != len(vocab):
            raise SpecError(
                "model", f"{source}: the vocabulary must start with {EOS} and repeat no word"
            )
        v = len(vocab)

        def need(key: str) -> np.ndarray:
            if key not in arrays:
                raise SpecError("model", f"{source}: missing array {key!r}")
            a = np.asarray(arrays[key])
            if a.dtype.kind not in "fiu":
                raise SpecError("model", f"{source}: {key} holds {a.dtype}, not numbers")
            return a

        w_init = need("init.weight")
        if w_init.ndim != 2:
            raise SpecError(
                "model", f"{source}: init.weight has shape {shape_text(w_init.shape)}, not H×F"
            )
        h, f = (int(n) for n in w_init.shape)
        expected = {
            "init.weight": (h, f),
            "init.bias": (h,),
            "decoder.weight_ih": (3 * h, v),
            "decoder.weight_hh": (3 * h, h),
            "decoder.bias_ih": (3 * h,),
            "decoder.bias_hh": (3 * h,),
            "out.weight": (v, h),
            "out.bias": (v,),
        }
        weights: dict[str, np.ndarray] = {}
        for key, shape in expected.items():
            a = need(key)
            if a.shape != shape:
                why = f"the vocabulary of {v} tokens and H = {h}"
                raise SpecError(
                    "model",
                    f"{source}: {key} has shape {shape_text(a.shape)} but {why} need "
                    f"{shape_text(shape)}",
                )
            a = np.array(a, dtype=np.float64)
            if not np.all(np.isfinite(a)):
                raise SpecError("model", f"{source}: {key} must be finite (no inf or nan)")
            weights[key] = frozen(a)
        c1 = need(f"{ENCODER}.conv1.weight")
        c2 = need(f"{ENCODER}.conv2.weight")
        fc = need(f"{ENCODER}.fc.weight")
        if c1.ndim != 4 or c2.ndim != 4 or fc.ndim != 2 or c2.shape[0] < 1:
            raise SpecError("model", f"{source}: the encoder's weights are not conv, conv, linear")
        side = math.isqrt(int(fc.shape[1]) // int(c2.shape[0]))
        if fc.shape[0] != f:
            raise SpecError(
                "model",
                f"{source}: {ENCODER}.fc.weight has shape {shape_text(fc.shape)} but init.weight "
                f"{shape_text(w_init.shape)} reads {f} features",
            )
        image_shape = (int(c1.shape[1]), 4 * side, 4 * side)
        layers = encoder_layers(int(c1.shape[0]), int(c2.shape[0]), f)
        encoder = {k: np.asarray(a) for k, a in arrays.items() if k.startswith(f"{ENCODER}.")}
        try:
            net = Network(layers, image_shape, dtype=np.float64)
            net.load_state_dict(encoder)
        except NetworkError as e:
            raise SpecError("model", f"{source}: {e.message}") from None
        enc = {k: frozen(np.asarray(a)) for k, a in net.params.items()}
        return cls(layers, image_shape, enc, weights, vocab, accuracy, painter)

    # -- the encoder -------------------------------------------------------------------------

    def check_image(self, image: np.ndarray) -> np.ndarray:
        """``image`` as float64 (3, S, S), or SpecError("image") naming both shapes."""
        a = np.asarray(image)
        if a.shape != self.image_shape or a.dtype.kind not in "fiu":
            raise SpecError(
                "image",
                f"expected {shape_text(self.image_shape)} numbers, got {shape_text(a.shape)} "
                f"{a.dtype}",
            )
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise SpecError("image", "values must be finite (no inf or nan)")
        return a

    def encoder(self, image: np.ndarray) -> Network:
        """The encoder as a ``Network`` (float64) fed ``image``; ``output(name)`` of any layer
        is computed on demand, the last (``encoder.fc``) is the feature vector."""
        net = Network(self.layers, self.image_shape, dtype=np.float64, title="caption encoder")
        net.load_state_dict(self.encoder_weights)
        net.set_input(self.check_image(image))
        return net

    def features(self, image: np.ndarray) -> np.ndarray:
        """The encoder's feature vector (F,) for ``image`` (3, S, S): the classifier's last
        layer before the softmax it no longer has."""
        return np.array(self.encoder(image).forward_all())

    def initial_state(self, features: np.ndarray) -> np.ndarray:
        """s⟨0⟩ = tanh(init.weight·features + init.bias), (H,)."""
        w = self.weights
        return np.tanh(cells.row_products(features, w["init.weight"]) + w["init.bias"])

    def decoder(self, image: np.ndarray) -> CaptionDecoder:
        """The decoder conditioned on ``image``: ``engine.decoding.Decoder``."""
        return CaptionDecoder(self, self.check_image(image))

    # -- the decoder's arithmetic -------------------------------------------------------------

    def cell(self, xi: np.ndarray, s_prev: np.ndarray) -> cells.CellOut:
        """One GRU step for every row: ``xi`` = W_ih·y⟨t−1⟩ + b_ih (B, 3H), ``s_prev`` (B, H)."""
        w = self.weights
        return cells.cell_forward(
            "gru", xi, s_prev, None, w["decoder.weight_hh"], w["decoder.bias_hh"]
        )

    def input_terms(self, tokens: np.ndarray | None, rows: int = 1) -> np.ndarray:
        """W_ih·y⟨t−1⟩ + b_ih for every row (B, 3H): y = 0 when ``tokens`` is None (the first
        step), else one_hot(tokens[b]), whose product is column tokens[b] of W_ih, exactly."""
        w = self.weights
        if tokens is None:
            zeros = np.zeros((rows, len(self.vocabulary)))
            return cells.input_terms(zeros, w["decoder.weight_ih"], w["decoder.bias_ih"])
        return self._w_x[tokens] + w["decoder.bias_ih"]

    def logits(self, s: np.ndarray) -> np.ndarray:
        """out.weight·s + out.bias for every row of ``s`` (B, H): (B, V)."""
        w = self.weights
        return cells.row_products(s, w["out.weight"]) + w["out.bias"]

    # -- PyTorch -----------------------------------------------------------------------------

    def torch_modules(self) -> tuple[Any, Any, Any, Any]:
        """(encoder ``nn.Sequential``, ``init`` ``nn.Linear``, ``decoder`` ``nn.GRUCell``, ``out``
        ``nn.Linear``), float64, with these weights: PyTorch's own modules (imports torch)."""
        import torch
        from torch import nn

        net = Network(self.layers, self.image_shape, dtype=np.float64)
        modules: dict[str, nn.Module] = {}
        channels = self.image_shape[0]
        for layer in self.layers:
            hyper = net.hyper(layer.name)
            short = layer.name.removeprefix(f"{ENCODER}.")
            if layer.op == "conv2d":
                modules[short] = nn.Conv2d(
                    channels,
                    hyper["out_channels"],
                    hyper["kernel_size"],
                    hyper["stride"],
                    hyper["padding"],
                    dtype=torch.float64,
                )
                channels = hyper["out_channels"]
            elif layer.op == "relu":
                modules[short] = nn.ReLU()
            elif layer.op == "maxpool2d":
                modules[short] = nn.MaxPool2d(
                    hyper["kernel_size"], hyper["stride"], hyper["padding"]
                )
            elif layer.op == "flatten":
                modules[short] = nn.Flatten()
            else:
                n_in = net.shape(net.input_names(layer.name)[0])[0]
                modules[short] = nn.Linear(n_in, hyper["out_features"], dtype=torch.float64)
        encoder = nn.Sequential(OrderedDict(modules))
        h, f, v = self.hidden_size, self.features_size, len(self.vocabulary)
        init = nn.Linear(f, h, dtype=torch.float64)
        gru = nn.GRUCell(v, h, dtype=torch.float64)
        out = nn.Linear(h, v, dtype=torch.float64)
        state = {f"{ENCODER}.{k}": p for k, p in encoder.state_dict().items()}
        state |= {f"init.{k}": p for k, p in init.state_dict().items()}
        state |= {f"decoder.{k}": p for k, p in gru.state_dict().items()}
        state |= {f"out.{k}": p for k, p in out.state_dict().items()}
        mine = {**self.encoder_weights, **self.weights}
        with torch.no_grad():
            for key, param in state.items():
                param.copy_(torch.from_numpy(np.array(mine[key])))
        return encoder, init, gru, out

    def torch_log_probs(self, image: np.ndarray, ids: Sequence[int]) -> tuple[Any, Any]:
        """(features (F,), log-softmax (T, V)) by PyTorch's modules for ``image`` and the
        tokens ``ids`` fed teacher-forced (y⟨0⟩ = 0, then each but the last)."""
        import torch

        encoder, init, gru, out = self.torch_modules()
        with torch.no_grad():
            x = torch.from_numpy(self.check_image(image))[None]
            feats = encoder(x)  # (1, F)
            s = torch.tanh(init(feats))
            ys = torch.from_numpy(teacher_inputs(list(ids), len(self.vocabulary)))
            rows = []
            for t in range(len(ids)):
                s = gru(ys[t][None], s)
                rows.append(torch.log_softmax(out(s), dim=1)[0])
            z = torch.stack(rows) if rows else torch.zeros((0, len(self.vocabulary)))
        return feats[0].numpy(), z.numpy()


class CaptionDecoder:
    """The captioner's decoder conditioned on one picture: ``engine.decoding.Decoder``.

    ``start`` runs s⟨1⟩ = GRU(0, s⟨0⟩) from s⟨0⟩ = tanh(init·features + init.bias); ``advance``
    feeds one word per row. A state's ``arrays`` is ``(s,)``, s⟨t⟩ of every row (B, H); each
    row's numbers are the same as if it were decoded alone.
    """

    level = "word"

    def __init__(self, captioner: Captioner, image: np.ndarray) -> None:
        self.captioner = captioner
        self.image = frozen(image)
        self.vocabulary = captioner.vocabulary
        self.eos = captioner.eos
        self.network = captioner.encoder(image)
        """The encoder fed the picture: every layer's output on demand."""
        self.features = frozen(np.array(self.network.forward_all()))
        """The encoder's feature vector (F,)."""
        self.s0 = frozen(captioner.initial_state(self.features))
        """s⟨0⟩ (H,): where the picture enters the language model."""

    def _state(self, s: np.ndarray) -> DecoderState:
        return DecoderState(log_softmax(self.captioner.logits(s)), (s,))

    def start(self) -> DecoderState:
        """One row: s⟨1⟩ from y⟨0⟩ = 0 and s⟨0⟩, and the distribution of the first word."""
        xi = self.captioner.input_terms(None, 1)
        return self._state(self.captioner.cell(xi, self.s0[None]).h)

    def advance(self, state: DecoderState, tokens: np.ndarray) -> DecoderState:
        """Feed one_hot(``tokens[b]``) to row b and run one GRU step for every row."""
        ids = np.asarray(tokens)
        if ids.shape != (len(state),) or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"expected {len(state)} token indices, one per row, got {ids!r}")
        if ids.size and not (ids.min() >= 0 and ids.max() < len(self.vocabulary)):
            raise ValueError(f"token indices must be 0 to {len(self.vocabulary) - 1}, got {ids}")
        xi = self.captioner.input_terms(ids)
        return self._state(self.captioner.cell(xi, state.arrays[0]).h)

    def reference_log_probs(self, ids: list[int]) -> np.ndarray:
        """log P(y⟨t⟩ | picture, y⟨<t⟩) of each of ``ids`` fed teacher-forced, (T,), from
        PyTorch's own modules (Conv2d … Linear, GRUCell) in float64."""
        if not ids:
            return np.zeros(0)
        _, z = self.captioner.torch_log_probs(np.array(self.image), ids)
        return np.asarray(z[np.arange(len(ids)), list(ids)])


@dataclass(frozen=True, eq=False, kw_only=True)
class CaptionStep(Step):
    """Step 0: the picture through the encoder to its feature vector and s⟨0⟩; step t ≥ 1:
    the decoder writes word t.

    ``value`` is ‖features‖ at step 0, then P(ŷ⟨t⟩ | picture, ŷ⟨<t⟩) of the chosen word.
    """

    phase: str
    """``"encoder"`` (t = 0) or ``"decoder"`` (t = 1 …)."""
    t: int
    image: np.ndarray  # (3, S, S)
    features: np.ndarray  # (F,) the encoder's output
    words: tuple[str, ...]
    """The caption so far, ŷ⟨1⟩ … ŷ⟨t⟩ without ``<EOS>``."""
    distribution: np.ndarray | None  # (V,) ŷ⟨t⟩ (decoder)
    chosen: int | None
    token: str | None
    log_p: float | None
    log_prob_total: float | None
    """log P(ŷ⟨1⟩ … ŷ⟨t⟩ | picture), the running sum."""
    top: tuple[tuple[str, float], ...]
    """The TOP_K likeliest words of ŷ⟨t⟩ and their probabilities (decoder)."""
    state: np.ndarray  # (H,) s⟨t⟩ (s⟨0⟩ at the encoder step)
    state_prev: np.ndarray  # (H,) s⟨t−1⟩ (zeros at the encoder step: there is none)
    attention: np.ndarray | None = None
    """Weights over image regions; None: this model has no attention."""


class CaptionStage(Stage):
    """A picture of ``scene`` (drawn with ``seed``) captioned greedily: step 0 is the encoder,
    then one step per word until ``<EOS>`` or ``max_length`` words.

    ``Retextable`` with ``text_field = "scene"``: ``with_text`` reads another scene, draws it
    with the same seed and captions it.

    Shape:
        output (T, V): ŷ⟨1⟩ … ŷ⟨T⟩, one distribution per word written.
    """

    kind = "caption"
    text_field = "scene"

    def __init__(
        self,
        captioner: Captioner,
        scene: str,
        *,
        seed: int = 0,
        max_length: int = 12,
        name: str = "captioner",
    ) -> None:
        super().__init__(name)
        self.captioner = captioner
        self.seed = check_seed(seed)
        self.max_length = check_caption_length(max_length)
        if captioner.painter is None:
            raise SpecError("scene", "this captioner was given no way to draw a scene")
        image, expected = captioner.painter(scene, captioner.image_shape[1], self.seed)
        self.scene_text = scene
        self.expected = expected
        """The scene's own caption (canonical): what a right answer says."""
        self.image = frozen(captioner.check_image(image))
        self.decoder = CaptionDecoder(captioner, np.array(self.image))
        self.network = self.decoder.network
        """The encoder fed the picture: every layer's output on demand."""
        self.features = self.decoder.features
        self.s0 = self.decoder.s0
        self.accuracy = captioner.accuracy
        v = len(captioner.vocabulary)
        states, log_ps, chosen = [self.s0], [], []
        state = self.decoder.start()
        while True:
            row = state.log_p[0]
            k = int(np.argmax(row))
            states.append(state.arrays[0][0])
            log_ps.append(row)
            chosen.append(k)
            if k == captioner.eos or len(chosen) == self.max_length:
                break
            state = self.decoder.advance(state, np.array([k]))
        self.states = frozen(np.array(states))  # (T + 1, H): s⟨0⟩ … s⟨T⟩
        self.log_probs = frozen(np.array(log_ps).reshape(-1, v))  # (T, V)
        self._y = frozen(np.exp(self.log_probs))
        self.chosen = tuple(chosen)
        self.ended = chosen[-1] == captioner.eos
        picked = self.log_probs[np.arange(len(chosen)), chosen]
        self._totals = frozen(np.cumsum(picked))
        self.log_prob = float(self._totals[-1])
        self.words = tuple(captioner.vocabulary[k] for k in chosen if k != captioner.eos)
        self.output_text = " ".join(self.words)
        self.correct = self.ended and self.output_text == self.expected
        """Whether the caption is the scene's own canonical caption."""

    # -- Retextable ----------------------------------------------------------------------------

    @property
    def input_text(self) -> str:
        """The scene as typed."""
        return self.scene_text

    def with_text(self, text: str) -> CaptionStage:
        """Another scene, drawn with the same seed, captioned by the same model."""
        return CaptionStage(
            self.captioner, text, seed=self.seed, max_length=self.max_length, name=self.name
        )

    # -- steps ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return 1 + len(self.chosen)

    def step(self, i: int) -> CaptionStep:
        i = self._normalise_index(i)
        feats = self.features
        if i == 0:
            f, h = self.captioner.features_size, self.captioner.hidden_size
            return CaptionStep(
                stage=self.name,
                index=0,
                value=float(np.linalg.norm(feats)),
                explanation=(
                    f"The encoder is a CNN with its classifier's softmax removed: the "
                    f"{shape_text(self.image.shape)} picture goes through conv, ReLU and max "
                    f"pool twice, is flattened and one fully connected layer gives {f} "
                    f"features. They start the decoder: s⟨0⟩ = tanh(W·features + b) ({h} "
                    "numbers) instead of a zero vector, which makes the decoder a conditional "
                    "language model, P(y | picture)."
                ),
                phase="encoder",
                t=0,
                image=self.image,
                features=feats,
                words=(),
                distribution=None,
                chosen=None,
                token=None,
                log_p=None,
                log_prob_total=None,
                top=(),
                state=self.states[0],
                state_prev=frozen(np.zeros_like(self.states[0])),
            )
        t = i
        k = self.chosen[t - 1]
        dist = self._y[t - 1]
        vocab = self.captioner.vocabulary
        order = np.argsort(-dist, kind="stable")[:TOP_K]
        token = vocab[k]
        fed = "y⟨0⟩ = 0" if t == 1 else f"y⟨{t - 1}⟩ = {vocab[self.chosen[t - 2]]!r}"
        said = "ends the caption" if k == self.captioner.eos else f"is word {t}"
        total = float(self._totals[t - 1])
        prefix = "ŷ⟨1⟩" if t == 1 else f"ŷ⟨1⟩ … ŷ⟨{t}⟩"
        return CaptionStep(
            stage=self.name,
            index=i,
            value=float(dist[k]),
            explanation=(
                f"s⟨{t}⟩ = GRU({fed}, s⟨{t - 1}⟩); ŷ⟨{t}⟩ = softmax(W_y·s⟨{t}⟩ + b_y). Greedy "
                f"decoding takes the likeliest word, {token!r} (P = {float(dist[k]):.4f}), which "
                f"{said}; log P({prefix} | picture) = {total:.4f}."
                + (
                    f" No <EOS> within max_length = {self.max_length}: the caption stops here "
                    "unfinished."
                    if t == len(self.chosen) and not self.ended
                    else ""
                )
            ),
            phase="decoder",
            t=t,
            image=self.image,
            features=feats,
            words=tuple(vocab[c] for c in self.chosen[:t] if c != self.captioner.eos),
            distribution=dist,
            chosen=k,
            token=token,
            log_p=float(self.log_probs[t - 1, k]),
            log_prob_total=total,
            top=tuple((vocab[j], float(dist[j])) for j in order),
            state=self.states[t],
            state_prev=self.states[t - 1],
        )

    @property
    def output(self) -> np.ndarray:
        return self._y

    def reference(self) -> np.ndarray:
        """PyTorch's (T, V) probabilities: its own Conv2d, ReLU, MaxPool2d, Flatten, Linear,
        GRUCell and Linear in float64 on the same picture, teacher-forced on our words."""
        _, z = self.captioner.torch_log_probs(np.array(self.image), list(self.chosen))
        return np.exp(np.asarray(z))

    def describe(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> dict[str, Any]:
            return {"shape": list(a.shape), "values": np.asarray(a).tolist()}

        params = {**self.captioner.encoder_weights, **self.captioner.weights}
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {
                "scene": self.scene_text,
                "expected": self.expected,
                "seed": self.seed,
                "image": arr(self.image),
            },
            "parameters": {k: arr(v) for k, v in params.items()},
            "hyperparameters": {
                "encoder": [
                    {"name": layer.name, "op": layer.op, "args": dict(layer.args)}
                    for layer in self.captioner.layers
                ],
                "features": self.captioner.features_size,
                "hidden_size": self.captioner.hidden_size,
                "vocabulary": list(self.captioner.vocabulary),
                "max_length": self.max_length,
                "decoding": "greedy",
            },
            "features": arr(self.features),
            "states": arr(self.states),
            "output": arr(self._y),
            "tokens": [self.captioner.vocabulary[k] for k in self.chosen],
            "caption": self.output_text,
            "ended": self.ended,
            "correct": self.correct,
            "log_prob": self.log_prob,
            "steps": len(self),
            "step_order": ["t"],
        }
